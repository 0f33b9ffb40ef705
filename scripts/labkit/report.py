"""The run report: every lab's last measurement on one page, like Sphinx-Gallery's execution times.

It is rebuilt from the labs' results.json files, so it changes only when a lab
was measured (a no-change run writes nothing) and `make check` can verify it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from labkit import blocks, formats, words
from labkit.errors import LabError
from labkit.manifest import Lab
from labkit.publish import read_results
from labkit.records import Results

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
    """How many samples each profile took, the profile named by its step's title."""
    return [
        f"{words.step_title(lab.steps, step)}: {formats.count(p['samples'])} samples"
        for step, p in results["profiles"].items()
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


def render(labs: Sequence[Lab], *, root: Path) -> tuple[str, str] | None:
    """(current page, regenerated page); None when the site has no report page."""
    path = root / PAGE
    if not path.exists():
        return None
    current = path.read_text(encoding="utf-8")
    begin, end = f"<!-- begin: {MARK} -->", f"<!-- end: {MARK} -->"
    if begin not in current or end not in current:
        raise LabError(f"{PAGE}: expected the lines {begin!r} and {end!r}")
    head, rest = current.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = head + begin + "\n\n" + "\n".join(block(labs, root=root)) + "\n\n" + end + tail
    return current, new


def write(labs: Sequence[Lab], *, root: Path) -> bool:
    """Rewrite the report page if it changed; True when it was written."""
    rendered = render(labs, root=root)
    if rendered is None or rendered[0] == rendered[1]:
        return False
    tmp = (root / PAGE).with_name(PAGE.name + ".new")
    tmp.write_text(rendered[1], encoding="utf-8")
    os.replace(tmp, root / PAGE)
    return True


def check(labs: Sequence[Lab], *, root: Path) -> list[str]:
    rendered = render(labs, root=root)
    if rendered is not None and rendered[0] != rendered[1]:
        return [f"{PAGE}: the run report does not match the labs' results; run `make assets` to rewrite it"]
    return []
