#!/usr/bin/env python3
"""Throughput of the slow and the fixed job service, measured in interleaved rounds.

Each round runs the slow service, then the fixed one, for the same batches, so both face the same
machine: a machine shared with other work changes speed from one second to the next, and a ratio
taken within a round cancels most of that. Prints JSON (last line): jobs per second for each service
in each round, their spread and the per-round gain (fixed ÷ slow).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from jobs import Service, measure


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": round(statistics.median(values), 4), "max": max(values)}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=2, help="batches per service per round")
    args = parser.parse_args()
    rounds = []
    for _ in range(args.rounds):
        rates = {}
        for name, fixed in (("slow", False), ("fixed", True)):
            service = Service(fixed=fixed)
            try:
                rates[name] = float(measure(service, batches=args.batches)["jobs_per_s"])
            finally:
                service.stop()
        rounds.append({**rates, "gain": round(rates["fixed"] / rates["slow"], 4)})
    summary = {
        "rounds": rounds,
        "batches": args.batches,
        **{key: spread([float(r[key]) for r in rounds]) for key in ("slow", "fixed", "gain")},
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
