"""Words a reader sees by default on each page of the built site, next to the page's word budget.

`python -m labkit budget [--site DIR]` builds nothing: it reads the HTML that `make site` wrote
(`site/` by default) and prints one row per page. It exits with 1 when a page is over its budget.

What counts (the project contract's "Budgets"): the text inside the page's `<article>`, without
`<pre>` code blocks, without the body of every `<details>` that is closed by default (its `<summary>`
is shown, so it counts) and without what a browser never shows (`<script>`, `<style>`, `<template>`,
`<noscript>`, an SVG's `<title>`, an element with the `hidden` attribute, and the "¶" permalink that
appears only on hover). A word is a run of characters between spaces that holds a letter or a digit,
so a dash or an arrow on its own is not one. Tabs count whole: a reader can open each without a click
that folds it away again, and a budget that ignored them would invite hiding text in them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from labkit.errors import LabError

# Page key (the built file's path without `.html`, and without `/index` for a folder's index) → budget.
_BUDGETS: tuple[tuple[re.Pattern[str], str, int], ...] = (
    (re.compile(r"index"), "home page", 500),
    (re.compile(r"labs/lab-[1-9][0-9]*"), "lab page", 2200),
    (re.compile(r"labs/lab-[1-9][0-9]*/fact-check"), "fact check", 1200),
    (re.compile(r"instructors"), "instructors' guide", 2500),
)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_NEVER_SHOWN = {"pre", "script", "style", "template", "noscript", "title"}
_WORD = re.compile(r"\w")
# Elements shown apart from their neighbours: `<td>a</td><td>b</td>` is two words, `<code>a</code>,` one.
_BLOCKS = {"address", "article", "aside", "blockquote", "caption", "dd", "details", "div", "dl", "dt"}
_BLOCKS |= {"figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li"}
_BLOCKS |= {"nav", "ol", "p", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr"}
_BLOCKS |= {"ul", "br", "label", "iframe", "img", "object"}
_SKIPPED = ("speedscope/",)  # the vendored speedscope app: not a page of ours


@dataclass(frozen=True)
class Budget:
    kind: str  # "lab page", "fact check", …
    words: int


@dataclass(frozen=True)
class Page:
    path: str  # relative to the site, e.g. "labs/<id>/index.html"
    words: int
    budget: Budget | None

    @property
    def over(self) -> int:
        """Words over the budget (0 when within it or without one)."""
        return max(0, self.words - self.budget.words) if self.budget else 0


@dataclass
class _Element:
    tag: str
    shown: bool  # the element itself is shown
    inner: bool  # its content is shown (False for a closed <details>, whose <summary> is the exception)


class _Counter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Element] = []
        self.articles = 0  # <article> elements open around the current position
        self.shown: list[str] = []  # the text shown, a space wherever a block starts or ends
        self.seen_article = False

    @property
    def words(self) -> int:
        return sum(1 for token in "".join(self.shown).split() if _WORD.search(token))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.shown.append(" ")
        if tag in _VOID:
            return
        names = dict(attrs)
        parent = self.stack[-1] if self.stack else None
        shown = parent.inner if parent else True
        if tag == "summary" and parent and parent.tag == "details":
            shown = parent.shown  # a closed <details> still shows its summary
        if tag in _NEVER_SHOWN or "hidden" in names or "headerlink" in (names.get("class") or "").split():
            shown = False
        inner = shown and not (tag == "details" and "open" not in names)
        if tag == "article":
            self.articles += 1
            self.seen_article = True
        self.stack.append(_Element(tag, shown, inner))

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.shown.append(" ")
        if tag in _VOID or all(element.tag != tag for element in self.stack):
            return  # a stray end tag closes nothing
        while self.stack:
            element = self.stack.pop()
            if element.tag == "article":
                self.articles -= 1
            if element.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.articles and (not self.stack or self.stack[-1].inner):
            self.shown.append(data)


def words_shown(html: str) -> int | None:
    """Words shown by default in the page's <article>; None when the document has no <article>."""
    counter = _Counter()
    counter.feed(html)
    counter.close()
    return counter.words if counter.seen_article else None


def page_key(path: str) -> str:
    """`labs/<id>/index.html` → `labs/<id>`, `labs/<id>/fact-check.html` → `labs/<id>/fact-check`."""
    key = path.removesuffix(".html")
    return key.removesuffix("/index") if key != "index" else key


def budget_for(path: str) -> Budget | None:
    """The budget of a built page (a path relative to the site), or None for a page without one."""
    key = page_key(path)
    for pattern, kind, words in _BUDGETS:
        if pattern.fullmatch(key):
            return Budget(kind, words)
    return None


def pages(site: Path) -> list[Page]:
    """Every page of the built site that has an <article>, in path order."""
    found = []
    for file in sorted(site.rglob("*.html")):
        path = file.relative_to(site).as_posix()
        if path.startswith(_SKIPPED):
            continue
        words = words_shown(file.read_text(encoding="utf-8"))
        if words is not None:
            found.append(Page(path, words, budget_for(path)))
    return found


def table(found: Sequence[Page]) -> list[str]:
    """The report: one line per page, words shown next to the budget, and what is over."""
    lines = [f"{'words':>7}  {'budget':>7}  page"]
    for page in found:
        limit = f"{page.budget.words:,}" if page.budget else "-"
        note = f"  ({page.budget.kind})" if page.budget else ""
        if page.over:
            note += f"  OVER by {page.over:,}"
        lines.append(f"{page.words:>7,}  {limit:>7}  {page.path}{note}")
    return lines


def run(site: Path) -> int:
    """Print the report for the built site in `site`; 0 when every page is within its budget, else 1."""
    found = pages(site) if site.is_dir() else []
    if not found:
        raise LabError(f"no built pages in {site}: build the site first (make site), or pass --site DIR")
    for line in table(found):
        print(line)
    over = [page for page in found if page.over]
    budgeted = sum(1 for page in found if page.budget)
    if over:
        print(f"{len(over)} of {budgeted} pages with a budget are over it")
        return 1
    print(f"every page with a budget is within it ({budgeted} pages)")
    return 0
