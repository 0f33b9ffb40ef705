"""labkit.benchmark.summarise: spreads and speedups computed only from the raw per-call times."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labkit import benchmark
from labkit.errors import LabError


def raw(slow: list[float], fast: list[float], repeats: int = 5) -> dict[str, Any]:
    return {
        "n": 5000,
        "repeats": repeats,
        "number": {"slow": 1, "fast": 200},
        "same_result": True,
        "times_s": {"slow": slow, "fast": fast},
    }


def test_summarise() -> None:
    slow = [5.0, 4.0, 6.0, 5.5, 4.5]
    fast = [0.004, 0.002, 0.005, 0.003, 0.0045]
    out = benchmark.summarise(raw(slow, fast))
    assert out["slow_s"] == {"min": 4.0, "median": 5.0, "max": 6.0}
    assert out["fast_s"] == {"min": 0.002, "median": 0.004, "max": 0.005}
    assert out["speedup"]["median"] == pytest.approx(5.0 / 0.004)
    assert out["speedup"]["min"] == pytest.approx(4.0 / 0.005)  # slowest fast call vs fastest slow call
    assert out["speedup"]["max"] == pytest.approx(6.0 / 0.002)
    assert out["n"] == 5000 and out["repeats"] == 5 and out["same_result"] is True
    assert out["number"] == {"slow": 1, "fast": 200}


@pytest.mark.parametrize(
    "bad",
    [
        raw([1.0] * 4, [0.1] * 5),
        raw([1.0] * 5, [0.1] * 6),
        raw([1.0] * 5, [0.1] * 4 + [0.0]),
        raw([1.0] * 5, [0.1] * 4 + [-0.1]),
        {"repeats": 5, "times_s": {"slow": [1.0] * 5}},
        {"times_s": {"slow": [1.0] * 5, "fast": [0.1] * 5}},
        raw(["x"] * 5, [0.1] * 5),  # type: ignore[list-item]
    ],
    ids=[
        "too-few-slow",
        "too-many-fast",
        "zero-time",
        "negative-time",
        "no-fast",
        "no-repeats",
        "not-numbers",
    ],
)
def test_bad_raw_output(bad: dict[str, Any]) -> None:
    with pytest.raises(LabError):
        benchmark.summarise(bad)


times = st.lists(st.floats(min_value=1e-7, max_value=100.0, allow_nan=False), min_size=5, max_size=5)


@settings(deadline=None, max_examples=100)
@given(slow=times, fast=times)
def test_speedup_ordering(slow: list[float], fast: list[float]) -> None:
    out = benchmark.summarise(raw(slow, fast))
    sp = out["speedup"]
    assert sp["min"] <= sp["median"] <= sp["max"]
    assert sp["min"] == min(slow) / max(fast)
    assert sp["max"] == max(slow) / min(fast)
    assert sp["median"] == out["slow_s"]["median"] / out["fast_s"]["median"]
