"""Does py-spy slow its target down? Throughput with no profiler, py-spy's default, and --nonblocking.

One target runs throughout; each round runs the three modes in a rotated order (to spread drift
over the modes) and counts the ``batch N:`` lines the target printed during each window.
``summarise`` recomputes every ratio from the raw windows, so a checker can redo it.

On Linux each window also records two counters of the target from /proc, which need no timing:
``voluntary_switches`` (py-spy's default mode stops the target about once per sample it takes,
--nonblocking about never; each window's samples are counted in py-spy's raw output) and
``not_runnable``: the share of the window the target was neither running nor waiting for a CPU,
i.e. stopped, for a target that never sleeps; unlike throughput it is immune to the machine's speed
drifting and to other processes taking the CPU.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from labkit import processes, pyspy
from labkit.errors import LabError
from labkit.records import JSONObject, Series

MODES = ("none", "default", "nonblocking")
# name: (numerator mode, denominator mode), both from the same round
RATIOS = {
    "default": ("default", "none"),
    "nonblocking": ("nonblocking", "none"),
    "default_vs_nonblocking": ("default", "nonblocking"),
}
BATCH = re.compile(rb"^batch \d+:")


def rotation(rounds: int) -> list[list[str]]:
    """Round r starts with mode r mod 3: none, default, nonblocking; then default, nonblocking, none; …"""
    return [[*MODES[r % 3 :], *MODES[: r % 3]] for r in range(rounds)]


def count_batches(log: Path, start: int, end: int) -> int:
    """Complete ``batch N:`` lines in bytes [start, end) of the log; a line cut by ``start`` is dropped."""
    with open(log, "rb") as handle:
        handle.seek(max(start - 1, 0))
        chunk = handle.read(end - max(start - 1, 0))
    if start > 0:
        chunk = chunk[1:] if chunk[:1] == b"\n" else chunk.partition(b"\n")[2]
    lines = chunk.split(b"\n")[:-1]  # the last piece has no newline yet: incomplete
    return sum(1 for line in lines if BATCH.match(line))


def summarise(windows: list[JSONObject]) -> dict[str, Series]:
    """Per-round ratios of throughput (batches ÷ wall seconds) with their min, median and max."""
    by_round: dict[int, dict[str, float]] = {}
    for window in windows:
        if window["wall_s"] <= 0:
            raise LabError(f"window {window} has no duration")
        by_round.setdefault(window["round"], {})[window["mode"]] = window["batches"] / window["wall_s"]
    out: dict[str, Series] = {}
    for name, (top, bottom) in RATIOS.items():
        values = []
        for number in sorted(by_round):
            seen = by_round[number]
            if top not in seen or bottom not in seen:
                raise LabError(f"round {number} lacks a {top!r} or {bottom!r} window")
            if seen[bottom] == 0:
                raise LabError(f"round {number}: no batch completed during the {bottom!r} window")
            values.append(round(seen[top] / seen[bottom], 4))
        out[name] = _spread(values)
    return out


def batch_seconds(windows: list[JSONObject]) -> Series:
    """Seconds per batch of the target running alone (the no-profiler windows), min/median/max."""
    alone = [w for w in windows if w["mode"] == "none"]
    if not alone or any(w["batches"] == 0 for w in alone):
        raise LabError("no no-profiler window completed a batch")
    return _spread([round(w["wall_s"] / w["batches"], 6) for w in alone])


def _spread(values: list[float]) -> Series:
    return {
        "values": values,
        "min": min(values, default=None),
        "median": statistics.median(values) if values else None,
        "max": max(values, default=None),
    }


def stops_per_sample(windows: list[JSONObject]) -> dict[str, Series] | None:
    """How often the target was stopped per sample py-spy took, per profiled window.

    A profiler that pauses its target stops it about once per sample; one that does not, about
    never. The stops are counted by the kernel and the samples in py-spy's own output, so neither
    the machine's speed nor py-spy's start-up enters.
    """
    out: dict[str, Series] = {}
    for mode in ("default", "nonblocking"):
        chosen = [w for w in windows if w["mode"] == mode]
        if not chosen or any(w.get("voluntary_switches") is None for w in chosen):
            return None  # no /proc here (macOS): publish the throughput ratios only
        if any(not w.get("samples") for w in chosen):
            raise LabError(f"a {mode!r} window has no samples counted: py-spy sampled nothing")
        out[mode] = _spread([round(w["voluntary_switches"] / w["samples"], 4) for w in chosen])
    return out


def _counters(pid: int) -> tuple[int, int] | None:
    """(voluntary context switches, ns running or runnable) of the main thread; None without /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        ran = sum(map(int, Path(f"/proc/{pid}/schedstat").read_text().split()[:2]))
    except (OSError, ValueError, IndexError):
        return None
    match = re.search(r"^voluntary_ctxt_switches:\s*(\d+)", status, re.MULTILINE)
    return (int(match.group(1)), ran) if match else None


def raw_samples(path: Path) -> int:
    """Samples in py-spy's raw (collapsed) output: each line is a stack, a space and its count."""
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            total += int(count)
    return total


def _spy(*, exe: str, pid: int, mode: str, rate: int, window_s: int, cwd: Path, work: Path) -> int:
    """One profiled window; returns how many samples py-spy took (its raw output, counted)."""
    args = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--duration", str(window_s)]
    args += ["--format", "raw", "--output", str(work / "overhead.raw")]
    args += ["--nonblocking"] if mode == "nonblocking" else []
    log = work / "overhead.py-spy.log"
    spy = processes.start(args, log=log, cwd=cwd)
    try:
        code = spy.wait(timeout=window_s + 60)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"py-spy did not finish within {window_s + 60} s") from exc
    finally:
        processes.stop(spy)
    if code != 0 and any(marker in log.read_text(errors="replace") for marker in pyspy.PERMISSION_MARKERS):
        raise pyspy.AttachRefused(f"py-spy was not permitted to read the target:\n{processes.tail(log)}")
    if code != 0:
        raise LabError(f"py-spy ({mode}) failed with code {code}; its last output:\n{processes.tail(log)}")
    return raw_samples(work / "overhead.raw")


def measure(
    *,
    argv: list[str],
    ready: str,
    exe: str,
    cwd: Path,
    work: Path,
    rate: int,
    window_s: int,
    rounds: int,
    say: Callable[[str], None],
) -> JSONObject:
    """Run one target; time ``rounds`` × 3 windows of ``window_s`` seconds on it; return the raw data."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "overhead.service.log"
    log.unlink(missing_ok=True)
    order = rotation(rounds)
    windows: list[JSONObject] = []
    target = processes.start(argv, log=log, cwd=cwd)
    try:
        processes.wait_ready(target, log=log, pattern=ready, timeout=30)
        for number, modes in enumerate(order):
            for mode in modes:
                start, before = log.stat().st_size, _counters(target.pid)
                began = time.perf_counter()
                samples = None
                if mode == "none":
                    time.sleep(window_s)
                else:
                    (work / "overhead.raw").unlink(missing_ok=True)
                    samples = _spy(
                        exe=exe, pid=target.pid, mode=mode, rate=rate, window_s=window_s, cwd=cwd, work=work
                    )
                wall = time.perf_counter() - began
                after = _counters(target.pid)
                batches = count_batches(log, start, log.stat().st_size)
                if target.poll() is not None:
                    raise LabError(f"the target exited (code {target.returncode}):\n{processes.tail(log)}")
                if mode == "none" and batches == 0:
                    raise LabError(
                        f"the target completed no batch in {wall:.2f} s without a profiler, so it is not "
                        f"working; its last output:\n{processes.tail(log)}"
                    )
                wall = round(wall, 6)
                window: JSONObject = {"round": number, "mode": mode, "wall_s": wall, "batches": batches}
                window["samples"] = samples
                window["throughput"] = round(batches / wall, 3)
                window["voluntary_switches"] = after[0] - before[0] if before and after else None
                window["not_runnable"] = (
                    round(1 - (after[1] - before[1]) / 1e9 / wall, 4) if before and after else None
                )
                windows.append(window)
                say(f"round {number} {mode:>11}: {batches} batches in {wall:.3f} s")
    finally:
        processes.stop(target)
    return {
        "rate_hz": rate,
        "window_s": window_s,
        "rounds": rounds,
        "order": order,
        "windows": windows,
        "ratios": summarise(windows),
    }
