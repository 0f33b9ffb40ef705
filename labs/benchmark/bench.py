"""Time the slow and the fixed duplicate finder on the same data with ``timeit``.

Both finders first have to agree on the answer; only then is each one timed.
For each finder ``timeit.Timer.autorange`` picks how many calls make one
timing (so a fast function is not timed by a single noisy call), and every one
of the ``--repeats`` timings is kept, reported per call.

    python labs/benchmark/bench.py --n 5000 --repeats 5
    python labs/benchmark/bench.py --json bench.json   # raw times for tools
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slow_service"))

from finders import find_duplicates_fast, find_duplicates_slow


def make_data(*, n: int, max_value: int, seed: int) -> list[int]:
    """The shared input: n integers in 0..max_value, reproducible from the seed."""
    rng = random.Random(seed)
    return [rng.randint(0, max_value) for _ in range(n)]


def time_per_call(func: Callable[[], object], *, repeats: int) -> tuple[int, list[float]]:
    """Return autorange's call count and ``repeats`` per-call times (never stopped early)."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    totals = timer.repeat(repeat=repeats, number=number)
    return number, [total / number for total in totals]


def run(*, n: int, max_value: int, repeats: int, seed: int) -> dict[str, object]:
    data = make_data(n=n, max_value=max_value, seed=seed)
    slow_answer = find_duplicates_slow(data)
    fast_answer = find_duplicates_fast(data)
    same = set(slow_answer) == fast_answer and len(slow_answer) == len(set(slow_answer))
    if not same:
        raise SystemExit("the finders disagree: not timing a wrong answer")
    slow_number, slow_times = time_per_call(lambda: find_duplicates_slow(data), repeats=repeats)
    fast_number, fast_times = time_per_call(lambda: find_duplicates_fast(data), repeats=repeats)
    return {
        "n": n,
        "max_value": max_value,
        "seed": seed,
        "repeats": repeats,
        "duplicates": len(fast_answer),
        "same_result": same,
        "number": {"slow": slow_number, "fast": fast_number},
        "times_s": {"slow": slow_times, "fast": fast_times},
    }


def describe(result: dict[str, object]) -> str:
    times = result["times_s"]
    assert isinstance(times, dict)
    slow, fast = times["slow"], times["fast"]
    lines = [f"n = {result['n']:,}, {result['duplicates']:,} duplicated values, both finders agree"]
    for name, values in (("slow", slow), ("fast", fast)):
        lines.append(
            f"{name}: min {min(values):.6f} s  median {statistics.median(values):.6f} s  "
            f"max {max(values):.6f} s per call"
        )
    lines.append(f"speedup (median / median): {statistics.median(slow) / statistics.median(fast):,.1f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="values in the data set (default 5000)")
    parser.add_argument("--max-value", type=int, default=2500, help="largest value (default 2500)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per finder (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the data set (default 1)")
    parser.add_argument("--json", type=Path, help="also write the raw times to this file")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1 or args.max_value < 0:
        parser.error("--n and --repeats must be positive, --max-value not negative")
    result = run(n=args.n, max_value=args.max_value, repeats=args.repeats, seed=args.seed)
    print(describe(result), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
