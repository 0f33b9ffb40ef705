"""labkit.exercise: the learner's copy is made once, never overwritten, and restored only on request."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from labkit import exercise, manifest
from labkit.errors import LabError

from tests.helpers import ROOT


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for part in ("labs", "docs/labs/lab-1/index.md", "docs/labs/lab-1/fact-check.md"):
        source, dest = ROOT / part, tmp_path / part
        dest.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, dest)
    return tmp_path


def test_made_once_never_overwritten_restored_on_request(repo: Path) -> None:
    lab = manifest.load(Path("labs/lab-1.yml"), root=repo)
    (made,) = exercise.create(lab, root=repo)
    assert made == repo / "exercises" / "lab-1" / "finder.py"
    assert exercise.unchanged(lab, root=repo)
    made.write_text("def find_duplicates(values):\n    return set()\n", encoding="utf-8")
    assert exercise.create(lab, root=repo) == [], "an existing copy is the learner's work"
    assert "return set()" in made.read_text(encoding="utf-8")
    assert not exercise.unchanged(lab, root=repo)
    assert "already there" in exercise.instructions(lab, root=repo, made=[])
    assert exercise.restore(lab, root=repo) == [made]
    assert exercise.unchanged(lab, root=repo)


def test_a_lab_without_exercise_says_so(repo: Path) -> None:
    lab = manifest.load(Path("labs/lab-1.yml"), root=repo)
    bare = type(lab)(**{**lab.__dict__, "exercise": None})
    with pytest.raises(LabError, match="declares no `exercise:`"):
        exercise.of(bare)


def test_a_link_in_place_of_the_exercise_is_replaced_never_written_through(repo: Path) -> None:
    """Probe 9a: `ln -s ../../scripts/labkit/claims.py exercises/lab-1/finder.py; make reset-1 FORCE=1`."""
    lab = manifest.load(Path("labs/lab-1.yml"), root=repo)
    victim = repo / "scripts" / "labkit" / "claims.py"
    victim.parent.mkdir(parents=True)
    victim.write_text("# the toolkit's own code\n", encoding="utf-8")
    mine = repo / "exercises" / "lab-1" / "finder.py"
    mine.parent.mkdir(parents=True)
    mine.symlink_to("../../scripts/labkit/claims.py")
    assert exercise.restore(lab, root=repo) == [mine]
    assert victim.read_text(encoding="utf-8") == "# the toolkit's own code\n"
    assert not mine.is_symlink() and exercise.unchanged(lab, root=repo)
    exercise.refuse_links(lab, root=repo)
    mine.unlink()
    mine.symlink_to("../../scripts/labkit/claims.py")
    with pytest.raises(LabError, match=r"exercises/lab-1/finder\.py: is a symbolic link"):
        exercise.refuse_links(lab, root=repo)
    mine.unlink()
    mine.symlink_to("../../scripts/labkit/new.py")  # a dangling link: create must not write through it
    assert exercise.create(lab, root=repo) == []
    assert not (repo / "scripts" / "labkit" / "new.py").exists()
