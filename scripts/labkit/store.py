"""The cache key of a lab, and the atomic swap of its published data and page."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from labkit import signals
from labkit.manifest import Lab, steps_fingerprint

# The toolkit's code that can change a measurement (not the page writer, not the checks).
MEASURING_CODE = (
    "runner.py",
    "pyspy.py",
    "processes.py",
    "stacks.py",
    "benchmark.py",
    "sanitize.py",
    "overhead.py",
    "stats.py",
    "live.py",
    "services.py",
    "flamegraph.py",
    "diffgraph.py",
    "plots.py",
    "pythons.py",  # which interpreters a fact probe finds
    "claims.py",  # plans the second look of an adaptive profile
)


def _program_files(root: Path, folder: Path) -> list[Path]:
    """Git-tracked files of a program folder; every file when there is no git (a plain copy)."""
    try:
        listed = (
            subprocess.run(
                ["git", "ls-files", "-z", "--", str(folder)], cwd=root, capture_output=True, check=True
            )
            .stdout.decode()
            .split("\0")
        )
        files = [Path(f) for f in listed if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
    if not files:
        files = [p.relative_to(root) for p in (root / folder).rglob("*") if p.is_file()]
    return sorted(f for f in files if "__pycache__" not in f.parts and f.suffix != ".pyc")


def inputs_sha256(lab: Lab, *, root: Path, quick: bool) -> str:
    digest = hashlib.sha256()

    def add(label: str, content: bytes) -> None:
        digest.update(f"{label}\0{len(content)}\0".encode())
        digest.update(content)

    for folder in lab.programs:
        for file in _program_files(root, folder):
            if (root / file).is_file():
                add(file.as_posix(), (root / file).read_bytes())
    add("manifest-steps", steps_fingerprint(lab).encode())
    add("quick", b"1" if quick else b"0")
    here = Path(__file__).parent
    for name in MEASURING_CODE:
        add(f"labkit/{name}", (here / name).read_bytes())
    for path in sorted((here / "kinds").rglob("*.py")):  # how each step kind runs and derives
        add(f"labkit/{path.relative_to(here).as_posix()}", path.read_bytes())
    return digest.hexdigest()


def repair(data_dir: Path) -> str | None:
    """Finish or roll back a swap that a killed run left half-done; say what was done."""
    old, new = data_dir.with_name("data.old"), data_dir.with_name("data.new")
    said = None
    if old.exists():
        if data_dir.exists():
            shutil.rmtree(old)  # the new data was in place: only the clean-up was missed
            said = "removed data.old/ left by an interrupted run (the new data was already in place)"
        else:
            os.rename(old, data_dir)
            said = "restored data/ from data.old/ left by an interrupted run"
    if new.exists():
        shutil.rmtree(new)
        said = (said + "; " if said else "") + "removed an unfinished data.new/"
    return said


def swap_in(*, data_dir: Path, staged: Path, pages: dict[Path, str] | None = None) -> None:
    """data.new → data, then the pages: a reader (and `make check`) sees the old lab or the new one, whole."""
    if staged != data_dir.with_name("data.new"):
        raise ValueError("stage the new data in data.new/ beside data/")
    old = data_dir.with_name("data.old")
    pending = {}
    for page, text in (pages or {}).items():
        tmp = page.with_name(page.name + ".new")
        tmp.write_text(text, encoding="utf-8")
        pending[page] = tmp
    with signals.deferred("the swap finished"):
        if data_dir.exists():
            os.rename(data_dir, old)
        os.rename(staged, data_dir)
        for page, tmp in pending.items():
            os.replace(tmp, page)
        if old.exists():
            shutil.rmtree(old)
