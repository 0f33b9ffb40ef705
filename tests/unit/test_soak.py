"""labkit.soak: the margin of a claim's interval from its threshold, and the summary of runs."""

from __future__ import annotations

from typing import Any

import pytest
from labkit import soak
from labkit.manifest import Lab


def entry(value: float, interval: list[float] | None, expect: str = "holds") -> dict[str, Any]:
    return {"value": value, "interval": interval, "expect": expect}


@pytest.mark.parametrize(
    ("op", "than", "interval", "expect", "margin"),
    [
        (">", 0.5, [0.6, 0.8], "holds", 0.1),  # low end clears 0.5 by 0.1
        (">", 0.5, [0.45, 0.8], "holds", -0.05),  # straddles: undecided
        ("<", 0.02, [0.2, 0.4], "fails", 0.18),  # expected to fail: how far it is on the failing side
        ("<=", 1.0, None, "holds", 0.4),  # exact value 0.6
    ],
)
def test_margin_is_signed_toward_the_expectation(
    op: str, than: float, interval: list[float] | None, expect: str, margin: float
) -> None:
    value = 0.6 if interval is None else sum(interval) / 2
    got = soak.margin(entry(value, interval, expect), {}, {"op": op, "than": than})
    assert got == pytest.approx(margin)


def test_margin_is_none_for_exact_comparisons() -> None:
    assert soak.margin(entry(9, None), {}, {"op": "==", "than": 9}) is None


def test_margin_against_another_measurement_uses_its_scaled_interval() -> None:
    results = {"loads": {"fixed": {"p95": {"min": 20.0, "median": 22.0, "max": 25.0}}}}
    spec = {"op": ">=", "than": "loads.fixed.p95", "factor": 3}
    assert soak.margin(entry(120.0, [100.0, 130.0]), results, spec) == pytest.approx(100.0 - 75.0)


def lab() -> Lab:
    from pathlib import Path

    return Lab(
        id="lab-9",
        title="t",
        page=Path("p.md"),
        programs=[],
        steps=[],
        values={},
        claims=[],
        seed=1,
        source=Path("labs/lab-9.yml"),
        raw={},
    )


def run(number: int, verdict: str, margin: float | None, wall: float) -> dict[str, Any]:
    return {
        "run": number,
        "ok": verdict == "holds",
        "wall_s": wall,
        "steps": [{"id": "a", "kind": "profile", "wall_s": wall - 1}],
        "claims": [
            {
                "id": "c",
                "verdict": verdict,
                "expect": "holds",
                "value": 0.6,
                "interval": None,
                "shown": "",
                "rule": "> 50.0%",
                "margin": margin,
            }
        ],
    }


def test_summary_counts_verdicts_and_fails_on_one_bad_run() -> None:
    summary = soak.summarise(lab(), [run(1, "holds", 0.1, 5.0), run(2, "undecided", -0.01, 7.0)], quick=False)
    claim = summary["claims"]["c"]
    assert claim["verdicts"] == {"holds": 1, "undecided": 1} and claim["as_expected"] == 1
    assert claim["smallest_margin"] == -0.01
    assert summary["run_wall_s"] == {"median": 6.0, "min": 5.0, "max": 7.0}
    assert summary["step_wall_s"]["a"] == {"median": 5.0, "min": 4.0, "max": 6.0}
    assert summary["successes"] == 1 and soak.exit_code(summary) == 1


def test_a_crashed_run_is_a_failure_even_when_the_others_hold() -> None:
    crashed = {"run": 2, "ok": False, "error": "boom", "wall_s": 1.0}
    summary = soak.summarise(lab(), [run(1, "holds", 0.1, 5.0), crashed], quick=False)
    assert summary["failed_runs"] == [{"run": 2, "error": "boom"}]
    assert soak.exit_code(summary) == 1
    assert soak.exit_code(soak.summarise(lab(), [run(1, "holds", 0.1, 5.0)], quick=False)) == 0
