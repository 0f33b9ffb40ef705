"""What every generated page block is written with: the page's context and escaped HTML tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from labkit.errors import LabError
from labkit.records import Results


@dataclass(frozen=True)
class Context:
    results: Results
    data_href: str  # the data folder as the page links to it, e.g. "data"
    data_dir: Path  # where the data files are now (to read the flame graph's proportions)
    page: str = ""  # the page being written (a claims block lists the claims made on it)
    site_href: str = "."  # the site's root as the page links to it, e.g. "../.."
    data_path: str = "data"  # the data folder from the site's root, e.g. "labs/<id>/data"
    root: Path | None = None  # the repository (code references, citations); None: data_dir's docs/ parent


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


def viewer_links(ctx: Context, *, svg: str, speedscope: str = "", title: str = "") -> str:
    """A flame graph's links: full screen, the recording in speedscope (vendored, same origin) and
    its download; and, shown on narrow screens only, why the full screen is worth opening."""
    links = [f'<a href="{ctx.data_href}/{svg}">Open full screen</a>']
    if speedscope:
        profile = quote(f"../{ctx.data_path}/{speedscope}", safe="/.-_~")
        named = f"&amp;title={quote(title, safe='')}" if title else ""
        links.append(
            f'<a class="speedscope" href="{ctx.site_href}/speedscope/index.html#profileURL={profile}{named}">'
            "Open in speedscope</a>"
        )
        links.append(f'<a href="{ctx.data_href}/{speedscope}" download>Download the speedscope file</a>')
    note = (
        '<span class="flamegraph-narrow">On a screen this narrow the frames\' labels are too small to read: '
        "open the graph full screen and turn the screen sideways"
        + (", or open the recording in speedscope" if speedscope else "")
        + ".</span>"
    )
    return " · ".join(links) + note


def named(ctx: Context, section: str, arg: str | None, what: str) -> Any:
    """The entry of step ``arg`` in a keyed results section, or an error naming the steps there are.

    The entry is the section's kind's own record (``Kind[E]``'s ``E``), which only that kind names.
    """
    results: Mapping[str, object] = ctx.results  # the section may be an outside kind's: not in Results
    found = results.get(section) or {}
    entries: Mapping[str, Mapping[str, object]] = found if isinstance(found, dict) else {}  # as validated
    if not arg or arg not in entries:
        raise LabError(f"no {what} step named {arg!r} (steps: {', '.join(entries) or 'none'})")
    entry: Mapping[str, object] = entries[arg]
    return entry
