"""`labkit preflight`: what a runner lacks for any lab, named before anything is measured.

The machine's facts (Yama's ptrace_scope 0–3, root or not, the Pythons found) are supplied by the test.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from labkit import preflight, pythons, workflow
from labkit.errors import EXIT_NEED, NeedError

ROOT = Path(__file__).resolve().parents[2]
FOUND = pythons.Found({"3.10": "/p/3.10", "3.11": "/p/3.11", "3.12": "/p/3.12"}, looked=["PATH", "pyenv"])


def runner(monkeypatch: pytest.MonkeyPatch, *, scope: int | None, root: bool) -> None:
    monkeypatch.setattr(preflight, "ptrace_scope", lambda: scope)
    monkeypatch.setattr(preflight, "is_root", lambda: root)
    monkeypatch.setattr(preflight, "privileged", lambda: root)
    monkeypatch.setattr(preflight, "platform", lambda: "linux")
    monkeypatch.setattr(preflight, "discover", lambda: FOUND)


@pytest.mark.parametrize(
    ("scope", "root", "says"),
    [
        (None, False, None),  # no Yama: nothing to lower
        (0, False, None),
        (1, False, "ptrace_scope 1); lower it first"),  # a runner's own user, as on GitHub's runners
        (1, True, None),
        (2, False, "ptrace_scope 2); lower it first"),
        (2, True, None),
        (3, False, "ptrace_scope 3); it cannot be lowered until reboot: use another runner"),
        (3, True, "ptrace_scope 3); it cannot be lowered until reboot: use another runner"),
    ],
)
def test_ptrace_scope_is_named(
    monkeypatch: pytest.MonkeyPatch, scope: int | None, root: bool, says: str | None
) -> None:
    runner(monkeypatch, scope=scope, root=root)
    problems = workflow.runner_problems(wanted=[])
    if says is None:
        assert problems == []
    else:
        (problem,) = problems
        assert problem.startswith("this runner refuses py-spy attaching by PID") and says in problem, problem


def test_a_missing_python_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    runner(monkeypatch, scope=0, root=False)
    assert workflow.runner_problems(wanted=["3.11", "3.13"]) == [
        "Python 3.13 is missing (found 3.10, 3.11, 3.12; looked in: PATH, pyenv)"
    ]


def test_the_command_stops_with_every_gap_before_measuring(monkeypatch: pytest.MonkeyPatch) -> None:
    runner(monkeypatch, scope=2, root=False)
    monkeypatch.setattr(preflight, "check", lambda *a, **k: [])  # the lab's own needs: tested elsewhere
    args = argparse.Namespace(lab="lab-1", pythons=["3.13"])
    with pytest.raises(NeedError) as caught:
        workflow.cmd_preflight(args, ROOT)
    text = str(caught.value)
    assert "ptrace_scope 2" in text and "Python 3.13 is missing" in text and "Nothing was measured" in text
    assert caught.value.exit_code == EXIT_NEED


def test_the_command_passes_on_a_ready_runner(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runner(monkeypatch, scope=0, root=False)
    monkeypatch.setattr(preflight, "check", lambda *a, **k: [])
    assert workflow.cmd_preflight(argparse.Namespace(lab="lab-1", pythons=["3.10", "3.12"]), ROOT) == 0
    assert "ptrace_scope 0" in capsys.readouterr().out
