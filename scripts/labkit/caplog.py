"""A program's output drained from its pipe into a log file that never grows past a cap.

A flooding program (20 KB per call) once wrote hundreds of megabytes of log in seconds. Here the
log keeps the first half of the cap and the latest half, with one line between them that says how
much was cut; the tail part is rewritten at most a few times a second (and when the program ends),
so a reader of the file (the ready line, the last lines of an error) sees the latest output.

A write that fails (a full disk) is remembered, not raised in the draining thread: the program's
pipe is still drained, so it never blocks, and the run reports the error (``error``).
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from pathlib import Path
from typing import IO

CAP_BYTES = 1_000_000
REWRITE_EVERY_S = 0.2
# The drain reads what has come, then waits this long before its next read. A reader blocked on the pipe
# is woken by every write, and a program that prints a line per batch (hundreds a second) was then
# preempted at its print on a busy machine: 43% of a profile's samples once sat on `print`. A reader
# that is not waiting wakes nobody; the pipe (64 KiB) holds what comes meanwhile.
PAUSE_S = 0.05


class CappedLog:
    """The log of one program: ``feed`` it chunks (from one thread), ``close`` it when the pipe ends."""

    def __init__(self, path: Path, *, cap: int = CAP_BYTES) -> None:
        self.path, self.cap = path, cap
        self.head_limit = cap // 2
        self.tail_limit = cap - self.head_limit
        self.received = 0
        self.capped = False
        self.cut = 0  # bytes left out between the head and the tail
        self.error: OSError | None = None
        self._tail = bytearray()
        self._dirty = False
        self._rewritten = 0.0
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        try:
            self._file = open(path, "ab")  # noqa: SIM115 (closed in close())
        except OSError as exc:
            self.error = exc

    def feed(self, data: bytes) -> None:
        with self._lock:
            self.received += len(data)
            if self._file is None:
                return
            try:
                if not self.capped and self.received <= self.cap:
                    self._file.write(data)
                    self._file.flush()
                    return
                if not self.capped:  # the cap is passed now: split what came so far into head and tail
                    self._file.flush()
                    whole = self.path.read_bytes() + data
                    self._tail = bytearray(whole[self.head_limit :])
                    self.capped = True
                    self._trim()
                else:
                    self._tail += data
                    self._trim()
                self._dirty = True
                if time.monotonic() - self._rewritten >= REWRITE_EVERY_S:
                    self._rewrite()
            except OSError as exc:
                self._fail(exc)

    def _trim(self) -> None:
        extra = len(self._tail) - self.tail_limit
        if extra > 0:
            del self._tail[:extra]
            self.cut += extra

    def _rewrite(self) -> None:
        assert self._file is not None
        self._file.seek(self.head_limit)
        self._file.truncate()
        self._file.write(self.note().encode())
        self._file.write(bytes(self._tail))
        self._file.flush()
        self._dirty = False
        self._rewritten = time.monotonic()

    def note(self) -> str:
        return (
            f"\n[labkit: {self.cut:,} bytes of output cut here; this log keeps its first "
            f"{self.head_limit:,} and its last {self.tail_limit:,} bytes]\n"
        )

    def _fail(self, exc: OSError) -> None:
        self.error = exc
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        self._file = None

    def flush(self) -> None:
        """Bring the file up to date (the tail part); safe from any thread."""
        with self._lock:
            if self._file is not None and self._dirty:
                try:
                    self._rewrite()
                except OSError as exc:
                    self._fail(exc)

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as exc:
                    self.error = exc
                self._file = None

    def problem(self) -> str | None:
        """A one-line reason when the log could not be written (a full disk first), else None."""
        if self.error is None:
            return None
        if self.error.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"no space left on the device: could not write {self.path} ({self.error.strerror})"
        return f"could not write {self.path}: {self.error.strerror or self.error}"


def drain(stream: IO[bytes], log: CappedLog) -> threading.Thread:
    """Copy ``stream`` into ``log`` in a daemon thread until the pipe ends (every writer gone)."""

    def run() -> None:
        try:
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not chunk:
                    break
                log.feed(chunk)
                time.sleep(PAUSE_S)
        except (OSError, ValueError):
            pass  # the pipe was closed under us (the toolkit is stopping)
        finally:
            log.close()

    thread = threading.Thread(target=run, name=f"log {log.path.name}", daemon=True)
    thread.start()
    return thread
