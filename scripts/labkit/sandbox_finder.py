"""The correctness child of `make grade-N`, seen from the grader: inputs sent, answers back as data.

The child (sandbox_child.py, run with ``python -I``) imports the learner's file and answers each input
the grader sends over a Unix socket; a time limit per call and per check, a memory limit (labkit.
sandbox), and its output captured with a cap. What it sends is data: an answer, an exception, or
nothing (it exited, hung or broke the channel), which is a failure with its reason.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import processes
from labkit.sandbox import Capture, memory_mb, memory_note, named_limit

CHILD = Path(__file__).with_name("sandbox_child.py")
LINE_CAP = 16_000_000  # bytes of one answer from the correctness child
START_S = 30.0  # seconds a child may take to start its interpreter and connect


class Gone(Exception):
    """The correctness child stopped answering: it exited, hung or broke the channel."""


class Finder:
    """A child that imports the learner's file and computes the function's answers for inputs sent here.

    It holds no reference answer and decides nothing: it only sends back what the learner's
    function returned (as plain data) or what it raised.
    """

    def __init__(
        self, file: Path, function: str, *, folder: Path, log: Path, call_s: float, total_s: float
    ) -> None:
        self.log = log
        self.call_s = call_s
        self.total_s = total_s
        self.deadline = 0.0  # set at the first input: start-up is not the check's time
        self.reason = ""  # why the child is gone, once it is
        path = folder / "channel"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(1)
        argv = [sys.executable, "-I", str(CHILD), str(path), str(file), function, memory_note()]
        memory = memory_mb() << 20
        self.proc = processes.start(argv, log=log, cwd=folder, stdout=subprocess.PIPE, memory=memory)
        assert self.proc.stdout is not None
        self.capture = Capture(self.proc.stdout, log=log)
        self._conn: socket.socket | None = None
        self._file: Any = None

    def _exited(self, before: str) -> Gone:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        code = self.proc.poll()
        self.capture.join(1)
        said = self.capture.last_lines(4).strip() or "(no output)"
        how = f"exited (code {code})" if code is not None else "closed its channel"
        self.reason = named_limit(f"your code {how} before it reported ({before}); its last output: {said}")
        return Gone(self.reason)

    def _read(self, limit_s: float, *, before: str, limit: str = "") -> dict[str, Any]:
        assert self._conn is not None
        self._conn.settimeout(limit_s)
        try:
            line = self._file.readline(LINE_CAP)
        except TimeoutError:
            limit = limit or f"the {limit_s:g} s limit"
            self.reason = f"your code gave no answer {before} within {limit} and was stopped"
            self.stop()
            raise Gone(self.reason) from None
        except OSError:
            line = b""
        if not line:
            raise self._exited(before)
        if not line.endswith(b"\n"):
            self.reason = f"{before}: the answer was longer than {LINE_CAP:,} bytes"
            raise Gone(self.reason)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):  # the learner's process may write anything here
            message = None
        if not isinstance(message, dict):
            self.reason = f"{before}: your code wrote something else into the grader's channel"
            raise Gone(self.reason)
        return message

    def start(self, *, limit_s: float) -> None:
        """Wait until the child has imported the learner's file (or failed to, which is data too)."""
        self._server.settimeout(0.1)
        deadline = time.monotonic() + START_S
        try:
            while self._conn is None:
                try:
                    self._conn, _ = self._server.accept()
                except TimeoutError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise self._exited("before it connected") from None
        finally:
            self._server.close()
        self._file = self._conn.makefile("rwb")
        ready = self._read(limit_s, before="while your file was imported")
        if "error" in ready:
            self.reason = str(ready["error"])
            raise Gone(self.reason)

    def answer(self, values: list[Any]) -> tuple[str, Any]:
        """("answer", set of values) or ("raised", text), for one input."""
        if self.reason:
            raise Gone(self.reason)
        self.deadline = self.deadline or time.monotonic() + self.total_s
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.reason = f"the check ran past its {self.total_s:g} s limit, so your code was stopped"
            self.stop()
            raise Gone(self.reason)
        try:
            self._file.write(json.dumps({"values": values}).encode() + b"\n")
            self._file.flush()
        except OSError:
            raise self._exited("while it was given an input") from None
        shown = repr(values)
        shown = shown if len(shown) <= 200 else shown[:200] + "…"
        whole = left < self.call_s  # the check's own limit comes first
        message = self._read(
            min(self.call_s, left),
            before=f"for the input {shown}",
            limit=f"the check's {self.total_s:g} s limit" if whole else "",
        )
        if "raised" in message:
            return "raised", str(message["raised"])
        items = message.get("answer")
        if not isinstance(items, list):
            self.reason = "your code wrote something else into the grader's channel"
            raise Gone(self.reason)
        return "answer", {decode(item) for item in items}

    def stop(self) -> None:
        processes.stop(self.proc, grace=0.5)
        self.capture.join(1)
        with contextlib.suppress(OSError):
            if self._file is not None:
                self._file.close()
            if self._conn is not None:
                self._conn.close()


@dataclass(frozen=True)
class Foreign:
    """An element of an answer that is neither an int nor a str (shown, never equal to an input)."""

    text: str

    def __repr__(self) -> str:
        return self.text


def decode(item: Any) -> Any:
    """An element of an answer from its plain form; anything unexpected stays a Foreign element."""
    if isinstance(item, list) and len(item) == 2:
        kind, value = item
        if kind == "i" and type(value) is int:
            return value
        if kind == "s" and isinstance(value, str):
            return value
        return Foreign(str(value)[:200])
    return Foreign(repr(item)[:200])
