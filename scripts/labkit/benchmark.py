"""Summarise a benchmark program's raw per-call times: min, median, max and the speedups."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.errors import LabError
from labkit.records import BenchmarkSummary, Spread


def spread(times: Sequence[float]) -> Spread:
    return {"min": min(times), "median": statistics.median(times), "max": max(times)}


def summarise(raw: Mapping[str, Any]) -> BenchmarkSummary:
    """The published ``benchmark`` section, computed only from the raw output (so checks can redo it).

    The median ratio is the headline; ``min`` pits the slowest fast call against
    the fastest slow call, the conservative end that an "at least" claim tests.
    """
    try:
        slow = [float(t) for t in raw["times_s"]["slow"]]
        fast = [float(t) for t in raw["times_s"]["fast"]]
        repeats = int(raw["repeats"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError(f"the benchmark's output lacks raw times for 'slow' and 'fast': {exc!r}") from exc
    if len(slow) != repeats or len(fast) != repeats or min(slow + fast) <= 0:
        raise LabError(f"the benchmark must report {repeats} positive per-call times for each finder")
    s, f = spread(slow), spread(fast)
    return {
        "n": int(raw["n"]),
        "repeats": repeats,
        "number": {"slow": int(raw["number"]["slow"]), "fast": int(raw["number"]["fast"])},
        "same_result": bool(raw["same_result"]),
        "slow_s": s,
        "fast_s": f,
        "speedup": {
            "median": s["median"] / f["median"],
            "min": s["min"] / f["max"],
            "max": s["max"] / f["min"],
        },
    }
