"""`labkit grade lab-3` (make grade-3) on a temporary copy: the learner's distances run in children,
the service with it under real py-spy --native; QUICK configuration, verdicts only (never times)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands.test_grade import grade as grade_lab
from tests.commands.test_grade import verdicts
from tests.helpers import ROOT, copy_repo

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


# The broadcast, kept, with a forged clock: 99% of the time spent in the learner's own calls is taken
# off time.perf_counter, so that a benchmark timing the function in the learner's process reads it as
# about a hundred times faster than it is.
FORGED_CLOCK = """
import time

import numpy as np

_clock, _hidden = time.perf_counter, [0.0]


def _forged():
    return _clock() - _hidden[0]


time.perf_counter = _forged


def distances(queries, items):
    started = _clock()
    out = np.sqrt(((queries[:, None, :] - items[None, :, :]) ** 2).sum(axis=-1))
    _hidden[0] += 0.99 * (_clock() - started)
    return out
"""
# The same forgery through the benchmark's own timing function, wherever a loaded module has one.
FORGED_TIMER = """
import sys

import numpy as np


def distances(queries, items):
    return np.sqrt(((queries[:, None, :] - items[None, :, :]) ** 2).sum(axis=-1))


def _forging(real):
    def forged(func, *args, **kwargs):
        return real(func, *args, **kwargs) / (100 if func is distances else 1)

    return forged


for _module in list(sys.modules.values()):
    if callable(getattr(_module, "timed", None)) and hasattr(_module, "time_per_call"):
        _module.timed = _forging(_module.timed)
"""
# Right on the first call (the check before the timings), then the same answer for any queries.
REMEMBERS = (
    MATMUL.replace("def distances(queries, items):\n", "def _matmul(queries, items):\n")
    + """

_first = []


def distances(queries, items):
    if not _first:
        _first.append(_matmul(queries, items))
    return _first[0]
"""
)


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


@pytest.mark.parametrize("source", [FORGED_CLOCK, FORGED_TIMER], ids=["perf-counter", "bench-timer"])
def test_a_forged_clock_or_timer_does_not_make_the_broadcast_fast(repo: Path, source: str) -> None:
    """bench_distances.py times the learner's function from outside its process (timed_distances.py):
    whatever that process does to its clocks, the speed verdict fails, with a measured speedup."""
    code, output, record = grade(repo, source)
    assert code == 1, output
    assert verdicts(record)["correct"] is True, output
    assert verdicts(record)["fast"] is False, output
    (fast,) = [c for c in record["checks"] if c["id"] == "fast"]  # type: ignore[attr-defined]
    assert fast["measured"] and "not measured" not in fast["measured"], "the speed is measured, too slow"
    assert fast["hint"], "a failing speed verdict says what to do"


def test_an_answer_remembered_from_the_check_is_not_timed(tmp_path: Path) -> None:
    """Every timed call's answers are checked against the reference before its time counts."""
    learner = tmp_path / "distances.py"
    learner.write_text(REMEMBERS, encoding="utf-8")
    bench = ROOT / "labs" / "native_service" / "bench_distances.py"
    argv = [sys.executable, str(bench), "--repeats", "1", "--min-time", "0.01", "--distances"]
    ran = subprocess.run(
        [*argv, f"{learner}:distances"], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode != 0, ran.stdout
    assert "your distances answered a timed call wrongly: not timing a wrong answer" in ran.stderr
