"""Look at a running program: `py-spy dump` (text or JSON) and `py-spy top`, sanitised for publishing.

`py-spy top` refuses to run without a terminal ("Not a tty"; it checks stdin), so it runs here
inside a pseudo-terminal of a fixed size (120 x 40, TERM=xterm). It redraws its whole screen about
once a second, each redraw starting with "cursor home" (`ESC [ H`); so instead of a terminal
emulator the captured stream is split on the home/clear sequences, the last *complete* screen (one
followed by another redraw, or ending with py-spy's "Press Control-C to quit" footer) is kept, and
the remaining escape sequences (colours, erase-line) are stripped, and the screen's empty rows are
collapsed into one blank line. What is left is the plain table.

Sanitising: the target's PID becomes `<pid>` (`<pid 2>`, ... for others, in order of appearance),
thread ids become 1, 2, ... in order of appearance, and every absolute path goes through
:class:`PathMap` (the interpreter becomes `python`), in the JSON's strings too.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import IO, Any

from labkit import processes
from labkit.errors import LabError
from labkit.pyspy import AttachRefused, refusal
from labkit.records import JSONObject
from labkit.sanitize import Numbering, PathMap, ids_in, paths_in, pid_label

DUMP_TIMEOUT_S = 60.0
ATTACH_TIMEOUT_S = 30.0  # the longest wait for `py-spy top` to draw its first screen
COLUMNS, ROWS = 120, 40
_HOME = re.compile(r"\x1b\[(?:2J|H|1;1H)")
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_FOOTER = "to quit"
_HEADER = "%Own"


def sanitise_text(text: str, paths: PathMap) -> str:
    """PIDs, thread ids and absolute paths replaced in py-spy's text output (dump or top)."""
    return paths_in(ids_in(text), paths)


def sanitise_json(data: Any, paths: PathMap) -> Any:
    """The same for `py-spy dump --json`: ids replaced, absolute paths mapped in every string."""
    pids, threads = Numbering(), Numbering()

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: JSONObject = {}
            is_thread = "thread_id" in node or "os_thread_id" in node
            number = threads((node.get("os_thread_id"), node.get("thread_id"))) if is_thread else None
            for key, value in node.items():
                if key in ("thread_id", "os_thread_id") and value is not None:
                    out[key] = number
                elif key in ("pid", "ppid") and isinstance(value, int):
                    out[key] = pid_label(pids(value))
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str):
            whole = os.path.isabs(node) and not any(c.isspace() for c in node)
            return paths.file(node) if whole else paths_in(node, paths)
        return node

    return walk(data)


def _refused_or_failed(what: str, code: int | None, output: str) -> LabError:
    lines = output.split("Stack backtrace:")[0].strip().splitlines()  # RUST_BACKTRACE=1 adds one
    last = "\n".join(lines[-8:]) or "(no output)"
    why = refusal(output)
    if why:
        return AttachRefused(f"{why} ({what}):\n{last}")
    return LabError(f"`py-spy {what}` failed (exit code {code}):\n{last}")


def dump(*, exe: str, pid: int, cwd: Path, log: Path, paths: PathMap, as_json: bool) -> str:
    """`py-spy dump --pid PID [--json]`, its output in ``log``; returns the sanitised output."""
    args = [exe, "dump", "--pid", str(pid), *(["--json"] if as_json else [])]
    proc = processes.start(args, log=log, cwd=cwd, stdout=subprocess.PIPE)
    try:
        raw, _ = proc.communicate(timeout=DUMP_TIMEOUT_S)  # drains the pipe (stderr is merged into it)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"`py-spy dump` did not finish within {DUMP_TIMEOUT_S:.0f} s") from exc
    finally:
        processes.stop(proc)
    output = raw.decode("utf-8", errors="replace")
    with open(log, "a", encoding="utf-8") as sink:
        sink.write(output)
    if proc.returncode != 0:
        raise _refused_or_failed("dump", proc.returncode, output)
    if not as_json:
        return sanitise_text(output, paths)
    start = re.search(r"^[\[{]", output, re.MULTILINE)  # skip any warning printed before the JSON
    try:
        data, _ = json.JSONDecoder().raw_decode(output[start.start() if start else 0 :])
    except json.JSONDecodeError as exc:
        raise LabError(f"`py-spy dump --json` printed no JSON: {exc}; see {log}") from exc
    return json.dumps(sanitise_json(data, paths), indent=2) + "\n"


def plain_screen(stream: str) -> str | None:
    """The last complete screen of a captured `py-spy top` stream, as plain text (None if none)."""
    parts = _HOME.split(stream)[1:]  # before the first "home": py-spy's initial blank lines
    for index in range(len(parts) - 1, -1, -1):
        text = _ESCAPE.sub("", parts[index]).replace("\r", "")
        complete = index < len(parts) - 1 or _FOOTER in text
        if complete and _HEADER in text:
            lines = [line.rstrip() for line in text.strip("\r\n").split("\n")]
            # the screen's empty rows below the table collapse into one blank line
            kept = [line for i, line in enumerate(lines) if line or (i > 0 and lines[i - 1])]
            return "\n".join(kept).strip("\n") + "\n"
    return None


def top(*, exe: str, pid: int, seconds: float, cwd: Path, log: Path, paths: PathMap, rate: int = 100) -> str:
    """`py-spy top` for ``seconds`` inside a pseudo-terminal; returns its last screen, sanitised."""
    args = [exe, "top", "--pid", str(pid), "--rate", str(rate)]
    env = {"TERM": "xterm", "COLUMNS": str(COLUMNS), "LINES": str(ROWS)}
    log.parent.mkdir(parents=True, exist_ok=True)
    master, slave = os.openpty()
    chunks: list[bytes] = []
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        proc = processes.popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        slave = -1
        try:
            with open(log, "ab") as sink:
                # `seconds` count from py-spy's first screen: attaching can take seconds on a busy machine
                deadline = time.monotonic() + ATTACH_TIMEOUT_S
                drawn = False
                while time.monotonic() < deadline and _read(master, sink, chunks, 0.1) is not None:
                    if not drawn and _HOME.search(b"".join(chunks[-2:]).decode("utf-8", errors="replace")):
                        drawn, deadline = True, time.monotonic() + seconds
                exited = proc.poll()
                processes.stop(proc)
                while _read(master, sink, chunks, 0.2):  # what py-spy wrote before it stopped
                    pass
        finally:
            processes.stop(proc)
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
    stream = b"".join(chunks).decode("utf-8", errors="replace")
    if exited is not None:
        raise _refused_or_failed("top", exited, _ESCAPE.sub("", stream).replace("\r", ""))
    screen = plain_screen(stream)
    if screen is None:
        raise LabError(
            f"`py-spy top` showed no complete screen {seconds:g} s after its first (or none within "
            f"{ATTACH_TIMEOUT_S:g} s); see {log}"
        )
    return sanitise_text(screen, paths)


def _read(fd: int, sink: IO[bytes], chunks: list[bytes], wait: float) -> int | None:
    """Bytes read from the terminal within ``wait`` (0 if none came); None once it is closed."""
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        return 0
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: every writer of the terminal has gone
        return None
    if not data:
        return None
    chunks.append(data)
    sink.write(data)
    return len(data)
