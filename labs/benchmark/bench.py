"""Time the slow and the fixed duplicate finder on fresh data for every call, at one size or several.

At every size both finders first have to agree on the answer; only then is
each one timed. Every timed call gets a new list of new random values, made
before the clock starts, so a finder that remembers its last input or answer
gains nothing. For each finder the number of calls that make up one timing is
chosen by the rule of ``timeit.Timer.autorange`` (trial timings of 1, 2, 5,
10, 20, 50, … calls, until a trial lasts at least ``--min-time``; autorange's
own target is 0.2 s), and every one of the ``--repeats`` timings with that
number of calls is kept, per call. The floor holds for the trial only: a later
timing with the same number of calls may be a little shorter.

The data at size n are n integers drawn uniformly from 0 to n // 2 (from 0
to 2,500 at n = 5,000, like the service's batches), so that every size has
the same share of repeated values: the slow finder's cost depends on how many
duplicates it meets, and a fixed range would mix that into how it scales.

    python labs/benchmark/bench.py --n 5000 --repeats 5
    python labs/benchmark/bench.py --sizes 250,529,1118,2364,5000 --json bench.json
    python labs/benchmark/bench.py --finder exercises/lab-1/finder.py:find_duplicates  # yours as "fast"

``--finder`` times another finder in the fast one's place (a learner's fix, for `make grade-1`); its
answer must hold the same values as the slow finder's, in any order and collection. Then neither
finder runs in this process: each runs in a child of its own (the learner's code only ever in its
child), and this process's clock times each batch from outside, from sending the batch's inputs to
receiving every answer, which is checked before the time counts. Code that patches the clocks or
this module in its own process changes nothing measured here, and it cannot send an answer without
doing the work. Both finders pay the same cost for the trip of their inputs and answers, so the
speedup is, if anything, understated; the learner's child stays stopped (SIGSTOP) while the slow
finder is timed, so that it cannot slow the slow finder down.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slow_service"))

from finders import Finder, find_duplicates_fast, find_duplicates_slow
from remote import Remote, summary

Point = dict[str, object]
Timer = Callable[[list[list[int]]], float]  # seconds for one call on each input


def make_data(*, n: int, seed: int) -> list[int]:
    """n integers from 0 to n // 2, reproducible from the seed and n."""
    rng = random.Random(f"{seed}:{n}")
    return [rng.randint(0, n // 2) for _ in range(n)]


class Inputs:
    """Fresh lists of n integers from 0 to n // 2, one per call, drawn from one seeded stream."""

    def __init__(self, *, n: int, seed: int) -> None:
        self.n = n
        self.values = range(n // 2 + 1)
        self.rng = random.Random(f"{seed}:{n}:timed")

    def take(self, count: int) -> list[list[int]]:
        return [self.rng.choices(self.values, k=self.n) for _ in range(count)]


def timed(func: Callable[[list[int]], object], inputs: list[list[int]]) -> float:
    """Seconds for one call on each input, garbage collection off as in timeit."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        for values in inputs:
            func(values)
        return time.perf_counter() - started
    finally:
        if collecting:
            gc.enable()


def calls_per_timing(timer: Timer, inputs: Inputs, *, min_time: float, first: float | None = None) -> int:
    """autorange's rule with our target; ``first`` is the time of one call already made (the check)."""
    if first is not None and first >= min_time:
        return 1  # the correctness check was already a long enough single call
    scale = 1
    while True:
        for step in (1, 2, 5):
            number = scale * step
            if timer(inputs.take(number)) >= min_time:
                return number
        scale *= 10


def time_per_call(
    timer: Timer, inputs: Inputs, *, repeats: int, min_time: float, first: float | None = None
) -> tuple[int, list[float]]:
    """The calls per timing and ``repeats`` per-call times (all kept, never stopped early)."""
    number = calls_per_timing(timer, inputs, min_time=min_time, first=first)
    return number, [timer(inputs.take(number)) / number for _ in range(repeats)]


def measure(
    *, n: int, repeats: int, min_time: float, seed: int, fast: Finder | Remote = find_duplicates_fast
) -> Point:
    """Both finders at size n: the answers compared first, then each finder timed. With ``fast`` a
    Remote (the learner's), both finders run in children and are timed from here (module docstring)."""
    data = make_data(n=n, seed=seed)
    slow: Finder | Remote = find_duplicates_slow
    if isinstance(fast, Remote):
        finders = Path(__file__).resolve().parents[1] / "slow_service" / "finders.py"
        slow = Remote(f"{finders}:find_duplicates_slow", who="the slow finder")
        slow.others = [fast]  # the learner's child stays stopped while the slow finder is timed
    try:
        return measured(n=n, data=data, slow=slow, fast=fast, repeats=repeats, min_time=min_time, seed=seed)
    finally:
        if isinstance(slow, Remote):
            slow.close()


def agree(data: list[int], slow: Finder | Remote, fast: Finder | Remote) -> tuple[int, float]:
    """The number of duplicated values, and the time of the slow finder's call (its first timing);
    stops the run when the finders disagree (children: the count and the sum of their answers)."""
    started = time.perf_counter()
    if isinstance(slow, Remote) and isinstance(fast, Remote):
        slow_summary = slow.answers([data])[0]
        slow_first = time.perf_counter() - started
        same = slow_summary == fast.answers([list(data)])[0] == summary(find_duplicates_fast(data))
        duplicates = slow_summary[0]
    else:
        assert not isinstance(slow, Remote) and not isinstance(fast, Remote)
        slow_answer = slow(data)
        slow_first = time.perf_counter() - started
        fast_answer = fast(list(data))
        same = set(slow_answer) == set(fast_answer) and len(slow_answer) == len(set(slow_answer))
        duplicates = len(slow_answer)
    if not same:
        raise SystemExit(f"the finders disagree at n = {len(data)}: not timing a wrong answer")
    return duplicates, slow_first


def measured(
    *,
    n: int,
    data: list[int],
    slow: Finder | Remote,
    fast: Finder | Remote,
    repeats: int,
    min_time: float,
    seed: int,
) -> Point:
    slow_timer: Timer = slow.timed if isinstance(slow, Remote) else partial(timed, slow)
    fast_timer: Timer = fast.timed if isinstance(fast, Remote) else partial(timed, fast)
    duplicates, slow_first = agree(data, slow, fast)
    slow_number, slow_times = time_per_call(
        slow_timer, Inputs(n=n, seed=seed), repeats=repeats, min_time=min_time, first=slow_first
    )
    fast_number, fast_times = time_per_call(
        fast_timer, Inputs(n=n, seed=seed), repeats=repeats, min_time=min_time
    )
    return {
        "n": n,
        "max_value": n // 2,
        "duplicates": duplicates,
        "same_result": True,
        "number": {"slow": slow_number, "fast": fast_number},
        "times_s": {"slow": slow_times, "fast": fast_times},
    }


def run(
    *,
    sizes: Sequence[int],
    repeats: int,
    min_time: float,
    seed: int,
    shown: Callable[[Point], None] = print,
    fast: Finder | Remote = find_duplicates_fast,
) -> dict[str, object]:
    points = []
    for n in sorted(sizes):
        points.append(measure(n=n, repeats=repeats, min_time=min_time, seed=seed, fast=fast))
        shown(points[-1])
    return {
        "seed": seed,
        "repeats": repeats,
        "min_time_s": min_time,
        "values": "for every timed call, a new list of n integers drawn uniformly from 0 to n // 2",
        "points": points,
    }


def describe(point: Point) -> str:
    times = point["times_s"]
    assert isinstance(times, dict)
    slow, fast = times["slow"], times["fast"]
    lines = [f"n = {point['n']:,}: {point['duplicates']:,} duplicated values, both finders agree"]
    for name, values in (("slow", slow), ("fast", fast)):
        lines.append(
            f"  {name}: min {min(values):.6f} s  median {statistics.median(values):.6f} s  "
            f"max {max(values):.6f} s per call"
        )
    lines.append(f"  speedup (median / median): {statistics.median(slow) / statistics.median(fast):,.1f}x")
    return "\n".join(lines)


def sizes_arg(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 250,500,1000, got {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--n", type=int, help="one size (default 5000)")
    size.add_argument("--sizes", type=sizes_arg, help="several sizes, comma-separated, e.g. 250,500,1000")
    parser.add_argument("--repeats", type=int, default=5, help="timings per finder and size (default 5)")
    parser.add_argument(
        "--min-time",
        type=float,
        default=0.2,
        help="seconds the trial timing that picks the calls per timing must reach (default 0.2, autorange's)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the data (default 1)")
    parser.add_argument("--json", type=Path, help="also write the raw times to this file")
    parser.add_argument(
        "--finder", metavar="FILE.py:FUNCTION", help="time this finder in the fast one's place (yours)"
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or [5000 if args.n is None else args.n]
    if min(sizes) < 1 or args.repeats < 1 or args.min_time <= 0:
        parser.error("--n, --sizes, --repeats and --min-time must be positive")
    if args.finder and not Remote.valid(args.finder):
        parser.error(f"--finder: expected FILE.py:FUNCTION, got {args.finder!r}")
    fast: Finder | Remote = Remote(args.finder, checked=True) if args.finder else find_duplicates_fast
    try:
        result = run(
            sizes=sizes,
            repeats=args.repeats,
            min_time=args.min_time,
            seed=args.seed,
            shown=lambda point: print(describe(point), flush=True),
            fast=fast,
        )
    finally:
        if isinstance(fast, Remote):
            fast.close()
    if args.finder:
        result["finder"] = args.finder
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
