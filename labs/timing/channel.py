"""A function in a child process of its own, timed on the parent's clock (the graders' benchmarks).

Shared by the labs' benchmarks when they time a learner's function (``bench.py --finder``,
``bench_distances.py --distances``). The parent sends a batch of inputs and times, on its own
clock, the trip from the first byte sent to the last byte of the answers received; code that
patches the clocks in the child changes nothing measured. Messages are a kind byte, a length and
the payload; the child's payloads are only ever read as plain numbers, never unpickled. Each lab
says what a batch and an answer are (its own ``serve`` handler and its own check of the answers).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import os
import resource
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

HEADER = struct.Struct("!cQ")  # the kind of a message and its length
READY, FAILED, ANSWERS, RAISED, BATCH, SETUP = b"K", b"E", b"A", b"R", b"B", b"S"
REPLY_CAP = 1 << 30  # bytes of one reply: far above any honest batch's answers


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


def valid(spec: str) -> bool:
    """``FILE.py:FUNCTION``, as the children load it."""
    file, sep, name = spec.rpartition(":")
    return bool(sep) and file.endswith(".py") and name.isidentifier()


class Child:
    """``python -I script DOWN UP *args`` in its own process group; the script calls ``serve``."""

    def __init__(self, script: Path, args: Sequence[str], *, who: str) -> None:
        self.who = who
        self.others: list[Child] = []  # stopped while this one is timed
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(script), str(down_r), str(up_w), *args],
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
        kind, payload = self.receive("while its file was loaded")
        if kind != READY:
            self.close()
            raise SystemExit(f"{self.who} could not be loaded: {payload.decode(errors='replace')}")

    def _gone(self, when: str) -> SystemExit:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        code = self.proc.poll()
        how = f"exited (code {code})" if code is not None else "closed its channel"
        return SystemExit(f"{self.who}'s process {how} before it answered ({when}){memory_limit()}")

    def receive(self, when: str) -> tuple[bytes, bytes]:
        try:
            message = read_message(self.up)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{self.who}'s process broke its channel ({when}): {exc}") from None
        if message is None:
            raise self._gone(when)
        return message

    def send(self, kind: bytes, payload: bytes, when: str) -> None:
        try:
            write_message(self.down, kind, payload)
        except OSError:
            raise self._gone(when) from None

    def trip(self, payload: bytes, when: str) -> tuple[float, bytes, bytes]:
        """Send a batch (encoded before the clock), wait for the reply: (seconds here, kind, payload).
        The other children stay stopped meanwhile, so that they cannot slow this one down."""
        for other in self.others:
            other.pause()
        try:
            started = time.perf_counter()
            self.send(BATCH, payload, when)
            kind, reply = self.receive(when)
            elapsed = time.perf_counter() - started
        finally:
            for other in self.others:
                other.resume()
        if kind == RAISED:
            text = reply.decode(errors="replace")
            limit = memory_limit() if text.startswith("MemoryError") else ""
            raise SystemExit(f"{self.who} raised {text} at {when}{limit}")
        if kind != ANSWERS:
            raise SystemExit(f"{self.who}'s process sent something else than answers at {when}")
        return elapsed, kind, reply

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


def serve(
    argv: Sequence[str], load: Callable[[str], Any], answer: Callable[[Any, bytes, bytes], bytes]
) -> None:
    """The child (argv: DOWN UP SPEC): load the function, say it is ready, then answer each message
    with ``answer(function, kind, payload)`` (gc off while it runs, as in timeit). An exception is
    the answer: its type and text go back, never a traceback."""
    down, up = os.fdopen(int(argv[0]), "rb"), os.fdopen(int(argv[1]), "wb")
    try:
        function = load(argv[2])
    except BaseException as exc:  # the learner's file: its error is its answer
        write_message(up, FAILED, f"{type(exc).__name__}: {exc}".encode())
        return
    write_message(up, READY, b"")
    while (message := read_message(down)) is not None:
        gc.disable()
        try:
            reply = answer(function, *message)
        except Exception as exc:  # the function's error is its answer
            write_message(up, RAISED, f"{type(exc).__name__}: {exc}".encode())
            continue
        finally:
            gc.enable()
        write_message(up, ANSWERS, reply)
