"""Each lab as a Jupyter notebook, generated from its manifest and its page (as jupytext or
Sphinx-Gallery make one from a source file): `docs/labs/<id>/<id>.ipynb`.

Pure: manifest + page text in, an nbformat 4 notebook out; nothing runs here. The page's prose
becomes Markdown cells, in page order. Where the page shows a generated block (a flame graph, a
table), the notebook has code cells instead: first the manifest's steps that the block needs (in
manifest order, each once), then a cell that shows the block from the learner's own run
(``labkit.session``). A value marker's text is a number of the published run, so a Markdown cell
shows the value's name instead (``⟨slow_finder_total⟩``), and the last cells print the learner's
value under each name. Admonitions and tabs, which Jupyter does not render, become quotes and
labelled paragraphs. The notebook carries no outputs, so its bytes depend only on the manifest and
the page, and `make check` compares the committed file with what this module makes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat
from nbformat import NotebookNode

from labkit import kinds, pages
from labkit.manifest import Lab, Step

GENERIC = {"claims", "provenance"}  # blocks that show the whole run: every step runs before them
_ADMONITION = re.compile(
    r'^(?P<indent>[ \t]*)(?:!!!|\?\?\?\+?)[ \t]+(?P<type>[\w-]+)(?:[ \t]+"(?P<title>.*)")?'
)
_TAB = re.compile(r'^(?P<indent>[ \t]*)===[ \t]+"(?P<title>.*)"')
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")
_ANCHOR_LINK = re.compile(r"\]\(#([\w-]+)\)")
_PLACEHOLDER = "`⟨{name}⟩`"
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def path_of(lab: Lab) -> Path:
    """Where a lab's notebook is published: beside its page, named after the lab (a download)."""
    return lab.page.parent / f"{lab.id}.ipynb"


@dataclass(frozen=True)
class _Block:
    kind: str
    arg: str | None


def _segments(text: str) -> list[list[str] | _Block]:
    """The page as prose runs and generated blocks, in order (``pages.regions`` tells them apart)."""
    lines = text.split("\n")
    out: list[list[str] | _Block] = [[]]
    for line, region in zip(lines, pages.regions(text), strict=True):
        if region != "block":
            if not isinstance(out[-1], list):
                out.append([])
            current = out[-1]
            assert isinstance(current, list)
            current.append(line)
        elif (begin := pages.BEGIN.match(line)) is not None:
            out.append(_Block(begin["kind"], begin["arg"]))
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _slug(text: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    plain = re.sub(r"<[^>]+>|[`*]", "", text)
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^\w\s-]", "", plain).strip().lower()
    return re.sub(r"[-\s]+", "-", plain)


def _jupyter_anchor(text: str) -> str:
    """The anchor Jupyter (JupyterLab, nbconvert) gives a heading: its text, spaces as hyphens."""
    return re.sub(r"<[^>]+>|[`*]", "", text).strip().replace(" ", "-")


def _anchors(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line, region in zip(text.split("\n"), pages.regions(text), strict=True):
        heading = _HEADING.match(line)
        if region == "prose" and heading:
            found.setdefault(_slug(heading[2]), _jupyter_anchor(heading[2]))
    return found


def markdown(lines: list[str], *, anchors: dict[str, str]) -> str:
    """A run of page prose as notebook Markdown: values named, admonitions quoted, tabs labelled."""
    out: list[str] = []
    open_: list[tuple[int, bool]] = []  # (body indentation, quoted) of each open admonition or tab
    blanks = 0  # blank lines wait for the next line: it decides whether they are still in a quote

    def link(m: re.Match[str]) -> str:
        return f"](#{quote(anchors.get(m[1], m[1]), safe='-:,._~()!*')})"

    for line in lines:
        if not line.strip():
            blanks += 1
            continue
        while open_ and _indent(line) < open_[-1][0]:
            open_.pop()
        depth = open_[-1][0] if open_ else 0
        prefix = "> " * sum(quoted for _, quoted in open_)
        out += [prefix.rstrip()] * min(blanks, 1)
        blanks = 0
        body = line[depth:] if line[:depth].strip() == "" else line.lstrip()
        body = pages.VALUE.sub(lambda m: _PLACEHOLDER.format(name=m["name"]), body)
        body = _ANCHOR_LINK.sub(link, body)
        admonition, tab = _ADMONITION.match(line), _TAB.match(line)
        if admonition:
            title = admonition["title"] or admonition["type"].capitalize()
            out += [f"{prefix}> **{title}**"]
            open_.append((_indent(line) + 4, True))
        elif tab:
            out += [f"{prefix}**{tab['title']}**"]
            open_.append((_indent(line) + 4, False))
        else:
            out.append(f"{prefix}{body}".rstrip())
    return "\n".join(out).strip("\n")


def _block_steps(lab: Lab, block: _Block) -> list[str]:
    """The steps a page block shows: the one it names, or those of the kind that offers it."""
    if block.kind in GENERIC:
        return [s.id for s in lab.steps]
    if block.arg and any(s.id == block.arg for s in lab.steps):
        return [block.arg]
    offering = [k.name for k in kinds.REGISTRY.values() if block.kind in k.blocks]
    return [s.id for s in lab.steps if s.kind in offering]


def _reads(text: str, lab: Lab) -> set[str]:
    """The step ids whose results the page reads: in a block, a value marker or one of its claims."""
    paths = [lab.values[m["name"]]["path"] for m in pages.VALUE.finditer(text) if m["name"] in lab.values]
    for claim in lab.claims:
        if claim.get("page", lab.page.as_posix()) == lab.page.as_posix():
            paths += [str(claim.get(key, "")) for key in ("value", "than")]
    ids = {p.split(".")[1] for p in paths if p.count(".") >= 1}
    for segment in _segments(text):
        if isinstance(segment, _Block) and segment.kind not in GENERIC:
            ids |= set(_block_steps(lab, segment))
    return ids


_STEP_FIELD = re.compile(r"\{(\w+)\.\w+\}")  # `{web.port}`: a command that needs step `web`


def included(lab: Lab, text: str) -> list[Step]:
    """The steps the notebook runs: those the page reads, those another step needs, and the stops.

    A step nothing reads or needs captures evidence for another page (the fact check's probes, which
    need privileges or other Pythons); `make lab-N` runs those.
    """
    reads = _reads(text, lab)
    needed = {name for s in lab.steps for name in (s.target, s.before, s.after, *s.stop) if name}
    needed |= {
        m[1]
        for s in lab.steps
        for arg in (*s.command, *(s.quick_command or []))
        for m in _STEP_FIELD.finditer(arg)
    }
    return [s for s in lab.steps if s.id in reads or s.id in needed or s.stop]


def _shell(argv: list[str], *, seed: int | None) -> str:
    words = [a.replace("{seed}", str(seed)).replace("{py-spy}", "py-spy") for a in argv]
    if words and words[0].endswith(".py"):
        words = ["python", *words]
    return " ".join(w if re.fullmatch(r"[\w./:{}=,@%+-]+", w) else repr(w) for w in words)


def _run_source(lab: Lab, step: Step) -> str:
    lines = [f"# Step `{step.id}` ({step.kind}): {step.title or step.id}"]
    # Described by what the step does (its registered kind's traits), never by the kind's name.
    spy = kinds.uses_spy(step)
    if step.target:
        looks = "py-spy looks at" if spy else "it works on"
        lines.append(f"# {looks} the service of step `{step.target}`")
    elif spy and kinds.get(step.kind).honours_method:
        lines.append(f"# py-spy records: {_shell(step.command, seed=lab.seed)}")
        lines.append("# (by PID as the page does, or with the launch form: the first code cell says which)")
    elif step.stop:
        lines.append(f"# stops: {', '.join(step.stop)}")
    elif step.command:
        lines.append(f"# runs: {_shell(step.command, seed=lab.seed)}")
        if step.quick_command:
            lines.append(f"# (LABKIT_QUICK=1: {_shell(step.quick_command, seed=lab.seed)})")
    lines.append(f'lab.run("{step.id}")')
    return "\n".join(lines)


def _show_source(block: _Block) -> str:
    if block.kind == "claims":
        return "# The claims of the page, judged on your run; then every value the text names\nlab.verdicts()"
    if block.kind == "provenance":
        return '# Where your run was measured\nlab.show("provenance")'
    arg = f', "{block.arg}"' if block.arg else ""
    return f'lab.show("{block.kind}"{arg})'


def _intro(lab: Lab, skipped: list[Step]) -> str:
    page = lab.page.as_posix()
    lines = [
        f"*This notebook is generated from `{lab.source.as_posix()}` and `{page}` by "
        f"`make notebooks` (`python -m labkit notebook --lab {lab.id}`). Do not edit it by hand: edit "
        "the page or the manifest and generate it again; `make check` fails when it is stale.*",
        "",
        f"It is **{lab.title}** ({lab.id}) as a notebook: the page's text, and code cells that run the "
        "lab's steps for real on your machine (real processes, real py-spy) with the same toolkit as "
        f"`make {lab.id}`. Run it from a clone of the repository with the project's Python as the "
        "kernel: after `make venv`, `.venv/bin/python -m pip install jupyterlab` and "
        "`.venv/bin/jupyter lab`. `make notebooks` runs it without Jupyter and keeps the executed copy "
        f"in `out/{lab.id}/notebook/`, where your run's files go too; nothing under `docs/` changes.",
        "",
        "Where the page shows a number from the published run, this notebook shows its name, such as "
        f"{_PLACEHOLDER.format(name='name')}: the cell after the claims prints your run's value under "
        "each name. Set `LABKIT_QUICK=1` in the kernel's environment for the short configuration "
        "(fewer, smaller runs: quicker, but too small to judge the claims). Every process a cell "
        "starts is stopped when the cell is interrupted, when the last cell runs, and when the "
        "kernel shuts down.",
    ]
    if skipped:
        names = ", ".join(f"`{s.id}`" for s in skipped)
        lines += [
            "",
            f"Not run here: {names}, which capture evidence for other pages of the lab "
            f"(`make {lab.id}` runs them).",
        ]
    return "\n".join(lines)


def build(lab: Lab, text: str) -> NotebookNode:
    """The notebook of one lab from its manifest and its page's text (no outputs, fixed cell ids)."""
    steps = included(lab, text)
    order = [s.id for s in steps]
    anchors = _anchors(text)
    cells: list[NotebookNode] = [
        nbformat.v4.new_markdown_cell(_intro(lab, [s for s in lab.steps if s not in steps])),
        nbformat.v4.new_code_cell(
            "from labkit.session import Session\n\n"
            f"# Reads labs/{lab.id}.yml from this clone, checks what the machine allows (ptrace_scope),\n"
            "# and says how py-spy will reach the programs: by PID as the page does, or the launch form.\n"
            f'lab = Session.start("{lab.id}")'
        ),
    ]
    done: set[str] = set()
    for segment in _segments(text):
        if isinstance(segment, list):
            source = markdown(segment, anchors=anchors)
            if source.strip():
                cells.append(nbformat.v4.new_markdown_cell(source))
            continue
        wanted = [i for i in _block_steps(lab, segment) if i in order]
        last = max((order.index(i) for i in wanted), default=-1)
        for step in steps[: last + 1]:
            if step.id not in done:
                cells.append(nbformat.v4.new_code_cell(_run_source(lab, step)))
                done.add(step.id)
        cells.append(nbformat.v4.new_code_cell(_show_source(segment)))
    rest = [s for s in steps if s.id not in done]
    if rest:
        cells.append(nbformat.v4.new_markdown_cell("The lab's remaining steps:"))
        cells += [nbformat.v4.new_code_cell(_run_source(lab, s)) for s in rest]
    cells += [
        nbformat.v4.new_markdown_cell("Stop every process this notebook started (services still running)."),
        nbformat.v4.new_code_cell("lab.close()"),
    ]
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"{lab.id}-{number:03d}"  # stable ids: the same input gives the same bytes
    nb: NotebookNode = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": dict(KERNEL), "language_info": {"name": "python"}}
    return nb


def dumps(nb: NotebookNode) -> str:
    """The notebook's file text (nbformat's own layout, one newline at the end)."""
    text: str = nbformat.writes(nb, version=4)
    return text.rstrip("\n") + "\n"


def render(lab: Lab, *, root: Path) -> str:
    """The text the lab's notebook file should hold now."""
    return dumps(build(lab, (root / lab.page).read_text(encoding="utf-8")))


def stale(lab: Lab, *, root: Path) -> str | None:
    """Why the committed notebook differs from what the manifest and page give, or None."""
    path = path_of(lab)
    try:
        current = (root / path).read_text(encoding="utf-8")
    except OSError:
        return f"{path.as_posix()}: missing; run `python -m labkit notebook --lab {lab.id}`"
    if current != render(lab, root=root):
        return (
            f"{path.as_posix()}: stale: the page or the manifest changed since it was generated; run "
            f"`python -m labkit notebook --lab {lab.id}` (or `make notebooks`)"
        )
    return None
