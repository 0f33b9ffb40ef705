"""A service that never finishes its work quickly enough: the patient of Lab 1.

It runs batch after batch: draw SIZE random integers in 0..MAX_VALUE, find the
values that occur more than once, print one line. The slow finder makes each
batch take seconds; ``--fixed`` swaps in the one-pass finder and nothing else.

    python labs/slow_service/service.py            # the slow service
    python labs/slow_service/service.py --fixed    # the repaired one
    python labs/slow_service/service.py --finder exercises/lab-1/finder.py:find_duplicates  # yours
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from finders import Finder, find_duplicates_fast, find_duplicates_slow, load_finder


def make_batch(rng: random.Random, *, size: int, max_value: int) -> list[int]:
    """Draw one batch of random integers (the service's "incoming work")."""
    return [rng.randint(0, max_value) for _ in range(size)]


def process_batch(rng: random.Random, finder: Finder, *, size: int, max_value: int) -> int:
    """Make a batch and count its duplicated values."""
    batch = make_batch(rng, size=size, max_value=max_value)
    return len(finder(batch))


def serve(
    *, fixed: bool, seed: int | None, size: int, max_value: int, batches: int, finder_spec: str | None = None
) -> None:
    """Process batches until ``batches`` are done (0 means run until stopped)."""
    finder: Finder = find_duplicates_fast if fixed else find_duplicates_slow
    label = "fixed" if fixed else "slow"
    if finder_spec:
        finder, label = load_finder(finder_spec), "your"
    rng = random.Random(seed)
    print(f"{label} service running as PID {os.getpid()}: batches of {size:,} values", flush=True)
    number = 0
    while batches == 0 or number < batches:
        number += 1
        started = time.perf_counter()
        duplicates = process_batch(rng, finder, size=size, max_value=max_value)
        took = time.perf_counter() - started
        print(f"batch {number}: {duplicates:,} duplicated values in {took:.3f} s", flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixed", action="store_true", help="use the one-pass finder")
    parser.add_argument(
        "--finder", metavar="FILE.py:FUNCTION", help="use this finder instead (e.g. your exercise's)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible batches")
    parser.add_argument("--size", type=int, default=5000, help="values per batch (default 5000)")
    parser.add_argument("--max-value", type=int, default=2500, help="largest value drawn (default 2500)")
    parser.add_argument("--batches", type=int, default=0, help="stop after N batches (default: never)")
    args = parser.parse_args(argv)
    if args.size < 0 or args.max_value < 0 or args.batches < 0:
        parser.error("--size, --max-value and --batches must not be negative")
    if args.finder and args.fixed:
        parser.error("--finder and --fixed choose the finder both: give one")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        serve(
            fixed=args.fixed,
            seed=args.seed,
            size=args.size,
            max_value=args.max_value,
            batches=args.batches,
            finder_spec=args.finder,
        )
    except KeyboardInterrupt:
        print("stopped", flush=True)
    except ValueError as exc:  # --finder names no finder
        print(f"service: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
