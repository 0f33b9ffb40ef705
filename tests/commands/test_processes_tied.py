"""No process outlives the toolkit: `kill -9` mid-run (both attach forms), a daemonising program, the
measuring lock for learner runs, and a full `.labs/`. Real processes, real py-spy, the scaffold's small lab.

Each protection is also switched off in a copy (labkit.reaper.ENABLED), to see that the test notices.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    assert_no_process_left,
    copy_repo,
    hash_tree,
    labkit,
    labkit_argv,
    labkit_env,
    need,
    processes_mentioning,
    scaffold,
    wait_for,
)

NEW = "lab-7"
SERVICE = Path("labs/lab_7/service.py")
MANIFEST = Path(f"labs/{NEW}.yml")
# A daemon, as a careless service might start one: fork, setsid(), fork again; the middle one exits.
DAEMONISE = """\
import os as _os
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        import time as _time
        _time.sleep(600)
    _os._exit(0)
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository with the scaffold's small lab (one profile step, a second or two),
    measured once, so that its results are published as any lab's are."""
    copy = copy_repo(tmp_path_factory.mktemp("tied") / "repo")
    made = scaffold(copy, "--lab", NEW, "--title", "Tied")
    assert made.returncode == 0, made.stderr
    run = labkit(copy, "assets", "--lab", NEW)
    assert run.returncode == 0, str(run)
    return copy


def _copy(small: Path, tmp_path: Path, *, tied: bool = True, pilot: int | None = None) -> Path:
    """A private copy; ``pilot`` also quiets the service after its ready line (so that only the ties can
    end it: a print into the closed pipe of a killed toolkit would end it too)."""
    copy = copy_repo(tmp_path / "repo", source=small)
    if not tied:  # the protection switched off, to see what it prevents
        reaper = copy / "scripts/labkit/reaper.py"
        text = reaper.read_text(encoding="utf-8")
        assert "\nENABLED = True" in text
        reaper.write_text(text.replace("\nENABLED = True", "\nENABLED = False"), encoding="utf-8")
    if pilot is not None:  # a long recording, so that the kill lands while py-spy samples
        manifest = copy / MANIFEST
        text = manifest.read_text(encoding="utf-8")
        assert "adaptive: {pilot: 1, max: 3}" in text, "the scaffold's manifest changed; update this test"
        manifest.write_text(text.replace("{pilot: 1, max: 3}", f"{{pilot: {pilot}, max: {pilot + 5}}}"))
        program = copy / SERVICE
        text = program.read_text(encoding="utf-8")
        ready = 'running as PID {os.getpid()}", flush=True)\n'
        assert ready in text, "the scaffold's service changed; update this test"
        program.write_text(text.replace(ready, f'{ready}    sys.stdout = open(os.devnull, "w")\n'))
    return copy


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError):
        return 0


def _services(copy: Path) -> list[int]:
    """The lab's program itself (not py-spy, whose launch command line names it too)."""
    return [pid for pid, cmd in processes_mentioning(str(copy / SERVICE)) if "py-spy" not in cmd.split()[0]]


def _spies(copy: Path) -> list[int]:
    found = processes_mentioning(str(copy))
    return [pid for pid, cmd in found if "py-spy" in cmd.split()[0] and " record " in cmd]


def _ready(copy: Path) -> bool:
    """The service printed its ready line (after it, the quieted service writes nothing, so a kill that
    closes the toolkit's pipes cannot end it: only the ties can)."""
    logs = (copy / ".labs").rglob("*.log") if (copy / ".labs").is_dir() else ()
    return any("running as PID" in log.read_text(errors="replace") for log in logs)


@contextlib.contextmanager
def _toolkit(copy: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        labkit_argv(copy, *args),
        cwd=copy,
        env=labkit_env(copy),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def _leftovers(copy: Path, grace: float) -> list[tuple[int, str]]:
    deadline = time.monotonic() + grace
    left = processes_mentioning(str(copy))
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = processes_mentioning(str(copy))
    return left


def _kill_all(left: list[tuple[int, str]]) -> None:
    for pid, _ in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    "command",
    [("assets", "--lab", NEW, "--force"), ("learn", NEW, "--method", "launch")],
    ids=["assets-pid", "lab-launch"],
)
def test_kill_9_of_the_toolkit_leaves_no_process(
    small: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    copy = _copy(small, tmp_path, pilot=30)
    with _toolkit(copy, *command) as proc:
        spy = wait_for(lambda: _spies(copy), timeout=60, what="py-spy to record", proc=proc)[0]
        service = wait_for(lambda: _services(copy), timeout=30, what="the service to run", proc=proc)[0]
        wait_for(lambda: _ready(copy), timeout=30, what="the service's ready line", proc=proc)
        if command[0] == "learn":  # the launch form: the service is py-spy's child, the toolkit's grandchild
            assert _parent(service) == spy
        else:
            assert _parent(service) == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert_no_process_left(copy)  # within a few seconds, py-spy and its launched program included


def test_without_the_ties_kill_9_leaves_the_service_running(small: Path, tmp_path: Path) -> None:
    """The test above is not vacuous: with the ties switched off the service survives, as it used to."""
    copy = _copy(small, tmp_path, tied=False, pilot=30)
    with _toolkit(copy, "assets", "--lab", NEW, "--force") as proc:
        wait_for(lambda: _spies(copy), timeout=60, what="py-spy to record", proc=proc)
        wait_for(lambda: _ready(copy), timeout=30, what="the service's ready line", proc=proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    left = _leftovers(copy, grace=2)
    try:
        assert any(str(copy / SERVICE) in cmd for _, cmd in left), left
    finally:
        _kill_all(left)


@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied"])
def test_a_daemonising_program_is_gone_after_a_successful_run(
    small: Path, tmp_path: Path, tied: bool
) -> None:
    copy = _copy(small, tmp_path, tied=tied)
    program = copy / SERVICE
    text = program.read_text(encoding="utf-8")
    program.write_text(text.replace("\nimport argparse\n", f"\n{DAEMONISE}import argparse\n", 1))
    run = labkit(copy, "assets", "--lab", NEW, "--force")
    assert run.returncode == 0, str(run)
    left = _leftovers(copy, grace=3)
    try:
        if tied:
            assert not left, f"the daemon outlived the run: {left}"
        else:  # not vacuous: without the ties, the daemon runs on
            assert left, "the daemon was stopped even without the ties"
    finally:
        _kill_all(left)


def _unmarked_daemon(copy: Path) -> str:
    """The lab's program starts a daemon that also re-executes itself with an empty environment (so it
    carries no LABKIT_OWNER); returns the daemon's command line, which names the copy."""
    program = copy / SERVICE
    text = program.read_text(encoding="utf-8")
    sleeper = f"import time; time.sleep(600)  # {copy}"  # names the copy, so the test can find it
    unmarked = DAEMONISE.replace(
        "        import time as _time\n        _time.sleep(600)\n",
        "        import sys as _sys\n"
        f"        _os.execve(_sys.executable, [_sys.executable, '-c', {sleeper!r}], {{}})\n",
    )
    assert unmarked != DAEMONISE
    program.write_text(text.replace("\nimport argparse\n", f"\n{unmarked}import argparse\n", 1))
    return sleeper


def test_a_daemon_that_drops_the_mark_is_gone_after_a_successful_run(small: Path, tmp_path: Path) -> None:
    """A daemon that also empties its environment (so it carries no LABKIT_OWNER) is still the toolkit's
    orphan: as the child subreaper, the toolkit finds it by its parent and kills it at the end."""
    copy = _copy(small, tmp_path)
    _unmarked_daemon(copy)
    run = labkit(copy, "assets", "--lab", NEW, "--force")
    assert run.returncode == 0, str(run)
    left = _leftovers(copy, grace=3)
    try:
        assert not left, f"the daemon outlived the run: {left}"
    finally:
        _kill_all(left)


@pytest.mark.parametrize("follow", [True, False], ids=["followed", "not-followed"])
def test_kill_9_kills_a_daemon_that_dropped_the_mark(small: Path, tmp_path: Path, follow: bool) -> None:
    """The watchdog follows the toolkit's descendants while it lives (PID and start time): after a
    `kill -9` of the toolkit it kills the daemon that carries no mark and left every process group.
    With the following switched off (labkit.reaper.FOLLOW) the daemon runs on: the test is not vacuous."""
    copy = _copy(small, tmp_path, pilot=30)
    if not follow:
        reaper = copy / "scripts/labkit/reaper.py"
        text = reaper.read_text(encoding="utf-8")
        assert "\nFOLLOW = True" in text
        reaper.write_text(text.replace("\nFOLLOW = True", "\nFOLLOW = False"), encoding="utf-8")
    sleeper = _unmarked_daemon(copy)
    with _toolkit(copy, "assets", "--lab", NEW, "--force") as proc:
        wait_for(lambda: _spies(copy), timeout=60, what="py-spy to record", proc=proc)
        daemon = wait_for(lambda: processes_mentioning(sleeper), timeout=30, what="the daemon", proc=proc)
        assert _parent(daemon[0][0]) == proc.pid, "the daemon is not the toolkit's orphan"
        time.sleep(0.5)  # the watchdog looks every 0.1 s: let it see the daemon once
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    if follow:
        assert_no_process_left(copy)
        return
    left = _leftovers(copy, grace=2)
    try:
        assert any(sleeper in cmd for _, cmd in left), left
    finally:
        _kill_all(left)


def _holder(copy: Path, what: str, seconds: float) -> subprocess.Popen[str]:
    """A process that holds the copy's lock through the copy's own toolkit, as ``what`` would."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from labkit import lock\n"
        f"with lock.held(Path({str(copy / '.labs/lock')!r}), wait_s=0, say=print, what={what!r}):\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=labkit_env(copy), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize(
    "command",
    [("learn", NEW), ("grade", NEW), ("notebook", "--lab", NEW), ("soak", "--lab", NEW, "--runs", "1")],
    ids=["lab", "grade", "notebooks", "soak"],
)
def test_a_learner_run_names_the_measuring_run_it_waits_for(
    small: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    copy = _copy(small, tmp_path)
    holder = _holder(copy, "make assets", 60)
    try:
        before = hash_tree(copy / "docs")
        run = labkit(copy, *command, env={"LABKIT_LOCK_WAIT": "1"})
        assert run.returncode == 2, str(run)
        assert f"`make assets` (PID {holder.pid}) holds .labs/lock" in run.flat, str(run)
        assert "Traceback" not in run.output
        assert hash_tree(copy / "docs") == before
        assert not (copy / "out").exists(), "it ran without the lock"
    finally:
        holder.kill()
        holder.wait()


def test_a_learner_run_waits_for_the_lock_then_runs(small: Path, tmp_path: Path) -> None:
    copy = _copy(small, tmp_path)
    holder = _holder(copy, "make assets", 3)
    try:
        run = labkit(copy, "learn", NEW, env={"LABKIT_LOCK_WAIT": "60"})
        assert holder.poll() is not None, "the learner's run did not wait for the holder"
    finally:
        holder.kill()
        holder.wait()
    assert run.returncode == 0, str(run)
    assert f"waiting up to 60 s for `make assets` (PID {holder.pid}) to finish" in run.flat, str(run)
    assert (copy / "out" / NEW / "results.json").is_file()
    assert_no_process_left(copy)


@pytest.mark.parametrize("method", ["pid", "launch"])  # the service's log first, or py-spy's
def test_a_full_labs_folder_says_so_and_publishes_nothing(small: Path, tmp_path: Path, method: str) -> None:
    linux_root = sys.platform.startswith("linux") and os.geteuid() == 0
    need(linux_root, "a full .labs/ is simulated with a tiny tmpfs: Linux, as root")
    copy = _copy(small, tmp_path)
    labs = copy / ".labs"
    labs.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(labs)], check=False)
    if mounted.returncode != 0:
        need(False, "could not mount a tmpfs (a container without CAP_SYS_ADMIN?)")
    try:
        with contextlib.suppress(OSError), open(labs / "filler", "wb") as filler:
            filler.write(b"\0" * 200_000)  # the disk is full from here on
        before = hash_tree(copy / "docs")
        run = labkit(copy, "assets", "--lab", NEW, "--force", "--method", method)
        assert run.returncode != 0, str(run)
        assert "no space left on the device: could not write .labs/work/lab-7/" in run.flat, str(run)
        assert "Traceback" not in run.output and "Exception in thread" not in run.output, str(run)
        assert hash_tree(copy / "docs") == before
        assert not (copy / f"docs/labs/{NEW}/data.new").exists()
        assert_no_process_left(copy)
    finally:
        subprocess.run(["umount", str(labs)], check=False)
