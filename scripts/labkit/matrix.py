"""`make matrix`: the regeneration workflow's matrix, run here.

Every lab on every Python the toolkit finds (labkit.pythons), each cell in its own clean clone of the
committed tree and its own HOME, as many cells at once as there are cores. Each cell runs
`labkit cell`, as a workflow job does; the publishing Python's artifacts are collected into one folder,
as the workflow's download step does, merged with `labkit merge` and checked with `labkit check`.

The merge goes into a scratch clone (.labs/matrix/merged/) unless ``--here`` is given: the repository
this runs from keeps its docs/ as they were. Its git-ignored .venv serves the cells of its own Python;
every other Python gets an environment of its own under .labs/matrix/venvs/, made once by `make venv`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labkit import artifacts, manifest, pythons
from labkit.artifacts import PUBLISH_PYTHON
from labkit.errors import EXIT_FAILED, EXIT_OK, LabError, NeedError

SCRATCH = Path(".labs/matrix")
CELL_TIMEOUT_S = 30 * 60  # as the workflow's timeout-minutes


@dataclass
class Cell:
    lab: str
    python: str
    folder: Path  # scratch/cells/<artifact name>/: repo/, home/, artifact/
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    wall_s: float = 0.0
    code: int | None = None

    @property
    def name(self) -> str:
        return artifacts.name(self.lab, self.python)

    @property
    def artifact(self) -> Path:
        return self.folder / "artifact"


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise LabError(
            f"git {' '.join(args)} failed in {root.name}/: {done.stderr.strip().splitlines()[-1:]}"
        )
    return done.stdout.strip()


def clone(root: Path, dest: Path) -> Path:
    """A clean clone of the committed tree (what a runner's checkout gets)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git(root, "clone", "--quiet", "--no-hardlinks", str(root), str(dest))
    return dest


def environment(python: str, exe: str, *, root: Path, scratch: Path, given: Path | None) -> Path:
    """The virtual environment for the cells of one Python: the given one, or one made once by `make venv`."""
    if given is not None and _version_of(given) == python:
        return given
    venv = scratch / "venvs" / f"py{python}"
    if not (venv / ".installed").exists():
        print(f"  making the environment for Python {python} ({venv.relative_to(root)}; once) …", flush=True)
        source = clone(root, scratch / "venvs" / "src")
        done = subprocess.run(
            ["make", "venv", f"VENV={venv}", f"PYTHON={exe}"], cwd=source, capture_output=True, text=True
        )
        if done.returncode != 0:
            tail = " ".join(done.stdout.splitlines()[-2:] + done.stderr.splitlines()[-2:])
            raise NeedError(f"Python {python}: `make venv` failed ({tail})")
    return venv


def _version_of(venv: Path) -> str | None:
    answer = pythons.ask(str(venv / "bin" / "python"))
    return answer[0] if answer else None


def _cell_env(cell: Cell, repo: Path, found: pythons.Found) -> dict[str, str]:
    """A runner's environment: its own HOME, the clone's toolkit, and every Python found here."""
    home = cell.folder / "home"
    home.mkdir(parents=True, exist_ok=True)
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PYENV_ROOT", "TERM")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME=str(home),
        PYTHONPATH=str(repo / "scripts"),
        PYTHONDONTWRITEBYTECODE="1",
        COLUMNS="200",
        # HOME moved: the interpreters are named outright (pyenv's shims would look under the new HOME).
        **{pythons.ENV: os.pathsep.join(found.pythons.values())},
    )
    return env


def start(cell: Cell, *, venv: Path, found: pythons.Found, root: Path, quick: bool) -> None:
    repo = clone(root, cell.folder / "repo")
    cell.artifact.mkdir(parents=True, exist_ok=True)
    argv = [str(venv / "bin" / "python"), "-m", "labkit", "--root", str(repo), "cell", "--lab", cell.lab]
    argv += ["--out", str(cell.artifact), *(["--quick"] if quick else [])]
    with (cell.artifact / "output.txt").open("wb") as output:  # as the workflow tees it
        cell.proc = subprocess.Popen(
            argv, cwd=repo, env=_cell_env(cell, repo, found), stdout=output, stderr=subprocess.STDOUT
        )
    cell.started = time.perf_counter()


def run_cells(cells: list[Cell], *, jobs: int, launch: Callable[[Cell], None]) -> None:
    """Run the cells, ``jobs`` at a time; a cell past the workflow's time limit is stopped."""
    waiting, running = list(cells), list[Cell]()
    while waiting or running:
        while waiting and len(running) < max(1, jobs):
            cell = waiting.pop(0)
            launch(cell)
            running.append(cell)
            print(f"  started {cell.name}", flush=True)
        time.sleep(0.2)
        for cell in list(running):
            assert cell.proc is not None
            if cell.proc.poll() is None and time.perf_counter() - cell.started > CELL_TIMEOUT_S:
                cell.proc.terminate()
            if cell.proc.poll() is not None:
                cell.code, cell.wall_s = cell.proc.returncode, time.perf_counter() - cell.started
                running.remove(cell)
                print(f"  finished {cell.name}: exit {cell.code} ({cell.wall_s:.0f} s)", flush=True)


def collect(cells: list[Cell], into: Path) -> Path:
    """The publishing Python's artifacts, one folder each by name (the workflow's download step)."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    for cell in cells:
        if cell.python == PUBLISH_PYTHON and (cell.artifact / artifacts.CELL).exists():
            shutil.copytree(cell.artifact, into / cell.name)
    return into


def _labkit(venv: Path, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(repo / "scripts"), "COLUMNS": "200"}
    argv = [str(venv / "bin" / "python"), "-m", "labkit", "--root", str(repo), *args]
    return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, check=False)


def _row(cell: Cell) -> str:
    try:
        got = artifacts.read_cell(cell.artifact)
    except LabError:
        got = {
            "result": "failed",
            "why": f"no {artifacts.CELL}: see {cell.artifact.name}/output.txt",
            "claims": "",
        }
    claims = got.get("claims") or ""
    return (
        f"  {cell.lab:<8} {cell.python:<6} {got['result']:<7} {cell.wall_s:>7.1f} s  {claims or got['why']}"
    )


def command(args: argparse.Namespace, root: Path) -> int:
    found = pythons.discover()
    versions = list(args.pythons) or found.versions()
    missing = [v for v in versions if v not in found.pythons]
    if missing:
        raise NeedError(f"Python {', '.join(missing)} not found (looked in: {', '.join(found.looked)})")
    labs = [p.stem for p in manifest.discover(root) if not args.lab or p.stem in args.lab]
    unknown = sorted(set(args.lab) - set(labs))
    if unknown:
        raise LabError(f"no lab {unknown[0]!r}: there is no labs/{unknown[0]}.yml")
    head, dirty = _git(root, "rev-parse", "--short", "HEAD"), _git(root, "status", "--porcelain")
    scratch = root / SCRATCH
    for old in ("cells", "download", "merged"):
        shutil.rmtree(scratch / old, ignore_errors=True)
    print(
        f"make matrix: {len(labs)} lab(s) × Python {', '.join(versions)}, {args.jobs} at once, commit {head}"
    )
    if dirty:
        print("  note: uncommitted changes are not in the cells: each is a clean clone of the commit")
    given = args.venv or (root / ".venv" if (root / ".venv").is_dir() else None)
    venvs = {v: environment(v, found.pythons[v], root=root, scratch=scratch, given=given) for v in versions}
    cells = [Cell(lab, v, scratch / "cells" / artifacts.name(lab, v)) for v in versions for lab in labs]
    started = time.perf_counter()
    run_cells(
        cells,
        jobs=args.jobs,
        launch=lambda c: start(c, venv=venvs[c.python], found=found, root=root, quick=args.quick),
    )
    cells_s = time.perf_counter() - started
    download = collect(cells, scratch / "download")
    target = root if args.here else clone(root, scratch / "merged")
    publisher = venvs.get(PUBLISH_PYTHON) or venvs[versions[0]]
    quick = ["--quick"] if args.quick else []
    merged = _labkit(publisher, target, "merge", "--from", str(download), "--python", PUBLISH_PYTHON, *quick,
                     "--summary", str(scratch / "merge.md"))  # fmt: skip
    checked = _labkit(publisher, target, "check", *quick)
    print(f"\n  {'lab':<8} {'python':<6} {'result':<7} {'wall':>9}  claims as expected (or why it failed)")
    for cell in cells:
        print(_row(cell))
    where = "this repository" if args.here else target.relative_to(root).as_posix()
    print(f"\nmerge of Python {PUBLISH_PYTHON}'s artifacts into {where}:")
    print("  " + (merged.stdout + merged.stderr).strip().replace("\n", "\n  "))
    verdict = "passed" if checked.returncode == 0 else f"FAILED (exit {checked.returncode})"
    print(f"check on the result: {verdict}")
    if checked.returncode:
        print("  " + checked.stderr.strip().replace("\n", "\n  "))
    serial = sum(c.wall_s for c in cells)
    print(
        f"cells: {cells_s:.0f} s wall time at {args.jobs} at once; their own times add up to {serial:.0f} s"
    )
    ok = all(c.code == 0 for c in cells) and merged.returncode == 0 and checked.returncode == 0
    return EXIT_OK if ok else EXIT_FAILED
