"""`make matrix` in the QUICK configuration, in a scratch copy: two cells, one of which fails.

Each cell is a clean clone of the copy's commit with its own HOME, run by the real `labkit cell`
(real processes, real py-spy); the publishing Python's artifacts are collected and merged as the
workflow does. The failed cell's lab keeps its previous results, the other lab's are merged whole,
and the report says which is which.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from labkit import store, workflow

from tests.helpers import QUICK, assert_no_process_left, copy_repo, hash_tree, labkit

THIS = f"{sys.version_info[0]}.{sys.version_info[1]}"
CELLS = Path(".labs/matrix/cells")
pytestmark = pytest.mark.skipif(
    THIS != workflow.PUBLISH_PYTHON, reason=f"the merge takes Python {workflow.PUBLISH_PYTHON}'s cells"
)


def committed_copy(tmp_path: Path) -> Path:
    """A copy whose Lab 2 cannot start its service, committed: cells clone the commit."""
    copy = copy_repo(tmp_path / "repo")
    service = copy / "labs" / "web_service" / "service.py"
    service.write_text('raise SystemExit("broken on purpose by the test")\n' + service.read_text())
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "a tree with a broken Lab 2"]):
        subprocess.run([*git, *argv], cwd=copy, check=True, capture_output=True)
    return copy


def matrix(copy: Path, *args: str) -> tuple[int, str]:
    run = labkit(copy, "matrix", "--pythons", THIS, "--quick", "--venv", sys.prefix, *args, timeout=600)
    assert "Traceback" not in run.output, str(run)
    return run.returncode, run.output


def test_the_failed_cells_lab_keeps_its_results_and_the_other_is_merged_whole(tmp_path: Path) -> None:
    copy = committed_copy(tmp_path)
    previous = copy / QUICK / "docs" / "labs" / "lab-2"
    shutil.copytree(copy / "docs" / "labs" / "lab-2", previous)  # Lab 2's previous QUICK results
    kept = hash_tree(previous)
    docs = hash_tree(copy / "docs")

    code, output = matrix(copy, "--lab", "lab-1", "--lab", "lab-2", "--jobs", "2", "--here")

    assert code == 1, output  # a cell failed
    cell = copy / CELLS / f"assets-lab-1-py{THIS}"
    assert (cell / "repo" / ".git").is_dir() and (cell / "home").is_dir(), (
        "not a clone with a HOME of its own"
    )
    shipped = cell / "artifact" / "files" / "docs" / "labs" / "lab-1"
    merged = copy / QUICK / "docs" / "labs" / "lab-1"
    assert hash_tree(merged) == hash_tree(shipped), "Lab 1 is not its artifact's, whole"
    assert hash_tree(previous) == kept, "the failed cell's lab lost its previous results"
    assert not store.leftovers(merged) and not store.leftovers(previous)
    assert hash_tree(copy / "docs") == docs, "a QUICK matrix wrote into docs/"
    rows = [line.split() for line in output.splitlines() if line.strip().startswith(("lab-1 ", "lab-2 "))]
    assert rows[0][:3] == ["lab-1", THIS, "ok"] and rows[1][:3] == ["lab-2", THIS, "failed"], output
    assert f"✓ lab-1: merged (assets-lab-1-py{THIS}): merged whole" in output
    assert f"✗ lab-2: kept (assets-lab-2-py{THIS}): the cell failed (exit 5" in output
    assert_no_process_left(copy)


def test_without_here_the_repository_is_left_as_it_was(tmp_path: Path) -> None:
    copy = committed_copy(tmp_path)
    before = hash_tree(copy, skip=(".labs", ".git"))

    _, output = matrix(copy, "--lab", "lab-1")  # its `check --quick` fails: other labs have no QUICK results

    assert f"✓ lab-1: merged (assets-lab-1-py{THIS}): merged whole" in output, output
    assert hash_tree(copy, skip=(".labs", ".git")) == before, "the matrix changed the repository it ran from"
    assert "into .labs/matrix/merged:" in output, output
    assert (copy / ".labs" / "matrix" / "merged" / QUICK / "docs" / "labs" / "lab-1" / "data").is_dir()
    assert_no_process_left(copy)
