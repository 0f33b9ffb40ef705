"""Children tied to the toolkit (labkit.reaper), capped logs (labkit.caplog), a hung py-spy, the
environment children inherit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from labkit import caplog, processes, pyspy, reaper
from labkit.errors import LabError

from tests.helpers import need, processes_mentioning

DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        print(f"daemon {os.getpid()}", flush=True)
        time.sleep(600)
    os._exit(0)
print("started", flush=True)
time.sleep(600)
"""


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


@contextlib.contextmanager
def _killing(pids: list[int]) -> Iterator[None]:
    """Whatever the test finds, nothing it started survives it."""
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a subreaper and /proc are Linux's")
def test_a_daemon_is_re_parented_to_the_toolkit_then_killed_and_reaped(tmp_path: Path) -> None:
    program = tmp_path / "daemon.py"
    program.write_text(DAEMON, encoding="utf-8")
    log = tmp_path / "daemon.log"
    found: list[int] = []
    with _killing(found):
        with processes.supervised():
            processes.start([sys.executable, str(program)], log=log, cwd=tmp_path)
            deadline = time.monotonic() + 20
            while not found and time.monotonic() < deadline:
                found += [int(w) for w in log.read_text().split() if w.isdigit()]
                time.sleep(0.02)
            assert found, "the program never daemonised"
            daemon = found[0]
            deadline = time.monotonic() + 5
            while (_stat(daemon) or ("", 0))[1] != os.getpid() and time.monotonic() < deadline:
                time.sleep(0.02)  # its parent exits: the subreaper (this process) adopts it
            assert (_stat(daemon) or ("", 0))[1] == os.getpid(), "the toolkit is not a subreaper"
        assert not _alive(daemon), "the daemon outlived the toolkit's cleanup"
        assert _stat(daemon) is None, "the daemon was left a zombie of the toolkit"


def test_the_cleanup_sweep_does_nothing_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reaper, "ENABLED", False)
    assert reaper.sweep() == [] and reaper.MARK not in reaper.env({})
    assert reaper.tie() is None


def test_a_flooding_program_gets_a_capped_log_that_says_it_was_cut(tmp_path: Path) -> None:
    flood = "import sys\nfor i in range(4000): sys.stdout.write(f'line {i:05d} ' + 'x' * 1000 + '\\n')\n"
    log = tmp_path / "flood.log"
    proc = processes.start([sys.executable, "-c", flood], log=log, cwd=tmp_path)
    assert proc.wait(timeout=60) == 0
    processes.stop(proc)
    text = log.read_text()
    assert len(text.encode()) <= caplog.CAP_BYTES + 500
    assert text.startswith("line 00000 ") and text.rstrip().endswith("x") and "line 03999 " in text
    assert "bytes of output cut here" in text
    assert [s.path for s in processes.cut_logs(tmp_path)] == [log]
    assert "line 03999" in processes.tail(log, 1)


def test_a_log_under_the_cap_is_kept_whole(tmp_path: Path) -> None:
    log = tmp_path / "small.log"
    proc = processes.start([sys.executable, "-c", "print('hello')"], log=log, cwd=tmp_path)
    proc.wait(timeout=30)
    processes.stop(proc)
    assert log.read_text() == "hello\n"
    assert processes.cut_logs(tmp_path) == []


def test_a_full_disk_is_named_not_raised_in_the_draining_thread(tmp_path: Path) -> None:
    need(os.geteuid() == 0, "mounting a tiny tmpfs (a full disk) needs root")
    full = tmp_path / "full"
    full.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(full)], check=False)
    need(mounted.returncode == 0, "could not mount a tmpfs here (a container without CAP_SYS_ADMIN?)")
    try:
        with contextlib.suppress(OSError), open(full / "filler", "wb") as filler:
            filler.write(b"\0" * 200_000)
        log = full / "program.log"
        proc = processes.start([sys.executable, "-c", "print('ready', flush=True)"], log=log, cwd=tmp_path)
        with pytest.raises(LabError) as failed:
            processes.wait_ready(proc, log=log, pattern="ready", timeout=20)
        processes.stop(proc)
        message = str(failed.value)
        assert "no space left" in message and str(log) in message and "\n" not in message
        assert processes.write_problems(full)
    finally:
        subprocess.run(["umount", str(full)], check=False)


def test_a_hung_py_spy_version_is_a_located_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hung = tmp_path / "py-spy"
    hung.write_text("#!/bin/sh\nsleep 600\n", encoding="utf-8")
    hung.chmod(0o755)
    monkeypatch.setattr(pyspy, "VERSION_TIMEOUT_S", 0.5)
    started = time.monotonic()
    with pytest.raises(LabError) as failed:
        pyspy.version(str(hung))
    assert time.monotonic() - started < 10
    message = str(failed.value)
    assert message.startswith(f"{hung}: `py-spy --version` did not answer within 0.5 s"), message
    assert "\n" not in message
    assert not processes_mentioning(str(hung)), "the hung py-spy runs on"


def test_py_spy_version_still_reads_a_real_py_spy() -> None:
    assert pyspy.version(pyspy.find()).count(".") == 2


@contextlib.contextmanager
def _not_python() -> Iterator[int]:
    """A running process that is not Python: py-spy refuses its PID."""
    proc = subprocess.Popen(["sleep", "60"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def _dump_refusal(exe: str, pid: int, log: Path) -> str:
    proc = processes.start([exe, "dump", "--pid", str(pid)], log=log, cwd=log.parent)
    proc.wait(timeout=30)
    processes.stop(proc)
    return log.read_text(encoding="utf-8")


def _record_refusal(exe: str, pid: int, log: Path) -> str:
    out = log.with_suffix(".json")
    return pyspy.record(exe=exe, out=out, log=log, cwd=log.parent, rate=100, duration=1, pid=pid).output


@pytest.mark.parametrize("run", [_dump_refusal, _record_refusal], ids=["command-dump-top", "record"])
def test_a_py_spy_refusal_is_captured_without_a_rust_backtrace_whatever_the_environment(
    run: Callable[[str, int, Path], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A learner's terminal shows py-spy's one `Error:` line; RUST_BACKTRACE here must not add a backtrace."""
    exe = pyspy.find()
    monkeypatch.setenv("RUST_BACKTRACE", "1")
    monkeypatch.setenv("RUST_LIB_BACKTRACE", "1")
    with _not_python() as pid:
        bare = subprocess.run([exe, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30)
        assert "Stack backtrace:" in bare.stderr  # the variable does add one to a py-spy run as such
        said = run(exe, pid, tmp_path / "spy.log")
    assert "Error: Failed to find python version from target process" in said, said
    assert "Stack backtrace:" not in said, said
    assert "RUST_BACKTRACE" in os.environ  # the toolkit's own environment is left as it was


def test_a_wrapper_script_finds_the_toolkits_python_in_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lab program started through `sh` (Lab 4's serve.sh) runs the Python the toolkit runs `.py` steps
    with, not whatever PYTHON the caller's shell had set."""
    monkeypatch.setenv("PYTHON", "/elsewhere/python2")
    log = tmp_path / "out.log"
    proc = processes.start(["sh", "-c", 'echo "$PYTHON"'], log=log, cwd=tmp_path)
    assert proc.wait(timeout=30) == 0
    processes.stop(proc)
    assert log.read_text(encoding="utf-8").strip() == sys.executable
