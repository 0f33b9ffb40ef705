"""Code references written from the source: a line number or a function name of a lab program in a page.

    service.py:<!-- line: labs/<program>/service.py | while True: -->23<!-- /line -->
    <!-- name: labs/<program>/service.py | handle -->`handle`<!-- /name -->

The toolkit writes the number of the one line whose stripped text is the text after ``|`` (and a name
that the file defines, as inline code), as it writes values; `make check` fails when the program moved
under the page. ``loose`` finds the references a page types by hand instead.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from labkit import citations
from labkit.errors import LabError, where
from labkit.manifest import Lab

LINE = re.compile(r"<!-- line: (?P<args>.*?) -->(?P<shown>.*?)<!-- /line -->")
NAME = re.compile(r"<!-- name: (?P<args>.*?) -->(?P<shown>.*?)<!-- /name -->")
# Every marker with what it shows: prose checks blank these (their numbers and names are bound).
MARKED = re.compile(
    r"<!-- (?P<kind>line|name|cite): .*? -->.*?<!-- /(?P=kind) -->|<!-- (?:line|name|cite):.*?-->"
    r"|<!-- /(?:line|name|cite) -->"
)
_WHOLE = re.compile(r"<!-- (?P<kind>line|name|cite): .*? -->.*?<!-- /(?P=kind) -->")
COMMENTS = re.compile(r"<!-- (?:line|name|cite): .*? -->|<!-- /(?:line|name|cite) -->")
OPENING = re.compile(r"<!-- (?:line|name|cite):|<!-- /(?:line|name|cite) -->")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Render's report of one marker that showed something else: (marker, expected, found).
Change = tuple[str, str, str]


def resolve(root: Path, path: str) -> Path:
    """A repository-relative file a marker names; it must stay inside the repository."""
    if not path or path.startswith("/") or "\\" in path:
        raise LabError(
            f"{path!r} is not a repository-relative path (write it like labs/<program>/service.py)"
        )
    target = (root / path).resolve()
    if not target.is_relative_to(root.resolve()):
        raise LabError(f"{path!r} leaves the repository")
    if not target.is_file():
        raise LabError(f"{path!r} does not exist")
    return target


def split(args: str, what: str) -> tuple[str, str]:
    """``PATH | TEXT`` → (PATH, TEXT): the first `` | `` separates them, so TEXT may hold a ``|``."""
    path, bar, text = args.partition(" | ")
    if not bar or not text.strip():
        raise LabError(f"a {what} marker needs `PATH | {what.upper()}`, found {args!r}")
    if "`" in text or "<!--" in text:
        raise LabError(
            f"a {what} marker's text cannot hold a backtick or '<!--' (Markdown would read it across the "
            f"comment): {text!r}"
        )
    return path.strip(), text


def line_number(root: Path, path: str, text: str) -> int:
    """The 1-based number of the one line of ``path`` whose stripped text is ``text`` stripped."""
    lines = resolve(root, path).read_text(encoding="utf-8").split("\n")
    found = [n for n, line in enumerate(lines, 1) if line.strip() == text.strip()]
    if not found:
        raise LabError(f"{path} has no line {text.strip()!r}")
    if len(found) > 1:
        raise LabError(
            f"{path} has {len(found)} lines {text.strip()!r} (lines {', '.join(map(str, found))}); "
            "quote a line that occurs once"
        )
    return found[0]


@functools.lru_cache(maxsize=64)
def defined(source: str) -> frozenset[str]:
    """Every function and class a Python file defines (methods and nested ones too); a page names the
    same few files many times, so each text is parsed once."""
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return frozenset(n.name for n in ast.walk(ast.parse(source)) if isinstance(n, node_types))


def check_name(root: Path, path: str, name: str) -> str:
    name = name.strip()
    if not _IDENTIFIER.fullmatch(name):
        raise LabError(f"{name!r} is not a Python name")
    target = resolve(root, path)
    try:
        names = defined(target.read_text(encoding="utf-8"))
    except SyntaxError as exc:
        raise LabError(f"{path} is not valid Python ({exc.msg}, line {exc.lineno})") from exc
    if name not in names:
        raise LabError(f"{path} defines no function or class {name!r}")
    return name


def render_line(
    line: str, *, root: Callable[[], Path], version: Callable[[], str | None]
) -> tuple[str, list[Change]]:
    """One page line with its line, name and cite markers rewritten, and what they showed before."""
    changes: list[Change] = []

    def number(m: re.Match[str]) -> str:
        path, text = split(m["args"], "line")
        shown = str(line_number(root(), path, text))
        if shown != m["shown"]:
            changes.append((f"line {path}", shown, m["shown"]))
        return f"<!-- line: {m['args']} -->{shown}<!-- /line -->"

    def name(m: re.Match[str]) -> str:
        path, text = split(m["args"], "name")
        shown = f"`{check_name(root(), path, text)}`"
        if shown != m["shown"]:
            changes.append((f"name {path}", shown, m["shown"]))
        return f"<!-- name: {m['args']} -->{shown}<!-- /name -->"

    def cite(m: re.Match[str]) -> str:
        cited = citations.parse(m["args"])
        shown = citations.render(cited, version())
        if shown != m["shown"]:
            changes.append((f"cite {cited.path}", shown, m["shown"]))
        return f"<!-- cite: {m['args']} -->{shown}<!-- /cite -->"

    out = citations.CITE.sub(cite, NAME.sub(name, LINE.sub(number, line)))
    left = OPENING.search(_WHOLE.sub("", out))
    if left:
        raise LabError(
            f"{left.group(0)!r} is half a marker: open and close it on one line, "
            "<!-- KIND: PATH | TEXT -->…<!-- /KIND -->"
        )
    return out, changes


# --- references typed by hand ---------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(?P<code>(?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FILE_LINE = re.compile(r"(?<![\w/.-])(?P<file>(?:[\w.-]+/)*(?P<base>[\w.-]+\.py)):(?P<num>[0-9]+)")
_LINE_WORD = re.compile(
    r"\b[Ll]ines?[ \u00a0]+(?P<num>[0-9]+)(?:[ \u00a0]*(?:[-–,]|and|to)[ \u00a0]*[0-9]+)*\b"
)


def _programs(lab: Lab, root: Path) -> list[Path]:
    files = [p for folder in lab.programs for p in sorted((root / folder).rglob("*.py"))]
    files += [root / f for f in (lab.exercise.files if lab.exercise else []) if f.suffix == ".py"]
    return [p for p in files if "__pycache__" not in p.parts and p.is_file()]


@functools.lru_cache(maxsize=64)
def _defined_in(path: Path, stamp: float) -> frozenset[str]:
    try:
        return frozenset(defined(path.read_text(encoding="utf-8")))
    except (SyntaxError, UnicodeDecodeError):
        return frozenset()


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of each run of non-blank lines."""
    for m in re.finditer(r"(?:[^\n]*\S[^\n]*(?:\n|$))+", text):
        yield m.start(), m.end()


def loose(lab: Lab, *, texts: dict[str, str], root: Path, kinds: Callable[[str], list[str]]) -> list[str]:
    """Line numbers and function names of the lab's programs that a page's prose types by hand.

    ``kinds`` gives each line's region (``pages.regions``): code blocks and generated blocks are exempt, as
    are comments and markers. A ``line N`` counts when its paragraph names a program's file or a function
    it defines; a ``file.py:N`` always does, in inline code too.
    """
    files = _programs(lab, root)
    by_base = {p.name: p.relative_to(root).as_posix() for p in files}
    owner: dict[str, str] = {}
    for p in files:
        for name in sorted(_defined_in(p, p.stat().st_mtime)):
            if not name.startswith("__"):
                owner.setdefault(name, p.relative_to(root).as_posix())
    problems = []
    for page, text in texts.items():
        lines = text.split("\n")
        prose = "\n".join(ln if k == "prose" else "" for ln, k in zip(lines, kinds(text), strict=True))
        found = _typed(prose, by_base=by_base, owner=owner, root=root)
        problems += [f"{where(page, line)}: {what}" for line, what in found]
    return problems


def _typed(
    prose: str, *, by_base: dict[str, str], owner: dict[str, str], root: Path
) -> list[tuple[int, str]]:
    """(line, problem) for each reference typed by hand in a page's prose (other lines emptied)."""
    plain = _blank(_blank(prose, MARKED), _COMMENT)
    named = _blank(prose, re.compile(r"<!--|-->"))  # markers' paths count as naming a program
    out = []
    for m in _FILE_LINE.finditer(plain):
        if m["base"] in by_base:
            marker = f"<!-- line: {by_base[m['base']]} | TEXT OF THE LINE -->{m['num']}<!-- /line -->"
            out.append((m.start(), f"{m.group(0)!r} types a line number by hand: write {m['file']}:{marker}"))
    for m in _CODE_SPAN.finditer(plain):
        code = m["code"].strip().removesuffix("()")
        if code in owner:
            fix = f"<!-- name: {owner[code]} | {code} -->`{code}`<!-- /name -->"
            out.append((m.start(), f"`{code}` names a function of {owner[code]} by hand: write {fix}"))
    for start, end in _paragraphs(plain):
        hits = list(_LINE_WORD.finditer(plain, start, end))
        about = [
            f
            for base, f in by_base.items()
            if re.search(rf"(?<![\w.-]){re.escape(base)}\b", named[start:end])
        ]
        names = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)(?:\(\))?`", named[start:end])
        about += [owner[c] for c in names if c in owner]
        for m in hits if about else []:
            quoted = _line_text(root, about[0], int(m["num"]))
            marker = f"<!-- line: {about[0]} | {quoted} -->{m['num']}<!-- /line -->"
            out.append(
                (
                    m.start(),
                    f"{m.group(0)!r} types a line number of {about[0]} by hand: write line {marker} "
                    "(quoting the line you mean)",
                )
            )
    found = []
    for offset, what in sorted(out):
        if plain[plain.rfind("\n", 0, offset) + 1 : offset].lstrip().startswith("#"):  # a marker would move
            what = (
                what.split(": write ")[0]
                + ": a heading cannot hold a marker (it changes the anchor); reword it"
            )
        found.append((plain.count("\n", 0, offset) + 1, what))
    return found


def _line_text(root: Path, file: str, number: int) -> str:
    """Line ``number`` of the file, stripped, as a line marker would quote it (or a placeholder)."""
    try:
        lines = (root / file).read_text(encoding="utf-8").split("\n")
    except OSError:
        lines = []
    text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    return text or "TEXT OF THE LINE"
