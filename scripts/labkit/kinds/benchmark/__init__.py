"""The benchmark kind: time two versions of the same code with the program's own timeit run.

Pure: the summary of the raw per-repeat times (what `make check` recomputes), the scaling fit and its
plot when the program timed several sizes, the tables, the values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal

from rich.table import Table

from labkit import benchmark, formats, plots, registry, steptypes
from labkit.blocks import Context, table
from labkit.errors import LabError
from labkit.records import STATS, Benchmark, BenchmarkSummary, Exponent, Scalar, SizePoint, Spread, Stat

Side = Literal["slow", "fast"]
SIDES: tuple[Side, Side] = ("slow", "fast")


def _times(bench: BenchmarkSummary | SizePoint, side: Side) -> Spread:
    """Seconds per call of one version (``slow_s`` or ``fast_s``)."""
    return bench["slow_s"] if side == "slow" else bench["fast_s"]


def refresh(_step: str, entry: Benchmark, data_dir: Path) -> None:
    s = benchmark.summarise(_read(entry, data_dir))
    entry.update(
        {
            "n": s["n"],
            "repeats": s["repeats"],
            "number": s["number"],
            "same_result": s["same_result"],
            "slow_s": s["slow_s"],
            "fast_s": s["fast_s"],
            "speedup": s["speedup"],
            "sizes": s["sizes"],
            "scaling": s["scaling"],
        }
    )


def plot_name(step: str, summary: BenchmarkSummary) -> str | None:
    """The scaling plot's file, when the benchmark timed enough sizes for a fit."""
    return f"{step}.scaling.svg" if summary["scaling"] else None


def _read(entry: Benchmark, data_dir: Path) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((data_dir / entry["raw"]).read_text(encoding="utf-8"))
    return raw


def artifacts(_step: str, entry: Benchmark, data_dir: Path) -> dict[str, str]:
    return {entry["plot"]: scaling_svg(entry, _read(entry, data_dir))} if entry["plot"] else {}


def _legend(name: str, fit: Exponent) -> str:
    low, high = fit["exponent_ci"]
    level = f"{round(100 * fit['ci_level']):g}%"
    b, lo, hi = (formats.exponent(x) for x in (fit["exponent"], low, high))
    return f"{name}: n^{b} ({level} CI {lo}–{hi})"


def scaling_svg(bench: BenchmarkSummary, raw: Mapping[str, Any]) -> str:
    """Time per call against n on log-log axes: every repeat as a point, the fitted lines, the exponents."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    fits = bench["scaling"]
    if fits is None:
        raise LabError("a scaling plot needs a benchmark of at least three sizes")
    ns = [p["n"] for p in bench["sizes"]]
    points = sorted(raw["points"], key=lambda p: int(p["n"]))
    handles: list[Line2D] = []
    with plots.figure() as fig:
        ax = fig.subplots()
        for side, (colour, line, marker) in zip(SIDES, plots.STYLES, strict=True):
            xs = [int(p["n"]) for p in points for _ in p["times_s"][side]]
            fit = fits[side]
            medians = [_times(p, side)["median"] for p in bench["sizes"]]
            # the fitted line passes through the centre of the log medians, as a least-squares line does
            cx = sum(math.log(n) for n in ns) / len(ns)
            cy = sum(math.log(m) for m in medians) / len(medians)
            line_y = [math.exp(cy + fit["exponent"] * (math.log(n) - cx)) for n in ns]
            ax.plot(ns, line_y, color=colour, linestyle=line, linewidth=1.4)
            handles.append(
                Line2D([], [], color=colour, linestyle=line, marker=marker, markerfacecolor="none",
                       label=_legend(side, fit))
            )  # fmt: skip
            ax.plot(
                xs, [t for p in points for t in p["times_s"][side]], marker=marker, color=colour,
                linestyle="none", markersize=4, markerfacecolor="none",
            )  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(ns)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: formats.count(v)))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda _v, _pos: ""))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: formats.seconds(v)))
        ax.set_xlabel("n, values in the input (log scale)")
        ax.set_ylabel("time per call (log scale)")
        ax.grid(True, which="major", color=plots.GRID, linewidth=0.6)
        ax.legend(handles=handles, loc="upper left", title="fitted time ∝ n^b")
        ax.set_title("time per call against the input's size")
        return plots.svg(fig)


def values(_step: str, bench: Benchmark) -> dict[str, tuple[Scalar, str]]:
    out: dict[str, tuple[Scalar, str]] = {
        "bench_n": (bench["n"], "count"),
        "bench_repeats": (bench["repeats"], "count"),
        "same_result": (bench["same_result"], "text"),
    }
    if bench["scaling"]:
        out["bench_sizes"] = (len(bench["sizes"]), "count")
        out["bench_smallest_n"] = (bench["sizes"][0]["n"], "count")
        for name in (*SIDES, "speedup"):
            fit = bench["scaling"][name]
            out[f"{name}_exponent"] = (fit["exponent"], "exponent")
            out[f"{name}_exponent_low"] = (fit["exponent_ci"][0], "exponent")
            out[f"{name}_exponent_high"] = (fit["exponent_ci"][1], "exponent")
    for side in SIDES:
        out[f"{side}_number"] = (bench["number"][side], "count")
        for stat in STATS:
            out[f"{side}_{stat}"] = (_times(bench, side)[stat], "seconds")
    speedup_order: tuple[Stat, Stat, Stat] = ("median", "min", "max")
    for stat in speedup_order:
        out[f"speedup_{stat}"] = (bench["speedup"][stat], "speedup")
    return out


def provenance(_step: str, b: Benchmark) -> list[list[str]]:
    sizes = ", ".join(formats.count(p["n"]) for p in b["sizes"])
    if len(b["sizes"]) == 1:  # one size: "at n = …" again would read as more sizes
        slow, fast = (formats.count(b["number"][side]) for side in SIDES)
        calls = f"{slow} calls per timing for the slow version, {fast} for the fast one"
        return [["Benchmark", f"n = {sizes}, {b['repeats']} repeats; {calls}"]]
    return [
        [
            "Benchmark",
            f"n = {sizes}, {b['repeats']} repeats at each; at n = {formats.count(b['n'])}, "
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
        f"n = {formats.count(bench['n'])}, {bench['repeats']} timings each; a cell is a timing's mean per "
        f"call; same result: {formats.text(bench['same_result'])}. Speedup min: the fast version's slowest "
        "timing against the slow version's fastest"
    )
    return table(["Version", "Calls per timing", "Min", "Median", "Max"], rows, caption=caption)


def scaling_plot(ctx: Context, arg: str | None) -> list[str]:
    """The scaling plot, its caption, and its numbers as a table (the picture's text alternative)."""
    bench = ctx.results.get(KIND_SECTION)
    if not bench or not bench["scaling"] or not bench["plot"]:
        raise LabError("the page has a scaling-plot but the lab's benchmark timed fewer than three sizes")
    fits = bench["scaling"]
    svg = f"{ctx.data_href}/{bench['plot']}"
    first, last = formats.count(bench["sizes"][0]["n"]), formats.count(bench["n"])

    def fitted(name: str) -> str:
        fit = fits[name]  # type: ignore[literal-required]
        low, high = (formats.exponent(x) for x in fit["exponent_ci"])
        return f"{formats.exponent(fit['exponent'])} ({round(100 * fit['ci_level']):g}% CI {low}–{high})"

    rows = []
    for p in bench["sizes"]:
        local = p["local"]
        rows.append(
            [
                formats.count(p["n"]),
                formats.seconds(p["slow_s"]["median"]),
                "" if local["slow"] is None else formats.exponent(local["slow"]),
                formats.seconds(p["fast_s"]["median"]),
                "" if local["fast"] is None else formats.exponent(local["fast"]),
                formats.speedup(p["speedup"]["median"]),
            ]
        )
    rows.append(["fit, all sizes", "", fitted("slow"), "", fitted("fast"), f"n^{fitted('speedup')}"])
    caption = (
        f"Median time per call at each size, {bench['repeats']} timings each; the slope from the size before "
        "is the exponent b of time ∝ n^b between those two sizes. The fit's interval covers the timing "
        "noise between repeats, not whether one straight line is the right model"
    )
    return [
        '<figure class="plot">',
        f'<div class="plot-scroll"><a href="{svg}"><img src="{svg}" '
        f'alt="Time per call of the slow and the fast version at {len(rows) - 1} sizes '
        f"from {first} to {last}, on log-log axes, with fitted lines: slow exponent {fitted('slow')}, "
        f'fast exponent {fitted("fast")}; the table below gives the same numbers"></a></div>',
        "<figcaption>Time per call against n on log-log axes, where time ∝ n^b is a straight line of "
        f"slope b. Circles and the solid line: slow version, fitted b = {fitted('slow')}; squares and "
        f"the dashed line: fast version, b = {fitted('fast')}. Every timing is a point. "
        f'<a href="{svg}">Open the picture</a></figcaption>',
        "</figure>",
        *table(
            ["n", "Slow, median", "Slope", "Fast, median", "Slope", "Speedup, median"], rows, caption=caption
        ),
    ]


KIND_SECTION: Final = "benchmark"
KIND = registry.register(
    registry.Kind(
        name="benchmark",
        options=steptypes.Program,
        schema=registry.results_schema(__name__),
        section=KIND_SECTION,
        keyed=False,
        refresh=refresh,
        artifacts=artifacts,
        values=values,
        provenance=provenance,
        blocks={"benchmark-table": benchmark_table, "scaling-plot": scaling_plot},
        summary=summary,
    )
)
