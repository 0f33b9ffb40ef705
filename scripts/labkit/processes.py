"""Real processes: start them with their output in a log file, wait until ready, always stop them.

Children run in their own session, so a Ctrl-C in the terminal reaches only the
toolkit, which then stops them in order instead of leaving any behind. Every child is
also tied to the toolkit's life, a `kill -9` included (labkit.reaper), and its log is
capped (labkit.caplog).
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from labkit import caplog, reaper, signals
from labkit.errors import LabError

Popen = subprocess.Popen[bytes]

_children: set[subprocess.Popen[bytes]] = set()
_logs: dict[Path, tuple[caplog.CappedLog, threading.Thread, int]] = {}  # capped logs: sink, drain, pid
_lock = threading.Lock()

# Set, these make a Rust program (py-spy) print a stack backtrace under its error, which a learner's
# terminal usually does not show: children never inherit them, so captured output is the same anywhere.
UNINHERITED = ("RUST_BACKTRACE", "RUST_LIB_BACKTRACE")


def inherited() -> dict[str, str]:
    """This process's environment as a child inherits it: without the variables in UNINHERITED, and with
    ``PYTHON``, the interpreter the toolkit runs lab programs with, for a lab's wrapper script (Lab 4's
    `serve.sh`) to start the same Python as a `.py` step would, whatever `python` the PATH finds first."""
    kept = {name: value for name, value in os.environ.items() if name not in UNINHERITED}
    return {**kept, "PYTHON": sys.executable}


def popen(
    args: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    memory: int | None = None,
    **kwargs: Any,
) -> Popen:
    """A child in its own session, tied to the toolkit's life (labkit.reaper), on the list stop_all stops;
    with ``memory``, its address space (and its children's) is limited to that many bytes.

    Ctrl-C between the fork and the registration would leave a child nobody stops (Popen does not
    kill what it forked when interrupted): the signals are held until the child is on the list.
    """
    reaper.guard()
    with signals.deferred("the child was registered"):
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            start_new_session=True,
            env=reaper.env({**inherited(), **(env or {})}),
            preexec_fn=_in_child(reaper.tie(), memory),  # prctl and setrlimit only: no lock taken
            **kwargs,
        )
        with _lock:
            _children.add(proc)
        reaper.register(proc.pid)
    return proc


def _in_child(tie: Callable[[], None] | None, memory: int | None) -> Callable[[], None] | None:
    """What the forked child does before exec: the tie to the toolkit, then the memory limit."""
    if memory is None:
        return tie
    _, hard = resource.getrlimit(resource.RLIMIT_AS)  # never above a limit this process already has
    value = memory if hard == resource.RLIM_INFINITY else min(memory, hard)

    def run() -> None:
        if tie is not None:
            tie()
        resource.setrlimit(resource.RLIMIT_AS, (value, value))

    return run


def start(
    args: Sequence[str], *, log: Path, cwd: Path, stdout: int | None = None, memory: int | None = None
) -> Popen:
    """Start a child in its own session; its output is drained into ``log`` (capped, see labkit.caplog)
    unless a pipe is asked for; ``memory`` limits its address space (bytes)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = popen(
        args,
        cwd=cwd,
        env={"PYTHONUNBUFFERED": "1"},
        memory=memory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.STDOUT,
    )
    if stdout is None:
        assert proc.stdout is not None
        sink = caplog.CappedLog(log)
        keep(log, sink, caplog.drain(proc.stdout, sink), proc)
    return proc


def keep(log: Path, sink: caplog.CappedLog, drain: threading.Thread, proc: Popen) -> None:
    """Track a capped log that a caller drains itself (py-spy's): its problems count for the run."""
    with _lock:
        _logs[log] = (sink, drain, proc.pid)


def _capped(log: Path, *, settle: float = 0.0) -> caplog.CappedLog | None:
    """The capped log at ``log``; with ``settle``, first let its drain catch up (up to that long), so
    that what a program printed just before it exited is in the file."""
    with _lock:
        found = _logs.get(log)
    if found is None:
        return None
    sink, drain, _ = found
    if settle and drain.is_alive():
        drain.join(timeout=settle)
    sink.flush()
    return sink


def log_problem(log: Path) -> str | None:
    """Why ``log`` could not be written (a full disk), or None."""
    sink = _capped(log)
    return sink.problem() if sink else None


def write_problems(under: Path) -> list[str]:
    """Every log under ``under`` that could not be written: a run with one publishes nothing."""
    with _lock:
        sinks = [sink for path, (sink, _, _) in _logs.items() if path.is_relative_to(under)]
    return [p for p in (sink.problem() for sink in sinks) if p]


def cut_logs(under: Path) -> list[caplog.CappedLog]:
    """The logs under ``under`` that passed their cap (their middle was cut), to say so."""
    with _lock:
        return [sink for path, (sink, _, _) in _logs.items() if path.is_relative_to(under) and sink.capped]


def tail(log: Path, lines: int = 8) -> str:
    sink = _capped(log, settle=0.2)
    if sink is not None and sink.problem():
        return f"(no output: {sink.problem()})"
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_ready(proc: subprocess.Popen[bytes], *, log: Path, pattern: str, timeout: float) -> None:
    """Wait until the program printed ``pattern`` (it is then inside its work loop)."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if regex.search(log.read_text(encoding="utf-8", errors="replace")):
                return
        problem = log_problem(log)
        if problem:
            raise LabError(f"{problem}; the program's output could not be kept, so the run stops here")
        if proc.poll() is not None:
            _capped(log, settle=1.0)  # its last lines may still be in the pipe
            with contextlib.suppress(OSError):
                if regex.search(log.read_text(encoding="utf-8", errors="replace")):
                    return  # ready, then gone: the caller finds it exited
            problem = log_problem(log)  # the drain may have met a full disk only after the exit
            if problem:
                raise LabError(f"{problem}; the program's output could not be kept, so the run stops here")
            raise LabError(
                f"the program exited (code {proc.returncode}) before it was ready to be profiled; "
                f"its last output:\n{tail(log)}"
            )
        time.sleep(0.02)
    raise LabError(
        f"the program did not print {pattern!r} within {timeout:.0f} s; its last output:\n{tail(log)}"
    )


def stop(proc: subprocess.Popen[bytes], *, grace: float = 3.0) -> int | None:
    """Ask politely (SIGINT), then firmly (SIGKILL); the whole process group goes."""
    try:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGINT)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=grace)
        else:
            _signal_group(proc, signal.SIGKILL)  # a grandchild may outlive its parent
    finally:
        with _lock:
            _children.discard(proc)
            drained = [(sink, thread) for sink, thread, pid in _logs.values() if pid == proc.pid]
        reaper.unregister(proc.pid)
        for sink, thread in drained:
            thread.join(timeout=0.5)  # its pipe ends with the group (a daemon may still hold it)
            sink.flush()
    return proc.returncode


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_all() -> None:
    """Stop every child, then kill what they left (a daemon re-parented to us: labkit.reaper)."""
    with _lock:
        running = list(_children)
    for proc in running:
        stop(proc, grace=2.0)
    with _lock:
        spare = {proc.pid for proc in _children}  # started meanwhile by another thread: not ours to kill
    reaper.sweep(spare)


@contextlib.contextmanager
def supervised() -> Iterator[None]:
    """Stop every child on the way out, and turn SIGTERM/SIGHUP into a clean interrupt."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
