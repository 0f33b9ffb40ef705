"""Attaching by PID refused for real: a py-spy without CAP_SYS_PTRACE, and an unprivileged user.

What this machine shows (checked by hand, and asserted below): running the
*whole* toolkit under `capsh --drop=cap_sys_ptrace` does not make attaching
fail, because the service it starts inherits the same reduced capabilities and
the kernel lets a process trace a same-user process whose capabilities are a
subset of its own. Attaching is refused when py-spy has fewer capabilities than
its target: here py-spy alone runs under capsh (through LABKIT_PY_SPY) while the
service keeps root's full set, which is what a container without SYS_PTRACE
attaching to a more privileged process meets. (Where the tests already lack
CAP_SYS_PTRACE, py-spy also loses one more capability that the service keeps.)
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    LAB,
    QUICK_DATA,
    assert_no_process_left,
    hash_tree,
    labkit,
    labkit_argv,
    labkit_env,
    need,
)

CAP_SYS_PTRACE = 19
REMEDIES = ("sudo", "setcap cap_sys_ptrace=eip", "--cap-add SYS_PTRACE", "METHOD=launch")
# Root refused is root without CAP_SYS_PTRACE (a container): sudo and setcap cannot help there.
ROOT_REMEDIES = ("--cap-add SYS_PTRACE", "METHOD=launch")


def _capsh() -> str:
    exe = shutil.which("capsh") or next(
        (p for p in ("/usr/sbin/capsh", "/sbin/capsh") if os.path.exists(p)), None
    )
    need(exe is not None, "capsh is not installed (Debian: apt-get install libcap2-bin)")
    need(os.geteuid() == 0, "dropping CAP_SYS_PTRACE from a root process needs root")
    assert exe
    return exe


def _has_cap(status: str, cap: int) -> bool:
    eff = next(line for line in status.splitlines() if line.startswith("CapEff:"))
    return bool(int(eff.split()[1], 16) >> cap & 1)


@pytest.fixture
def capsh() -> str:
    exe = _capsh()
    inside = subprocess.run(
        [exe, "--drop=cap_sys_ptrace", "--", "-c", "cat /proc/self/status"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not _has_cap(inside, CAP_SYS_PTRACE), "capsh did not drop CAP_SYS_PTRACE"
    return exe


def _drop_for_py_spy() -> str:
    """Capabilities py-spy loses so that the service (which keeps ours) has one that py-spy lacks."""
    ours = Path("/proc/self/status").read_text()
    if _has_cap(ours, CAP_SYS_PTRACE):
        return "cap_sys_ptrace"
    # Already without CAP_SYS_PTRACE (a container): py-spy must also lose a capability the service keeps.
    extra = next((name for cap, name in ((0, "cap_chown"), (5, "cap_kill")) if _has_cap(ours, cap)), None)
    need(extra is not None, "this root process has neither CAP_SYS_PTRACE nor CAP_CHOWN nor CAP_KILL")
    return f"cap_sys_ptrace,{extra}"


@pytest.fixture
def spy_without_ptrace(capsh: str, tmp_path: Path) -> str:
    """An executable that runs the venv's py-spy without CAP_SYS_PTRACE (for LABKIT_PY_SPY)."""
    real = Path(sys.executable).with_name("py-spy")
    assert real.is_file(), "py-spy is not installed in the venv"
    wrapper = tmp_path / "py-spy-without-ptrace"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shlex.quote(capsh)} --drop={_drop_for_py_spy()} -- -c \'exec "$0" "$@"\' '
        f'{shlex.quote(str(real))} "$@"\n'
    )
    wrapper.chmod(0o755)
    return str(wrapper)


def test_whole_toolkit_without_ptrace_still_attaches_to_its_own_service(capsh: str, work_copy: Path) -> None:
    """Same user, same capabilities: the kernel allows it (see the module's docstring)."""
    command = shlex.join(
        labkit_argv(work_copy, "assets", "--lab", LAB, "--quick", "--force", "--method", "pid")
    )
    done = subprocess.run(
        [capsh, "--drop=cap_sys_ptrace", "--", "-c", command],
        cwd=work_copy,
        env=labkit_env(work_copy),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    results = json.loads((work_copy / QUICK_DATA / "results.json").read_text(encoding="utf-8"))
    assert {p["method"] for p in results["profiles"].values()} == {"pid"}


def test_refused_attach_with_forced_pid_fails_with_remedies(spy_without_ptrace: str, work_copy: Path) -> None:
    before = hash_tree(work_copy / "docs")
    run = labkit(
        work_copy,
        "assets",
        "--lab",
        LAB,
        "--quick",
        "--force",
        "--method",
        "pid",
        env={"LABKIT_PY_SPY": spy_without_ptrace},
    )
    assert run.returncode != 0, str(run)
    assert "not permitted" in run.output, str(run)
    for remedy in ROOT_REMEDIES:
        assert remedy in run.flat, f"remedy {remedy!r} missing:\n{run}"
    assert "Traceback" not in run.output, str(run)
    assert hash_tree(work_copy / "docs") == before


def test_grade_4_names_a_refused_py_spy_and_its_remedies(spy_without_ptrace: str, work_copy: Path) -> None:
    """`make grade-4` attaches to the learner's service by PID: a real refusal is no routing mistake, so the
    evenness check says py-spy was refused and gives the remedies, not the routing hint."""
    mine = work_copy / "exercises/lab-4/routing.py"
    mine.parent.mkdir(parents=True, exist_ok=True)
    text = (work_copy / "labs/starter/lab-4/routing.py").read_text(encoding="utf-8")
    mine.write_text(
        text.replace("    return customer % workers\n", "    return job % workers\n"), encoding="utf-8"
    )
    run = labkit(work_copy, "grade", "lab-4", env={"LABKIT_PY_SPY": spy_without_ptrace}, timeout=240)
    assert run.returncode != 0, str(run)
    record = json.loads((work_copy / "out/lab-4/grade.json").read_text(encoding="utf-8"))
    even = next(c for c in record["checks"] if c["id"] == "even")
    # With --subprocesses py-spy reports a refusal without its reason: the grader says what it means.
    assert "could read none of the Python processes" in even["measured"] and even["verdict"] == "fails", even
    assert "--cap-add SYS_PTRACE" in even["hint"], even["hint"]
    assert "routing." not in even["hint"].replace("whatever your routing.", ""), even["hint"]
    assert "Traceback" not in run.output, str(run)


def test_a_refused_py_spy_command_step_gives_the_remedies(spy_without_ptrace: str, work_copy: Path) -> None:
    """Lab 4's dumps are command steps: refused, they name the refusal and its remedies, not a pattern."""
    before = hash_tree(work_copy / "docs")
    run = labkit(
        work_copy, "assets", "--lab", "lab-4", "--quick", "--force", env={"LABKIT_PY_SPY": spy_without_ptrace}
    )
    assert run.returncode != 0, str(run)
    assert "tree_dump: the output has nothing that matches" in run.flat, str(run)
    assert "py-spy was not permitted to read the process" in run.flat, str(run)
    assert "--cap-add SYS_PTRACE" in run.flat and "sudo make lab-4" not in run.flat, str(run)  # root already
    assert "METHOD=launch" not in run.flat, str(run)  # `dump --pid` reaches a running service only by PID
    assert "Traceback" not in run.output, str(run)
    assert hash_tree(work_copy / "docs") == before


def test_refused_attach_falls_back_to_the_launch_form(spy_without_ptrace: str, work_copy: Path) -> None:
    run = labkit(
        work_copy, "assets", "--lab", LAB, "--quick", "--force", env={"LABKIT_PY_SPY": spy_without_ptrace}
    )
    assert run.returncode == 0, str(run)
    assert "launch form" in run.output, str(run)
    results = json.loads((work_copy / QUICK_DATA / "results.json").read_text(encoding="utf-8"))
    for step, profile in results["profiles"].items():
        assert profile["method"] == "launch", step
        assert profile["method_note"], step
        assert profile["samples"] > 0, step
    check = labkit(work_copy, "check", "--lab", LAB, "--quick")
    assert check.returncode == 0, str(check)


# --- an unprivileged user attaching by PID to a root-owned process -----------------------------------

USER = "labtest"
PROBE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from labkit import pyspy
    work = Path(sys.argv[2])
    try:
        pyspy.record(exe=sys.argv[3], out=work / "out.json", log=work / "py-spy.log", cwd=work,
                     rate=100, duration=1, pid=int(sys.argv[1]))
    except pyspy.AttachRefused as refused:
        print(refused)
        print(pyspy.attach_advice(scope=pyspy.ptrace_scope(), is_root=False))
        sys.exit(3)
    print("attached")
""")


@pytest.fixture
def unprivileged_user() -> str:
    need(os.geteuid() == 0, "creating a second user needs root")
    need(shutil.which("runuser") is not None, "runuser is not installed (util-linux)")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        need(shutil.which("useradd") is not None, "useradd is not installed")
        subprocess.run(["useradd", "--create-home", USER], check=True, capture_output=True)
    return USER


@pytest.fixture
def root_sleeper() -> Iterator[int]:
    """A root-owned Python process that stays alive (and busy enough to be a real target)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time\nwhile True: sum(range(10000))"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture
def user_home(unprivileged_user: str) -> Iterator[Path]:
    """A folder the user owns, outside root's private temporary folders (/tmp itself is open to all)."""
    base = Path(tempfile.mkdtemp(prefix="labkit-unprivileged-"))
    user = pwd.getpwnam(unprivileged_user)
    os.chown(base, user.pw_uid, user.pw_gid)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_unprivileged_user_is_refused_with_clear_message(
    unprivileged_user: str, user_home: Path, root_sleeper: int
) -> None:
    python = "/usr/bin/python3"
    need(os.access(python, os.X_OK), f"{python} is missing (the venv's interpreter lives under /root)")
    home = user_home / "repo"
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "scripts", home / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(Path(sys.executable).with_name("py-spy"), home / "py-spy")
    (home / "work").mkdir()
    user = pwd.getpwnam(unprivileged_user)
    for path in [home, *home.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(home / "scripts"), "PYTHONDONTWRITEBYTECODE": "1"}
    as_user = ["runuser", "-u", unprivileged_user, "--", "env", *(f"{k}={v}" for k, v in env.items()), python]
    importable = subprocess.run([*as_user, "-c", "import labkit.pyspy"], capture_output=True, text=True)
    need(
        importable.returncode == 0,
        f"labkit.pyspy does not import under {python} as {unprivileged_user}: {importable.stderr.strip()}",
    )

    probe = [*as_user, "-c", PROBE, str(root_sleeper), str(home / "work"), str(home / "py-spy")]
    done = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 3, f"expected a refusal (exit 3), got {done.returncode}:\n{output}"
    assert "not permitted" in output and "Permission Denied" in output, output
    assert "you are not root" in output, output
    for remedy in REMEDIES:
        assert remedy in output, f"remedy {remedy!r} missing:\n{output}"
    assert_no_process_left(home)
