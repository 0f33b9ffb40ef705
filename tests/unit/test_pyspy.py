"""labkit.pyspy without running py-spy: attach advice, finding the executable, the platform check."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from labkit import pyspy
from labkit.errors import LabError

LAUNCH = "make lab-N METHOD=launch"
SUDO = "sudo env"
SETCAP = "setcap cap_sys_ptrace=eip"
DOCKER = "--cap-add SYS_PTRACE"
LOWER = "echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope"


@pytest.mark.parametrize(
    ("scope", "why", "lower"),
    [
        (None, "no Yama module", False),
        (0, "ptrace_scope is 0", False),  # Yama is not what refused: lowering changes nothing
        (1, "ptrace_scope is 1: only a process's ancestors may attach", True),
        (2, "ptrace_scope is 2: attaching needs CAP_SYS_PTRACE", True),
        (7, "ptrace_scope is 7", False),
    ],
)
@pytest.mark.parametrize("is_root", [False, True])
def test_attach_advice_on_linux(scope: int | None, why: str, lower: bool, is_root: bool) -> None:
    text = pyspy.attach_advice(scope=scope, is_root=is_root, platform="linux")
    assert why in text
    for remedy in (LAUNCH, DOCKER):
        assert remedy in text
    # Root refused lacks CAP_SYS_PTRACE (a container): sudo adds nothing; setcap cannot pass the bounding set.
    assert (SUDO in text) is (SETCAP in text) is (not is_root)
    assert (LOWER in text) is lower
    assert ("on the host" in text) is (lower and is_root)
    assert ("CAP_SYS_PTRACE capability" in text) is is_root
    assert ("you are not root" in text) is (not is_root)


def test_attach_advice_on_macos() -> None:
    text = pyspy.attach_advice(scope=None, is_root=False, platform="darwin")
    assert "macOS" in text and "sudo py-spy record" in text and "sudo make lab-N" in text and "SIP" in text
    assert "setcap" not in text and "SYS_PTRACE" not in text


def test_find_with_missing_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-py-spy"
    monkeypatch.setenv("LABKIT_PY_SPY", str(missing))
    with pytest.raises(LabError) as caught:
        pyspy.find()
    text = str(caught.value)
    assert f"LABKIT_PY_SPY={missing} is not an executable file" in text
    assert "make venv" in text and "pip install" in text


def test_find_with_non_executable_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    plain = tmp_path / "py-spy"
    plain.write_text("#!/bin/sh\n", encoding="utf-8")
    plain.chmod(0o644)
    monkeypatch.setenv("LABKIT_PY_SPY", str(plain))
    with pytest.raises(LabError, match="not an executable file"):
        pyspy.find()
    plain.chmod(plain.stat().st_mode | stat.S_IXUSR)
    assert pyspy.find() == str(plain)


def test_find_when_nothing_is_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LABKIT_PY_SPY", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setattr(pyspy.shutil, "which", lambda name: None)
    with pytest.raises(LabError, match=r"py-spy is not installed: run `make venv`"):
        pyspy.find()


def test_check_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    pyspy.check_platform()  # this machine is supported
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(LabError, match="WSL"):
        pyspy.check_platform()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    with pytest.raises(LabError, match="free-threaded"):
        pyspy.check_platform()
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: True, raising=False)
    pyspy.check_platform()


def test_first_error_line() -> None:
    out = "Sampling process...\nError: Permission Denied\nmore\n"
    assert pyspy._first_error(out) == "Error: Permission Denied"
    assert pyspy._first_error("just text\nlast line\n") == "last line"
    assert pyspy._first_error("") == "(no output)"


@pytest.mark.parametrize("is_root", [False, True])
def test_at_scope_3_no_remedy_is_offered(is_root: bool) -> None:
    """Yama 3 refuses sudo, setcap and --cap-add alike, until the machine restarts."""
    text = pyspy.attach_advice(scope=3, is_root=is_root, platform="linux")
    assert "forbidden until reboot" in text and "no remedy works" in text
    for remedy in (LAUNCH, SUDO, SETCAP, DOCKER, LOWER):
        assert remedy not in text


def test_attach_advice_for_a_running_service_offers_no_launch_form() -> None:
    """A running service can only be attached to: at scope 1 the reason is that py-spy is not its parent."""
    text = pyspy.attach_advice(scope=1, is_root=False, platform="linux", lab="lab-4", launch=False)
    assert "py-spy is not the running service's ancestor" in text
    assert "launch form" not in text and "METHOD=launch" not in text
    assert "sudo make lab-4" in text and SETCAP in text


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_attach_advice_for_a_grader_offers_no_by_hand_form(platform: str) -> None:
    """A grader runs py-spy itself: only running the grader again with rights helps, not a py-spy command."""
    text = pyspy.attach_advice(
        scope=1, is_root=False, platform=platform, lab="grade-4", launch=False, by_hand=False
    )
    assert "sudo make grade-4" in text
    assert "by hand" not in text and SUDO not in text and "sudo py-spy" not in text
    assert "by hand" in pyspy.attach_advice(
        scope=1, is_root=False, platform=platform, lab="lab-4", launch=False
    )


@pytest.mark.parametrize(
    ("output", "tree_by_pid", "refused"),
    [
        ("Error: Permission denied (os error 13)", False, "not permitted"),
        ("Error: Operation not permitted (os error 1)", False, "not permitted"),
        ("This program requires root on OSX.", False, "not permitted"),  # macOS (src/main.rs)
        ("Error: No python processes found in process 41 or any of its subprocesses", True, "read none"),
        # Without --subprocesses and a PID the toolkit saw running, that message is no proof of a refusal.
        ("Error: No python processes found in process 41 or any of its subprocesses", False, None),
        ("Error: Failed to find python version from target process", True, None),
        ("Error: Failed to get process executable name. Check that the process is running.", False, None),
    ],
)
def test_a_refusal_is_told_from_other_failures(output: str, tree_by_pid: bool, refused: str | None) -> None:
    why = pyspy.refusal(output, tree_by_pid=tree_by_pid)
    assert (why is None) if refused is None else (why is not None and refused in why)
