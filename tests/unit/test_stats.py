"""The share intervals: coverage on synthetic sequences, widening under autocorrelation, never zero-width."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labkit import stats


def independent(rng: random.Random, p: float, n: int) -> list[int]:
    return [1 if rng.random() < p else 0 for _ in range(n)]


def phases(rng: random.Random, p: float, n: int, stay: float) -> list[int]:
    """A two-state Markov chain with stationary share p that stays put with high probability."""
    out, state = [], 1 if rng.random() < p else 0
    leave_one, leave_zero = (1 - stay), (1 - stay) * p / (1 - p)
    for _ in range(n):
        out.append(state)
        if rng.random() < (leave_one if state else leave_zero):
            state = 1 - state
    return out


def coverage(make: object, p: float, *, trials: int, seed: int) -> float:
    rng = random.Random(seed)
    hits = 0
    for _ in range(trials):
        low, high, _ = stats.share_interval(make(rng), confidence=0.95)  # type: ignore[operator]
        hits += low <= p <= high
    return hits / trials


def test_independent_draws_cover_about_95_percent() -> None:
    got = coverage(lambda rng: independent(rng, 0.3, 400), 0.3, trials=400, seed=1)
    assert 0.91 <= got <= 0.985


def test_independent_draws_have_tau_near_one() -> None:
    rng = random.Random(2)
    taus = [stats.autocorrelation_time(independent(rng, 0.5, 1000)) for _ in range(50)]
    assert 1.0 <= sum(taus) / len(taus) < 1.3


def test_long_phases_widen_the_interval_far_beyond_the_naive_one() -> None:
    rng = random.Random(3)
    series = phases(rng, 0.4, 1000, stay=0.99)
    low, high, tau = stats.share_interval(series, confidence=0.95)
    naive_low, naive_high = stats.wilson(sum(series) / len(series), len(series), confidence=0.95)
    assert tau > 20
    assert (high - low) > 3 * (naive_high - naive_low)


def test_long_phases_keep_reasonable_coverage_where_the_naive_interval_fails() -> None:
    p = 0.4
    ours = coverage(lambda rng: phases(rng, p, 1000, stay=0.98), p, trials=300, seed=4)
    rng, naive_hits = random.Random(4), 0
    for _ in range(300):
        s = phases(rng, p, 1000, stay=0.98)
        low, high = stats.wilson(sum(s) / len(s), len(s), confidence=0.95)
        naive_hits += low <= p <= high
    assert ours >= 0.85
    assert naive_hits / 300 < 0.6


@pytest.mark.parametrize("series", [[1] * 300, [0] * 300, [1], [0, 1]])
def test_never_zero_width(series: list[int]) -> None:
    low, high, _ = stats.share_interval(series, confidence=0.95)
    assert high - low > 0
    assert 0 <= low <= sum(series) / len(series) <= high <= 1


@settings(deadline=None, max_examples=200)
@given(
    st.lists(st.integers(min_value=0, max_value=1), min_size=1, max_size=300),
    st.sampled_from([0.9, 0.95, 0.975]),
)
def test_interval_contains_the_estimate_and_stays_in_bounds(series: list[int], confidence: float) -> None:
    low, high, tau = stats.share_interval(series, confidence=confidence)
    share = sum(series) / len(series)
    assert 0 <= low <= share <= high <= 1 and high > low
    assert 1 <= tau <= len(series)


def test_samples_needed_grows_as_the_gap_shrinks() -> None:
    near = stats.samples_needed(share=0.92, threshold=0.9, tau=1, confidence=0.95)
    far = stats.samples_needed(share=0.99, threshold=0.9, tau=1, confidence=0.95)
    assert near > far > 0
    assert stats.samples_needed(share=0.9, threshold=0.9, tau=1, confidence=0.95) == float("inf")
