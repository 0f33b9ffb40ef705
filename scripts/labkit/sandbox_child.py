"""The correctness child of `make grade-N`: the learner's function, asked by the grader, answers as data.

Run as a script (``python -I sandbox_child.py SOCKET FILE FUNCTION LIMIT``), with nothing of the toolkit
imported: it connects to the grader's socket, imports the learner's file, says it is ready, then
for each input the grader sends (one JSON line) sends back what the function returned or raised.
It judges nothing; whatever the learner's code does in this process stays in this process.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from pathlib import Path
from typing import Any


def encode(item: Any) -> list[Any]:
    """An element of an answer as plain data: ints (bools and integral floats equal them) and strs."""
    if isinstance(item, (bool, int)):
        return ["i", int(item)]
    if isinstance(item, float) and item.is_integer():
        return ["i", int(item)]
    if isinstance(item, str):
        return ["s", str(item)]
    try:
        shown = repr(item)[:200]
    except Exception:
        shown = "an object whose repr() raised"
    return ["r", f"{type(item).__name__} {shown}"]


def said(exc: BaseException, limit: str) -> str:
    """An exception as the grader shows it; running out of memory names the grader's limit."""
    text = f"{type(exc).__name__}: {exc}"
    return f"{text} (it hit {limit})" if isinstance(exc, MemoryError) else text


def main(channel: str, file: str, function: str, limit: str = "the grader's memory limit") -> None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(channel)
    stream = conn.makefile("rwb")

    def send(message: dict[str, Any]) -> None:
        stream.write(json.dumps(message).encode() + b"\n")
        stream.flush()

    path = Path(file)
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(f"graded_{path.stem}", path)
    if spec is None or spec.loader is None:
        send({"error": f"{path.name} cannot be loaded as a Python module"})
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # the learner's file: any error in it is theirs to see
        send({"error": f"{path.name} does not load: {said(exc, limit)}"})
        return
    finder = getattr(module, function, None)
    if not callable(finder):
        send({"error": f"{path.name} defines no function {function!r}"})
        return
    send({"ready": True})
    while line := stream.readline():
        values = json.loads(line)["values"]
        try:
            answer = [encode(item) for item in finder(list(values))]
        except Exception as exc:  # the learner's code: its error is its answer
            send({"raised": f"raised {said(exc, limit)}"})
            continue
        send({"answer": answer})


if __name__ == "__main__":
    main(*sys.argv[1:5])
