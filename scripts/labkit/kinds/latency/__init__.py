"""The latency kind: the distribution of two load runs' latencies (before and after a fix) as one picture.

It starts no process: the picture is drawn with matplotlib from the raw latencies that the two load
steps stored, deterministically (fixed hash salt, no date, text kept as text), so `make check` can
redraw it and compare it byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

from labkit import formats, plots, registry, steptypes
from labkit.blocks import Context, named, table
from labkit.kinds.load import KIND as LOAD
from labkit.kinds.pair import Pair

_MARKS = ("p50_ms", "p95_ms", "p99_ms")


class Marks(TypedDict):
    p50_ms: float
    p95_ms: float
    p99_ms: float


class BeforeAfter(TypedDict):
    before: Any
    after: Any


class Latency(TypedDict):
    """One entry of results.json's `latencies` section."""

    title: str
    before: str
    after: str
    files: dict[str, str]
    requests: BeforeAfter
    marks: BeforeAfter


def _load(data_dir: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((data_dir / name).read_text(encoding="utf-8"))
    return loaded


def derive(entry: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The pooled latencies of both runs, their marks (the loads' own median p50/p95/p99) and the picture."""
    sides = {}
    for side in ("before", "after"):
        raw = _load(data_dir, entry["files"][side])
        latencies = sorted(ms for repeat in raw["repeats"] for ms in repeat["latencies_ms"])
        summary = raw["summary"]["all"]
        sides[side] = {
            "requests": len(latencies),
            "marks": {k: summary[k]["median"] for k in _MARKS},
            "latencies": latencies,
        }
    svg = _plot(entry, sides)
    return {
        "requests": {side: sides[side]["requests"] for side in sides},
        "marks": {side: sides[side]["marks"] for side in sides},
        "svg": svg,
    }


def _plot(entry: dict[str, Any], sides: dict[str, dict[str, Any]]) -> str:
    from matplotlib.ticker import FuncFormatter, LogLocator

    with plots.figure() as fig:
        ax = fig.subplots()
        for (side, data), (colour, line, marker) in zip(sides.items(), plots.STYLES, strict=True):
            values = data["latencies"]
            heights = [(i + 1) / len(values) for i in range(len(values))]
            ax.step(
                values,
                heights,
                where="post",
                color=colour,
                linestyle=line,
                label=f"{side} ({len(values)} requests)",
            )
            for key, lift in zip(_MARKS, (0, -11, 7), strict=True):
                ms = data["marks"][key]
                at = sum(v <= ms for v in values) / len(values)
                ax.plot([ms], [at], marker=marker, color=colour, linestyle="none")
                # labels away from the other curve: left of the slower run, right of the faster one
                away = -8 if side == "before" else 8
                ax.annotate(
                    f"{key[:3]} {formats.milliseconds(ms)}", (ms, at), textcoords="offset points",
                    xytext=(away, lift - 3), ha="right" if away < 0 else "left", fontsize=plots.SMALL_PT,
                )  # fmt: skip
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: formats.milliseconds(v)))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda _v, _pos: ""))
        ax.set_xlabel("latency of one request (log scale)")
        ax.set_ylabel("share of requests at most that slow")
        ax.set_ylim(0, 1.1)  # room above the top marks for their labels
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.grid(True, which="both", color=plots.GRID, linewidth=0.6)
        ax.legend(loc="lower right")
        ax.set_title(entry["title"] or "latency before and after")
        return plots.svg(fig)


def _load_title(ctx: Context, step: str) -> str:
    """The title of the load step a side is, as the page's reader knows it (never the step's id)."""
    section: Any = ctx.results.get(PAIR.inputs) or {}  # loads or profiles, keyed by step
    load = section.get(step) or {}
    return formats.html_text(str(load.get("title") or "the load step"))


def latency_plot(ctx: Context, arg: str | None) -> list[str]:
    """The picture, and its numbers as a table (its text alternative)."""
    entry = named(ctx, "latencies", arg, "latency")
    svg = f"{ctx.data_href}/{entry['files']['svg']}"
    before, after = _load_title(ctx, entry["before"]), _load_title(ctx, entry["after"])
    rows = [
        [label, *(formats.milliseconds(entry["marks"][side][key]) for side in ("before", "after"))]
        for key, label in zip(_MARKS, ("p50", "p95", "p99"), strict=True)
    ]
    rows.append(["requests", *(formats.count(entry["requests"][side]) for side in ("before", "after"))])
    title = formats.html_text(entry["title"] or arg or "")
    return [
        '<figure class="plot">',
        f'<div class="plot-scroll"><a href="{svg}"><img src="{svg}" alt="{title}: the share of requests at '
        f"most as slow as each latency, before ({before}) and after ({after}); the table below gives the "
        'same percentiles"></a></div>',
        f"<figcaption>{title}: before ({before}, solid blue) and after ({after}, dashed orange). Each "
        "line rises from 0 to 1 as one run's latencies are passed; the marks are the median p50, p95 and "
        f'p99 of the runs\' repeats. <a href="{svg}">Open the picture</a></figcaption>',
        "</figure>",
        *table(
            ["", "Before", "After"],
            rows,
            caption=f"Latency percentiles before ({before}) and after ({after})",
        ),
    ]


PAIR = Pair(what="latency", inputs=LOAD.section or "", needs="load step that runs to its end", derive=derive)
KIND = registry.register(
    registry.Kind(
        name="latency",
        options=steptypes.BeforeAfter,
        schema=registry.results_schema(__name__),
        section="latencies",
        problem=PAIR.problem,
        refresh=PAIR.refresh,
        artifacts=PAIR.artifacts,
        blocks={"latency-plot": latency_plot},
    )
)
