"""A refused py-spy command step gives the remedies for what actually ran, on this machine's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from labkit import manifest, pyspy
from labkit.errors import LabError
from labkit.kinds.command import run as command_run

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "METHOD=launch"


@pytest.fixture
def scope_1_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pyspy, "ptrace_scope", lambda: 1)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sys, "platform", "linux")


def _remedy(argv: list[str], text: str) -> str:
    lab = manifest.load(Path("labs/lab-4.yml"), root=ROOT)
    (step,) = [s for s in lab.steps if s.id == "tree_dump"]
    assert "--pid" in step.command and "--subprocesses" in step.command  # what this test turns on
    ctx = cast(Any, SimpleNamespace(lab=SimpleNamespace(id=lab.id)))
    exc = LabError("the output has nothing that matches")
    return str(command_run._with_remedy(exc, ctx, step, argv=argv, code=1, text=text))


@pytest.mark.usefixtures("scope_1_not_root")
def test_the_flags_that_ran_decide_the_remedies_not_the_steps_full_command() -> None:
    by_pid = ["py-spy", "dump", "--subprocesses", "--pid", "123"]
    launched = ["py-spy", "dump", "--subprocesses", "--", "python", "jobs.py"]  # as a quick command might
    # By PID with --subprocesses, "no python processes" is a refusal; attaching is the only way in.
    told = _remedy(by_pid, pyspy.NONE_READ)
    assert "could read none of the Python processes" in told and "ptrace_scope is 1" in told
    assert LAUNCH not in told
    # What ran had no --pid: the same words are no refusal, so the error stays as it was.
    assert _remedy(launched, pyspy.NONE_READ) == "the output has nothing that matches"
    # Refused without --pid: the launch form is offered.
    told = _remedy(launched, "Permission denied (os error 13)")
    assert "not permitted" in told and LAUNCH in told


def test_advice_here_reads_the_scope_the_user_and_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(pyspy, "ptrace_scope", lambda: 3)
    assert "forbidden until reboot" in pyspy.advice_here(lab="lab-4")
    monkeypatch.setattr(pyspy, "ptrace_scope", lambda: 1)
    assert "sudo make lab-4" in pyspy.advice_here(lab="lab-4")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "sudo make" not in pyspy.advice_here(lab="lab-4") and "root without" in pyspy.advice_here(
        lab="lab-4"
    )
    monkeypatch.setattr(sys, "platform", "darwin")
    assert pyspy.advice_here(lab="lab-4").startswith("On macOS")
