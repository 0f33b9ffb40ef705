"""A finder in a child process of its own, timed from outside (``bench.py --finder``).

The parent sends a batch of inputs (marshal: its own data) and times, on its own clock, the trip
from the first byte sent to the last byte of the answers received. Each answer comes back as the
count and the sum of its distinct values (a plain array of integers, never unpickled or
unmarshalled: the child may run anyone's code), which the child cannot give for fresh inputs without
finding the duplicates; a checked finder's summaries must equal the reference's before the time
counts. (Whole answers cost more to send than the fixed finder costs to run.) Run as a script, this file is
the child: it loads the finder, says it is ready, then answers batch after batch.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import marshal
import os
import resource
import signal
import struct
import subprocess
import sys
import time
from array import array
from collections.abc import Collection
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slow_service"))

from finders import find_duplicates_fast, load_finder

HEADER = struct.Struct("!cQ")  # the kind of a message and its length
READY, FAILED, ANSWERS, RAISED, BATCH = b"K", b"E", b"A", b"R", b"B"
REPLY_CAP = 1 << 30  # bytes of one reply: far above any honest batch's answers
START_S = 60.0  # seconds a child may take to load its finder


def read_message(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    """(kind, payload), or None at the end of the stream (the other side is gone)."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    kind, size = HEADER.unpack(head)
    if size > REPLY_CAP:
        raise ValueError(f"a message of {size:,} bytes")
    payload = stream.read(size)
    return None if len(payload) < size else (kind, payload)


def write_message(stream: BinaryIO, kind: bytes, payload: bytes) -> None:
    stream.write(HEADER.pack(kind, len(payload)) + payload)
    stream.flush()


def memory_limit() -> str:
    """This process's address-space limit, as a failure names it ("" when there is none)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return "" if soft == resource.RLIM_INFINITY else f" (the address-space limit is {soft >> 20:,} MB)"


def _die_with_parent() -> None:
    """In the forked child: SIGKILL when this benchmark dies (Linux), whatever the child does."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class Remote:
    """A finder (``FILE.py:FUNCTION``) in its own child, in its own process group."""

    def __init__(self, spec: str, *, checked: bool = False, who: str = "your finder") -> None:
        self.spec, self.checked, self.who = spec, checked, who
        self.others: list[Remote] = []  # stopped while this one is timed
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(Path(__file__).resolve()), str(down_r), str(up_w), spec],
            pass_fds=(down_r, up_w),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped and killed as one
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        os.close(down_r)
        os.close(up_w)
        with contextlib.suppress(OSError, AttributeError):  # fewer trips through a larger pipe (Linux)
            fcntl.fcntl(down_w, fcntl.F_SETPIPE_SZ, 1 << 20)
        self.down = os.fdopen(down_w, "wb")
        self.up = os.fdopen(up_r, "rb")
        kind, payload = self._receive("while its file was loaded")
        if kind != READY:
            self.close()
            raise SystemExit(f"{self.who} could not be loaded: {payload.decode(errors='replace')}")

    @staticmethod
    def valid(spec: str) -> bool:
        file, sep, name = spec.rpartition(":")
        return bool(sep) and file.endswith(".py") and name.isidentifier()

    def _gone(self, when: str) -> SystemExit:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        code = self.proc.poll()
        how = f"exited (code {code})" if code is not None else "closed its channel"
        return SystemExit(f"{self.who}'s process {how} before it answered ({when}){memory_limit()}")

    def _receive(self, when: str) -> tuple[bytes, bytes]:
        try:
            message = read_message(self.up)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{self.who}'s process broke its channel ({when}): {exc}") from None
        if message is None:
            raise self._gone(when)
        return message

    def _trip(self, inputs: list[list[int]]) -> tuple[float, bytes, bytes]:
        """Send the batch, wait for the reply: (seconds on this process's clock, kind, payload)."""
        payload = marshal.dumps(inputs)  # before the clock: the parent's own work
        for other in self.others:
            other.pause()
        try:
            started = time.perf_counter()
            try:
                write_message(self.down, BATCH, payload)
            except OSError:
                raise self._gone(f"n = {len(inputs[0]):,}") from None
            kind, reply = self._receive(f"n = {len(inputs[0]):,}")
            elapsed = time.perf_counter() - started
        finally:
            for other in self.others:
                other.resume()
        return elapsed, kind, reply

    def _decode(self, inputs: list[list[int]], kind: bytes, reply: bytes) -> list[tuple[int, int]]:
        n = f"n = {len(inputs[0]):,}"
        if kind == RAISED:
            text = reply.decode(errors="replace")
            limit = memory_limit() if text.startswith("MemoryError") else ""
            raise SystemExit(f"{self.who} raised {text} at {n}{limit}")
        summary = array("q")
        with contextlib.suppress(ValueError):
            summary.frombytes(reply)
        if kind != ANSWERS or len(summary) != 2 * len(inputs):
            raise SystemExit(f"{self.who}'s process sent something else than answers at {n}")
        return list(zip(summary[::2], summary[1::2], strict=True))

    def answers(self, inputs: list[list[int]]) -> list[tuple[int, int]]:
        """The count and the sum of each answer's distinct values, for a batch, not timed."""
        _, kind, reply = self._trip(inputs)
        return self._decode(inputs, kind, reply)

    def timed(self, inputs: list[list[int]]) -> float:
        """Seconds for the whole batch, on this process's clock; a checked finder's answers must be right."""
        elapsed, kind, reply = self._trip(inputs)
        answers = self._decode(inputs, kind, reply)
        if self.checked:
            for values, answer in zip(inputs, answers, strict=True):
                if answer != summary(find_duplicates_fast(values)):
                    raise SystemExit(
                        f"{self.who} answered a timed input of n = {len(values):,} wrongly: "
                        "not timing a wrong answer"
                    )
        return elapsed

    def pause(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGCONT)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.down.close()
        with contextlib.suppress(OSError):
            self.up.close()
        self.proc.wait()


def summary(answer: Collection[Any]) -> tuple[int, int]:
    """The count and the sum of an answer's distinct values (TypeError for values that do not add)."""
    distinct = answer if isinstance(answer, (set, frozenset)) else set(answer)
    return len(distinct), sum(distinct)


def encoded(answers: list[Collection[Any]]) -> bytes:
    """Each answer's summary, as 64-bit integers (TypeError or OverflowError for anything else)."""
    return array("q", [x for answer in answers for x in summary(answer)]).tobytes()


def serve(down: BinaryIO, up: BinaryIO, spec: str) -> None:
    """The child: load the finder, then answer each batch (gc off while it runs, as in timeit)."""
    try:
        finder = load_finder(spec)
    except BaseException as exc:  # the learner's file: its error is its answer
        write_message(up, FAILED, f"{type(exc).__name__}: {exc}".encode())
        return
    write_message(up, READY, b"")
    while (message := read_message(down)) is not None:
        batch = marshal.loads(message[1])
        gc.disable()
        try:
            answers = [finder(values) for values in batch]
        except Exception as exc:  # the finder's error is its answer
            write_message(up, RAISED, f"{type(exc).__name__}: {exc}".encode())
            continue
        finally:
            gc.enable()
        try:
            reply = encoded(answers)
        except (TypeError, ValueError, OverflowError) as exc:
            write_message(up, RAISED, f"{type(exc).__name__} (answers must hold integers): {exc}".encode())
            continue
        write_message(up, ANSWERS, reply)


if __name__ == "__main__":
    serve(os.fdopen(int(sys.argv[1]), "rb"), os.fdopen(int(sys.argv[2]), "wb"), sys.argv[3])
