"""The run report: every lab's last measurement on one page, like Sphinx-Gallery's execution times.

It is rebuilt from the labs' results.json files, so it changes only when a lab
was measured (a no-change run writes nothing) and `make check` can verify it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from labkit import blocks, formats, kinds, manifest, store, words
from labkit.errors import LabError
from labkit.manifest import Lab
from labkit.records import Results
from labkit.resultfile import read_results

PAGE = Path("docs/reports.md")
MARK = "run-report"


def step_times(lab: Lab, results: Results) -> list[str]:
    """Each step's wall time by its title, in the order the steps ran: where a run's time goes."""
    out = []
    for s in results["provenance"].get("steps", []):
        took = formats.seconds(s["wall_s"]) if s["wall_s"] >= 0.001 else "< 1 ms"
        out.append(f"{words.step_title(lab.steps, s['id'])}: {took}")
    return out


def samples(lab: Lab, results: Results) -> list[str]:
    """Each step's headline count (how many samples a profile took), the step named by its title."""
    return [
        f"{words.step_title(lab.steps, step)}: {formats.count(h.number)} {h.unit}"
        for step, h in kinds.headlines(results)
    ]


def _link(lab: Lab) -> str:
    """The lab's page as the report links to it (the site builds `name.html` pages)."""
    target = Path(os.path.relpath(lab.page.with_suffix(".html"), PAGE.parent)).as_posix()
    return f'<a href="{formats.html_text(target)}">{formats.html_text(lab.title)}</a>'


def _details(lab: Lab, results: Results) -> str:
    """The per-step seconds and samples, collapsed: the table stays four columns wide."""
    items = "".join(
        f"<li>{formats.html_text(t)}</li>" for t in [*step_times(lab, results), *samples(lab, results)]
    )
    return f"<details><summary>Per step</summary><ul>{items}</ul></details>"


def rows(labs: Sequence[Lab], *, root: Path) -> list[list[str]]:
    out = []
    for lab in labs:
        results = read_results(root / lab.data_dir)
        if results is None:
            out.append([_link(lab), "not measured yet", "", ""])
            continue
        run = formats.seconds(results["provenance"].get("run_s", 0.0))
        out.append(
            [
                _link(lab),
                formats.html_text(words.date(results["generated_at"])),
                f"{run}{_details(lab, results)}",
                formats.html_text(str(words.tally(results.get("claims", [])))),
            ]
        )
    return out


def block(labs: Sequence[Lab], *, root: Path) -> list[str]:
    return blocks.table(
        ["Lab", "Measured", "Run time", "Claims"],
        rows(labs, root=root),
        caption="The last measurement of each lab, as written by <code>make assets</code>",
    )


def render(labs: Sequence[Lab], *, root: Path, into: Path | None = None) -> tuple[str, str] | None:
    """(current page, regenerated page); None when the site has no report page.

    ``into`` holds the results and the page to compare with: ``root``, or a QUICK run's mirror (whose
    report starts from docs/'s text, like its lab pages).
    """
    into = into or root
    path = root / PAGE
    if not path.exists():
        return None
    source = path.read_text(encoding="utf-8")
    begin, end = f"<!-- begin: {MARK} -->", f"<!-- end: {MARK} -->"
    if begin not in source or end not in source:
        raise LabError(f"{PAGE}: expected the lines {begin!r} and {end!r}")
    head, rest = source.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = head + begin + "\n\n" + "\n".join(block(labs, root=into)) + "\n\n" + end + tail
    if into == root:
        return source, new
    mirrored = into / PAGE
    return (mirrored.read_text(encoding="utf-8") if mirrored.exists() else ""), new


def write(labs: Sequence[Lab], *, root: Path, into: Path | None = None) -> bool:
    """Rewrite the report page (at ``into``) if it changed; True when it was written.

    A read-only docs/ or a full disk is a located error; the page is then left as it was.
    """
    into = into or root
    page, tmp = into / PAGE, store.temporary(into / PAGE)
    try:
        tmp.unlink(missing_ok=True)  # left by a killed run
        rendered = render(labs, root=root, into=into)
        if rendered is None or rendered[0] == rendered[1]:
            return False
        page.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.write_text(rendered[1], encoding="utf-8")
            os.replace(tmp, page)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        shown = page.relative_to(root).as_posix()
        raise LabError(
            f"{shown}: cannot be rewritten ({exc.strerror or exc}); the run report was left as it was"
        ) from exc
    return True


def all_labs(root: Path) -> tuple[list[Lab], list[str]]:
    """Every lab whose manifest loads, and the manifests that do not (the report needs them all)."""
    out, broken = [], []
    for path in manifest.discover(root):
        try:
            out.append(manifest.load(path.relative_to(root), root=root))
        except LabError:
            broken.append(path.relative_to(root).as_posix())
    return out, broken


def update(root: Path, *, into: Path) -> tuple[bool, str | None]:
    """Rewrite the report from every lab's results: (written, what to say).

    Not while a manifest does not load: its row would be lost, and a failed run never edits docs/.
    """
    labs, broken = all_labs(root)
    shown = (into / PAGE).relative_to(root).as_posix()
    if broken:
        return False, f"{shown} left as it was: {', '.join(broken)} does not load, and its row would be lost"
    if write(labs, root=root, into=into):
        return True, f"run report written to {shown}"
    return False, None


def check(labs: Sequence[Lab], *, root: Path, into: Path | None = None) -> list[str]:
    into = into or root
    fix = "`make assets`" if into == root else "`make assets QUICK=1`"
    shown = (into / PAGE).relative_to(root).as_posix()
    problems = []
    if store.temporary(into / PAGE).exists():
        problems.append(f"{shown}{store.TEMP}: an interrupted run left this; {fix} removes it")
    rendered = render(labs, root=root, into=into)
    if rendered is not None and rendered[0] != rendered[1]:
        problems.append(f"{shown}: the run report does not match the labs' results; run {fix} to rewrite it")
    return problems
