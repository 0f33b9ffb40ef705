"""Each lab as a Jupyter notebook that runs outside a clone: `docs/labs/<id>/<id>.ipynb`, a download.

Generated from the manifest, the lab's programs and the page's step headings; nothing runs here.
The notebook needs Linux, Python and pip: its first cells install py-spy (the version range the
project uses), write the programs its steps run into a folder of its own, and define a few helpers
in plain Python (``nbhelpers``). Then, under the heading of the page's section where a step
first shows (its command, a generated block or a value), or later where a step it needs is placed,
come the step's cells (``nbcells.cells``): the page's commands as the learner types them, and a few
lines that print the learner's own numbers. Steps that another needs (a service, its traffic, a stop)
come first. No outputs are kept, so `make check` can compare the file with what this module makes.
"""

from __future__ import annotations

import itertools
import re
import shlex
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from labkit import kinds, nbcells, nbhelpers, pages, words
from labkit.manifest import Lab, Step

GENERIC = {"claims", "provenance"}  # blocks that show the whole run, not one step
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")
_STEP_FIELD = re.compile(r"\{(\w+)\.\w+\}")  # `{web.port}`: a command that needs step `web`
_SITE_URL = re.compile(r"^site_url:[ \t]*['\"]?([^'\"\s#]+)", re.MULTILINE)
_DATA_LINK = re.compile(r"\]\(data/(\w+)\.\w+\)")  # prose linking a step's captured output: data/symbols.txt
# py-spy record's options that every recording may carry; any other (--native) must be the step's own
_RECORD_OPTIONS = {"--format", "--output", "--duration", "--pid", "--rate", "--function", "--nolineno"}


def path_of(lab: Lab) -> Path:
    """Where a lab's notebook is published: beside its page, named after the lab (a download)."""
    return lab.page.parent / f"{lab.id}.ipynb"


def _slug(text: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    plain = re.sub(r"<[^>]+>|[`*]", "", text)
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^\w\s-]", "", plain).strip().lower()
    return re.sub(r"[-\s]+", "-", plain)


def _block_steps(lab: Lab, kind: str, arg: str | None) -> list[str]:
    """The steps a page block shows: the one it names, or those of the kind that offers it."""
    if kind in GENERIC:
        return []
    if arg and any(s.id == arg for s in lab.steps):
        return [arg]
    offering = [k.name for k in kinds.REGISTRY.values() if kind in k.blocks]
    return [s.id for s in lab.steps if s.kind in offering]


def _value_step(lab: Lab, name: str) -> str | None:
    """The step whose result a page value shows: by its manifest path, or by its name's prefix."""
    ids = [s.id for s in lab.steps]
    if name in lab.values:
        parts = lab.values[name]["path"].split(".")
        return parts[1] if len(parts) > 1 and parts[1] in ids else None
    prefixed = [i for i in ids if name.startswith(f"{i}_")]
    return max(prefixed, key=len) if prefixed else None


def _flags(words: list[str]) -> tuple[list[str], set[str]]:
    """A command's program (`python labs/x.py` or `py-spy dump`) and the options it names."""
    head = words[:2]
    return head, {w.split("=")[0] for w in words[2:] if w.startswith("--")}


def _command_steps(lab: Lab, line: str) -> list[str]:
    """The steps whose command a page's code line shows: the same program, with every option the line
    names and the fewest others. A py-spy line fitting several places none: its target (WRAPPER_PID or
    PYTHON_PID) is a word the page chooses, so what else the page shows places those steps."""
    try:
        words = shlex.split(line)
    except ValueError:
        return []
    words = words[1:] if words[:1] == ["sudo"] else words
    head, flags = _flags(words)
    extra: dict[str, int] = {}  # step id -> options its command has beyond the line's
    for step in lab.steps:
        own_head, own = _flags(nbcells.words(lab, step.command)) if step.command else ([], set())
        if own_head == head and flags <= own:
            extra[step.id] = len(own - flags)
    best = [i for i, n in extra.items() if n == min(extra.values())]
    return [] if len(best) > 1 and head[:1] == ["py-spy"] else best


def _lines(text: str) -> Iterator[tuple[str | None, str, str]]:
    """Each line of the page: the second-level heading it starts (else None), its region, and its
    text; a code line with its continuation lines (`\\` at the end) joined to it."""
    lines, kinds_of = text.split("\n"), pages.regions(text)
    for number, (line, region) in enumerate(zip(lines, kinds_of, strict=True)):
        heading = _HEADING.match(line) if region == "prose" else None
        joined = line.strip()
        for more in lines[number + 1 :] if region == "code" else []:
            if not joined.endswith("\\"):
                break
            joined = joined[:-1] + " " + more.strip()
        yield (heading[2] if heading and len(heading[1]) == 2 else None), region, joined


def sections(lab: Lab, text: str, *, commands: bool = True) -> list[tuple[str, list[str]]]:
    """The page's second-level sections in order: (heading, the step ids its blocks, values, links to a
    step's output in `data/` and, with `commands`, code lines show). What comes before the first such
    heading (the summary of the results at the top) places no step when the page has headings."""
    out: list[tuple[str, list[str]]] = [("", [])]
    ids = {s.id for s in lab.steps}
    for heading, region, line in _lines(text):
        if heading is not None:
            out.append((heading, []))
        begin = pages.BEGIN.match(line) if region == "block" else None
        found = _block_steps(lab, begin["kind"], begin["arg"]) if begin else []
        if region == "prose":
            found = [s for m in pages.VALUE.finditer(line) if (s := _value_step(lab, m["name"]))]
            found += [m[1] for m in _DATA_LINK.finditer(line) if m[1] in ids]
        if region == "code" and commands and line:
            found = _command_steps(lab, line)
        out[-1][1].extend(s for s in found if s not in out[-1][1])
    if len(out) > 1:
        out[0] = ("", [])
    return out


def outputs(lab: Lab, text: str) -> dict[str, str]:
    """The file each recording writes, as the page names it (step id -> `-o` name): a `py-spy record
    --format speedscope` line in the section where the step's results show, with the step's own
    py-spy options and no others. A step the page names no file for writes `<step id>.json`."""
    where, heading = evidence(lab, text), lab.title
    recorded = [s for s in lab.steps if kinds.get(s.kind).honours_method]
    found: dict[str, str] = {}
    for starts, region, line in _lines(text):
        heading = starts or heading
        try:
            words = shlex.split(line) if region == "code" else []
        except ValueError:
            continue
        words = [p for w in (words[1:] if words[:1] == ["sudo"] else words) for p in w.split("=", 1)]
        named = [b for a, b in itertools.pairwise(words) if a in ("-o", "--output")]
        if words[:2] != ["py-spy", "record"] or "speedscope" not in words or len(named) != 1:
            continue
        flags = {w for w in words[2:] if w.startswith("--")} - _RECORD_OPTIONS
        fits = [
            s.id
            for s in recorded
            if where.get(s.id) == heading and {a for a in s.py_spy_args if a.startswith("--")} == flags
        ]
        if len(fits) == 1:
            found.setdefault(fits[0], named[0])
    return found


def evidence(lab: Lab, text: str) -> dict[str, str]:
    """Each step's heading where its results first show (a block or a value), or none."""
    where: dict[str, str] = {}
    for heading, ids in sections(lab, text, commands=False):
        for step_id in ids:
            where.setdefault(step_id, heading or lab.title)
    return where


def _needs(step: Step) -> set[str]:
    """The steps this one cannot run without: its target, what it compares, what it stops, fields."""
    names = {n for n in (step.target, step.before, step.after, *step.stop) if n}
    for arg in (*step.command, *(step.quick_command or [])):
        names |= {m[1] for m in _STEP_FIELD.finditer(arg)}
    return names


def included(lab: Lab, text: str) -> list[Step]:
    """The steps the notebook runs: those the page shows, those another step needs, and the stops.

    A step nothing shows or needs captures evidence for another page (the fact check's probes); one
    that needs what a notebook may lack (privileges, other Pythons: `needs`) is left out too;
    `make lab-N` runs those.
    """
    shown = {s for _, ids in sections(lab, text) for s in ids}
    needed = {name for s in lab.steps for name in _needs(s)}
    return [s for s in lab.steps if (s.id in shown or s.id in needed or s.stop) and not s.needs]


def _placement(lab: Lab, text: str, steps: list[Step]) -> dict[str, int]:
    """Each shown step's section (its index in ``sections``): the first where its results show, or a
    later one where a step it needs is placed (transitively), so that a step never runs under a
    heading before what it needs (Lab 4's comparison of both services goes where the fixed one runs)."""
    found = list(enumerate(sections(lab, text)))
    first = {step_id: number for number, (_, ids) in reversed(found) for step_id in ids}  # the earliest
    by_id = {s.id: s for s in steps}
    placed: dict[str, int] = {}

    def place(step_id: str, path: frozenset[str]) -> int:
        if step_id not in placed:
            if step_id not in by_id or step_id in path:  # not in the notebook, or a loop: no bound
                return -1
            needs = [place(n, path | {step_id}) for n in sorted(_needs(by_id[step_id]))]
            placed[step_id] = max([first.get(step_id, -1), *needs])
        return placed[step_id]

    return {s.id: place(s.id, frozenset()) for s in steps if s.id in first}


def order(lab: Lab, text: str) -> list[tuple[str, list[Step]]]:
    """The notebook's sections: each page heading with the steps placed under it (``_placement``).

    Before a step come the earlier steps (manifest order) it needs; before a step that runs something,
    also the earlier background and stop steps whose own needs have run: the traffic that keeps a
    service busy, the stop that ends it. A step that only reads files (a comparison) pulls in no stop.
    """
    steps = included(lab, text)
    index = {s.id: n for n, s in enumerate(steps)}
    placed = _placement(lab, text, steps)
    done: list[str] = []
    out: list[tuple[str, list[Step]]] = []

    def emit(step: Step, into: list[Step]) -> None:
        if step.id in done:
            return
        wanted, runs = _needs(step), bool(step.command or step.target)
        for earlier in steps[: index[step.id]]:
            follows = runs and (earlier.background or earlier.stop) and _needs(earlier) <= set(done)
            if earlier.id in wanted or follows:
                emit(earlier, into)
        done.append(step.id)
        into.append(step)

    headings = [*enumerate(h or lab.title for h, _ in sections(lab, text)), (None, "The lab's other steps")]
    for number, heading in headings:  # the last takes whatever no heading placed
        into: list[Step] = []
        for step in (s for s in steps if number is None or placed.get(s.id) == number):
            emit(step, into)
        if into:
            out.append((heading, into))
    return out


def programs(lab: Lab, steps: list[Step], *, root: Path) -> dict[str, str]:
    """The program files the steps run (path -> text): each script's folder, and each of the lab's
    program folders that an included file names (a script that imports from a sibling folder)."""
    # a Python file run by the toolkit's Python, or a shell script given to `sh` (Lab 4's wrapper)
    folders = {Path(w).parent for s in steps for w in s.command[:1] if w.endswith(".py")}
    folders |= {Path(s.command[1]).parent for s in steps if s.command[:1] == ["sh"] and len(s.command) > 1}
    grader = Path(lab.exercise.grader) if lab.exercise else None  # `make grade-N`'s, runs with labkit
    files: dict[str, str] = {}
    while True:
        for folder in sorted(folders):
            for path in sorted([*(root / folder).glob("*.py"), *(root / folder).glob("*.sh")]):
                if path.relative_to(root) != grader:
                    files.setdefault(path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
        more = {p for p in lab.programs if p not in folders and any(p.name in t for t in files.values())}
        if not more:
            return dict(sorted(files.items()))
        folders |= more


def page_url(lab: Lab, *, root: Path) -> str | None:
    """The page on the published site (mkdocs.yml's `site_url`); None without one (a downloaded
    notebook has no folder of pages beside it, so a relative link would lead nowhere)."""
    config = root / "mkdocs.yml"
    site = _SITE_URL.search(config.read_text(encoding="utf-8")) if config.is_file() else None
    if site is None:
        return None
    return site[1].rstrip("/") + "/" + lab.page.parent.relative_to("docs").as_posix() + "/"


def _intro(lab: Lab, url: str | None, folder: str, packages: list[str]) -> str:
    page = f"[the lab's page]({url})" if url else f"the lab's page (*{lab.title}* on the site)"
    return (
        f"# {lab.title}\n\n"
        f"This notebook runs the lab on your machine: Linux with Python 3.10 or newer and pip. Its cells "
        f"install {' and '.join(packages)}, write the lab's programs into the folder `{folder}/` beside the "
        f"notebook, run them and py-spy with the commands of {page}, and print the numbers of your run. "
        "Run the cells in order; each heading is the page's section that explains it. A program a cell "
        "starts in the background runs until a later cell stops it; interrupting the kernel stops it too "
        "(Ctrl+C reaches it as in a terminal), and so does stopping or restarting the kernel."
    )


def code(source: str) -> NotebookNode:
    cell: NotebookNode = nbformat.v4.new_code_cell(source)
    return cell


def md(source: str) -> NotebookNode:
    cell: NotebookNode = nbformat.v4.new_markdown_cell(source)
    return cell


def _placed(lab: Lab, text: str, plan: list[tuple[str, list[Step]]]) -> list[tuple[str, list[str]]]:
    """The code cells under each heading. A step that starts its own program whose command the page
    shows before its results (Lab 1: the service under Step 1, its recording under Step 2) has its
    first cell, the start, where the command is, and the rest where its results first show. One such
    program runs at a time: a start that would land while another waits for its recording (Lab 3's
    two slow services, one command line) goes, with the rest of its step, where its results show."""
    where, files = evidence(lab, text), outputs(lab, text)
    headings = [h or lab.title for h, _ in sections(lab, text)]
    rank = {h: n for n, h in enumerate(headings)}
    out: dict[str, list[str]] = {heading: [] for heading, _ in plan}
    moved: dict[str, list[str]] = {}  # cells that go first under a later heading, in the order they came
    waiting: list[tuple[int, int]] = []  # (start, recording) ranks of the programs started ahead
    for heading, group in plan:
        for step in group:
            sources = nbcells.cells(lab, step, files=files)
            if not sources:
                continue
            title = words.step_title(lab.steps, step.id)  # never a step's id: the reader never sees those
            sources[0] = f"# {title}\n{sources[0]}"
            later = where.get(step.id, heading)
            first, last = rank.get(heading, len(rank)), rank.get(later, -1)
            if not (bool(step.command) and len(sources) > 2 and last > first):  # start, record, show
                out[heading] += sources
            elif any(start <= first < end for start, end in waiting):
                moved.setdefault(later, []).extend(sources)
            else:
                waiting.append((first, last))
                moved.setdefault(later, []).extend([f"# {title}, continued\n{sources[1]}", *sources[2:]])
                out[heading].append(sources[0])
    for later, cells_ in moved.items():
        out[later] = cells_ + out.get(later, [])
    order = {h: rank.get(h, len(rank)) for h in out}
    return [(h, out[h]) for h in sorted(out, key=order.__getitem__) if out[h]]


def build(lab: Lab, text: str, *, root: Path | None = None) -> NotebookNode:
    """The notebook of one lab from its manifest, programs and page text (no outputs, fixed ids)."""
    root = Path.cwd() if root is None else root
    plan = order(lab, text)
    placed = _placed(lab, text, plan)
    folder = lab.id
    url = page_url(lab, root=root)
    files = programs(lab, [s for _, group in plan for s in group], root=root)
    imported = nbcells.imported(root, files)
    cells = [
        md(_intro(lab, url, folder, ["py-spy", *(re.split(r"[<>=!~; \[]", r)[0] for r in imported)])),
        code(
            "import os\n\n"
            "# QUICK = True (or LABKIT_QUICK=1 in the environment): short recordings and smaller runs\n"
            'QUICK = os.environ.get("LABKIT_QUICK", "") in ("1", "true", "yes")\n'
            "SECONDS = 2 if QUICK else 10  # how long each py-spy recording lasts"
        ),
        code("%pip install --quiet " + " ".join(f'"{r}"' for r in [nbcells.requirement(root), *imported])),
        md(nbhelpers.HELPERS_NOTE),
        code(nbhelpers.helpers(folder, [s for _, sources in placed for s in sources] + ["stop()"])),
        md("The lab's programs, written into the folder."),
        code(
            "for folder in "
            + repr(sorted({str(Path(p).parent) for p in files}))
            + ":\n    Path(folder).mkdir(parents=True, exist_ok=True)"
        ),
    ]
    cells += [code(f"%%writefile {path}\n{body.rstrip(chr(10))}") for path, body in files.items()]
    for heading, sources in placed:
        if url:
            anchor = f"{url}#{_slug(heading)}" if heading != lab.title else url
            cells.append(md(f"## {heading}\n\n[This step on the page]({anchor})"))
        else:
            cells.append(md(f"## {heading}"))
        cells += [code(source) for source in sources]
    cells += [md("Stop every program still running in the background."), code("stop()")]
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"{lab.id}-{number:03d}"  # stable ids: the same input gives the same bytes
    nb: NotebookNode = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": dict(KERNEL),
        "language_info": {"name": "python"},
        "labkit": f"generated from {lab.source.as_posix()} by `python -m labkit notebook`; do not edit",
    }
    return nb


def dumps(nb: NotebookNode) -> str:
    """The notebook's file text (nbformat's own layout, one newline at the end)."""
    text: str = nbformat.writes(nb, version=4)
    return text.rstrip("\n") + "\n"


def render(lab: Lab, *, root: Path) -> str:
    """The text the lab's notebook file should hold now."""
    return dumps(build(lab, (root / lab.page).read_text(encoding="utf-8"), root=root))


def stale(lab: Lab, *, root: Path) -> str | None:
    """Why the committed notebook differs from what the manifest, programs and page give, or None."""
    path = path_of(lab)
    try:
        current = (root / path).read_text(encoding="utf-8")
    except OSError:
        return f"{path.as_posix()}: missing; run `python -m labkit notebook --lab {lab.id}`"
    if current != render(lab, root=root):
        return (
            f"{path.as_posix()}: stale: the page, the manifest or a program changed since it was "
            f"generated; run `python -m labkit notebook --lab {lab.id}` (or `make notebooks`)"
        )
    return None
