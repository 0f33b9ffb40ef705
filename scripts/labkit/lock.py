"""One measuring run at a time: a lock file that names its holder and cannot outlive it.

`make assets`, `make soak`, `make lab-N`, `make grade-N` and `make notebooks` take turns: two of
them at once would time each other, and skew the published timings. The lock is an flock on
.labs/lock, so the kernel releases it when its holder dies, even by SIGKILL; the file also holds
the holder's PID (and lock.holder its command) for the message a second run prints while it waits.
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


def _what(path: Path) -> Path:
    """Beside the lock: the holder's command (the lock file itself holds only its PID)."""
    return path.with_name(path.name + ".holder")


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
    try:
        what = _what(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        what = ""
    command = f"`{what}`" if what else "another measuring run"
    return f"{command} (PID {pid})" if pid else command


def _shown(path: Path) -> str:
    """The lock file as the user knows it (.labs/lock), not by its absolute path."""
    return f"{path.parent.name}/{path.name}"


@contextlib.contextmanager
def held(
    path: Path, *, wait_s: float, say: Callable[[str], None], what: str = "make assets"
) -> Iterator[None]:
    """Hold the lock for ``what`` (the command, as the user typed it); wait up to ``wait_s`` seconds for
    another run to finish, then give up, naming it."""
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
                        f"{_holder(path)} holds {_shown(path)}; it is still running after {wait_s:.0f} s. "
                        "Wait for it, or stop it, then run again."
                    ) from None
                if not told:
                    say(
                        f"waiting up to {wait_s:.0f} s for {_holder(path)} to finish: measuring runs take "
                        "turns, so that they do not time each other"
                    )
                    told = True
                time.sleep(0.2)
        stale = _pid(path)
        if stale and stale != os.getpid() and not _alive(stale):
            say(f"taking over the lock left by PID {stale}, which is no longer running (killed?)")
        # Unbuffered: on a full disk the write fails here, once; the flock holds all the same, unnamed.
        with contextlib.suppress(OSError):
            _what(path).write_text(f"{what}\n", encoding="utf-8")
        with contextlib.suppress(OSError):
            os.ftruncate(handle.fileno(), 0)
            os.write(handle.fileno(), f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(handle.fileno(), 0)
        handle.close()  # closing releases the flock
