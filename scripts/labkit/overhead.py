"""Does py-spy slow its target down? Throughput with no profiler, py-spy's default, and a second mode.

The second mode is --nonblocking (Lab 1: does pausing cost anything?) or --native (Lab 3: what does
unwinding the C stack cost?); a step names it with ``against:``.

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
from pathlib import Path

from labkit.errors import LabError
from labkit.records import JSONObject, Series

SECOND_MODES = ("nonblocking", "native")  # each is also the py-spy option (--nonblocking, --native)
MODES = ("none", "default", "nonblocking")
BATCH = re.compile(rb"^batch \d+:")


def modes(against: str = "nonblocking") -> tuple[str, str, str]:
    """The three modes of a round: no profiler, py-spy's default, and the mode it is set against."""
    if against not in SECOND_MODES:
        raise LabError(f"overhead: no mode {against!r} (expected one of {', '.join(SECOND_MODES)})")
    return ("none", "default", against)


def ratios_of(against: str) -> dict[str, tuple[str, str]]:
    """name: (numerator mode, denominator mode), both from the same round."""
    return {
        "default": ("default", "none"),
        against: (against, "none"),
        f"default_vs_{against}": ("default", against),
    }


def second_mode(windows: list[JSONObject]) -> str:
    """The mode set against the default in these windows (nonblocking in windows of old runs)."""
    found = {str(w["mode"]) for w in windows} & set(SECOND_MODES)
    if len(found) > 1:
        raise LabError(f"windows of two second modes at once: {', '.join(sorted(found))}")
    return found.pop() if found else "nonblocking"


def rotation(rounds: int, against: str = "nonblocking") -> list[list[str]]:
    """Round r starts with mode r mod 3: none, default, second; then default, second, none; …"""
    order = modes(against)
    return [[*order[r % 3 :], *order[: r % 3]] for r in range(rounds)]


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
    for name, (top, bottom) in ratios_of(second_mode(windows)).items():
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
    for mode in ("default", second_mode(windows)):
        chosen = [w for w in windows if w["mode"] == mode]
        if not chosen or any(w.get("voluntary_switches") is None for w in chosen):
            return None  # no /proc here (macOS): publish the throughput ratios only
        if any(not w.get("samples") for w in chosen):
            raise LabError(f"a {mode!r} window has no samples counted: py-spy sampled nothing")
        out[mode] = _spread([round(w["voluntary_switches"] / w["samples"], 4) for w in chosen])
    return out


def sample_rates(windows: list[JSONObject]) -> dict[str, Series]:
    """py-spy's effective rate per profiled mode: the samples it took ÷ the window's measured wall time.

    The wall time holds py-spy's start-up and exit too, which pulls the figure down; it is not a bound:
    py-spy draws its gaps at random (src/timer.rs) and stops after a set count, so the time that count
    takes varies by about a tenth in a one-second window at 100 Hz. Both modes pay the same start-up,
    so they compare with each other.
    """
    out: dict[str, Series] = {}
    for mode in ("default", second_mode(windows)):
        chosen = [w for w in windows if w["mode"] == mode]
        if any(w.get("samples") is None or w["wall_s"] <= 0 for w in chosen):
            raise LabError(f"a {mode!r} window has no samples counted or no duration")
        out[mode] = _spread([round(w["samples"] / w["wall_s"], 3) for w in chosen])
    return out


def paused_share(windows: list[JSONObject]) -> dict[str, Series] | None:
    """Per profiled mode, the share of each window the target was neither running nor waiting for a CPU.

    For a target that never sleeps this is the time py-spy held it stopped. The kernel counts it
    (schedstat), so neither the machine's speed nor other processes taking the CPU enter; None
    without /proc.
    """
    out: dict[str, Series] = {}
    for mode in ("default", second_mode(windows)):
        chosen = [w for w in windows if w["mode"] == mode]
        if not chosen or any(w.get("not_runnable") is None for w in chosen):
            return None
        out[mode] = _spread([float(w["not_runnable"]) for w in chosen])
    return out


def raw_samples(path: Path) -> int:
    """Samples in py-spy's raw (collapsed) output: each line is a stack, a space and its count."""
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            total += int(count)
    return total
