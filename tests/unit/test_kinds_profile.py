"""labkit.kinds.profile: rates and per-instant figures divide by what py-spy actually did."""

from __future__ import annotations

from typing import Any

import pytest
from labkit.errors import LabError
from labkit.kinds import profile as profile_kind


def derived(*per_thread: int) -> dict[str, object]:
    return {
        "samples": sum(per_thread),
        "threads": [{"name": f"t{i}", "samples": n} for i, n in enumerate(per_thread)],
    }


def test_instants_are_duration_times_rate_minus_one_per_look() -> None:
    looks = [{"duration_s": 6}, {"duration_s": 3}]
    assert profile_kind.sampling_instants(looks, rate_hz=100) == 599 + 299


def test_every_thread_at_every_instant_gives_the_thread_count() -> None:
    rates = profile_kind.measured_rates(derived(*[599] * 9), wall=6.2, level=0.95, instants=599)
    assert rates["samples_per_instant"] == 9.0  # not 5391 / (6.2 s × 100 Hz) = 8.70
    assert rates["thread_count"] == 9 and rates["threads_every_instant"] == 9
    assert rates["effective_rate_hz"] == round(599 / 6.2, 3)


def test_a_thread_sampled_more_often_than_py_spy_sampled_is_an_error() -> None:
    with pytest.raises(LabError, match="duration × rate − 1"):
        profile_kind.measured_rates(derived(600, 3), wall=6.0, level=0.95, instants=599)


def test_the_provenance_row_names_the_effective_rate_for_what_it_is(results: dict[str, Any]) -> None:
    """Kept at every instant, the busiest thread gives py-spy's rate; where py-spy dropped idle threads
    (Lab 4's slow service: 107 of 499 instants), it gives how often that thread was kept, not a rate of
    py-spy's, so the row says so beside the instants."""
    prof = results["profiles"]["slow"]
    [[_, every]] = profile_kind.provenance("slow", prof)
    assert f"100 Hz requested ({prof['instants']} sampling instants), " in every
    assert f"{prof['effective_rate_hz']:.1f} Hz effective" in every and "busiest" not in every
    prof.update(
        profile_kind.measured_rates(derived(107, 7, 5, 4, 4, 2), wall=5.051, level=0.95, instants=499)
    )
    [[_, dropped]] = profile_kind.provenance("slow", prof)
    assert "100 Hz requested (499 sampling instants), busiest thread kept at 21.2 Hz, " in dropped
    assert "effective" not in dropped
