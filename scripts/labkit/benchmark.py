"""Summarise a benchmark program's raw per-call times: spreads, speedups and, over sizes, the scaling fit."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.errors import LabError
from labkit.records import BenchmarkSummary, Exponent, Scaling, SizePoint, Spread

FIT_LEVEL = 0.95
RESAMPLES = 2000  # bootstrap resamples: enough for a stable 2.5–97.5% interval, fast enough for `make check`
FIT_SEED = 0  # a fixed seed, so that `make check` recomputes the same interval
FIT_METHOD = (
    "least-squares slope of log(median time per call) against log(n); interval: percentile bootstrap "
    "resampling the repeats at each size"
)
MIN_SIZES = 3  # fewer sizes than this give no fit


def spread(times: Sequence[float]) -> Spread:
    return {"min": min(times), "median": statistics.median(times), "max": max(times)}


def _speedup(s: Spread, f: Spread) -> Spread:
    """The median ratio is the headline; ``min`` pits the slowest fast call against the fastest slow call."""
    return {"median": s["median"] / f["median"], "min": s["min"] / f["max"], "max": s["max"] / f["min"]}


def _times(point: Mapping[str, Any], repeats: int) -> tuple[list[float], list[float]]:
    try:
        slow = [float(t) for t in point["times_s"]["slow"]]
        fast = [float(t) for t in point["times_s"]["fast"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError(f"the benchmark's output lacks raw times for 'slow' and 'fast': {exc!r}") from exc
    if len(slow) != repeats or len(fast) != repeats or min(slow + fast) <= 0:
        raise LabError(f"the benchmark must report {repeats} positive per-call times for each finder")
    return slow, fast


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The least-squares slope of ys against xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def fit(sizes: Sequence[int], slow: Sequence[Sequence[float]], fast: Sequence[Sequence[float]]) -> Scaling:
    """The exponents b of time ∝ n^b for both versions and for their ratio, each with its interval.

    The interval comes from the repeats: each resample draws, at every size, as many timings as were
    made (with replacement) and fits again. It covers the timing noise, not whether one straight line
    on log-log axes is the right model (the local slopes between neighbouring sizes tell that).
    """
    xs = [math.log(n) for n in sizes]

    def fitted(times: Sequence[Sequence[float]]) -> float:
        return slope(xs, [math.log(statistics.median(t)) for t in times])

    rng = random.Random(FIT_SEED)
    draws: dict[str, list[float]] = {"slow": [], "fast": [], "speedup": []}
    for _ in range(RESAMPLES):
        s = fitted([rng.choices(t, k=len(t)) for t in slow])
        f = fitted([rng.choices(t, k=len(t)) for t in fast])
        draws["slow"].append(s)
        draws["fast"].append(f)
        draws["speedup"].append(s - f)
    estimates = {"slow": fitted(slow), "fast": fitted(fast)}
    estimates["speedup"] = estimates["slow"] - estimates["fast"]
    tail = (1 - FIT_LEVEL) / 2

    def exponent(name: str) -> Exponent:
        cuts = statistics.quantiles(draws[name], n=round(1 / tail), method="inclusive")
        return {"exponent": estimates[name], "exponent_ci": [cuts[0], cuts[-1]], "ci_level": FIT_LEVEL}

    return {
        "method": FIT_METHOD,
        "resamples": RESAMPLES,
        "slow": exponent("slow"),
        "fast": exponent("fast"),
        "speedup": exponent("speedup"),
    }


def _local(prev: SizePoint | None, n: int, s: Spread, f: Spread) -> dict[str, float | None]:
    if prev is None:
        return {"slow": None, "fast": None}
    dx = math.log(n / prev["n"])
    return {
        "slow": math.log(s["median"] / prev["slow_s"]["median"]) / dx,
        "fast": math.log(f["median"] / prev["fast_s"]["median"]) / dx,
    }


def summarise(raw: Mapping[str, Any]) -> BenchmarkSummary:
    """The published ``benchmark`` section, computed only from the raw output (so checks can redo it).

    The raw output holds one size (``n``, ``number``, ``times_s``, ``same_result`` at the top) or
    several (a list ``points`` of those). The headline figures are those of the largest size.
    """
    try:
        repeats = int(raw["repeats"])
        points = sorted(raw.get("points", [raw]), key=lambda p: int(p["n"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError(f"the benchmark's output lacks 'repeats' or its sizes: {exc!r}") from exc
    if not points or len({int(p["n"]) for p in points}) != len(points):
        raise LabError("the benchmark's output must hold each size once")
    sizes: list[SizePoint] = []
    slow_all, fast_all = [], []
    for point in points:
        slow, fast = _times(point, repeats)
        slow_all.append(slow)
        fast_all.append(fast)
        n = int(point["n"])
        s, f = spread(slow), spread(fast)
        local = _local(sizes[-1] if sizes else None, n, s, f)
        sizes.append(
            {
                "n": n,
                "number": {"slow": int(point["number"]["slow"]), "fast": int(point["number"]["fast"])},
                "same_result": bool(point["same_result"]),
                "slow_s": s,
                "fast_s": f,
                "speedup": _speedup(s, f),
                "local": {"slow": local["slow"], "fast": local["fast"]},
            }
        )
    top = sizes[-1]
    ns = [p["n"] for p in sizes]
    return {
        "n": top["n"],
        "repeats": repeats,
        "number": top["number"],
        "same_result": all(p["same_result"] for p in sizes),
        "slow_s": top["slow_s"],
        "fast_s": top["fast_s"],
        "speedup": top["speedup"],
        "sizes": sizes,
        "scaling": fit(ns, slow_all, fast_all) if len(sizes) >= MIN_SIZES else None,
    }
