"""The compare kind: a differential flame graph of two earlier recordings (before and after a fix).

It starts no process: everything comes from the two sanitised speedscope files in the data folder,
so the same code runs when the lab is measured and when `make check` recomputes it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypedDict

from labkit import formats, registry, stacks, steptypes
from labkit.blocks import Context, named, table, viewer_links
from labkit.diffgraph import function_stacks, render_diff_svg
from labkit.kinds.pair import Pair
from labkit.kinds.profile import KIND as PROFILE


class Change(TypedDict):
    name: str
    file: str
    before: float
    after: float
    change: float


class CompareFiles(TypedDict):
    before: str
    after: str
    svg: str


class Compare(TypedDict):
    """One entry of results.json's `compares` section."""

    title: str
    before: str
    after: str
    threads_filter: str
    files: CompareFiles
    functions: list[Change]
    largest_increase: str
    largest_decrease: str
    only_before: list[str]
    only_after: list[str]


def _recording(data_dir: Path, name: str, threads: str) -> stacks.Recording:
    recording = stacks.parse(json.loads((data_dir / name).read_text(encoding="utf-8")))
    return recording.only(threads) if threads else recording


def derive(entry: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """Per-function total shares before and after, their changes, and the differential picture."""
    files, threads = entry["files"], entry["threads_filter"]
    one = _recording(data_dir, files["before"], threads)
    two = _recording(data_dir, files["after"], threads)
    shares: list[Change] = []
    before = {(f["name"], f["file"]): f["total_share"] for f in stacks.functions(one)}
    after = {(f["name"], f["file"]): f["total_share"] for f in stacks.functions(two)}
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key, 0.0), after.get(key, 0.0)
        shares.append(Change(name=key[0], file=key[1], before=a, after=b, change=round(b - a, 6)))
    shares.sort(key=lambda f: (-abs(f["change"]), f["name"]))
    svg = render_diff_svg(
        before=function_stacks(stacks.collapsed(one)),
        after=function_stacks(stacks.collapsed(two)),
        title=entry["title"] or "before against after",
        subtitle="width = the mean of both shares \u00b7 click a frame to zoom \u00b7 press / to search",
        width=900,
    )
    return {
        "functions": shares,
        "largest_increase": max(shares, key=lambda f: (f["change"], f["name"]))["name"],
        "largest_decrease": min(shares, key=lambda f: (f["change"], f["name"]))["name"],
        "only_before": sorted(f["name"] for f in shares if f["after"] == 0),
        "only_after": sorted(f["name"] for f in shares if f["before"] == 0),
        "svg": svg,
    }


def _change(change: float) -> str:
    """A signed change of share in points, with a real minus sign."""
    sign = "+" if change > 0 else "\u2212" if change < 0 else "\u00b1"
    return f"{sign}{abs(100 * change):.1f} points"


def _found(f: Change) -> str:
    return "before only" if f["after"] == 0 else "after only" if f["before"] == 0 else "both"


def _recorded(ctx: Context, step: str) -> str:
    """The title of the profile step a side of the comparison is, as the page's reader knows it."""
    section: Any = ctx.results.get(PAIR.inputs) or {}  # loads or profiles, keyed by step
    profile = section.get(step) or {}
    return formats.html_text(str(profile.get("title") or "the profile step"))


def diff_flamegraph(ctx: Context, arg: str | None) -> list[str]:
    """The differential flame graph, its main result in words, and the largest changes as a table with a
    signed change column (no number in colour alone)."""
    entry = named(ctx, "compares", arg, "compare")
    svg = f"{ctx.data_href}/{entry['files']['svg']}"
    match = re.search(
        r'<svg[^>]*\bviewBox="0 0 (\d+) (\d+)"',
        (ctx.data_dir / entry["files"]["svg"]).read_text(encoding="utf-8"),
    )
    ratio = f"{match.group(1)}/{match.group(2)}" if match else "900/400"
    title = formats.html_text(entry["title"] or arg or "")
    functions: list[Change] = entry["functions"]
    by_name = {f["name"]: f for f in functions}
    loss, gain = by_name[entry["largest_decrease"]], by_name[entry["largest_increase"]]

    def said(f: Change) -> str:
        where = {"before only": ", found only before", "after only": ", found only after"}.get(_found(f), "")
        return f"<code>{formats.html_text(f['name'])}</code> ({_change(f['change'])}{where})"

    rows = [
        [
            f"<code>{formats.html_text(f['name'])}</code>",
            formats.share(f["before"]),
            formats.share(f["after"]),
            _change(f["change"]),
            _found(f),
        ]
        for f in functions[:8]
    ]
    return [
        '<figure class="flamegraph">',
        f'<iframe src="{svg}" title="Differential flame graph: {title}" loading="lazy" '
        f'style="width:100%;aspect-ratio:{ratio};border:0"></iframe>',
        f"<figcaption>{title}, before ({_recorded(ctx, entry['before'])}) and after "
        f"({_recorded(ctx, entry['after'])}). Lost the most: {said(loss)}; gained the most: {said(gain)}. "
        "Dark blue, dashed: found only before; dark brown, dashed: only after; blue lost share, orange "
        "gained, grey kept it; a frame is as wide as the mean of its two shares. "
        + viewer_links(ctx, svg=entry["files"]["svg"])
        + "</figcaption>",
        "</figure>",
        *table(
            ["Function", "Total, before", "Total, after", "Change", "Found"],
            rows,
            caption="The functions whose total share changed most between before and after",
        ),
    ]


def values(step: str, entry: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    return {
        f"{step}_largest_increase": (entry["largest_increase"], "text"),
        f"{step}_largest_decrease": (entry["largest_decrease"], "text"),
    }


PAIR = Pair(what="compare", inputs=PROFILE.section or "", needs="profile step", derive=derive)
KIND = registry.register(
    registry.Kind(
        name="compare",
        options=steptypes.BeforeAfter,
        schema=registry.results_schema(__name__),
        section="compares",
        problem=PAIR.problem,
        refresh=PAIR.refresh,
        artifacts=PAIR.artifacts,
        values=values,
        blocks={"diff-flamegraph": diff_flamegraph},
    )
)
