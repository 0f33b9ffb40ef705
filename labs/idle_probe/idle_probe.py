"""Does py-spy's idle test by name still work? Record waiting threads under Python 3.10 and 3.11+.

py-spy decides that a thread is idle from the operating system's view of it,
and, when that view says "running", also by name: a thread whose innermost
frame is ``wait`` in a file ending in ``threading.py`` (and a few others) is
taken as idle (``_heuristic_is_thread_idle`` in py-spy's ``src/python_spy.rs``).
From Python 3.11 on, py-spy reports qualified names (``Condition.wait``), so
that comparison may no longer match.

For two interpreters (the oldest below 3.11 that ``labkit.pythons`` finds, and
this Python, the one the lab's service runs under, or else the newest 3.11+
found), this probe starts one target program with two kinds of thread and
records it with py-spy *without* ``--idle``:

- ``waiter-N``: threads blocked in ``threading.Condition.wait``, as a worker
  with no request to serve is;
- ``spinner``: one thread that runs pure Python inside a method named ``wait``
  of a class in a file named ``threading.py`` (not the standard library's). The
  operating system always sees it running, so only the name test can drop it.

It prints one JSON line: for each interpreter, the sampling instants and the
samples py-spy kept of each kind of thread.

    python labs/idle_probe/idle_probe.py PATH/TO/py-spy
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# The toolkit's own discovery, from this repository's copy of it (never another installed toolkit).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from labkit import pythons

WAITERS = 4
RATE = 100
DURATION = 3  # seconds; py-spy takes duration × rate − 1 sampling instants

# A look-alike of the standard library's module name, loaded from a file outside sys.path.
LOOKALIKE = """
class Spinner:
    def wait(self):
        total = 0
        while True:
            total = (total * 31 + 7) % 1_000_003
"""

TARGET = f"""
import importlib.util, pathlib, sys, threading, time
here = pathlib.Path(sys.argv[1])
spec = importlib.util.spec_from_file_location("lookalike", here / "lookalike" / "threading.py")
lookalike = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lookalike)
cond = threading.Condition()
def waiter():
    with cond:
        cond.wait()
threads = [
    threading.Thread(target=waiter, name=f"waiter-{{n}}", daemon=True) for n in range(1, {WAITERS} + 1)
]
threads.append(threading.Thread(target=lookalike.Spinner().wait, name="spinner", daemon=True))
for thread in threads:
    thread.start()
time.sleep(0.5)
print("ready", flush=True)
time.sleep(600)
"""


def count_samples(raw: str) -> dict[str, int]:
    """Samples per kind of thread in py-spy's raw output with --threads (``thread (TID): NAME;… COUNT``)."""
    counts = {"waiter": 0, "spinner": 0}
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        thread = stack.split(";", 1)[0]
        name = thread.split(": ", 1)[-1]
        for kind in counts:
            if name.startswith(f"{kind}"):
                counts[kind] += int(count)
    return counts


def record_without_idle(spy: str, python: str, scratch: Path) -> dict[str, object]:
    """Start the target under one interpreter, record it without --idle, count what py-spy kept."""
    (scratch / "lookalike").mkdir(exist_ok=True)
    (scratch / "lookalike" / "threading.py").write_text(LOOKALIKE, encoding="utf-8")
    (scratch / "target.py").write_text(TARGET, encoding="utf-8")
    target = subprocess.Popen(
        [python, str(scratch / "target.py"), str(scratch)], stdout=subprocess.PIPE, text=True
    )
    raw = scratch / "raw.txt"
    try:
        assert target.stdout is not None
        if target.stdout.readline().strip() != "ready":
            return {"problem": "the target program did not start"}
        done = subprocess.run(
            [
                spy,
                "record",
                "--pid",
                str(target.pid),
                "--rate",
                str(RATE),
                "--duration",
                str(DURATION),
                "--format",
                "raw",
                "--threads",
                "-o",
                str(raw),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        target.kill()
        target.wait()
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout.strip()
    if not raw.exists():
        return {"problem": f"py-spy recorded nothing (exit code {done.returncode})"}
    counts = count_samples(raw.read_text(encoding="utf-8"))
    return {
        "version": version,
        "instants": DURATION * RATE - 1,
        "waiter_threads": WAITERS,
        "waiter_samples": counts["waiter"],
        "spinner_samples": counts["spinner"],
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: idle_probe.py PATH/TO/py-spy", file=sys.stderr)
        return 2
    spy = argv[0]
    found = pythons.discover()
    versions = found.versions()
    older = [v for v in versions if pythons.key(v) < (3, 11)]
    newer = [v for v in versions if pythons.key(v) >= (3, 11)]
    this = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if this in newer:
        newer.append(this)  # the lab's own Python is the one chosen
    report: dict[str, object] = {"rate_hz": RATE, "duration_s": DURATION}
    for label, chosen in (("before_3_11", older[:1]), ("from_3_11", newer[-1:])):
        if not chosen:
            report[label] = {"problem": f"no CPython for this side found (found: {', '.join(versions)})"}
            continue
        with tempfile.TemporaryDirectory() as scratch:
            result = record_without_idle(spy, found.pythons[chosen[0]], Path(scratch))
        report[label] = {"python": chosen[0], **result}
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
