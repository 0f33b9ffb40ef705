"""The busy kind: how often each worker had work, before and after a fix, from two recordings.

A worker's busy share is its thread's samples ÷ py-spy's sampling instants. Without ``--idle`` py-spy
keeps a thread only when the operating system sees it running or waiting for a CPU (py-spy's README,
"idle" threads), so the share is the part of the recording in which the worker had work to do,
whatever the number of cores. Where py-spy cannot tell idle threads (ARM Linux) it keeps them all, so a
step may name the function its workers compute in (``computing``) and count only those samples. With
``--subprocesses`` each worker process is its own thread in the recording. Pure: everything comes from
the two sanitised speedscope files (what `make check` redraws).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from labkit import formats, plots, registry, stacks, steptypes
from labkit.blocks import Context, named, table
from labkit.errors import LabError
from labkit.kinds.pair import Pair
from labkit.kinds.profile import KIND as PROFILE
from labkit.records import JSONObject

SIDES = ("before", "after")


def thread_label(name: str) -> str:
    """A sanitised thread's name as its program set it: ``thread 6 (worker-0)`` is ``worker-0``."""
    inside = re.search(r"\((.*)\)\s*$", name)
    return inside.group(1) if inside else name


def samples_by_thread(recording: stacks.Recording, *, threads: str, computing: str = "") -> dict[str, int]:
    """The chosen threads' samples by name (threads of one name counted together); with ``computing``,
    only the samples whose stack holds a frame of that function."""
    counted = {i for i, frame in enumerate(recording.frames) if frame.name == computing}
    counts: dict[str, int] = {}
    for thread in recording.only(threads).threads:
        label = thread_label(thread.name)
        kept = [s for s in thread.samples if not computing or counted.intersection(s)]
        counts[label] = counts.get(label, 0) + len(kept)
    return dict(sorted(counts.items()))


def spread(counts: dict[str, int], names: list[str], *, instants: int) -> dict[str, Any]:
    """The busiest and the least busy of ``names`` (absent: never sampled), how even they are (least ÷
    busiest), and the busiest one's part of all their samples. Exact counts of one recording."""
    values = {name: counts.get(name, 0) for name in names}
    busiest = max(names, key=lambda n: (values[n], n))
    least = min(names, key=lambda n: (values[n], n))
    total = sum(values.values())
    return {
        "busiest": busiest,
        "busiest_share": round(values[busiest] / instants, 4),
        "busiest_of_samples": round(values[busiest] / total, 4) if total else 0.0,
        "least": least,
        "least_share": round(values[least] / instants, 4),
        "evenness": round(values[least] / values[busiest], 4) if values[busiest] else 0.0,
    }


def derive(entry: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """Busy shares of the chosen threads before and after, how even they are, and the chart."""
    counts = {}
    for side in SIDES:
        data = json.loads((data_dir / entry["files"][side]).read_text(encoding="utf-8"))
        recording = stacks.parse(data)
        counts[side] = samples_by_thread(
            recording, threads=entry["threads_filter"], computing=entry.get("computing", "")
        )
    names = sorted(set(counts["before"]) | set(counts["after"]))
    if not names:
        raise LabError(f"no thread of either recording matches {entry['threads_filter']!r}")
    instants = entry["instants"]
    if min(instants[side] for side in SIDES) <= 0:
        raise LabError("a busy share needs each recording's sampling instants (none were counted)")
    workers = [
        {
            "name": n,
            **{side: round(counts[side].get(n, 0) / instants[side], 4) for side in SIDES},
            **{f"{side}_samples": counts[side].get(n, 0) for side in SIDES},
        }
        for n in names
    ]
    return {
        "workers": workers,
        **{f"{side}_spread": spread(counts[side], names, instants=instants[side]) for side in SIDES},
        "svg": chart(workers, title=entry["title"] or "busy shares"),
    }


def chart(workers: list[dict[str, Any]], *, title: str) -> str:
    """Grouped bars: each worker's busy share before (blue, hatched) and after (orange)."""
    with plots.figure(height=3.8) as fig:
        ax = fig.subplots()
        xs = range(len(workers))
        for offset, side, (colour, _line, _marker), hatch in zip(
            (-0.2, 0.2), SIDES, plots.STYLES, ("//", ""), strict=True
        ):
            heights = [100 * w[side] for w in workers]
            bars = ax.bar([x + offset for x in xs], heights, width=0.4, color=colour, hatch=hatch,
                          edgecolor=plots.INK, linewidth=0.6, label=side)  # fmt: skip
            ax.bar_label(bars, labels=[formats.share(w[side]) for w in workers], fontsize=plots.SMALL_PT)
        ax.set_xticks(list(xs), [w["name"] for w in workers])
        ax.set_ylim(0, 115)
        ax.set_ylabel("busy: % of sampling instants")
        ax.grid(True, axis="y", color=plots.GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="upper right", ncols=2)
        ax.set_title(title)
        return plots.svg(fig)


def busy_chart(ctx: Context, arg: str | None) -> list[str]:
    """The chart, its finding in words, and its table (no number in a colour alone)."""
    entry = named(ctx, "busy_shares", arg, "busy")
    title = formats.html_text(entry["title"] or arg or "")
    before, after, instants = entry["before_spread"], entry["after_spread"], entry["instants"]
    computing = entry.get("computing", "")
    inside = f" in <code>{formats.html_text(computing)}</code>" if computing else ""

    def said(s: dict[str, Any], side: str) -> str:
        def tied(name: str) -> str:  # every worker with the same count, so the words match the table
            counts = {w["name"]: w[f"{side}_samples"] for w in entry["workers"]}
            same = [n for n, c in counts.items() if c == counts.get(name)]
            return formats.html_text(" and ".join(same if name in same else [name]))

        return (
            f"busiest {tied(s['busiest'])} ({formats.share(s['busiest_share'])}), least busy "
            f"{tied(s['least'])} ({formats.share(s['least_share'])})"
        )

    rows = [
        [
            f"<code>{formats.html_text(w['name'])}</code>",
            *(
                cell
                for side in SIDES
                for cell in (formats.count(w[f"{side}_samples"]), formats.share(w[side]))
            ),
        ]
        for w in entry["workers"]
    ]
    return [
        '<figure class="chart">',
        f'<img src="{ctx.data_href}/{entry["files"]["svg"]}" alt="Bar chart: {title}, each worker before '
        'and after; the same figures are in the table below">',
        f"<figcaption>{title}: the share of py-spy's sampling instants at which each worker was running or "
        f"waiting for a CPU{inside}. Before: {said(before, 'before')}. After: {said(after, 'after')}."
        "</figcaption>",
        "</figure>",
        *table(
            ["Worker", "Samples, before", "Busy, before", "Samples, after", "Busy, after"],
            rows,
            caption=f"{title}: the chart's figures; busy is samples{inside} ÷ sampling instants (before "
            f"{formats.count(instants['before'])}, after {formats.count(instants['after'])})",
        ),
    ]


def values(step: str, entry: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    out: dict[str, tuple[Any, str]] = {}
    for side in SIDES:
        s = entry[f"{side}_spread"]
        out[f"{step}_{side}_busiest"] = (s["busiest"], "text")
        out[f"{step}_{side}_busiest_share"] = (s["busiest_share"], "share")
        out[f"{step}_{side}_least_share"] = (s["least_share"], "share")
        out[f"{step}_{side}_busiest_of_samples"] = (s["busiest_of_samples"], "share")
        out[f"{step}_{side}_evenness"] = (s["evenness"], "text")
    return out


@dataclass(frozen=True)
class Options(steptypes.BeforeAfter):
    """A busy step's keys: the two profile steps and which of their threads are the workers."""

    KEYS: ClassVar[JSONObject] = {
        "threads": {
            "description": "a regular expression on thread names (compiled when the manifest is loaded): "
            "the workers whose busy shares are compared",
            "type": "string",
            "format": "regex",
        },
        "computing": {
            "description": "a function name: only the samples whose stack holds it count as busy. Where "
            "py-spy cannot tell idle threads (its README: FreeBSD, i686 and ARM Linux) every sample of a "
            "blocked worker is kept, so counting its thread's samples alone would call every worker busy",
            "type": "string",
        },
    }
    threads: str = ""
    computing: str = ""


PAIR = Pair(what="busy", inputs=PROFILE.section or "", needs="profile step", derive=derive)


def problem(step: Any, earlier: dict[str, str]) -> str | None:
    if not step.threads:
        return "a busy step needs 'threads': a regular expression naming the worker threads"
    return PAIR.problem(step, earlier)


KIND = registry.register(
    registry.Kind(
        name="busy",
        options=Options,
        schema=registry.results_schema(__name__),
        section="busy_shares",
        problem=problem,
        refresh=PAIR.refresh,
        artifacts=PAIR.artifacts,
        values=values,
        blocks={"busy-chart": busy_chart},
    )
)
