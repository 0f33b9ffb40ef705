"""labs/facts/attach_as_user.py: what it keeps of py-spy's refusals, and the capability-less wrapper."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("attach_as_user", ROOT / "labs/facts/attach_as_user.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def done(code: int, out: str = "", err: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["py-spy"], code, out, err)


def test_a_refusal_keeps_the_first_line_and_the_systems_reason_without_the_backtrace() -> None:
    said = (
        "Error: Failed to get process executable name. Check that the process is running.\n\n"
        "Caused by:\n    0: Permission denied (os error 13)\n    1: Permission denied (os error 13)\n\n"
        "Stack backtrace:\n   0: Operation not permitted (os error 1) in a frame name\n"
    )
    got = load().refusal(done(1, err=said))
    assert got == {
        "first_line": "Error: Failed to get process executable name. Check that the process is running.",
        "os_error": "0: Permission denied (os error 13)",
        "says_operation_not_permitted": False,  # the backtrace is not the message
    }


def test_operation_not_permitted_is_found_anywhere_in_the_message() -> None:
    said = "Error: Failed to copy memory\n\nCaused by:\n    Operation not permitted (os error 1)\n"
    got = load().refusal(done(1, err=said))
    assert got is not None
    assert got["says_operation_not_permitted"] is True
    assert got["os_error"] == "Operation not permitted (os error 1)"


def test_an_attach_that_succeeded_or_said_nothing_is_no_refusal() -> None:
    module = load()
    assert module.refusal(done(0, out="Thread 0x1 (idle)\n")) is None
    assert module.refusal(done(1)) is None


@pytest.mark.skipif(shutil.which("capsh") is None, reason="capsh (libcap2-bin) is not installed")
def test_the_wrapper_runs_its_program_with_cap_sys_ptrace_dropped(tmp_path: Path) -> None:
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("dropping a capability from the bounding set needs root on Linux")
    target = tmp_path / "py-spy"
    target.write_text('#!/bin/sh\ngrep CapBnd /proc/self/status\necho "$@"\n')
    target.chmod(0o755)
    wrapper = load().without_ptrace_capability(target)
    assert wrapper is not None
    out = subprocess.run([str(wrapper), "dump", "--pid", "42"], capture_output=True, text=True, check=True)
    bounding = int(out.stdout.split()[1], 16)
    assert not bounding & (1 << 19)  # CAP_SYS_PTRACE is capability 19
    assert out.stdout.splitlines()[-1] == "dump --pid 42"
