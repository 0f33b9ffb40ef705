"""Real processes: start them with their output in a log file, wait until ready, always stop them.

Children run in their own session, so a Ctrl-C in the terminal reaches only the
toolkit, which then stops them in order instead of leaving any behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

from labkit import signals
from labkit.errors import LabError

_children: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()


def start(args: Sequence[str], *, log: Path, cwd: Path, stdout: int | None = None) -> subprocess.Popen[bytes]:
    """Start a child in its own session; its output goes to ``log`` unless a pipe is asked for."""
    log.parent.mkdir(parents=True, exist_ok=True)
    # Ctrl-C between the fork and the registration would leave a child nobody stops (Popen does not
    # kill what it forked when interrupted): hold the signals until the child is on the list.
    with signals.deferred("the child was registered"), contextlib.ExitStack() as stack:
        sink = stack.enter_context(open(log, "ab")) if stdout is None else stdout
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        with _lock:
            _children.add(proc)
    return proc


def tail(log: Path, lines: int = 8) -> str:
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
        if proc.poll() is not None:
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
    return proc.returncode


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def stop_all() -> None:
    with _lock:
        running = list(_children)
    for proc in running:
        stop(proc, grace=2.0)


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
