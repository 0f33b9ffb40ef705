"""labkit.graders: a lab's grader file, found from the manifest's exercise and read without running it."""

from __future__ import annotations

from pathlib import Path

import pytest
from labkit import graders
from labkit.spec import Exercise

from tests.helpers import ROOT

CHECKS = {"correct": {"hint": "h", "reference": "x.py:f"}, "fast": {"hint": "h", "than": 2}}
GRADER = 'CHECKS = {"correct": ("reference",), "fast": ("than",)}\nraise SystemExit("never run")\n'


def exercise(grader: str, checks: dict[str, dict[str, object]] = CHECKS) -> Exercise:
    return Exercise(grader=grader, files=[], target="f.py:f", change="c", checks=checks)  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "labs" / "prog").mkdir(parents=True)
    (tmp_path / "repo" / "labs" / "prog" / "grader.py").write_text(GRADER, encoding="utf-8")
    (tmp_path / "outside.py").write_text(GRADER, encoding="utf-8")
    return tmp_path / "repo"


def test_the_labs_graders_declare_what_their_manifests_give() -> None:
    from labkit.manifest import discover, load

    for manifest in discover(ROOT):
        lab = load(manifest, root=ROOT)
        if lab.exercise is not None:
            assert graders.problem(lab.exercise, root=ROOT) is None
            assert lab.exercise.grader.startswith("labs/"), "a lab's grader lives with the lab"


def test_a_grader_is_read_without_running_it(root: Path) -> None:
    assert graders.problem(exercise("labs/prog/grader.py"), root=root) is None  # its SystemExit never ran
    found = graders.declared(root / "labs/prog/grader.py", shown="labs/prog/grader.py")
    assert found.checks == ("correct", "fast") and found.settings["fast"] == ("than",)


@pytest.mark.parametrize(
    ("grader", "reason"),
    [
        ("finder", "is not a Python file of the repository"),
        ("/abs/grader.py", "is an absolute path"),
        ("../outside.py", "climbs out"),
        ("labs/prog/missing.py", "is not a Python file of the repository"),
    ],
)
def test_a_grader_outside_the_repository_or_missing_is_refused(root: Path, grader: str, reason: str) -> None:
    assert reason in (graders.problem(exercise(grader), root=root) or "")


def test_checks_that_differ_from_the_graders_or_lack_a_setting_are_refused(root: Path) -> None:
    other = exercise("labs/prog/grader.py", {"correct": CHECKS["correct"]})
    assert "has the checks correct, fast; the manifest gives correct" in (
        graders.problem(other, root=root) or ""
    )
    lacking = exercise("labs/prog/grader.py", {**CHECKS, "fast": {"hint": "h"}})
    assert graders.problem(lacking, root=root) == "check 'fast' needs than"


def test_checks_must_be_a_literal(root: Path) -> None:
    (root / "labs/prog/grader.py").write_text("CHECKS = dict(correct=())\n", encoding="utf-8")
    assert "labs/prog/grader.py:1: CHECKS must be a literal" in (
        graders.problem(exercise("labs/prog/grader.py"), root=root) or ""
    )
