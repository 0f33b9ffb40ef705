"""The benchmark kind: time two versions of the same code with the program's own timeit run.

Pure: the summary of the raw per-repeat times (what `make check` recomputes), the table, the values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.table import Table

from labkit import benchmark, formats, kinds
from labkit.blocks import Context, table
from labkit.errors import LabError


def refresh(_step: str, entry: dict[str, Any], data_dir: Path) -> None:
    raw = json.loads((data_dir / entry["raw"]).read_text(encoding="utf-8"))
    entry.update(benchmark.summarise(raw))


def values(_step: str, bench: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {
        "bench_n": (bench["n"], "count"),
        "bench_repeats": (bench["repeats"], "count"),
        "same_result": (bench["same_result"], "text"),
    }
    for side in ("slow", "fast"):
        out[f"{side}_number"] = (bench["number"][side], "count")
        for stat in ("min", "median", "max"):
            out[f"{side}_{stat}"] = (bench[f"{side}_s"][stat], "seconds")
    for stat in ("median", "min", "max"):
        out[f"speedup_{stat}"] = (bench["speedup"][stat], "speedup")
    return out


def provenance(_step: str, b: dict[str, Any]) -> list[list[str]]:
    return [
        [
            "Benchmark",
            f"n = {formats.count(b['n'])}, {b['repeats']} repeats, "
            f"{b['number']['slow']} and {b['number']['fast']} calls per timing",
        ]
    ]


def summary(_step: str, bench: dict[str, Any]) -> Table:
    out = Table(title=f"benchmark, n = {bench['n']:,}, {bench['repeats']} repeats (per call)")
    for column in ("version", "min", "median", "max"):
        out.add_column(column)
    for side in ("slow", "fast"):
        out.add_row(side, *(formats.seconds(bench[f"{side}_s"][k]) for k in ("min", "median", "max")))
    out.add_row("speedup", *(formats.speedup(bench["speedup"][k]) for k in ("min", "median", "max")))
    return out


def benchmark_table(ctx: Context, arg: str | None) -> list[str]:
    bench = ctx.results.get(KIND_SECTION)
    if not bench:
        raise LabError("the page has a benchmark-table but the lab has no benchmark step")
    rows = [
        [name, formats.count(bench["number"][name])]
        + [formats.seconds(bench[f"{name}_s"][k]) for k in ("min", "median", "max")]
        for name in ("slow", "fast")
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


KIND_SECTION = "benchmark"
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
