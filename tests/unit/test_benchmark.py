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


def sized(times: dict[int, tuple[list[float], list[float]]], repeats: int = 5) -> dict[str, Any]:
    """A raw output with several sizes: n -> (slow times, fast times)."""
    return {
        "repeats": repeats,
        "points": [
            {
                "n": n,
                "number": {"slow": 1, "fast": 100},
                "same_result": True,
                "times_s": {"slow": s, "fast": f},
            }
            for n, (s, f) in times.items()
        ],
    }


NOISE = (0.97, 1.0, 1.03, 0.99, 1.02)  # the same relative scatter at every size


def power_law(b_slow: float, b_fast: float, sizes: tuple[int, ...] = (250, 500, 1000, 2000, 4000)) -> Any:
    return sized(
        {
            n: ([1e-7 * n**b_slow * k for k in NOISE], [1e-8 * n**b_fast * k for k in reversed(NOISE)])
            for n in sizes
        }
    )


@given(st.floats(min_value=0.5, max_value=3.0), st.floats(min_value=0.5, max_value=1.5))
@settings(deadline=None, max_examples=10)
def test_fit_recovers_the_exponents_of_a_power_law(b_slow: float, b_fast: float) -> None:
    fits = benchmark.summarise(power_law(b_slow, b_fast))["scaling"]
    assert fits is not None
    for name, b in (("slow", b_slow), ("fast", b_fast), ("speedup", b_slow - b_fast)):
        fit = fits[name]  # type: ignore[literal-required]
        assert fit["exponent"] == pytest.approx(b, abs=1e-9)
        low, high = fit["exponent_ci"]
        assert low <= fit["exponent"] <= high, "the interval holds the estimate"
        assert high - low < 0.1, "a 3% scatter leaves the exponent well pinned"
        assert fit["ci_level"] == 0.95


def test_fit_interval_widens_with_noise_and_is_reproducible() -> None:
    quiet = power_law(2.0, 1.0)
    noisy = power_law(2.0, 1.0)
    for i, point in enumerate(noisy["points"]):  # alternate sizes 40% up or down in some repeats
        factor = 1.4 if i % 2 else 0.6
        point["times_s"]["slow"][:2] = [t * factor for t in point["times_s"]["slow"][:2]]
    q, n = benchmark.summarise(quiet)["scaling"], benchmark.summarise(noisy)["scaling"]
    assert q is not None and n is not None
    width = lambda f: f["exponent_ci"][1] - f["exponent_ci"][0]  # noqa: E731
    assert width(n["slow"]) > 2 * width(q["slow"])
    assert benchmark.summarise(noisy)["scaling"] == n, "a fixed seed: make check recomputes the same"


def test_headline_is_the_largest_size_and_local_slopes() -> None:
    out = benchmark.summarise(power_law(2.0, 1.0))
    assert out["n"] == 4000 and [p["n"] for p in out["sizes"]] == [250, 500, 1000, 2000, 4000]
    assert out["slow_s"] == out["sizes"][-1]["slow_s"]
    assert out["sizes"][0]["local"] == {"slow": None, "fast": None}
    assert out["sizes"][1]["local"]["slow"] == pytest.approx(2.0)
    assert out["sizes"][1]["local"]["fast"] == pytest.approx(1.0)


def test_fewer_than_three_sizes_give_no_fit() -> None:
    assert benchmark.summarise(power_law(2.0, 1.0, sizes=(500, 1000)))["scaling"] is None
    assert benchmark.summarise(raw([1.0] * 5, [0.1] * 5))["scaling"] is None


def test_a_size_given_twice_is_refused() -> None:
    doubled = power_law(2.0, 1.0, sizes=(500, 1000, 2000))
    doubled["points"][2]["n"] = 1000
    with pytest.raises(LabError, match="each size once"):
        benchmark.summarise(doubled)
