"""The grader's speed check on a busy machine: a conservative end left undecided is timed again, up to
labkit.grade_checks.ATTEMPTS times in all, and the check names the attempts; a clear verdict is final."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from labkit import grade_finder
from labkit.grade_checks import ATTEMPTS
from labkit.grade_finder import bench, check_speed_only

FAST = {"than": 100, "hint": "h", "program": ["labs/benchmark/bench.py"]}


def raw(*fast_factors: float) -> dict[str, Any]:
    """One size: the slow finder 1,000 times the fast one's clean time; ``fast_factors`` slow down the
    fast finder's five timings (load on the machine)."""
    return {
        "repeats": 5,
        "points": [
            {
                "n": 1600,
                "number": {"slow": 1, "fast": 100},
                "same_result": True,
                "times_s": {"slow": [1e-3] * 5, "fast": [1e-6 * f for f in fast_factors]},
            }
        ],
    }


CLEAN = raw(1, 1, 1, 1.1, 1)  # 909× at its conservative end: holds
BUSY = raw(1, 1, 20, 1, 1.2)  # median 1,000×, one call slowed 20×: 50× at that end, undecided
SLOW = raw(20, 20, 25, 22, 20)  # about 50× whichever way: fails


def _graded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, runs: list[dict[str, Any]], *, note: str = ""
) -> tuple[Any, int]:
    """bench() over benchmark runs that report ``runs`` in turn (output cut if ``note``): (the fast
    check, runs used)."""
    queue = list(runs)
    monkeypatch.setattr(grade_finder, "_bench_once", lambda *a, **k: (queue.pop(0), "", note))
    said: list[str] = []
    got = bench(
        SimpleNamespace(seed=1),  # type: ignore[arg-type]  # only the lab's seed is read
        root=tmp_path, file=tmp_path / "f.py", function="f", fast=FAST, quick=False,
        folder=tmp_path, work=tmp_path, say=said.append,
    )  # fmt: skip
    assert got.raw is not None and got.fast is not None
    return got.fast, len(runs) - len(queue)


@pytest.fixture(autouse=True)
def _no_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grade_finder.runner, "python_argv", lambda argv, root: ["python", *argv])


def test_an_undecided_first_timing_is_timed_again_and_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert check_speed_only(BUSY, fast=FAST).verdict == "undecided"
    check, used = _graded(monkeypatch, tmp_path, [BUSY, CLEAN, CLEAN])
    assert (check.verdict, used) == ("holds", 2)
    assert check.detail.startswith("timed 2 times: a busy machine left the earlier ones undecided (")


def test_a_clear_verdict_is_never_timed_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for first, verdict in ((CLEAN, "holds"), (SLOW, "fails")):
        check, used = _graded(monkeypatch, tmp_path, [first, CLEAN, CLEAN])
        assert (check.verdict, used, check.detail) == (verdict, 1, "")


def test_undecided_every_time_stays_undecided_after_the_last_attempt(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    check, used = _graded(monkeypatch, tmp_path, [BUSY] * (ATTEMPTS + 1))
    assert (check.verdict, used) == ("undecided", ATTEMPTS)
    assert check.detail.startswith(f"timed {ATTEMPTS} times")


def test_output_cut_fails_at_once_and_is_never_timed_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    check, used = _graded(monkeypatch, tmp_path, [BUSY, CLEAN], note="4 MiB of output cut")
    assert (check.verdict, used) == ("fails", 1)
    assert "output cut" in check.measured


def test_lab_2s_p95_check_is_measured_again_while_undecided(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Lab 2's grader (its own file) follows the same rule: an undecided p95 runs the loads again."""
    from labkit import manifest

    from tests.helpers import ROOT, lab_module

    grader = lab_module(ROOT / "labs/web_service", "grader", prefix="lab2")
    lab = manifest.load(ROOT / "labs/lab-2.yml", root=ROOT)

    def load(*repeats_ms: float) -> dict[str, Any]:
        return {"summary": {"all": {"p95_ms": {"median": sorted(repeats_ms)[len(repeats_ms) // 2],
                                               "min": min(repeats_ms), "max": max(repeats_ms)}}}}  # fmt: skip

    runs = [
        ({"slow": load(126, 128, 133), "yours": load(23, 26, 44.5)}, {}),  # 3 × 44.5 > 126: undecided
        ({"slow": load(126, 128, 133), "yours": load(23, 25, 27)}, {}),
    ]
    used: list[int] = []
    monkeypatch.setattr(grader, "measure", lambda *a, **k: (used.append(1), runs[len(used) - 1])[1])
    monkeypatch.setattr(grader, "check_lost", lambda *a, **k: None)
    _, fast = grader.grade(lab, root=ROOT, work=tmp_path, folder=tmp_path, quick=True, say=lambda _: None)
    assert (fast.verdict, len(used)) == ("holds", 2)
    assert fast.detail.startswith("measured 2 times: a busy machine left the earlier ones undecided")


def test_an_undecided_scales_check_is_timed_again_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """bench() given the scales check times again while it is undecided (one lucky timing at the smallest
    size), and both checks then come from the same, decided run."""
    from tests.unit.test_grade_scales import SCALES
    from tests.unit.test_grade_scales import raw as sized

    lucky, linear = sized(1.0, busy={100: [0.4, 1.0, 1.0, 1.0, 1.0]}), sized(1.0, busy={})
    queue = [lucky, linear, linear]
    monkeypatch.setattr(grade_finder, "_bench_once", lambda *a, **k: (queue.pop(0), "", ""))
    got = bench(
        SimpleNamespace(seed=1),  # type: ignore[arg-type]  # only the lab's seed is read
        root=tmp_path, file=tmp_path / "f.py", function="f", fast={**FAST, "than": 2}, quick=False,
        folder=tmp_path, work=tmp_path, say=lambda _: None, scales=SCALES,
    )  # fmt: skip
    assert got.scales is not None and got.fast is not None
    assert (got.scales.verdict, got.fast.verdict, len(queue)) == ("holds", "holds", 1)
    assert got.scales.detail.startswith("timed 2 times"), got.scales.detail
