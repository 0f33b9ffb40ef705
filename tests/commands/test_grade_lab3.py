"""`labkit grade lab-3` (make grade-3) on a temporary copy: the learner's distances run in children,
the service with it under real py-spy --native; QUICK configuration, verdicts only (never times)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.test_grade import grade as grade_lab
from tests.commands.test_grade import verdicts
from tests.helpers import copy_repo

MATMUL = """
import numpy as np


def distances(queries, items):
    out = queries @ items.T
    out *= -2.0
    out += (queries * queries).sum(axis=1)[:, None]
    out += (items * items).sum(axis=1)[None, :]
    np.maximum(out, 0.0, out=out)
    return np.sqrt(out, out=out)
"""
# Fast, but without the clip: a query equal to an item gets the root of a tiny negative number, nan.
NO_CLIP = MATMUL.replace("    np.maximum(out, 0.0, out=out)\n", "")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("grade3") / "repo")


def grade(repo: Path, source: str | None) -> tuple[int, str, dict[str, object]]:
    """Lab 3's grade through test_grade's helper: docs/ untouched, no process left, no local path."""
    return grade_lab(repo, "lab-3", source)


def test_the_unchanged_exercise_fails_on_speed_and_on_its_native_frames(repo: Path) -> None:
    code, output, record = grade(repo, None)
    assert code == 1, output
    assert record["unchanged"] is True
    assert verdicts(record) == {"correct": True, "fast": False, "native_gone": False}
    assert record["checks"][-1]["picture"] == "out/lab-3/grade/your-service.svg"  # type: ignore[index]
    svg = (repo / "out/lab-3/grade/your-service.svg").read_text(encoding="utf-8")
    assert "DOUBLE_subtract" in svg, "the learner's flame graph shows the native frames"


def test_a_matrix_product_passes(repo: Path) -> None:
    code, output, record = grade(repo, MATMUL)
    assert code == 0, output
    assert verdicts(record) == {"correct": True, "fast": True, "native_gone": True}


def test_a_nan_where_a_query_equals_an_item_is_not_correct(repo: Path) -> None:
    code, output, record = grade(repo, NO_CLIP)
    assert code == 1, output
    assert verdicts(record)["correct"] is False
    assert "nan" in record["checks"][0]["measured"]  # type: ignore[index]
