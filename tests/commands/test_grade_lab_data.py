"""A lab's grader is lab data: a new lab adds its own grader file and `make grade-N` runs it, with no
edit of the toolkit. Real processes, in a copy of the repository with the scaffold's small lab.

Before graders were lab data, the manifest's ``grader:`` could only name a grader built into the
toolkit: the manifest below was refused, so these tests fail without the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import assert_no_process_left, copy_repo, labkit, scaffold

NEW = "lab-7"
STARTER = "def double(x):\n    return x\n"
FIXED = "def double(x):\n    return 2 * x\n"
# The new lab's grader: it runs the learner's function in a child (labkit.sandbox) and judges its output.
GRADER = '''\
"""Lab 7's grader: the learner's double(21) must print 42."""

import sys

from labkit import claims, exercise, sandbox
from labkit.claims import Measured
from labkit.grade_checks import Check

CHECKS = {"doubles": ("than",)}
QUESTIONS = {"doubles": "doubles: twice its input"}


def grade(lab, *, root, work, folder, quick, say):
    file, function = exercise.target(lab, root=root)
    code = (
        "import importlib.util as u\\n"
        f"s = u.spec_from_file_location('learner', {str(file)!r})\\n"
        "m = u.module_from_spec(s)\\n"
        "s.loader.exec_module(m)\\n"
        f"print(m.{function}(21))\\n"
    )
    ran = sandbox.run([sys.executable, "-I", "-c", code], cwd=folder, log=work / "double.log", limit_s=10)
    said = (ran.output.strip().splitlines() or [""])[-1]
    want = exercise.of(lab).checks["doubles"]["than"]
    got = int(said) if said.lstrip("-").isdigit() else None
    verdict = claims.verdict(Measured(float(got if got is not None else -1)), "==", want)
    return [
        Check(
            id="doubles",
            question=QUESTIONS["doubles"],
            measured=f"double(21) printed {said!r}",
            rule=f"= {want}",
            verdict=verdict,
            hint="" if verdict == "holds" else exercise.of(lab).checks["doubles"]["hint"],
        )
    ]
'''
EXERCISE = """
exercise:
  grader: labs/lab_7/grader.py
  files: [labs/starter/lab-7/double.py]
  target: double.py:double
  change: make it double its input
  checks:
    doubles:
      than: 42
      hint: return twice the input
"""


@pytest.fixture(scope="module")
def lab7(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository with a new lab, its exercise and its own grader; the toolkit untouched."""
    copy = copy_repo(tmp_path_factory.mktemp("labdata") / "repo")
    made = scaffold(copy, "--lab", NEW, "--title", "Lab data")
    assert made.returncode == 0, made.stderr
    (copy / "labs" / "lab_7" / "grader.py").write_text(GRADER, encoding="utf-8")
    (copy / "labs" / "starter" / NEW).mkdir(parents=True)
    (copy / "labs" / "starter" / NEW / "double.py").write_text(STARTER, encoding="utf-8")
    manifest = copy / "labs" / f"{NEW}.yml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + EXERCISE, encoding="utf-8")
    return copy


def _grade(copy: Path, source: str) -> tuple[int, str, dict[str, object]]:
    reset = labkit(copy, "reset", NEW, "--force")
    assert reset.returncode == 0, str(reset)
    (copy / "exercises" / NEW / "double.py").write_text(source, encoding="utf-8")
    run = labkit(copy, "grade", NEW, "--quick", timeout=120)
    assert_no_process_left(copy)
    record = json.loads((copy / "out" / NEW / "grade.json").read_text(encoding="utf-8"))
    return run.returncode, run.output, record


def test_a_new_lab_grades_with_its_own_grader(lab7: Path) -> None:
    code, output, record = _grade(lab7, FIXED)
    assert code == 0, output
    assert [(c["id"], c["passed"]) for c in record["checks"]] == [("doubles", True)]  # type: ignore[union-attr]
    assert "doubles: twice its input" in output and "printed '42'" in output


def test_an_edit_of_the_same_size_and_second_is_graded_as_written(lab7: Path) -> None:
    """A stale .pyc (same size, same mtime to the second) must not stand in for the learner's edit."""
    code, _, _ = _grade(lab7, FIXED)
    assert code == 0
    exercise = lab7 / "exercises" / NEW / "double.py"
    stamp = exercise.stat()
    wrong = "def double(x):\n    return x + 2\n"
    assert len(wrong) == len(FIXED)
    exercise.write_text(wrong, encoding="utf-8")
    os.utime(exercise, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    run = labkit(lab7, "grade", NEW, "--quick", timeout=120)
    assert run.returncode == 1, run.output
    assert "printed '23'" in run.output


def test_a_new_labs_grader_fails_a_wrong_answer(lab7: Path) -> None:
    code, output, record = _grade(lab7, "def double(x):\n    return x + 1\n")
    assert code == 1, output
    assert record["passed"] is False and "return twice the input" in output


def test_a_grader_that_returns_other_checks_than_it_declares_is_an_error(lab7: Path, tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo", source=lab7)
    grader = copy / "labs" / "lab_7" / "grader.py"
    grader.write_text(
        grader.read_text(encoding="utf-8").replace('id="doubles"', 'id="other"'), encoding="utf-8"
    )
    reset = labkit(copy, "reset", NEW, "--force")
    assert reset.returncode == 0, str(reset)
    run = labkit(copy, "grade", NEW, "--quick", timeout=120)
    assert run.returncode == 2, str(run)
    assert "grade() returned the checks other; its CHECKS declare doubles" in run.flat, str(run)
    assert "Traceback" not in run.output
