"""Write measured values into a page between marker comments, as cog does, and find disagreements.

    The fix is <!-- value: speedup_median -->1,575×<!-- /value --> faster.

    <!-- begin: frame-table slow -->
    …generated…
    <!-- end: frame-table slow -->

HTML comments are hidden on the repository host and passed through by MkDocs
and Zensical, so the committed Markdown reads correctly everywhere.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import formats
from labkit.errors import LabError

VALUE = re.compile(r"<!-- value: (?P<name>[A-Za-z0-9_]+) -->(?P<text>.*?)<!-- /value -->")
BEGIN = re.compile(r"^(?P<indent>[ \t]*)<!-- begin: (?P<kind>[a-z-]+)(?: (?P<arg>[A-Za-z0-9_]+))? -->[ \t]*$")
FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Context:
    results: dict[str, Any]
    data_href: str  # the data folder as the page links to it, e.g. "data"
    data_dir: Path  # where the data files are now (to read the flame graph's proportions)
    page: str = ""  # the page being written (a claims block lists the claims made on it)


@dataclass(frozen=True)
class Difference:
    line: int
    marker: str
    expected: str
    found: str


def table(head: list[str], rows: list[list[str]], *, caption: str = "") -> list[str]:
    """An HTML table: its cells are escaped once and never re-read as Markdown."""
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{caption}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>")
    out.append("<tbody>")
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    out += ["</tbody>", "</table>"]
    return out


def _profile(ctx: Context, arg: str | None) -> dict[str, Any]:
    if not arg or arg not in ctx.results["profiles"]:
        raise LabError(f"no profile step named {arg!r} (steps: {', '.join(ctx.results['profiles'])})")
    profile: dict[str, Any] = ctx.results["profiles"][arg]
    return profile


def _over(profile: dict[str, Any]) -> str:
    """Which samples the shares are over: the page must say which threads."""
    pattern = profile.get("threads_filter") or ""
    if pattern:
        return (
            f"the {formats.count(profile['share_samples'])} samples of the threads whose name matches "
            f"<code>{formats.html_text(pattern)}</code>"
        )
    return f"all {formats.count(profile['samples'])} samples of all threads"


def frame_table(ctx: Context, arg: str | None) -> list[str]:
    profile = _profile(ctx, arg)
    # Where the time is spent first (self), so the hot functions are not crowded out by the base frames.
    chosen = sorted(profile["functions"], key=lambda f: (-f["self_share"], -f["total_share"], f["name"]))[:10]
    rows = [
        [
            f"<code>{formats.html_text(f['name'])}</code>",
            f"<code>{formats.html_text(f['file'])}</code>",
            formats.share(f["self_share"]),
            formats.share(f["total_share"]),
        ]
        for f in chosen
    ]
    caption = (
        f"The functions of the {formats.html_text(arg or '')} profile with the largest self shares, over "
        f"{_over(profile)} (a function's lines merged)"
    )
    return table(["Function", "File", "Self", "Total"], rows, caption=caption)


def flamegraph(ctx: Context, arg: str | None) -> list[str]:
    profile = _profile(ctx, arg)
    files = profile["files"]
    svg = f"{ctx.data_href}/{files['svg']}"
    # The SVG scales to the frame's width (viewBox); the frame keeps the graph's proportions.
    match = re.search(
        r'<svg[^>]*\bviewBox="0 0 (\d+) (\d+)"', (ctx.data_dir / files["svg"]).read_text(encoding="utf-8")
    )
    ratio = f"{match.group(1)}/{match.group(2)}" if match else "1200/480"
    top = max(profile["functions"], key=lambda f: (f["self_share"], f["name"]))
    phrase = formats.share_phrase(top["self_share"], largest=True)
    finding = (
        f"Of {_over(profile)}, {phrase} {'end' if phrase == 'most' else 'ends'} in "
        f"<code>{formats.html_text(top['name'])}</code> ({formats.share(top['self_share'])} self)"
    )
    title = formats.html_text(profile["title"] or arg or "")
    return [
        '<figure class="flamegraph">',
        f'<iframe src="{svg}" title="Flame graph: {title}" loading="lazy" '
        f'style="width:100%;aspect-ratio:{ratio};border:0"></iframe>',
        f"<figcaption>{title}: {formats.count(profile['samples'])} samples in "
        f"{formats.seconds(profile['wall_s'])}. {finding}. Click a frame to zoom, hover for counts, "
        f'press <kbd>/</kbd> to search. <a href="{svg}">Open full screen</a> · '
        f'<a href="{ctx.data_href}/{files["speedscope"]}" download>Download the speedscope file</a>'
        "</figcaption>",
        "</figure>",
    ]


def benchmark_table(ctx: Context, arg: str | None) -> list[str]:
    bench = ctx.results.get("benchmark")
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


def _looks(prof: dict[str, Any]) -> str:
    """How adaptive sampling chose the samples: the looks taken and why they sufficed."""
    adaptive = prof.get("adaptive")
    if not adaptive:
        return ""
    looks = " + ".join(f"{look['duration_s']} s" for look in prof["looks"])
    return (
        f"; adaptive: looks of {looks} (at most {adaptive['max']} s): {formats.html_text(adaptive['reason'])}"
    )


def provenance(ctx: Context, arg: str | None) -> list[str]:
    r = ctx.results
    p = r["provenance"]
    rows = [
        ["Measured", formats.html_text(r["generated_at"])],
        ["CPU", f"{formats.html_text(p['cpu_model'])}, {p['cpu_count']} logical cores"],
        ["OS", formats.html_text(p["os"])],
        ["Python", formats.html_text(p["python"])],
        ["py-spy", formats.html_text(p["py_spy"] or "not used")],
    ]
    for step, prof in r["profiles"].items():
        method = "attached by PID" if prof["method"] == "pid" else "launched under py-spy"
        rows.append(
            [
                f"Profile <code>{step}</code>",
                f"{method}, {prof['rate_hz']} Hz requested, {formats.rate(prof['effective_rate_hz'])} "
                f"effective, {formats.count(prof['samples'])} samples in {formats.seconds(prof['wall_s'])}"
                + _looks(prof),
            ]
        )
    if r.get("benchmark"):
        b = r["benchmark"]
        rows.append(
            [
                "Benchmark",
                f"n = {formats.count(b['n'])}, {b['repeats']} repeats, "
                f"{b['number']['slow']} and {b['number']['fast']} calls per timing",
            ]
        )
    rows += [
        ["Seed", formats.html_text(str(p.get("seed")))],
        ["Inputs (SHA-256)", f"<code>{r['inputs_sha256'][:16]}</code>"],
        ["Toolkit commit", f"<code>{formats.html_text(p['toolkit_commit'])}</code>"],
    ]
    return table(["", ""], rows)


VERDICT = {"holds": "✓ holds", "fails": "✗ does not hold", "undecided": "? undecided", "cited": "cited"}
EVIDENCE = {"measured": "measured", "command": "command output", "cited": "cited"}


def claims_table(ctx: Context, arg: str | None) -> list[str]:
    """Every claim made on this page: the sentence, what was measured, the rule, the verdict."""
    mine = [c for c in ctx.results.get("claims", []) if c["page"] == ctx.page]
    if not mine:
        raise LabError(f"the page has a claims block but no claim names page {ctx.page!r}")
    rows = []
    for c in mine:
        measured = (
            formats.html_text(c["shown"]) if c["verdict"] != "cited" else formats.html_text(c["source"])
        )
        if c.get("link"):
            measured += f' (<a href="{formats.html_text(c["link"])}">evidence</a>)'
        if c["verdict"] == "cited":  # a documented fact: the verdict is the source's, not a run's
            expected = " (per the source)"
            c = {**c, "verdict": c["expect"]}
        else:
            expected = " as expected" if c["verdict"] == c["expect"] else f" (expected: {c['expect']})"
        rows.append(
            [
                formats.html_text(c["text"]),
                EVIDENCE[c["evidence"]],
                measured,
                formats.html_text(c["rule"]),
                VERDICT[c["verdict"]] + expected,
            ]
        )
    caption = (
        "Each sentence is checked against this build's measurements; a share holds only when its "
        "whole confidence interval is on the right side of the threshold"
    )
    return table(["Claim", "Evidence", "Measured", "Rule", "Verdict"], rows, caption=caption)


def overhead_table(ctx: Context, arg: str | None) -> list[str]:
    """Throughput of the target per mode, and the ratios per round with their spread."""
    data = ctx.results.get("overhead")
    if not data:  # the step could not attach here (see the run's messages): say so instead of failing
        return table(
            ["Ratio", "Median", "Min–max", "Per round"],
            [["not measured in this run", "", "", ""]],
            caption="py-spy could not attach to the target in this run, so there is no overhead data",
        )
    ratios = data["ratios"]
    names = {
        "default": "py-spy default ÷ no profiler",
        "nonblocking": "py-spy --nonblocking ÷ no profiler",
        "default_vs_nonblocking": "py-spy default ÷ --nonblocking",
    }
    rows = [
        [
            names[key],
            f"{r['median']:.3f}",
            f"{r['min']:.3f}–{r['max']:.3f}",
            ", ".join(f"{v:.3f}" for v in r["values"]),
        ]
        for key, r in ratios.items()
    ]
    stops = data.get("stops_per_sample") or {}
    rows += [
        [
            f"stops of the target per sample, py-spy {'default' if k == 'default' else '--' + k}",
            f"{r['median']:.3f}",
            f"{r['min']:.3f}–{r['max']:.3f}",
            ", ".join(f"{v:.3f}" for v in r["values"]),
        ]
        for k, r in stops.items()
    ]
    caption = (
        f"Throughput ratios of the target (batches per second), {data['rounds']} interleaved rounds of "
        f"{data['window_s']} s windows, py-spy at {data['rate_hz']} Hz; 1.000 means no slowdown. "
        "Stops are the target's voluntary context switches, counted by the kernel"
    )
    return table(["Ratio", "Median", "Min–max", "Per round"], rows, caption=caption)


def _named(ctx: Context, section: str, arg: str | None, kind: str) -> dict[str, Any]:
    entries = ctx.results.get(section) or {}
    if not arg or arg not in entries:
        raise LabError(f"no {kind} step named {arg!r} (steps: {', '.join(entries) or 'none'})")
    entry: dict[str, Any] = entries[arg]
    return entry


def dump_table(ctx: Context, arg: str | None) -> list[str]:
    """`py-spy dump` as a table: one row per thread, what it was doing at that instant."""
    dump = _named(ctx, "dumps", arg, "dump")
    rows = [
        [
            f"<code>{formats.html_text(t['thread_name'] or '?')}</code>",
            "yes" if t["active"] else "no",
            "yes" if t["owns_gil"] else "no",
            str(t["frames"]),
            f"<code>{formats.html_text(t['top'] or '')}</code>",
        ]
        for t in dump["threads"]
    ]
    files = dump["files"]
    caption = (
        f"{formats.html_text(dump['title'] or 'py-spy dump')}: every thread at one instant, from the "
        f'<a href="{ctx.data_href}/{files["json"]}">JSON dump</a> (the '
        f'<a href="{ctx.data_href}/{files["text"]}">text dump</a> is a second look, a moment later)'
    )
    return table(["Thread", "Active", "Holds the GIL", "Frames", "Innermost frame"], rows, caption=caption)


def terminal(ctx: Context, arg: str | None) -> list[str]:
    """A captured terminal screen: the picture, and the same text for screen readers and search."""
    top = _named(ctx, "tops", arg, "top")
    files = top["files"]
    title = formats.html_text(top["title"] or "py-spy top")
    text = (ctx.data_dir / files["text"]).read_text(encoding="utf-8")
    return [
        '<figure class="terminal">',
        f'<img src="{ctx.data_href}/{files["svg"]}" alt="{title}: the screen as text follows">',
        f"<figcaption>{title}, after {top['seconds']} s</figcaption>",
        "</figure>",
        "<details><summary>The same screen as text</summary>",
        # A blank line would end the HTML block in Markdown: keep the screen's empty rows non-empty.
        "<pre><code>"
        + "\n".join(formats.html_text(line) or "&#32;" for line in text.splitlines())
        + "</code></pre>",
        "</details>",
    ]


def load_table(ctx: Context, arg: str | None) -> list[str]:
    """What a load run measured, per repeat summarised as min, median and max."""
    load = _named(ctx, "loads", arg, "load")
    summary = load["result"]["summary"]["all"]
    names = {
        "throughput_rps": ("Throughput", "req/s"),
        "p50_ms": ("p50 latency", "ms"),
        "p95_ms": ("p95 latency", "ms"),
        "p99_ms": ("p99 latency", "ms"),
    }
    rows = [
        [label, *(f"{summary[key][k]:,.1f} {unit}" for k in ("min", "median", "max"))]
        for key, (label, unit) in names.items()
        if key in summary
    ]
    repeats = len(load["result"].get("repeats", []))
    caption = f"{formats.html_text(load['title'] or arg or '')}: {repeats} repeats"
    return table(["", "Min", "Median", "Max"], rows, caption=caption)


BLOCKS: dict[str, Callable[[Context, str | None], list[str]]] = {
    "frame-table": frame_table,
    "flamegraph": flamegraph,
    "benchmark-table": benchmark_table,
    "provenance": provenance,
    "claims": claims_table,
    "overhead-table": overhead_table,
    "dump-table": dump_table,
    "terminal": terminal,
    "load-table": load_table,
}


def render(text: str, ctx: Context, *, page: str) -> tuple[str, list[Difference]]:
    """The page with every marker regenerated, and where it differed from what was there."""
    values = ctx.results["values"]
    lines = text.split("\n")
    out: list[str] = []
    diffs: list[Difference] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            in_fence = not in_fence
        begin = BEGIN.match(line)
        if begin and not in_fence:
            kind, arg, indent = begin["kind"], begin["arg"], begin["indent"]
            end_text = f"{indent}<!-- end: {kind}{' ' + arg if arg else ''} -->"
            try:
                end = lines.index(end_text, i + 1)
            except ValueError:
                raise LabError(
                    f"{page}:{i + 1}: <!-- begin: {kind} --> has no matching line {end_text.strip()!r} "
                    "at the same indentation"
                ) from None
            if kind not in BLOCKS:
                raise LabError(f"{page}:{i + 1}: unknown block {kind!r}; expected one of {', '.join(BLOCKS)}")
            try:
                # Blank lines around the body: inside an admonition or tab, HTML needs them to render.
                rows = [line for row in BLOCKS[kind](ctx, arg) for line in row.split("\n")]
                body = ["", *(indent + line if line else line for line in rows), ""]
            except LabError as exc:
                raise LabError(f"{page}:{i + 1}: {exc}") from exc
            old = lines[i + 1 : end]
            if old != body:
                diffs.append(
                    Difference(i + 1, f"{kind} {arg or ''}".strip(), "\n".join(body), "\n".join(old))
                )
            out += [line, *body, lines[end]]
            i = end + 1
            continue
        if VALUE.search(line):
            if in_fence:
                raise LabError(
                    f"{page}:{i + 1}: a value marker inside a code block is shown literally; "
                    "generate the whole block instead"
                )
            if line.lstrip().startswith("<!-- value:"):
                raise LabError(
                    f"{page}:{i + 1}: a line that starts with a value marker is read as an HTML "
                    "block and breaks its paragraph; put a word before it"
                )
            if line.lstrip().startswith("#"):
                raise LabError(f"{page}:{i + 1}: a value marker in a heading changes its anchor; move it")
            line = VALUE.sub(
                functools.partial(_value, values=values, diffs=diffs, page=page, line=i + 1), line
            )
        out.append(line)
        i += 1
    return "\n".join(out), diffs


def _value(m: re.Match[str], *, values: dict[str, Any], diffs: list[Difference], page: str, line: int) -> str:
    name = m["name"]
    if name not in values:
        raise LabError(
            f"{page}:{line}: the page shows value {name!r}, which the lab does not produce; "
            f"known values: {', '.join(sorted(values))}"
        )
    text = str(values[name]["text"])
    if text != m["text"]:
        diffs.append(Difference(line, f"value {name}", text, m["text"]))
    return f"<!-- value: {name} -->{text}<!-- /value -->"


def data_href(page: Path, data_dir: Path) -> str:
    return Path(os.path.relpath(data_dir, page.parent)).as_posix()


_OPENER = re.compile(r"^[ \t]*(!!!|\?\?\?\+?|===)[ \t]")  # admonition, collapsible or tab: body +4
_ITEM = re.compile(r"^[ \t]*([-*+]|[0-9]+[.)])[ \t]+")  # a list item: its body starts after the marker


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))


def regions(text: str) -> list[str]:
    """What each line of a page is: "prose", "code" (fenced or indented) or "block" (generated, markers too).

    One reading of the page for every check that looks at its prose (claims, numbers), the same one
    ``render`` uses for fences and blocks. Indented code is told from an admonition's, a tab's or a
    list item's body by the indentation of the container it stands in.
    """
    lines = text.split("\n")
    kinds = ["prose"] * len(lines)
    in_fence = in_indented = False
    blank_before = True
    containers: list[int] = []  # body indentation of the open admonitions, tabs and list items
    i = 0
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            in_fence = not in_fence
            kinds[i] = "code"
        elif in_fence:
            kinds[i] = "code"
        elif (begin := BEGIN.match(line)) is not None:
            end_text = (
                f"{begin['indent']}<!-- end: {begin['kind']}{' ' + begin['arg'] if begin['arg'] else ''} -->"
            )
            end = lines.index(end_text, i + 1) if end_text in lines[i + 1 :] else len(lines) - 1
            kinds[i : end + 1] = ["block"] * (end + 1 - i)
            i, blank_before, in_indented = end + 1, False, False
            continue
        elif line.strip():
            indent = _indent(line)
            base = containers[-1] if containers else 0
            if in_indented and indent >= base + 4:
                kinds[i] = "code"
            else:
                in_indented = False
                if blank_before or _OPENER.match(line) or _ITEM.match(line):
                    while containers and indent < containers[-1]:
                        containers.pop()
                base = containers[-1] if containers else 0
                if blank_before and indent >= base + 4:
                    kinds[i], in_indented = "code", True
                elif _OPENER.match(line):
                    containers.append(indent + 4)
                elif (item := _ITEM.match(line)) is not None:
                    containers.append(_indent(item.group(0)))
        blank_before = not line.strip()
        i += 1
    return kinds


def states(text: str, sentence: str) -> bool:
    """Whether the page's prose (generated blocks and marker comments removed) contains the sentence."""
    lines = text.split("\n")
    prose = [line for line, kind in zip(lines, regions(text), strict=True) if kind != "block"]
    plain = re.sub(r"<!-- /?value(: [A-Za-z0-9_]+)? -->", "", " ".join(prose))
    plain = re.sub(r"^\s*(>|!!!|\?\?\?|===)?", " ", plain)

    def squash(t: str) -> str:
        return " ".join(t.replace("*", "").replace("`", "").split())

    return squash(sentence) in squash(plain)
