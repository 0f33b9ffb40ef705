"""Numbers in prose: a number typed into a lab page is either bound to the results or declared.

Value markers and generated blocks are checked against the results; a number
typed into a sentence is not, so a re-measured lab would leave it stale. This
check fails on such a number when it measures something, that is when it

(a) is a copy of one of the lab's values (``results["values"][name]["text"]``),
    for values whose text is a number of two or more digits, has a decimal
    point or carries a unit (a count of 3 frames must not make every "step 3"
    fail); or
(b) carries a unit of measurement (``42%``, ``4003x``, ``12.41 s``,
    ``100 samples``, ``10-second``) or is assigned to a variable
    (``n = 5,000``),

unless it stands in code, a value marker, a generated block, an HTML comment,
a tag's attributes or a link's address, or is part of one of the page's claim
sentences (a claim binds its thresholds), or the manifest declares it under
``figures:`` (a fixed input of the lab, a cited figure with its source, or a
claim's threshold).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from labkit import errors, refs
from labkit.manifest import Lab
from labkit.pages import VALUE, regions
from labkit.records import Value

# Units of measurement; a word unit may follow after a space, a no-break space, a line break or a hyphen.
_WORD_UNITS = (
    "requests per second|samples per second|req/s|rps|percent|samples?|requests?|batch(?:es)?|calls?|"
    "frames?|times|milliseconds?|microseconds?|nanoseconds?|seconds?|secs?|minutes?|mins?|hours?|"
    "kHz|MHz|Hz|ms|µs|μs|us|ns|s"
)
_UNIT = (
    r"(?:[ \u00a0]?%|×\+?|x\+?(?![A-Za-z0-9_])"
    rf"|(?:[ \u00a0-]|[ \t]*\n[ \t>]*)(?:{_WORD_UNITS})(?![A-Za-z0-9_]))"
)
# A number: digits joined by , . : / - (so 5,000, 0.4.3, 127.0.0.1:8000 and 2026-06-21 are one number),
# maybe assigned to a one-letter variable (n = 5,000), maybe followed by a unit.
_NUMBER = re.compile(
    r"(?:(?<![A-Za-z0-9_])(?P<var>[A-Za-z])[ \u00a0]?=[ \u00a0]?)?"
    r"(?<![A-Za-z0-9_.,])(?P<num>[0-9]+(?:[.,:/-][0-9]+)*)"
    rf"(?P<unit>{_UNIT})?"
)
_VALUE_TEXT = re.compile(rf"^(?P<num>[0-9]+(?:[.,:/-][0-9]+)*)(?P<unit>{_UNIT}|[ \u00a0]\S.*)?$")
# Not prose: comments (marker comments too), tags with their attributes, entities, link addresses, URLs.
_HIDDEN = re.compile(
    r"<!--.*?-->"
    r"|</?[A-Za-z][^<>]*>"
    r"|&#?[A-Za-z0-9]+;"
    r"|(?<=\])\([^()\s]*(?:\s+\"[^\"]*\")?\)"
    r"|^[ \t]*\[[^\]\n]+\]:[ \t]*\S+"
    r"|https?://[^\s<>()\]]+"
    r"|\{[:#.][^}\n]*\}",
    re.DOTALL | re.MULTILINE,
)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(?:(?!\n[ \t]*\n).)+?(?<!`)\1(?!`)", re.DOTALL)


@dataclass(frozen=True)
class Found:
    line: int
    text: str  # as the page has it: "42%", "n = 4,000"
    number: str  # the number with its unit, as a value marker would hold it: "42%", "4,000"
    values: tuple[str, ...]  # the values whose text it copies


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """Replace every match by spaces (newlines kept), so positions and line numbers stay as they were."""
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _prose(text: str) -> str:
    """The page with its code and generated blocks emptied, lines kept, so line numbers still count."""
    lines = text.split("\n")
    return "\n".join(line if kind == "prose" else "" for line, kind in zip(lines, regions(text), strict=True))


def _phrase(text: str) -> re.Pattern[str]:
    """A claim's or a figure's text as it may stand in a page: across lines, with backticks or emphasis."""
    parts = [
        r"[\s*_`]+" if part.isspace() else re.escape(part) + "[*_`]*" for part in re.findall(r"\s+|\S", text)
    ]
    return re.compile("".join(parts).strip())


def _matchable(values: Mapping[str, Value]) -> dict[tuple[str, str], list[str]]:
    """Values a typed number may copy, by (number, unit): not those that could be a step or list number."""
    out: dict[tuple[str, str], list[str]] = {}
    for name, entry in sorted(values.items()):
        text = html.unescape(re.sub(r"\\(.)", r"\1", str(entry.get("text", "")))).strip()
        m = _VALUE_TEXT.match(text)
        if m is None:
            continue
        num, unit = m["num"], (m["unit"] or "").strip(" \u00a0-")
        if unit or not num.isdigit() or len(num) >= 2:  # 97.8%, 1.32 s, 0.686, 3.11.7, 199; not 3
            out.setdefault((num, unit), []).append(name)
    return out


def numbers(text: str, *, bound: list[str], values: Mapping[str, Value]) -> Iterator[Found]:
    """The numbers of a page's prose that measure something and are neither marked up nor bound.

    ``bound`` are phrases whose numbers are allowed (the page's claim sentences and declared figures).
    """
    prose = _prose(text)
    # As a reader sees it (a claim may contain a value marker's text, as ``pages.states`` reads it) ...
    readable = _blank(prose, _HIDDEN)
    exempt = [m.span() for phrase in bound for m in _phrase(phrase).finditer(readable)]
    # ... and, at the same positions, only what is typed by hand.
    prose = _blank(_blank(_blank(_blank(prose, VALUE), refs.MARKED), _HIDDEN), _CODE_SPAN)
    copies = _matchable(values)
    for m in _NUMBER.finditer(prose):
        if any(start <= m.start("num") < end for start, end in exempt):
            continue
        unit = (m["unit"] or "").strip(" \u00a0-")
        named = tuple(copies.get((m["num"], unit), []))
        if named or unit or m["var"]:
            line = prose.count("\n", 0, m.start()) + 1
            found = " ".join(m.group(0).split())
            yield Found(line, found, " ".join(prose[m.start("num") : m.end()].split()), named)


def unbound(
    lab: Lab, *, texts: dict[str, str], values: Mapping[str, Value], root: Path | None = None
) -> list[str]:
    """Problems: typed numbers that measure something on the lab's pages, and declarations nothing uses;
    with ``root``, also line numbers and function names of the lab's programs typed by hand (labkit.refs)."""
    manifest = lab.source.as_posix()
    declare = f"or declare it under figures: in {manifest} (kind: input, cited or threshold)"
    problems = []
    used: set[int] = set()
    for page, text in texts.items():
        figures = [f for f in lab.figures if f.page in ("", page)]
        claims = [c["text"] for c in lab.claims if c.get("page", lab.page.as_posix()) == page]
        for found in numbers(text, bound=[*claims, *(f.text for f in figures)], values=values):
            if found.values:
                plural = "s" if len(found.values) > 1 else ""
                what = f"copies the measured value{plural} {', '.join(found.values)}"
                fix = f"<!-- value: {found.values[0]} -->{found.number}<!-- /value -->"
            else:
                what = "is a quantity" if found.text[:1].isalpha() else "is a number with a unit"
                fix = (
                    f"a value marker (<!-- value: NAME -->…<!-- /value -->, NAME under values: in {manifest})"
                )
            problems.append(
                f'{errors.where(page, found.line)}: "{found.text}" in prose {what}: '
                f"write it as {fix} {declare}"
            )
        readable = _blank(_prose(text), _HIDDEN)
        used |= {f.line for f in figures if _phrase(f.text).search(readable)}
    for figure in lab.figures:
        if figure.line not in used:
            where = figure.page or " or ".join(texts)
            problems.append(
                f'{errors.where(manifest, figure.line)}: figure "{figure.text}" is not in the prose of '
                f"{where}; "
                "correct its text or remove the declaration"
            )
    return problems + (refs.loose(lab, texts=texts, root=root, kinds=regions) if root else [])
