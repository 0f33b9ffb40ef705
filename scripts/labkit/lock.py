"""One `make assets` at a time: a lock file that names its holder and cannot outlive it.

The lock is an flock on .labs/lock, so the kernel releases it when its holder
dies, even by SIGKILL; the file also holds the holder's PID for the message a
second run prints while it waits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from labkit.errors import LabError


def _pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> str:
    pid = _pid(path)
    return f"PID {pid}" if pid else "another run"


@contextlib.contextmanager
def held(path: Path, *, wait_s: float, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock; wait up to ``wait_s`` seconds for another run to finish, then give up, naming it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 (held for the whole block below)
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LabError(
                        f"another `make assets` ({_holder(path)}) holds {path.name}; it is still running "
                        f"after {wait_s:.0f} s. Wait for it, or stop it, then run again."
                    ) from None
                if not told:
                    say(f"waiting up to {wait_s:.0f} s for another `make assets` ({_holder(path)}) to finish")
                    told = True
                time.sleep(0.2)
        stale = _pid(path)
        if stale and stale != os.getpid() and not _alive(stale):
            say(f"taking over the lock left by PID {stale}, which is no longer running (killed?)")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
        handle.close()  # closing releases the flock
