"""A search service whose time is spent in NumPy's C code: the patient of Lab 3.

Batch after batch it draws query vectors and finds, for each, the nearest item of a fixed catalogue
of vectors (embeddings, say), then prints one line. The broadcast distance function makes each batch
slow; ``--fixed`` swaps in the matrix-product one and nothing else.

    python labs/native_service/search.py            # the slow service
    python labs/native_service/search.py --fixed    # the repaired one

OpenBLAS, NumPy's linear-algebra library, is held to one thread: see distances.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from distances import (  # first: it holds OpenBLAS to one thread before NumPy loads
    DIMS,
    ITEMS,
    QUERIES,
    Distances,
    catalogue,
    distances_broadcast,
    distances_matmul,
    load_distances,
    nearest,
)

# isort: split
import numpy as np


def serve(*, fixed: bool, seed: int | None, batches: int, spec: str | None = None) -> None:
    """Answer batches of queries until ``batches`` are done (0 means run until stopped)."""
    func: Distances = distances_matmul if fixed else distances_broadcast
    label = "fixed" if fixed else "slow"
    if spec:
        func, label = load_distances(spec), "your"
    rng = np.random.default_rng(seed)
    items = catalogue(rng)
    print(
        f"{label} service running as PID {os.getpid()}: {QUERIES} queries per batch against "
        f"{ITEMS:,} items of {DIMS} dimensions",
        flush=True,
    )
    number = 0
    while batches == 0 or number < batches:
        number += 1
        started = time.perf_counter()
        found = nearest(func, rng.random((QUERIES, DIMS)), items)
        took = time.perf_counter() - started
        print(f"batch {number}: nearest items found for {len(found)} queries in {took:.4f} s", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fixed", action="store_true", help="use the matrix-product distances")
    parser.add_argument("--distances", metavar="FILE.py:FUNCTION", help="use this function instead (yours)")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible batches")
    parser.add_argument("--batches", type=int, default=0, help="stop after N batches (default: never)")
    args = parser.parse_args(argv)
    if args.batches < 0:
        parser.error("--batches must not be negative")
    if args.distances and args.fixed:
        parser.error("--distances and --fixed both choose the function: give one")
    try:
        serve(fixed=args.fixed, seed=args.seed, batches=args.batches, spec=args.distances)
    except ValueError as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
