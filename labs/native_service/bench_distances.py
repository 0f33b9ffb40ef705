"""Time the broadcast and the matrix-product distances on fresh queries for every call.

Both functions first have to agree (the same distances to 1e-9 and the same nearest items; with
``--distances``, the same nearest items and each query's sum of distances to the grader's tolerance);
only then is each one timed. Every timed call gets new query vectors, made before the clock starts,
against the service's catalogue. The calls per timing follow the rule of ``timeit.Timer.autorange``
(trials of 1, 2, 5, 10, 20, 50, … calls until one lasts ``--min-time``, 0.2 s by default, autorange's
own), and all ``--repeats`` timings are kept, per call. OpenBLAS is held to one thread, as in search.py.

    python labs/native_service/bench_distances.py --repeats 5
    python labs/native_service/bench_distances.py --distances exercises/lab-3/distances.py:distances  # yours

``--distances`` times another function in the matrix product's place (a learner's fix, for `make
grade-3`). Then neither function runs in this process: each runs in a child of its own
(timed_distances.py; the learner's code only ever in its child), and this process's clock times each
batch from sending its queries to receiving the answers, which are checked against the reference
before the time counts. Code that patches the clocks or this module in its own process changes
nothing measured here; both functions pay the same cost for the trip, so the speedup is, if
anything, understated; the learner's child stays stopped (SIGSTOP) while the broadcast is timed.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timing"))

from distances import (  # first: it holds OpenBLAS to one thread before NumPy loads
    DIMS,
    ITEMS,
    QUERIES,
    Distances,
    catalogue,
    distances_broadcast,
    distances_matmul,
)

# isort: split
import numpy as np
from channel import valid
from timed_distances import RemoteDistances, same, summary

Timer = Callable[[list[np.ndarray]], float]  # seconds for one call on each input


def timed(func: Distances, inputs: list[np.ndarray], *, items: np.ndarray) -> float:
    """Seconds for one call on each input, garbage collection off as in timeit."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        for queries in inputs:
            func(queries, items)
        return time.perf_counter() - started
    finally:
        if collecting:
            gc.enable()


def time_per_call(
    timer: Timer, rng: np.random.Generator, *, repeats: int, min_time: float
) -> tuple[int, list[float]]:
    """autorange's number of calls, then ``repeats`` per-call times (all kept, never stopped early)."""

    def fresh(count: int) -> list[np.ndarray]:
        return [rng.random((QUERIES, DIMS)) for _ in range(count)]

    number, scale = 0, 1
    while not number:
        for step in (1, 2, 5):
            if timer(fresh(scale * step)) >= min_time:
                number = scale * step
                break
        scale *= 10
    return number, [timer(fresh(number)) / number for _ in range(repeats)]


def agree(slow: np.ndarray, fast: np.ndarray) -> bool:
    """The same distances up to rounding, and the same nearest item for every query."""
    return bool(
        slow.shape == fast.shape
        and np.allclose(slow, fast, rtol=1e-9, atol=1e-9)
        and np.array_equal(np.argmin(slow, axis=1), np.argmin(fast, axis=1))
    )


def run(*, repeats: int, min_time: float, seed: int, spec: str = "") -> dict[str, object]:
    """Both functions agree first, then each is timed; with ``spec`` (the learner's function) both run
    in children and are timed from here (module docstring)."""
    rng = np.random.default_rng(seed)
    items = catalogue(rng)
    check = rng.random((QUERIES, DIMS))
    slow: Distances | RemoteDistances = distances_broadcast
    fast: Distances | RemoteDistances = distances_matmul
    children: list[RemoteDistances] = []
    try:
        if spec:
            here = Path(__file__).resolve().parent / "distances.py"
            children.append(fast := RemoteDistances(spec, items, checked=True))
            children.append(
                slow := RemoteDistances(f"{here}:distances_broadcast", items, who="the broadcast")
            )
            slow.others = [fast]  # the learner's child stays stopped while the broadcast is timed
            same_result = same(fast.answers([check])[0], summary(distances_broadcast(check, items)))
        else:
            same_result = agree(distances_broadcast(check, items), distances_matmul(check, items))
        if not same_result:
            raise SystemExit("the two distance functions disagree: not timing a wrong answer")
        times = {}
        for key, func, stream in (("slow", slow, 1), ("fast", fast, 2)):
            timer = func.timed if isinstance(func, RemoteDistances) else partial(timed, func, items=items)
            times[key] = time_per_call(
                timer, np.random.default_rng([seed, stream]), repeats=repeats, min_time=min_time
            )
    finally:
        for child in children:
            child.close()
    return {
        "seed": seed,
        "repeats": repeats,
        "min_time_s": min_time,
        "values": f"every timed call: {QUERIES} new query vectors, {ITEMS} items of {DIMS} dimensions",
        "n": QUERIES,
        "same_result": same_result,
        "number": {key: number for key, (number, _) in times.items()},
        "times_s": {key: values for key, (_, values) in times.items()},
    }


def describe(result: dict[str, object]) -> str:
    times = result["times_s"]
    assert isinstance(times, dict)
    lines = [f"{QUERIES} queries against {ITEMS:,} items of {DIMS} dimensions: both functions agree"]
    for name, label in (("slow", "broadcast"), ("fast", "yours" if result.get("distances") else "matmul")):
        values = times[name]
        lines.append(
            f"  {label:>9}: min {min(values) * 1e3:.3f} ms  median {statistics.median(values) * 1e3:.3f} ms  "
            f"max {max(values) * 1e3:.3f} ms per call"
        )
    speedup = statistics.median(times["slow"]) / statistics.median(times["fast"])
    lines.append(f"  speedup (median / median): {speedup:,.1f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timings per function (default 5)")
    parser.add_argument(
        "--min-time", type=float, default=0.2, help="seconds the trial timing must reach (default 0.2)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the data (default 1)")
    parser.add_argument("--json", type=Path, help="also write the raw times to this file")
    parser.add_argument("--distances", metavar="FILE.py:FUNCTION", help="time this function as the fast one")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.min_time <= 0:
        parser.error("--repeats and --min-time must be positive")
    if args.distances and not valid(args.distances):
        parser.error(f"--distances: expected FILE.py:FUNCTION, got {args.distances!r}")
    result = run(repeats=args.repeats, min_time=args.min_time, seed=args.seed, spec=args.distances or "")
    if args.distances:
        result["distances"] = args.distances
    print(describe(result), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
