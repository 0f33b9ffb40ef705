"""A bounded load generator for a service on this machine (127.0.0.1 only).

Each concurrent client is one thread that sends GET requests one after the
other (a new connection per request) until the repeat's request budget is
spent or its time is up, whichever comes first. Every repeat reports requests
done, errors, wall time, throughput and latency percentiles (p50, p95, p99);
the summary gives the min, median and max of each over the repeats.

    python labs/load/load.py --url http://127.0.0.1:8001/locked --concurrency 6 \\
        --requests 300 --max-seconds 10 --repeats 3 --json load.json
    python labs/load/load.py --url http://127.0.0.1:8001 --mix /locked=6,/cpu=2

``--mix PATH=CLIENTS,…`` loads several paths at once and adds per-path
statistics. The JSON keeps every latency, so each figure can be recomputed.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import math
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCHEMA = "profiling-labs/load/1"
JOIN_SLICE_S = 0.1  # how often the main thread wakes up while it waits (so Ctrl-C is handled)


class LoadError(ValueError):
    """A bad target or option, reported as a usage error."""


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile by linear interpolation between closest ranks.

    The same definition as ``numpy.percentile``'s default and as
    ``statistics.quantiles(..., method="inclusive")``: rank h = (n - 1)·p/100,
    interpolated between the values at floor(h) and ceil(h). None for no values.
    """
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def loopback_target(url: str) -> tuple[str, int, str]:
    """Split an http URL into (host, port, path); refuse anything but this machine's loopback."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise LoadError(f"only http:// URLs are supported, not {url!r}")
    host = parts.hostname or ""
    if host == "localhost":
        host = "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise LoadError(f"refusing {host or url!r}: this load generator targets 127.0.0.1 only") from None
    if address.version != 4 or not address.is_loopback:
        raise LoadError(f"refusing {host!r}: this load generator targets 127.0.0.1 only")
    try:
        port = parts.port or 80
    except ValueError as error:
        raise LoadError(f"bad port in {url!r}: {error}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return host, port, path


def parse_mix(text: str) -> list[tuple[str, int]]:
    """``/locked=6,/cpu=2`` → ``[("/locked", 6), ("/cpu", 2)]``."""
    mix: list[tuple[str, int]] = []
    for item in text.split(","):
        path, sep, count = item.strip().partition("=")
        if not sep or not path.startswith("/"):
            raise LoadError(f"--mix takes PATH=CLIENTS items such as /locked=6, not {item.strip()!r}")
        try:
            clients = int(count)
        except ValueError:
            raise LoadError(f"--mix: {count!r} is not a number of clients") from None
        if clients < 1:
            raise LoadError(f"--mix: {path} needs at least one client")
        if path in (p for p, _ in mix):
            raise LoadError(f"--mix names {path} twice")
        mix.append((path, clients))
    return mix


@dataclass
class PathResult:
    """What the clients of one path saw in one repeat."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def add_error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


class Budget:
    """The repeat's shared budget: a request count and a deadline, whichever ends first."""

    def __init__(self, requests: int, seconds: float) -> None:
        self.left = requests
        self.deadline = time.perf_counter() + seconds
        self.stopped_by: str | None = None
        self.lock = threading.Lock()
        self.cancelled = threading.Event()

    def take(self) -> bool:
        with self.lock:
            if self.cancelled.is_set():
                self.stopped_by = self.stopped_by or "interrupt"
                return False
            if self.left <= 0:
                self.stopped_by = self.stopped_by or "requests"
                return False
            if time.perf_counter() >= self.deadline:
                self.stopped_by = self.stopped_by or "time"
                return False
            self.left -= 1
            return True


def one_request(host: str, port: int, path: str, timeout: float) -> tuple[float, str | None]:
    """Send one GET; return (latency in ms, error kind or None)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        error = None if response.status == 200 else f"HTTP {response.status}"
    except TimeoutError:
        error = "timeout"
    except (OSError, http.client.HTTPException) as exc:
        error = type(exc).__name__
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000, error


def client(host: str, port: int, path: str, timeout: float, budget: Budget, result: PathResult) -> None:
    while budget.take():
        latency_ms, error = one_request(host, port, path, timeout)
        if error is None:
            result.latencies_ms.append(latency_ms)  # list.append is atomic under the GIL
        else:
            with budget.lock:
                result.add_error(error)


def summarise(result: PathResult, wall_s: float) -> dict[str, Any]:
    lat = result.latencies_ms
    return {
        "requests": len(lat),
        "errors": result.errors,
        "error_kinds": dict(sorted(result.error_kinds.items())),
        "throughput_rps": len(lat) / wall_s if wall_s > 0 else 0.0,
        "latency_ms": {name: percentile(lat, p) for name, p in (("p50", 50), ("p95", 95), ("p99", 99))},
        "latencies_ms": [round(value, 4) for value in lat],
    }


def run_repeat(
    host: str, port: int, mix: Sequence[tuple[str, int]], *, requests: int, max_seconds: float, timeout: float
) -> dict[str, Any]:
    """One repeat: start every client, wait for all of them, summarise."""
    results = {path: PathResult() for path, _ in mix}
    started = time.perf_counter()
    budget = Budget(requests, max_seconds)
    threads = [
        threading.Thread(
            target=client,
            args=(host, port, path, timeout, budget, results[path]),
            name=f"load-{path.strip('/') or 'root'}-{number}",
            daemon=True,
        )
        for path, clients in mix
        for number in range(1, clients + 1)
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(JOIN_SLICE_S)
    except KeyboardInterrupt:
        budget.cancelled.set()  # the clients finish their request in flight and stop
        raise
    wall_s = time.perf_counter() - started
    total = PathResult()
    for result in results.values():
        total.latencies_ms.extend(result.latencies_ms)
        total.errors += result.errors
        for kind, count in result.error_kinds.items():
            total.error_kinds[kind] = total.error_kinds.get(kind, 0) + count
    summary = summarise(total, wall_s)
    summary["wall_s"] = wall_s
    summary["stopped_by"] = budget.stopped_by or "requests"
    summary["paths"] = {path: summarise(result, wall_s) for path, result in results.items()}
    return summary


def spread(values: Sequence[float | None]) -> dict[str, float | None]:
    known = [v for v in values if v is not None]
    if not known:
        return {"min": None, "median": None, "max": None}
    return {"min": min(known), "median": statistics.median(known), "max": max(known)}


def across(repeats: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Min, median and max over the repeats of each reported figure."""
    out: dict[str, Any] = {
        name: spread([r[name] for r in repeats]) for name in ("requests", "errors", "throughput_rps")
    }
    for name in ("p50", "p95", "p99"):
        out[f"{name}_ms"] = spread([r["latency_ms"][name] for r in repeats])
    if "wall_s" in repeats[0]:
        out["wall_s"] = spread([r["wall_s"] for r in repeats])
    return out


def run(
    url: str,
    mix: Sequence[tuple[str, int]],
    *,
    requests: int,
    max_seconds: float,
    repeats: int,
    timeout: float,
    echo: bool = True,
) -> dict[str, Any]:
    host, port, _ = loopback_target(url)
    done: list[dict[str, Any]] = []
    for number in range(1, repeats + 1):
        repeat = run_repeat(host, port, mix, requests=requests, max_seconds=max_seconds, timeout=timeout)
        repeat["repeat"] = number
        done.append(repeat)
        if echo:
            print(describe_repeat(repeat, number, repeats, mix), flush=True)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "target": {"host": host, "port": port},
        "mix": [{"path": path, "clients": clients} for path, clients in mix],
        "config": {
            "requests": requests,
            "max_seconds": max_seconds,
            "repeats": repeats,
            "timeout_s": timeout,
        },
        "percentile_method": "linear interpolation between closest ranks (numpy default)",
        "repeats": done,
        "summary": {
            "all": across(done),
            "paths": {path: across([r["paths"][path] for r in done]) for path, _ in mix},
        },
    }
    if echo:
        print(describe_summary(report), flush=True)
    return report


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def describe_stats(stats: dict[str, Any]) -> str:
    lat = stats["latency_ms"]
    return (
        f"{stats['requests']:,} ok, {stats['errors']:,} errors, {stats['throughput_rps']:.1f} req/s; "
        f"p50 {ms(lat['p50'])}, p95 {ms(lat['p95'])}, p99 {ms(lat['p99'])}"
    )


def describe_repeat(repeat: dict[str, Any], number: int, repeats: int, mix: Sequence[tuple[str, int]]) -> str:
    lines = [
        f"repeat {number}/{repeats}: {repeat['wall_s']:.2f} s (stopped by {repeat['stopped_by']}): "
        + describe_stats(repeat)
    ]
    if len(mix) > 1:
        width = max(len(path) for path, _ in mix)
        for path, clients in mix:
            lines.append(f"  {path:<{width}} ({clients} clients): " + describe_stats(repeat["paths"][path]))
    return "\n".join(lines)


def describe_summary(report: dict[str, Any]) -> str:
    def row(label: str, stats: dict[str, Any]) -> list[str]:
        out = [f"{label}:"]
        for name, unit in (("throughput_rps", "req/s"), ("p50_ms", "ms"), ("p95_ms", "ms"), ("p99_ms", "ms")):
            s = stats[name]
            if s["median"] is None:
                out.append(f"  {name:<15} n/a")
            else:
                out.append(
                    f"  {name:<15} min {s['min']:.1f}  median {s['median']:.1f}  max {s['max']:.1f} {unit}"
                )
        return out

    repeats = len(report["repeats"])
    lines = [f"over {repeats} repeat{'s' if repeats != 1 else ''} (min, median, max)"]
    label = "all paths" if len(report["mix"]) > 1 else report["mix"][0]["path"]
    lines += row(label, report["summary"]["all"])
    if len(report["mix"]) > 1:
        for path, stats in report["summary"]["paths"].items():
            lines += row(path, stats)
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[tuple[str, int]]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path (127.0.0.1 only)")
    parser.add_argument("--concurrency", type=int, default=None, help="clients for --url's path (default 4)")
    parser.add_argument("--mix", default=None, help="PATH=CLIENTS,… to load several paths at once")
    parser.add_argument("--requests", type=int, default=300, help="request budget per repeat (default 300)")
    parser.add_argument("--max-seconds", type=float, default=10.0, help="time budget per repeat (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (default 3)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds one request may take (default 5)")
    parser.add_argument("--json", type=Path, default=None, help="also write the full report here")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.repeats < 1:
        parser.error("--requests and --repeats must be at least 1")
    if not (args.max_seconds > 0 and args.timeout > 0):
        parser.error("--max-seconds and --timeout must be positive")
    if args.concurrency is not None and args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    try:
        _, _, path = loopback_target(args.url)
        if args.mix is not None:
            if args.concurrency is not None:
                parser.error("give either --concurrency or --mix, not both")
            mix = parse_mix(args.mix)
        else:
            mix = [(path, args.concurrency or 4)]
    except LoadError as error:
        parser.error(str(error))
    return args, mix


def main(argv: Sequence[str] | None = None) -> int:
    args, mix = parse_args(argv)
    try:
        report = run(
            args.url,
            mix,
            requests=args.requests,
            max_seconds=args.max_seconds,
            repeats=args.repeats,
            timeout=args.timeout,
        )
    except KeyboardInterrupt:
        print("load: interrupted", file=sys.stderr, flush=True)
        return 130
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if not any(r["requests"] for r in report["repeats"]):
        print("load: no request succeeded; is the service running?", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
