"""Is "py-spy 0.3 or newer" enough? Run the last 0.3 release against each Python we can find.

A py-spy release can read only the CPython versions that existed when it was
made. This probe fetches py-spy 0.3.14 from PyPI (once, into .labs/cache/),
starts a busy process under every CPython 3.10+ interpreter it finds (where
``labkit.pythons`` looks: LABKIT_PYTHONS, PATH, pyenv, uv, this Python), runs
``py-spy dump`` on it and prints one JSON line: which versions it could read.

    python labs/facts/old_py_spy.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The toolkit's own discovery, from this repository's copy of it (never another installed toolkit).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from labkit import pythons

OLD = "0.3.14"
BUSY = "while True:\n    sum(i * i for i in range(1000))\n"
CACHE = Path(__file__).resolve().parents[2] / ".labs" / "cache" / f"py-spy-{OLD}"


def old_py_spy() -> Path:
    """The py-spy binary from the release's wheel (its data/scripts), fetched once."""
    binary = CACHE / "py-spy"
    if binary.exists():
        return binary
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"py-spy=={OLD}",
                "-d",
                scratch,
            ],
            check=True,
            capture_output=True,
        )
        (wheel,) = Path(scratch).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/scripts/py-spy"))
            CACHE.mkdir(parents=True, exist_ok=True)
            binary.write_bytes(archive.read(name))
    binary.chmod(0o755)
    return binary


def can_read(spy: Path, python: str) -> tuple[bool, str]:
    target = subprocess.Popen([python, "-c", BUSY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.4)
        done = subprocess.run(
            [str(spy), "dump", "--pid", str(target.pid)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        target.kill()
        target.wait()
    said = (done.stdout + done.stderr).strip().splitlines()
    ok = done.returncode == 0 and any(line.startswith("Thread") for line in said)
    error = next((line for line in said if line.startswith("Error")), "")
    return ok, error


def main() -> int:
    try:
        spy = old_py_spy()
    except (subprocess.CalledProcessError, OSError, StopIteration, ValueError) as exc:
        print(
            json.dumps(
                {"py_spy": OLD, "checked": [], "reads_all": None, "problem": f"no py-spy {OLD}: {exc}"}
            )
        )
        return 0
    checked: list[dict[str, str | bool]] = []
    newest = []
    found = pythons.discover()
    # One interpreter per thread: each probe mostly waits (0.4 s for its target to start, then py-spy).
    with ThreadPoolExecutor(max_workers=max(1, len(found.pythons))) as pool:
        answers = list(pool.map(lambda python: can_read(spy, python), found.pythons.values()))
    for version, (ok, error) in zip(found.pythons, answers, strict=True):
        checked.append({"python": version, "read": ok, "error": error})
        if tuple(map(int, version.split("."))) >= (3, 12):
            newest.append(version)
    # Only a probe that reached a Python 3.12 or newer can answer the question.
    reads_all = all(c["read"] for c in checked) if newest else None
    report: dict[str, object] = {"py_spy": OLD, "checked": checked, "reads_all": reads_all}
    if not newest:
        report["problem"] = (
            f"no CPython 3.12 or newer found (found: {', '.join(found.versions()) or 'none'}; "
            f"looked in: {', '.join(found.looked)}), so the question stays open: "
            f"list one in {pythons.ENV}"
        )
        print(f"old_py_spy: {report['problem']}", file=sys.stderr)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
