#!/usr/bin/env python3
"""Lab 4's job service: a parent process hands batches of jobs to a pool of worker processes.

Each job belongs to a customer, and the slow service routes a job to worker ``customer % WORKERS`` (to
keep a customer's jobs on one worker), each worker reading its own queue. One customer sends most of
the work, so one worker is busy while the others finish their few jobs and wait. ``--fixed`` puts every
job on one shared queue, so a free worker always takes the next job.

``--batches 0`` serves until it is stopped (for py-spy); ``--batches N --json`` runs N batches per
repeat and prints the throughput and each worker's busy share as JSON (``--json PATH`` writes it
there). ``--rounds N`` measures the slow and the fixed service in N interleaved rounds of ``--batches``
each (both meet about the same load from other work; prints the per-round gain, fixed ÷ slow).
``--route FILE.py:FUNCTION`` routes with another function (Lab 4's exercise, which
``make grade-4`` runs this way): ``FUNCTION(customer, job, workers)`` returns a worker's number.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Jobs = Queue[tuple[int, int, int] | None]  # (job number, rounds, seed), or None: stop
    Results = Queue[tuple[int, int, int, float]]  # (job number, value, worker PID, seconds held)

WORKERS = 4  # fixed, not the machine's core count, so every machine routes the same jobs to each worker
BIG_CUSTOMER_JOBS = 16  # customer 0's jobs, per batch: they all go to worker 0 in the slow service
OTHER_JOBS = 48  # customers 1, 2, 3, …: spread over all the workers
BIG_JOB = 300_000  # loop rounds in one of customer 0's jobs
SMALL_JOB = 15_000
WAIT_PER_ROUND = 2e-7  # seconds a job waits for its data per loop round (60 ms for a large job)


def fetch(rounds: int) -> None:
    """A job first waits for its customer's data (a database or an API in a real service)."""
    time.sleep(rounds * WAIT_PER_ROUND)


def checksum(rounds: int, seed: int) -> int:
    """Then computes: pure Python arithmetic, so its time is on the worker's Python stack."""
    total = seed
    for i in range(rounds):
        total = (total * 31 + i) % 1_000_003
    return total


def work(jobs: Jobs, results: Results) -> None:
    """A worker: take a job, do it, report its value and how long it held the worker (wall time)."""
    threading.current_thread().name = multiprocessing.current_process().name  # py-spy shows this name
    while (job := jobs.get()) is not None:
        number, rounds, seed = job
        start = time.perf_counter()
        fetch(rounds)
        value = checksum(rounds, seed)
        results.put((number, value, os.getpid(), time.perf_counter() - start))


def batch(number: int) -> list[tuple[int, int, int]]:
    """One batch of jobs as (customer, rounds, seed)."""
    big = [(0, BIG_JOB)] * BIG_CUSTOMER_JOBS
    others = [(1 + i % 11, SMALL_JOB) for i in range(OTHER_JOBS)]
    return [(customer, rounds, number * 1_000 + i) for i, (customer, rounds) in enumerate(big + others)]


Router = Callable[[int, int, int], int]  # (customer, job number in its batch, workers) -> a worker


def by_customer(customer: int, job: int, workers: int) -> int:
    """The slow service's routing: each customer's jobs always go to the same worker."""
    return customer % workers


def load_router(spec: str) -> Router:
    """``FILE.py:FUNCTION``: a routing function from a file (the learner's, when graded)."""
    path, _, name = spec.rpartition(":")
    loaded = importlib.util.spec_from_file_location("routing_under_test", path)
    if not path or loaded is None or loaded.loader is None:
        raise SystemExit(f"--route {spec}: expected FILE.py:FUNCTION")
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    router: Router = getattr(module, name)
    return router


class Service:
    """The parent: its workers, their queues, and one batch at a time."""

    def __init__(self, *, fixed: bool, router: Router = by_customer) -> None:
        # fork: the same process tree on every Python (3.14 starts workers through a forkserver by default)
        ctx = multiprocessing.get_context("fork")
        self.fixed = fixed
        self.router = router
        self.results: Results = ctx.Queue()
        shared = ctx.Queue()
        self.queues: list[Jobs] = [shared] * WORKERS if fixed else [ctx.Queue() for _ in range(WORKERS)]
        self.workers = [
            ctx.Process(target=work, args=(q, self.results), name=f"worker-{n}", daemon=True)
            for n, q in enumerate(self.queues)
        ]
        for worker in self.workers:
            worker.start()

    def route(self, customer: int, index: int) -> Jobs:
        """The slow service keeps each customer on one worker; the fixed one has a single shared queue."""
        if self.fixed:
            return self.queues[0]
        worker = self.router(customer, index, WORKERS)
        if not isinstance(worker, int) or not 0 <= worker < WORKERS:
            raise ValueError(
                f"the routing function returned {worker!r} for job {index}: expected 0 to {WORKERS - 1}"
            )
        return self.queues[worker]

    def run_batch(self, number: int) -> list[tuple[int, int, int, float]]:
        jobs = batch(number)
        for index, (customer, rounds, seed) in enumerate(jobs):
            self.route(customer, index).put((index, rounds, seed))
        return [self.results.get() for _ in jobs]

    def stop(self) -> None:
        for queue in self.queues:
            queue.put(None)
        for worker in self.workers:
            worker.join(timeout=5)


def measure(service: Service, *, batches: int, values: bool = False) -> dict[str, Any]:
    """Throughput and each worker's busy share (time holding a job ÷ wall time) over ``batches``; with
    ``values``, every job's result as [batch, job, value] too."""
    busy = {worker.pid: 0.0 for worker in service.workers}
    done: list[list[int]] = []
    start = time.perf_counter()
    for number in range(batches):
        for index, value, pid, seconds in service.run_batch(number):
            busy[pid] += seconds
            done.append([number, index, value])
    wall = time.perf_counter() - start
    jobs = batches * (BIG_CUSTOMER_JOBS + OTHER_JOBS)
    shares = sorted((b / wall for b in busy.values()), reverse=True)
    out = {
        "jobs": jobs,
        "wall_s": round(wall, 4),
        "jobs_per_s": round(jobs / wall, 3),
        "busy_shares": [round(s, 4) for s in shares],
    }
    return {**out, "values": sorted(done)} if values else out


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": round(statistics.median(values), 4), "max": max(values)}


def rounds(count: int, *, batches: int) -> dict[str, Any]:
    """Interleaved rounds: the slow service, then the fixed one, each started afresh for ``batches``."""
    out = []
    for _ in range(count):
        rates = {}
        for name, fixed in (("slow", False), ("fixed", True)):
            service = Service(fixed=fixed)
            try:
                rates[name] = float(measure(service, batches=batches)["jobs_per_s"])
            finally:
                service.stop()
        out.append({**rates, "gain": round(rates["fixed"] / rates["slow"], 4)})
    return {
        "rounds": out,
        "batches": batches,
        **{key: spread([float(r[key]) for r in out]) for key in ("slow", "fixed", "gain")},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--fixed", action="store_true", help="one shared queue for all the workers")
    parser.add_argument("--batches", type=int, default=0, help="batches per repeat; 0 serves until stopped")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="the measurements as JSON: printed last, or written to PATH")  # fmt: skip
    parser.add_argument("--values", action="store_true", help="with --json: every job's result too")
    parser.add_argument("--route", metavar="FILE.py:FUNCTION", help="route jobs with this function")
    parser.add_argument("--rounds", type=int, default=0, help="interleaved rounds of slow and fixed (JSON)")
    args = parser.parse_args()
    if args.rounds:
        print(json.dumps(rounds(args.rounds, batches=args.batches or 2)))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.current_thread().name = "dispatcher"  # how py-spy names the parent's thread
    service = Service(fixed=args.fixed, router=load_router(args.route) if args.route else by_customer)
    try:
        print(f"running as PID {os.getpid()} with {WORKERS} workers", flush=True)
        if args.batches == 0:
            number = 0
            while True:
                started = time.perf_counter()
                service.run_batch(number)
                number += 1
                print(
                    f"batch {number}: {len(batch(0)) / (time.perf_counter() - started):.0f} jobs/s",
                    flush=True,
                )
        repeats = [measure(service, batches=args.batches, values=args.values) for _ in range(args.repeats)]
    finally:
        service.stop()
    rates = sorted(float(r["jobs_per_s"]) for r in repeats)
    summary = {
        "workers": WORKERS,
        "fixed": args.fixed,
        "repeats": repeats,
        "jobs_per_s": {"min": rates[0], "max": rates[-1], "median": rates[len(rates) // 2]},
    }
    if args.json and args.json != "-":
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(summary, out)
    else:
        print(json.dumps(summary) if args.json else summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
