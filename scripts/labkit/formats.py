"""Every number's text is made here, in one place, so pages and checks agree to the character."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from typing import Any

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!~])")


def speedup(x: float) -> str:
    return f"{x:,.1f}×" if x < 100 else f"{x:,.0f}×"


def share(x: float) -> str:
    return f"{100 * x:.1f}%"


def interval(low: float, high: float, *, level: float = 0.95) -> str:
    return f"{round(100 * level, 1):g}% CI {100 * low:.1f}–{100 * high:.1f}%"


def seconds(x: float) -> str:
    """Three significant figures with a unit: 5.08 s, 3.21 ms, 560 µs."""
    x = float(f"{x:.3g}")  # round first: 0.99999 s is "1.00 s", not "1000 ms"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(x) >= scale or unit == "ns":
            value = float(f"{x / scale:.3g}")
            digits = max(0, 2 - math.floor(math.log10(abs(value)))) if value else 2
            return f"{value:.{digits}f} {unit}"
    raise AssertionError("unreachable")


def count(x: float) -> str:
    return f"{round(x):,}"


def rate(x: float) -> str:
    return f"{x:,} Hz" if isinstance(x, int) else f"{x:,.1f} Hz"


def text(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def exponent(x: float) -> str:
    """A fitted exponent (time ∝ n^b): two decimals, e.g. 1.97."""
    return f"{x:.2f}"


def milliseconds(x: float) -> str:
    """A time measured in milliseconds, shown like every other time: 124 ms, 1.20 s."""
    return seconds(x / 1000)


FORMATS = {
    "speedup": speedup,
    "share": share,
    "seconds": seconds,
    "milliseconds": milliseconds,
    "count": count,
    "exponent": exponent,
    "rate": rate,
    "text": text,
}


def render(value: Any, kind: str) -> str:
    """The page text of a value: formatted, then escaped for HTML and Markdown."""
    try:
        formatter = FORMATS[kind]
    except KeyError:
        raise ValueError(f"unknown format {kind!r}; expected one of {', '.join(sorted(FORMATS))}") from None
    return escape(formatter(value))


_ENTITIES = {c: f"&#{ord(c)};" for c in "\\`*_[]{}#|!~"} | {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
}


def html_text(raw: str) -> str:
    """Text inside generated HTML: entities for HTML's specials and for Markdown's, in one pass.

    Inside an admonition or tab, Python-Markdown reads indented HTML as a
    paragraph and would turn ``__init__`` into bold; entities survive both ways.
    """
    return "".join(_ENTITIES.get(c, c) for c in visible(raw))


def escape(raw: str) -> str:
    """Safe inside Markdown text and HTML: ``<module>``, ``__init__`` and ``a|b`` stay literal.

    Control characters are shown as escapes (``visible``), so the text never spans lines: a value
    marker stays on its one line, where `make check` reads it back.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(visible(raw), quote=False))


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that move the cursor, end a line or reorder text: control characters (C0, DEL, C1),
# the Unicode line and paragraph separators, and the bidirectional overrides and isolates.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _hidden(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI


def visible(raw: str, *, keep: str = "") -> str:
    """Text with every control character shown as an escape: a newline as ``\\n``, ESC as ``\\x1b``.

    A program's names (functions, threads, files) and output are data: they must neither end a line
    of a page nor reach a terminal as a command. ``keep`` lists characters left as they are (a
    terminal message keeps its newlines).
    """
    if not any(_hidden(c) for c in raw):
        return raw
    out = []
    for c in raw:
        if c in keep or not _hidden(c):
            out.append(c)
        elif c in _NAMED:
            out.append(_NAMED[c])
        elif ord(c) < 0x100:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(f"\\u{ord(c):04x}")
    return "".join(out)


def share_phrase(share: float, *, largest: bool) -> str:
    """The one rule for the comparative words the toolkit writes about a share of samples.

    "all" only when every sample counts (exactly, not as rounded); "most" for a majority (more than half); the
    largest of several minorities is "the largest share", never "most"; anything else is "a minority".
    """
    if share >= 1.0:
        return "all"
    if round(share, 3) > 0.5:  # as shown (one decimal of a percent): "most … (50.0%)" would read wrong
        return "most"
    return "the largest share" if largest else "a minority"
