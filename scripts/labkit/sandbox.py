"""The learner's code runs here, in child processes only: a time limit, capped output, data back.

A child never judges: it runs the learner's code and reports what it saw (outputs for inputs the
grader sends, or a lab program's JSON), and the grader decides in its own process. A child's exit,
its silence and its output are data: an exit before its report is a failure with a reason, never a
pass. Each child runs in its own process group, in a private temporary folder as its working
directory, and is killed with its whole group at its time limit.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import caplog, processes
from labkit.errors import LabError

DRAIN = 1.0  # seconds a FIFO is still read once its reader is told to stop (a writer may never stop)
CAP = 1_000_000  # bytes of a child's output kept per log: the first half and the last half
SOCKET_PATH_MAX = 107  # bytes of a Unix socket's path (the kernel's 108 with its final NUL)
READ_CAP = 256_000_000  # bytes of a report a child wrote (a py-spy recording of a long run is large)
MEMORY_MB = 4096  # the address space of every child that runs the learner's code (MB), generous
MEMORY_ENV = "LABKIT_GRADE_MEMORY_MB"  # another limit, in MB (e.g. a small one in tests)


def memory_mb() -> int:
    """The memory limit of the learner's children, in MB: $LABKIT_GRADE_MEMORY_MB or MEMORY_MB."""
    given = os.environ.get(MEMORY_ENV, "").strip()
    if not given:
        return MEMORY_MB
    try:
        chosen = int(given)
    except ValueError:
        chosen = 0
    if chosen < 64:
        raise LabError(f"${MEMORY_ENV} must be a whole number of MB, at least 64, not {given!r}")
    return chosen


def memory_note() -> str:
    """How a failure names the limit it hit."""
    return f"the grader's memory limit of {memory_mb():,} MB (${MEMORY_ENV})"


def named_limit(text: str) -> str:
    """``text`` (a child's last words) with the memory limit named when it ran out of memory."""
    return f"{text} (it hit {memory_note()})" if "MemoryError" in text else text


class NotRegular(OSError):
    """A path a child could have written that is not a plain file, or is too large to read."""


def read_report(path: Path, *, cap: int = READ_CAP) -> bytes:
    """The bytes of a file a learner's process could have written: a regular file only, read with a cap.

    A FIFO, a device or a link planted there would hang or redirect a plain read; it is refused with
    its reason, and the read never blocks (O_NONBLOCK, and the type is checked on the open descriptor).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(f"{path.name} is not a regular file")
        chunks: list[bytes] = []
        size = info.st_size
        while size <= cap and (chunk := os.read(fd, 1 << 20)):  # a file that grows is cut at the cap
            chunks.append(chunk)
            size = max(size, sum(map(len, chunks)))
        if size > cap:
            raise NotRegular(f"{path.name} is larger than {cap:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


class Capture:
    """A child's output drained into its log, capped as every program's log is (labkit.caplog: the
    first and last halves kept, the cut marked): from a pipe, or from a FIFO this process holds open."""

    def __init__(self, stream: Any = None, *, log: Path, fd: int | None = None, cap: int = CAP) -> None:
        self.log = log
        with contextlib.suppress(OSError):  # never an earlier run's output in this run's log
            log.parent.mkdir(parents=True, exist_ok=True)
            open(log, "wb").close()
        self.sink = caplog.CappedLog(log, cap=cap)
        self.stopping = threading.Event()
        target, source = (self._drain, stream) if fd is None else (self._poll, fd)
        self._thread = threading.Thread(target=target, args=(source,), daemon=True)
        self._thread.start()

    def _drain(self, stream: Any) -> None:
        """A pipe: read until its writers are gone."""
        with contextlib.suppress(OSError, ValueError):
            while chunk := stream.read1(65536):
                self.sink.feed(chunk)

    def _poll(self, fd: int) -> None:
        """A FIFO this process also holds open: read until told to stop and nothing is left. A writer that
        never stops (a learner's process left behind) is read for at most ``DRAIN`` seconds more."""
        until: float | None = None  # set once told to stop
        with contextlib.suppress(OSError, ValueError):
            while until is None or time.monotonic() < until:
                # told to stop before this select: an empty answer then means nothing more will come
                if until is None and self.stopping.is_set():
                    until = time.monotonic() + DRAIN
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    if until is not None:
                        return
                    continue
                with contextlib.suppress(BlockingIOError):
                    if chunk := os.read(fd, 65536):
                        self.sink.feed(chunk)
                    elif self.stopping.wait(0.1):  # at its end (no writer): never a busy loop on it
                        return

    def join(self, timeout: float = DRAIN + 4) -> bool:
        """Wait for the reader to finish; whether it did (a pipe's reader ends with its last writer, a
        FIFO's within DRAIN seconds of being told to stop)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def cut(self) -> int:
        """Bytes of output not kept."""
        return self.sink.cut

    def text(self) -> str:
        self.sink.flush()
        try:
            return read_report(self.log, cap=2 * CAP).decode("utf-8", errors="replace")
        except OSError:
            return ""

    def last_lines(self, lines: int = 8) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def write(self) -> str:
        """Close the log; returns a note when output was cut ("" otherwise)."""
        self.sink.close()
        problem = self.sink.problem()
        if problem:
            raise LabError(problem)
        return cut_note(self.log.name, self.cut)


def write_text(path: Path, text: str) -> None:
    """Write one of the grader's own files; a full disk or a refused write is a one-line error naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LabError(f"{path}: cannot write it ({exc.strerror or exc})") from exc


def remove(path: Path) -> None:
    """Remove one of the grader's own files if it is there; a refusal is a one-line error naming it."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise LabError(f"{path}: cannot remove it ({exc.strerror or exc})") from exc


def cut_note(name: str, cut: int) -> str:
    return f"{name}: {cut:,} bytes of output cut (kept the first and last {CAP // 2:,} bytes)" if cut else ""


@contextlib.contextmanager
def fifo_output(path: Path, *, log: Path) -> Iterator[tuple[list[str], Capture]]:
    """A named pipe for a program launched by another (py-spy's launch form), drained with a cap.

    Yields the prefix that sends the program's output there (``sh`` redirects, then ``exec``s the
    program, so py-spy still profiles the program's own process) and the capture. The FIFO is held
    open here for reading and writing, so opening it never blocks and a program's exit is no EOF.
    """
    os.mkfifo(path, 0o600)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    capture = Capture(fd=fd, log=log)
    memory = f"ulimit -v {memory_mb() << 10}"  # the learner's code runs in the program: in KB
    try:
        yield ["/bin/sh", "-c", f'{memory} && exec "$@" >"$0" 2>&1', str(path)], capture
    finally:
        capture.stopping.set()
        if capture.join():  # a reader still running keeps its descriptor: its number is never reused under it
            os.close(fd)


@contextlib.contextmanager
def private_folder(base: Path) -> Iterator[Path]:
    """A folder only this user can enter, under ``base`` (the children's working directory).

    ``base`` (.labs/grade/tmp/<id>/) is emptied first: a grader killed with -9 cannot remove its
    folder, and the next grade does, instead of leaving it in the system's /tmp for ever.
    """
    clear(base)
    base.mkdir(parents=True, exist_ok=True)
    # A Unix socket's path holds at most 107 bytes: a very deep repository falls back to the system's.
    near = len(os.fsencode(base)) + len("/tmpXXXXXXXX/channel") <= SOCKET_PATH_MAX
    with tempfile.TemporaryDirectory(prefix="tmp", dir=base if near else None) as name:
        os.chmod(name, 0o700)
        yield Path(name)


def clear(folder: Path) -> None:
    """Remove ``folder`` and what is in it (a link there is removed, not followed)."""
    if folder.is_symlink():
        folder.unlink()
    elif folder.exists():
        for top, dirs, _ in os.walk(folder):  # a child may have left a folder that cannot be entered
            for name in dirs:
                inner = os.path.join(top, name)
                if not os.path.islink(inner):
                    with contextlib.suppress(OSError):
                        os.chmod(inner, 0o700)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Ran:
    """A lab program run to its end (or killed at its limit), seen from outside."""

    code: int | None  # None: killed at the time limit
    output: str  # capped
    note: str  # "" or what was cut from the output
    limit_s: float

    @property
    def timed_out(self) -> bool:
        return self.code is None


def run(argv: Sequence[str], *, cwd: Path, log: Path, limit_s: float) -> Ran:
    """Run a program that runs learner code to its end; kill its whole group at ``limit_s``."""
    memory = memory_mb() << 20
    proc = processes.start(list(argv), log=log, cwd=cwd, stdout=subprocess.PIPE, memory=memory)
    assert proc.stdout is not None
    capture = Capture(proc.stdout, log=log)
    code: int | None
    try:
        code = proc.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        processes.stop(proc, grace=1.0)
        capture.join()
    note = capture.write()
    return Ran(code=code, output=capture.text(), note=note, limit_s=limit_s)
