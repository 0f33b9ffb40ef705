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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from labkit import citations, formats, kinds, refs, words
from labkit.blocks import Context, table
from labkit.errors import LabError, where
from labkit.records import Value

VALUE = re.compile(r"<!-- value: (?P<name>[A-Za-z0-9_]+) -->(?P<text>.*?)<!-- /value -->")
# What is left of a value marker once the whole ones are taken out: half a marker, which check cannot read.
_UNCLOSED = re.compile(r"<!--\s*/?\s*value\b")
BEGIN = re.compile(r"^(?P<indent>[ \t]*)<!-- begin: (?P<kind>[a-z-]+)(?: (?P<arg>[A-Za-z0-9_]+))? -->[ \t]*$")
FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Difference:
    line: int
    marker: str
    expected: str
    found: str


def provenance(ctx: Context, arg: str | None) -> list[str]:
    r = ctx.results
    p = r["provenance"]
    rows = [
        ["Measured", formats.html_text(words.date(r["generated_at"]))],
        ["CPU", f"{formats.html_text(p['cpu_model'])}, {p['cpu_count']} logical cores"],
        ["OS", formats.html_text(p["os"])],
        ["Python", formats.html_text(p["python"])],
        ["py-spy", formats.html_text(p["py_spy"] or "not used")],
    ]
    for kind, step, entry in kinds.entries(r):
        if kind.provenance is not None:
            rows += kind.provenance(step, entry)
    rows += [
        ["Seed", formats.html_text(str(p.get("seed")))],
        ["Inputs (SHA-256)", f"<code>{r['inputs_sha256'][:16]}</code>"],
        ["Toolkit commit", f"<code>{formats.html_text(p['toolkit_commit'])}</code>"],
    ]
    return table(["", ""], rows)


VERDICT = {  # the toolkit's verdict, next to what the page expects, in the words a reader sees
    ("holds", "holds"): words.CONFIRMED,
    ("fails", "fails"): words.REFUTED,
    ("cited", "holds"): words.CITED,
    ("cited", "fails"): words.CITED_REFUTED,
}
EVIDENCE = {"measured": "measured", "command": "command output", "cited": "cited"}


def claims_table(ctx: Context, arg: str | None) -> list[str]:
    """Every claim made on this page: the verdict first (seen on a phone), the sentence, the evidence."""
    mine = [c for c in ctx.results.get("claims", []) if c["page"] == ctx.page]
    if not mine:
        raise LabError(f"the page has a claims block but no claim names page {ctx.page!r}")
    rows = []
    cites = _cites(ctx) if any(c["verdict"] == "cited" for c in mine) else {}
    for c in mine:
        cited = c["verdict"] == "cited"  # a documented fact: the source's word, not a run's
        measured = formats.html_text(c["source"] if cited else c["shown"])
        if cited and c.get("id") in cites:
            measured += " " + citations.html(cites[c["id"]], ctx.results["environment"]["py_spy"])
        if c.get("link"):
            measured += f' (<a href="{formats.html_text(c["link"])}">evidence</a>)'
        said = VERDICT.get((c["verdict"], c["expect"])) or words.verdict(c["verdict"], c["expect"])
        rows.append(
            [
                f"<strong>{formats.html_text(said)}</strong>",
                formats.html_text(c["text"]),
                EVIDENCE[c["evidence"]],
                measured,
                formats.html_text(c["rule"]),
            ]
        )
    caption = "Each sentence is checked against this build's measurements"
    if any(c.get("interval") for c in mine):  # said only where some claim is judged on an interval
        caption += (
            "; a share holds only when its whole confidence interval is on the right side of the threshold"
        )
    return table(["Verdict", "Claim", "Evidence", "Measured", "Rule"], rows, caption=caption)


def _cites(ctx: Context) -> dict[str, citations.Cited]:
    """The manifest's citations of cited claims, by claim id ({} for data outside a repository's docs/)."""
    try:
        root = ctx.root or docs_root(ctx.data_dir).parent
    except LabError:
        return {}
    return citations.for_claims(root, ctx.results["lab"])


GENERIC_BLOCKS: dict[str, kinds.Block] = {"provenance": provenance, "claims": claims_table}

# Python-Markdown reads HTML indented inside an admonition or a tab as a paragraph and wraps it in
# <p> (invalid around a table or a figure). A block written at an indentation is therefore wrapped
# in pymdownx.blocks.html's `/// html | div` with `markdown: html`, which keeps its body as HTML.
CONTAINED_OPEN = ("/// html | div.generated", "    markdown: html")
CONTAINED_CLOSE = "///"


def blocks() -> dict[str, kinds.Block]:
    """Every block a page may hold: the generic ones and those the step kinds offer."""
    return {**GENERIC_BLOCKS, **kinds.blocks()}


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
                    f"{where(page, i + 1)}: <!-- begin: {kind} --> has no matching line {end_text.strip()!r} "
                    "at the same indentation"
                ) from None
            known = blocks()
            if kind not in known:
                raise LabError(
                    f"{where(page, i + 1)}: unknown block {kind!r}; expected one of {', '.join(known)}"
                )
            try:
                # Blank lines around the body: inside an admonition or tab, HTML needs them to render.
                rows = [line for row in known[kind](ctx, arg) for line in row.split("\n")]
                if indent:
                    rows = [*CONTAINED_OPEN, "", *rows, "", CONTAINED_CLOSE]
                body = ["", *(indent + line if line else line for line in rows), ""]
            except LabError as exc:
                raise LabError(f"{where(page, i + 1)}: {exc}") from exc
            old = lines[i + 1 : end]
            if old != body:
                diffs.append(
                    Difference(i + 1, f"{kind} {arg or ''}".strip(), "\n".join(body), "\n".join(old))
                )
            out += [line, *body, lines[end]]
            i = end + 1
            continue
        if not in_fence and _UNCLOSED.search(VALUE.sub("", line)):
            raise LabError(
                f"{where(page, i + 1)}: a value marker that does not close on its own line (each "
                "<!-- value: NAME --> needs its <!-- /value --> on the same line); `make check` could "
                "not read its text"
            )
        if VALUE.search(line):
            if in_fence:
                raise LabError(
                    f"{where(page, i + 1)}: a value marker inside a code block is shown literally; "
                    "generate the whole block instead"
                )
            if line.lstrip().startswith("<!-- value:"):
                raise LabError(
                    f"{where(page, i + 1)}: a line that starts with a value marker is read as an HTML "
                    "block and breaks its paragraph; put a word before it"
                )
            if line.lstrip().startswith("#"):
                raise LabError(
                    f"{where(page, i + 1)}: a value marker in a heading changes its anchor; move it"
                )
            line = VALUE.sub(
                functools.partial(_value, values=values, diffs=diffs, page=page, line=i + 1), line
            )
        if refs.OPENING.search(line) and not in_fence:
            line = _references(line, ctx, page=page, number=i + 1, diffs=diffs)
        out.append(line)
        i += 1
    return "\n".join(out), diffs


def _references(text: str, ctx: Context, *, page: str, number: int, diffs: list[Difference]) -> str:
    """A line's code references and citations (labkit.refs), written from the source and the results."""
    if text.lstrip().startswith("#"):
        raise LabError(
            f"{where(page, number)}: a line, name or cite marker in a heading changes its anchor; move it"
        )
    if refs.OPENING.match(text.lstrip()):
        raise LabError(
            f"{where(page, number)}: a line that starts with a marker is read as an HTML block and breaks "
            "its paragraph; put a word before it"
        )
    try:
        new, changes = refs.render_line(
            text,
            root=lambda: ctx.root or docs_root(ctx.data_dir).parent,
            version=lambda: ctx.results.get("environment", {}).get("py_spy"),
        )
    except LabError as exc:
        raise LabError(f"{where(page, number)}: {exc}") from exc
    diffs += [Difference(number, marker, expected, found) for marker, expected, found in changes]
    return new


def _value(
    m: re.Match[str], *, values: Mapping[str, Value], diffs: list[Difference], page: str, line: int
) -> str:
    name = m["name"]
    if name not in values:
        raise LabError(
            f"{where(page, line)}: the page shows value {name!r}, which the lab does not produce; "
            f"known values: {', '.join(sorted(values))}"
        )
    text = str(values[name]["text"])
    if _unreadable(text):
        # formats.render never makes such text: it comes from elsewhere (a hand-edited results.json).
        raise LabError(
            f"{where(page, line)}: value {name!r} is {text!r}, which would break its marker (a line break or "
            "comment syntax); values are written by formats.render"
        )
    if text != m["text"]:
        diffs.append(Difference(line, f"value {name}", text, m["text"]))
    return f"<!-- value: {name} -->{text}<!-- /value -->"


def _unreadable(text: str) -> bool:
    """Whether a value's text, written between its markers, would not read back as itself."""
    return text != formats.visible(text) or any(s in text for s in ("<!--", "-->", "<", ">"))


def _served_from(page: Path) -> Path:
    """The folder a page's links resolve against on the site: its Markdown file's own folder, since
    mkdocs.yml builds `name.html` pages (`use_directory_urls: false`), as GitHub shows the file too."""
    return page.parent


def data_href(page: Path, data_dir: Path) -> str:
    return Path(os.path.relpath(data_dir, _served_from(page))).as_posix()


def docs_root(page: Path) -> Path:
    """The docs folder a page is under (MkDocs' docs_dir, `docs`)."""
    for folder in page.parents:
        if folder.name == "docs":
            return folder
    raise LabError(f"{page}: a page must be under docs/")


def site_href(page: Path) -> str:
    """The site's root as the page links to it, e.g. "../.." from `docs/labs/<id>/index.md`."""
    return Path(os.path.relpath(docs_root(page), _served_from(page))).as_posix()


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
    plain = refs.COMMENTS.sub("", plain)
    plain = re.sub(r"^\s*(>|!!!|\?\?\?|===)?", " ", plain)

    def squash(t: str) -> str:
        return " ".join(t.replace("*", "").replace("`", "").split())

    return squash(sentence) in squash(plain)
