"""What every generated page block is written with: the page's context and escaped HTML tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import LabError


@dataclass(frozen=True)
class Context:
    results: dict[str, Any]
    data_href: str  # the data folder as the page links to it, e.g. "data"
    data_dir: Path  # where the data files are now (to read the flame graph's proportions)
    page: str = ""  # the page being written (a claims block lists the claims made on it)


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


def named(ctx: Context, section: str, arg: str | None, what: str) -> dict[str, Any]:
    """The entry of step ``arg`` in a keyed results section, or an error naming the steps there are."""
    entries = ctx.results.get(section) or {}
    if not arg or arg not in entries:
        raise LabError(f"no {what} step named {arg!r} (steps: {', '.join(entries) or 'none'})")
    entry: dict[str, Any] = entries[arg]
    return entry
