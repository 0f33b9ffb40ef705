"""The cache key of a lab, and the atomic swap of its published data and page."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from labkit import imports, signals
from labkit.errors import LabError
from labkit.spec import Lab

# Where measuring starts: the run loop, the manifest that says what to run and the registry (its kinds
# and their runners); the run loop's caller hands it the planner of an adaptive profile's second look
# (claims) and the interpreters a step may need (pythons). Every module they import is measuring code.
MEASURING_ROOTS = ("labkit.runner", "labkit.manifest", "labkit.kinds", "labkit.claims", "labkit.pythons")


def measuring_code(toolkit: Path = imports.TOOLKIT) -> list[Path]:
    """The toolkit's files that can change a measurement (part of the cache key), relative to it.

    Reading the import graph parses every module; a run asks once per lab (and the report again), so the
    answer is kept while no module of the toolkit changed (their sizes and times of change)."""
    stamp = tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(toolkit.rglob("*.py")))
    return list(_measuring_code(toolkit, stamp))


@functools.lru_cache(maxsize=8)
def _measuring_code(toolkit: Path, _stamp: tuple[tuple[Path, int, int], ...]) -> tuple[Path, ...]:
    return tuple(sorted(p.relative_to(toolkit) for p in imports.reachable(MEASURING_ROOTS, toolkit).values()))


def steps_fingerprint(lab: Lab) -> str:
    """The manifest's steps as canonical text: part of the cache key.

    A step's ``needs`` is left out: it is checked before a run and changes no measurement.
    """
    steps = [{k: v for k, v in step.items() if k != "needs"} for step in lab.raw["steps"]]
    return json.dumps([steps, lab.raw.get("seed")], sort_keys=True)


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


def inputs_sha256(lab: Lab, *, root: Path, quick: bool, toolkit: Path = imports.TOOLKIT) -> str:
    digest = hashlib.sha256()

    def add(label: str, content: bytes) -> None:
        digest.update(f"{label}\0{len(content)}\0".encode())
        digest.update(content)

    # The exercise's grader judges a learner's fix and measures nothing of the lab: editing it must not
    # make the lab's published results stale.
    grader = Path(lab.exercise.grader) if lab.exercise else None
    for folder in lab.programs:
        for file in _program_files(root, folder):
            if (root / file).is_file() and file != grader:
                add(file.as_posix(), (root / file).read_bytes())
    add("manifest-steps", steps_fingerprint(lab).encode())
    add("quick", b"1" if quick else b"0")
    for path in measuring_code(toolkit):
        add(f"labkit/{path.as_posix()}", (toolkit / path).read_bytes())
    return digest.hexdigest()


def write_text(path: Path, text: str) -> None:
    """Write a derived file exactly as given: no newline translated, so `same_text` reads it back whole."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def same_text(path: Path, text: str) -> bool:
    """Whether the file holds exactly ``text``: read without universal newlines (a CR stays a CR)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read() == text
    except (OSError, UnicodeDecodeError):
        return False


TEMP = ".new"  # the suffix of every file the swap writes before it renames it into place


def temporary(path: Path) -> Path:
    """Where the swap writes ``path``'s new text before replacing it: ``index.md.new`` beside ``index.md``."""
    return path.with_name(path.name + TEMP)


def leftovers(folder: Path) -> list[Path]:
    """What an interrupted swap can leave in a folder of docs/: ``*.new`` files and folders, ``data.old/``."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(TEMP) or p.name == "data.old")


def repair(data_dir: Path, pages: Sequence[Path] = ()) -> str | None:
    """Finish or roll back a swap that a killed run left half-done; say what was done.

    The swap writes every page to ``<page>.new`` (flushed to the disk) before its first rename. With
    ``data.old/`` and the new ``data/`` in place and ``data.new/`` gone, the renames had begun: the
    pages are replaced (rolled forward). In any other state nothing new was in place yet, or the
    ``.new`` file may be partial (a full disk): it is removed, and ``data/`` restored from ``data.old/``.
    """
    old, new = data_dir.with_name("data.old"), data_dir.with_name("data.new")
    tmps = [(page, temporary(page)) for page in pages if temporary(page).exists()]
    forward = old.exists() and data_dir.exists() and not new.exists()
    said: list[str] = []
    if old.exists() and not data_dir.exists():
        os.rename(old, data_dir)
        said.append("restored data/ from data.old/ left by an interrupted run")
    for page, tmp in tmps:
        if forward:
            os.replace(tmp, page)
            said.append(f"finished replacing {page.name} (the new data was already in place)")
        else:
            tmp.unlink()
            said.append(f"removed an unfinished {tmp.name}")
    if old.exists():
        shutil.rmtree(old)  # the new data was in place: only the clean-up was missed
        said.append("removed data.old/ left by an interrupted run (the new data was already in place)")
    if new.exists():
        shutil.rmtree(new)
        said.append("removed an unfinished data.new/")
    return "; ".join(said) or None


def _write_synced(path: Path, text: str) -> None:
    """Write and flush to the disk: a ``.new`` file that repair may roll forward must be whole."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def swap_in(*, data_dir: Path, staged: Path, pages: dict[Path, str] | None = None) -> None:
    """data.new → data, then the pages: a reader (and `make check`) sees the old lab or the new one, whole.

    A kill at any moment leaves a state that `repair` completes or undoes (see there); a failure while
    the pages are written (a full disk) removes what was written, before anything is renamed.
    """
    if staged != data_dir.with_name("data.new"):
        raise ValueError("stage the new data in data.new/ beside data/")
    old = data_dir.with_name("data.old")
    pending = {page: temporary(page) for page in pages or {}}
    try:
        for page, tmp in pending.items():
            page.parent.mkdir(parents=True, exist_ok=True)  # a first run into a scratch mirror
            _write_synced(tmp, (pages or {})[page])
    except BaseException:
        for tmp in pending.values():
            tmp.unlink(missing_ok=True)
        raise
    with signals.deferred("the swap finished"):
        if data_dir.exists():
            os.rename(data_dir, old)
        try:
            os.rename(staged, data_dir)
        except OSError:  # refused (not killed): put the old data back at once
            if old.exists() and not data_dir.exists():
                os.rename(old, data_dir)
            for tmp in pending.values():
                tmp.unlink(missing_ok=True)
            raise
        for page, tmp in pending.items():
            os.replace(tmp, page)
        if old.exists():
            shutil.rmtree(old)


@contextlib.contextmanager
def writing(root: Path, then: str) -> Iterator[None]:
    """A file that cannot be written (a read-only docs/, a full disk) as a located one-line error."""
    try:
        yield
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else root
        shown = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
        raise LabError(f"{shown}: cannot be written ({exc.strerror or exc}); {then}") from exc
