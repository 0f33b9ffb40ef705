"""What `make lab-N` and `make grade-N` tell the learner: the page's steps, one line for the claims,
the next lab, and tables that stay readable in a log.

A manifest step is named as the page names it: the `## Step N: …` section that holds the step's
generated block or one of its values (the first such section, in page order). A step with no place
in the lab page's steps is evidence ("Evidence: py-spy's own description of its record options").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from labkit import kinds, pages, words
from labkit.manifest import Lab, discover, load
from labkit.records import Results

HEADING = re.compile(r"^##\s+(?P<title>Step\s+\d+\s*:.*?)\s*#*\s*$")
_VALUE = re.compile(r"<!-- value: (?P<name>[A-Za-z0-9_]+) -->")


def _plain(title: str) -> str:
    """A heading as the reader sees it (no backticks, no emphasis)."""
    return " ".join(title.replace("`", "").replace("**", "").split())


def sections(text: str) -> list[tuple[str, str]]:
    """The page's `## Step N: …` sections: (title as shown, the section's text up to the next `## `)."""
    out: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line, kind in zip(text.split("\n"), pages.regions(text), strict=True):
        if kind != "code" and line.startswith("## "):
            match = HEADING.match(line)
            current = None
            if match:
                current = []
                out.append((_plain(match["title"]), current))
            continue
        if current is not None:
            current.append(line)
    return [(title, "\n".join(body)) for title, body in out]


def marks(lab: Lab, results: Mapping[str, Any] | None) -> dict[str, set[str]]:
    """What on a page belongs to each step: its blocks ("block kind arg") and its values ("value name")."""
    found: dict[str, set[str]] = {s.id: set() for s in lab.steps}
    by_kind: dict[str, list[str]] = {}
    for s in lab.steps:
        by_kind.setdefault(s.kind, []).append(s.id)
    for s in lab.steps:
        for block in kinds.get(s.kind).blocks:
            found[s.id].add(f"block {block} {s.id}")
            if len(by_kind[s.kind]) == 1:
                found[s.id].add(f"block {block}")
    for name, spec in lab.values.items():
        parts = str(spec.get("path", "")).split(".")
        for s in lab.steps:
            kind = kinds.get(s.kind)
            keyed = kind.keyed and len(parts) > 1 and parts[1] == s.id
            single = not kind.keyed and len(by_kind[s.kind]) == 1
            if parts[0] == kind.section and (keyed or single):
                found[s.id].add(f"value {name}")
    for kind, step, entry in kinds.entries(results or {}):
        if kind.values is not None and step in found:
            found[step] |= {f"value {name}" for name in kind.values(step, entry)}
    return found


def _page_marks(body: str) -> set[str]:
    """The blocks and values a stretch of page shows (not those quoted in its code)."""
    out: set[str] = set()
    for line, kind in zip(body.split("\n"), pages.regions(body), strict=True):
        if kind == "code":
            continue
        out |= {f"value {m['name']}" for m in _VALUE.finditer(line)}
        begin = pages.BEGIN.match(line)
        if begin:
            out.add(f"block {begin['kind']}" + (f" {begin['arg']}" if begin["arg"] else ""))
    return out


def _code(text: str) -> str:
    """The page's code (fenced or indented), one string."""
    return "\n".join(
        line for line, kind in zip(text.split("\n"), pages.regions(text), strict=True) if kind == "code"
    )


def _command_marks(lab: Lab) -> dict[str, tuple[str, set[str]]]:
    """A step's program and the options that tell it from the lab's other steps running that program."""
    runs: dict[str, tuple[str, set[str]]] = {}
    for s in lab.steps:
        script = next((a for a in s.command if a.endswith(".py")), "")
        if script:
            runs[s.id] = (script, {a for a in s.command if a.startswith("--")})
    out = {}
    for step, (script, flags) in runs.items():
        same = [f for other, (program, f) in runs.items() if program == script and other != step]
        common = set.intersection(flags, *same) if same else set()
        out[step] = (script, flags - common)
    return out


def places(lab: Lab, *, root: Path, results: Mapping[str, Any] | None) -> dict[str, str]:
    """Each step's name as the page gives it: its `## Step N: …` heading, or "Evidence: <its title>".

    A step with nothing on any page falls back to its command: the first section whose code runs its
    program with the options that tell it from the lab's other steps. A step with no title and no
    place (stopping a service) is named "" and belongs with the step before it.
    """
    texts = {p: (root / p).read_text(encoding="utf-8") for p in lab.pages if (root / p).exists()}
    found = sections(texts.get(lab.page, ""))
    on_page = [(title, _page_marks(body), _code(body)) for title, body in found]
    elsewhere = set().union(*(_page_marks(t) for p, t in texts.items() if p != lab.page))
    commands = _command_marks(lab)
    out = {}
    for step, wanted in marks(lab, results).items():
        where = next((title for title, have, _ in on_page if wanted & have), None)
        if where is None and step in commands and not wanted & elsewhere:
            script, flags = commands[step]
            where = next(
                (t for t, _, code in on_page if script in code and all(f in code for f in flags)), None
            )
        titled = any(s.id == step and s.title for s in lab.steps)
        out[step] = where or (f"Evidence: {words.step_title(lab.steps, step)}" if titled else "")
    return out


class Progress:
    """The `say` of a learner's run: a line per page step as it starts, its messages below, no ids."""

    def __init__(self, names: Mapping[str, str], show: Callable[[Text], None]) -> None:
        self.names = names
        self.show = show
        self.current = ""

    def __call__(self, message: str) -> None:
        head, sep, rest = message.partition(": ")
        if sep and head in self.names:
            message = rest
            if self.names[head] and self.names[head] != self.current:
                self.current = self.names[head]
                self.show(Text(self.current, style="bold cyan"))
        self.show(Text(f"    {message}"))


def claims_line(results: Results, *, quick: bool, written: str) -> str:
    """The one line a learner's run ends its claims with."""
    listed = results.get("claims", [])
    if quick:
        return f"QUICK run: the {len(listed)} claims are not judged; the table is in {written}"
    t = words.tally(listed)
    cited = f" ({t.cited} cited)" if t.cited else ""
    return f"{t.agree} of {t.total} claims came out as its pages say{cited}; the whole table is in {written}"


def claims_text(results: Results, *, quick: bool) -> str:
    """Every claim of the run as plain text, one paragraph each (out/<id>/claims.txt)."""
    out = ["What the lab's pages claim, judged on your run" + (" (QUICK: not judged)" if quick else ""), ""]
    for c in results.get("claims", []):
        out.append(f"{words.verdict(c['verdict'], c['expect'])}: {c['text']}")
        out.append(f"    measured: {c['shown'] or c['source']}")
        if c.get("rule"):
            out.append(f"    rule: {c['rule']}")
        out += [f"    page: {c['page']}", ""]
    return "\n".join(out)


def next_lab(lab: Lab, *, root: Path) -> Lab | None:
    """The lab after this one in the site's order (mkdocs.yml's nav; the manifests' order otherwise)."""
    labs = [load(p.relative_to(root), root=root) for p in discover(root)]
    nav_file = root / "mkdocs.yml"
    nav = nav_file.read_text(encoding="utf-8") if nav_file.exists() else ""

    def place(other: Lab) -> int:
        at = nav.find(Path(*other.page.parts[1:]).as_posix())
        return at if at >= 0 else len(nav) + labs.index(other)

    ordered = sorted(labs, key=place)
    ids = [other.id for other in ordered]
    index = ids.index(lab.id) if lab.id in ids else len(ids)
    return ordered[index + 1] if index + 1 < len(ordered) else None


def print_table(
    console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str | Text]]
) -> None:
    """A table on a terminal; in a log (no terminal), each row as plain lines no column can squeeze."""
    if console.is_terminal:
        table = Table(title=title)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
        console.print(table)
        return
    console.print(Text(title, style="bold"))
    for row in rows:
        cells = [(c, str(v)) for c, v in zip(columns, row, strict=True) if str(v)]
        if not cells:
            continue
        first, *rest = cells
        console.print(Text(f"- {first[0]}: {first[1]}"))
        for column, value in rest:
            console.print(Text(f"    {column}: {value}"))
