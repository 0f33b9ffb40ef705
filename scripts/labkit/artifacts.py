"""A regeneration cell's artifact, and merging the publishing Python's artifacts into docs/.

A cell is one lab measured on one Python (`labkit cell`). Its artifact folder holds ``cell.json`` (what
happened) and, when the run succeeded, ``files/``: the lab's published files as `make assets` wrote
them (its data/ folder, its pages and its notebook), at their repository paths. The workflow uploads
one artifact per cell; its last job, and `make matrix` here, download the publishing Python's and merge
them (`labkit merge`): each lab whole, with the same staging, swap and repair as `make assets`, or not
at all, in which case the lab keeps its previous results and the merge's report says why.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import errors, privacy, publish, resultfile, store, words
from labkit.errors import LabError
from labkit.spec import Lab

# The Python whose results are published: the one the committed results were measured with (the
# workflow's PUBLISH_PYTHON; a test keeps the two equal).
PUBLISH_PYTHON = "3.11"
# The Pythons the README promises: every workflow cell has them all on PATH (Lab 1 needs a 3.12+).
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
CELL = "cell.json"
FILES = "files"
FORMAT = 1
# What each exit code of `labkit cell` (README "Exit codes") means, in a row of a report.
MEANING = {
    errors.EXIT_OK: "done",
    errors.EXIT_ERROR: "failed",
    errors.EXIT_MANIFEST: "its manifest was refused",
    errors.EXIT_NEED: "the runner lacks what the lab needs (preflight)",
    errors.EXIT_MEASUREMENT: "its programs or py-spy failed while it was measured",
    errors.EXIT_CLAIMS: "its claims did not come out as its pages say",
    errors.EXIT_INTERNAL: "a bug in the toolkit",
    errors.EXIT_INTERRUPTED: "interrupted",
}


def name(lab_id: str, python: str) -> str:
    """The artifact's name, the same in the workflow and in `make matrix`: assets-lab-1-py3.11."""
    return f"assets-{lab_id}-py{python}"


def meaning(code: int) -> str:
    return MEANING.get(code, f"exit code {code}")


def expected_files(lab: Lab) -> list[Path]:
    """What a successful cell ships besides data/: the files `make assets` replaces with the data."""
    return resultfile.published(lab)


def pack(
    lab: Lab | str, *, root: Path, out: Path, quick: bool, code: int, wall_s: float, python: str
) -> dict[str, Any]:
    """Write the cell's artifact into ``out``; its files only when the run succeeded.

    Only what it writes is replaced: the cell's output, teed into the same folder, stays. ``lab`` is
    only an id when its manifest could not be loaded.
    """
    (out / CELL).unlink(missing_ok=True)
    if (out / FILES).exists():
        shutil.rmtree(out / FILES)
    out.mkdir(parents=True, exist_ok=True)
    into = resultfile.target(root, quick=quick)
    loaded = None if isinstance(lab, str) else lab
    results = None
    if loaded is not None and code == errors.EXIT_OK:
        results = resultfile.read_results(into / loaded.data_dir)
    shipped: list[str] = []
    if results is not None and loaded is not None:
        shutil.copytree(into / loaded.data_dir, out / FILES / loaded.data_dir)
        for path in expected_files(loaded):
            if (into / path).is_file():
                (out / FILES / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(into / path, out / FILES / path)
                shipped.append(path.as_posix())
    cell = {
        "format": FORMAT,
        "lab": loaded.id if loaded is not None else lab,
        "python": python,
        "quick": quick,
        "exit_code": code,
        "result": "ok" if results is not None else "failed",
        "why": meaning(code),
        "wall_s": round(wall_s, 3),
        "claims": str(words.tally(results["claims"])) if results is not None else "",
        "files": shipped,
    }
    (out / CELL).write_text(json.dumps(cell, indent=2) + "\n", encoding="utf-8")
    return cell


def read_cell(folder: Path) -> dict[str, Any]:
    """An artifact's cell.json, checked field by field (a located error names the file)."""
    path = folder / CELL
    try:
        cell = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"{path.name} in {folder.name}/: unreadable ({exc})") from exc
    types = {"format": int, "lab": str, "python": str, "quick": bool, "exit_code": int, "result": str}
    for key, kind in types.items():
        if not isinstance(cell, dict) or not isinstance(cell.get(key), kind):
            raise LabError(f"{folder.name}/{CELL}: {key}: expected a {kind.__name__}")
    if cell["format"] != FORMAT:
        raise LabError(f"{folder.name}/{CELL}: format: expected {FORMAT}, found {cell['format']}")
    return dict(cell)


def find(source: Path, *, python: str) -> dict[str, list[Path]]:
    """The artifact folders under ``source`` made on ``python``, by lab id (unreadable ones under "")."""
    found: dict[str, list[Path]] = {}
    # One artifact downloaded by name lands in the folder itself; several each in a folder of its own.
    for folder in sorted(p.parent for p in [*source.glob(CELL), *source.glob(f"*/{CELL}")]):
        try:
            cell = read_cell(folder)
        except LabError:
            found.setdefault("", []).append(folder)
            continue
        if cell["python"] == python:
            found.setdefault(cell["lab"], []).append(folder)
    return found


@dataclass(frozen=True)
class Merged:
    """What the merge did with one lab: ``merged`` (whole) or ``kept`` (its previous results)."""

    lab: str
    status: str
    artifact: str  # the artifact folder's name, or "" when there was none
    detail: str


def _refusal(lab: Lab, folder: Path, cell: dict[str, Any], *, root: Path, quick: bool) -> str | None:
    """Why this artifact may not be merged into this tree, or None."""
    if cell["result"] != "ok" or cell["exit_code"] != errors.EXIT_OK:
        return f"the cell failed (exit {cell['exit_code']}: {meaning(cell['exit_code'])})"
    if cell["quick"] != quick:
        return (
            "a QUICK cell is never merged into docs/"
            if cell["quick"]
            else "not a QUICK cell (--quick merges those)"
        )
    files = folder / FILES
    allowed = {p.as_posix() for p in expected_files(lab)}
    data = lab.data_dir.as_posix() + "/"
    for path in sorted(p for p in files.rglob("*") if not p.is_dir()):
        rel = path.relative_to(files).as_posix()
        if path.is_symlink() or not (rel in allowed or rel.startswith(data)):
            return f"{FILES}/{rel}: not one of {lab.id}'s published files"
    missing = sorted(p for p in allowed if not (files / p).is_file())
    if missing:
        return f"incomplete: {', '.join(missing)} missing"
    try:
        results = resultfile.read_results(files / lab.data_dir)
        if results is None:
            return f"incomplete: {lab.data_dir.as_posix()}/results.json missing"
        resultfile.validate(results, where=f"{folder.name}/{FILES}/{lab.data_dir.as_posix()}/results.json")
        publish.refuse_mismatches(results)
    except LabError as exc:
        return str(exc).splitlines()[0]
    if results.get("lab") != lab.id:
        return f"its results are {results.get('lab')!r}'s, not {lab.id}'s"
    if results["inputs_sha256"] != store.inputs_sha256(lab, root=root, quick=quick):
        return "stale: measured from other inputs than this tree's (another commit?)"
    try:  # the cell scanned its own paths; this tree's are checked here
        privacy.refuse_leaks(files, root=root, what=folder.name)
    except LabError as exc:
        return " ".join(str(exc).split())
    return None


def merge_lab(lab: Lab, folders: list[Path], *, root: Path, quick: bool) -> Merged:
    """Put one lab's artifact in place, whole (stage, swap, repair as `make assets`), or keep the old."""
    if not folders:
        return Merged(
            lab.id, "kept", "", "no artifact for this lab (its cell did not run, or its upload failed)"
        )
    if len(folders) > 1:
        shown = ", ".join(f.name for f in folders)
        return Merged(lab.id, "kept", shown, "more than one artifact for this lab and Python")
    folder = folders[0]
    why = _refusal(lab, folder, read_cell(folder), root=root, quick=quick)
    if why:
        return Merged(lab.id, "kept", folder.name, why)
    into = resultfile.target(root, quick=quick)
    data_dir, staged = into / lab.data_dir, into / lab.data_dir.with_name("data.new")
    pages = {into / p: (folder / FILES / p).read_text(encoding="utf-8") for p in expected_files(lab)}
    with store.writing(root, f"{lab.id} was left as it was"):
        repaired = store.repair(data_dir, list(pages))
        try:
            if staged.exists():
                shutil.rmtree(staged)
            shutil.copytree(folder / FILES / lab.data_dir, staged)
            store.swap_in(data_dir=data_dir, staged=staged, pages=pages)
        finally:
            if staged.exists():
                shutil.rmtree(staged)
    detail = "merged whole" + (f" ({repaired})" if repaired else "")
    return Merged(lab.id, "merged", folder.name, detail)


def markdown(merged: list[Merged], *, python: str, report: str | None) -> str:
    """The merge's report for a pull request's body or a job's summary."""
    lines = [
        f"Results measured with Python {python}, merged lab by lab:",
        "",
        "| lab | result | artifact | detail |",
        "|---|---|---|---|",
    ]
    for m in merged:
        cells = [m.lab, m.status, m.artifact or "none", m.detail]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    kept = [m.lab for m in merged if m.status != "merged"]
    lines += ["", f"Kept their previous results: {', '.join(kept)}." if kept else "Every lab was merged."]
    if report:
        lines.append(report)
    return "\n".join(lines) + "\n"
