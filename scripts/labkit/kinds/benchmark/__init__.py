"""The benchmark kind: time two versions of the same code with the program's own timeit run.

Pure: the summary of the raw per-repeat times (what `make check` recomputes), the table, the values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final, Literal

from rich.table import Table

from labkit import benchmark, formats, kinds
from labkit.blocks import Context, table
from labkit.errors import LabError
from labkit.records import STATS, Benchmark, Scalar, Spread, Stat

Side = Literal["slow", "fast"]
SIDES: tuple[Side, Side] = ("slow", "fast")


def _times(bench: Benchmark, side: Side) -> Spread:
    """Seconds per call of one version (``slow_s`` or ``fast_s``)."""
    return bench["slow_s"] if side == "slow" else bench["fast_s"]


def refresh(_step: str, entry: Benchmark, data_dir: Path) -> None:
    raw = json.loads((data_dir / entry["raw"]).read_text(encoding="utf-8"))
    s = benchmark.summarise(raw)
    entry.update(
        {
            "n": s["n"],
            "repeats": s["repeats"],
            "number": s["number"],
            "same_result": s["same_result"],
            "slow_s": s["slow_s"],
            "fast_s": s["fast_s"],
            "speedup": s["speedup"],
        }
    )


def values(_step: str, bench: Benchmark) -> dict[str, tuple[Scalar, str]]:
    out: dict[str, tuple[Scalar, str]] = {
        "bench_n": (bench["n"], "count"),
        "bench_repeats": (bench["repeats"], "count"),
        "same_result": (bench["same_result"], "text"),
    }
    for side in SIDES:
        out[f"{side}_number"] = (bench["number"][side], "count")
        for stat in STATS:
            out[f"{side}_{stat}"] = (_times(bench, side)[stat], "seconds")
    speedup_order: tuple[Stat, Stat, Stat] = ("median", "min", "max")
    for stat in speedup_order:
        out[f"speedup_{stat}"] = (bench["speedup"][stat], "speedup")
    return out


def provenance(_step: str, b: Benchmark) -> list[list[str]]:
    return [
        [
            "Benchmark",
            f"n = {formats.count(b['n'])}, {b['repeats']} repeats, "
            f"{b['number']['slow']} and {b['number']['fast']} calls per timing",
        ]
    ]


def summary(_step: str, bench: Benchmark) -> Table:
    out = Table(title=f"benchmark, n = {bench['n']:,}, {bench['repeats']} repeats (per call)")
    for column in ("version", "min", "median", "max"):
        out.add_column(column)
    for side in SIDES:
        out.add_row(side, *(formats.seconds(_times(bench, side)[k]) for k in STATS))
    out.add_row("speedup", *(formats.speedup(bench["speedup"][k]) for k in STATS))
    return out


def benchmark_table(ctx: Context, arg: str | None) -> list[str]:
    bench = ctx.results.get(KIND_SECTION)
    if not bench:
        raise LabError("the page has a benchmark-table but the lab has no benchmark step")
    rows = [
        [name, formats.count(bench["number"][name])]
        + [formats.seconds(_times(bench, name)[k]) for k in STATS]
        for name in SIDES
    ]
    sp = bench["speedup"]
    rows.append(
        ["speedup", "", formats.speedup(sp["min"]), formats.speedup(sp["median"]), formats.speedup(sp["max"])]
    )
    caption = (
        f"n = {formats.count(bench['n'])}, {bench['repeats']} timings each, per call; "
        f"same result: {formats.text(bench['same_result'])}. Speedup min = slowest fast call "
        "against fastest slow call"
    )
    return table(["Version", "Calls per timing", "Min", "Median", "Max"], rows, caption=caption)


KIND_SECTION: Final = "benchmark"
KIND = kinds.register(
    kinds.Kind(
        name="benchmark",
        section=KIND_SECTION,
        keyed=False,
        refresh=refresh,
        values=values,
        provenance=provenance,
        blocks={"benchmark-table": benchmark_table},
        summary=summary,
    )
)
