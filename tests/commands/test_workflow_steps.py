"""The workflow's other steps as commands: the labs for the matrix, the run report, a cell's summary."""

from __future__ import annotations

import json
from pathlib import Path

from labkit import artifacts, manifest
from labkit.errors import LabError

from tests.helpers import ROOT, copy_repo, labkit


def test_labs_is_the_matrix_as_json(tmp_path: Path) -> None:
    every = labkit(ROOT, "labs")
    assert every.returncode == 0 and json.loads(every.output) == [p.stem for p in manifest.discover(ROOT)]
    one = labkit(ROOT, "labs", "--only", "lab-2")
    assert json.loads(one.output) == ["lab-2"]
    none = labkit(ROOT, "labs", "--only", "lab-99")
    assert none.returncode == 2 and "no lab 'lab-99': there is no labs/lab-99.yml" in none.output, str(none)


def test_report_rewrites_the_run_report_from_the_results(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    for path in manifest.discover(copy):  # a tree whose every manifest loads: the report needs them all
        try:
            manifest.load(path.relative_to(copy), root=copy)
        except LabError:
            path.unlink()
    page = copy / "docs" / "reports.md"
    head, rest = page.read_text().split("<!-- begin: run-report -->", 1)
    page.write_text(
        head
        + "<!-- begin: run-report -->\n\nedited by hand\n\n<!-- end: run-report -->"
        + rest.split("<!-- end: run-report -->", 1)[1]
    )

    first, second = labkit(copy, "report"), labkit(copy, "report")

    assert "docs/reports.md: rewritten" in first.output, str(first)
    assert "docs/reports.md: unchanged" in second.output, str(second)
    assert "edited by hand" not in page.read_text()


def test_summary_is_markdown_for_the_job(tmp_path: Path) -> None:
    lab = manifest.load(Path("labs/lab-1.yml"), root=ROOT)
    cell = tmp_path / "cell"
    cell.mkdir()
    (cell / "output.txt").write_text("first line\n```\nlast line\n")
    artifacts.pack(lab, root=ROOT, out=cell, quick=False, code=0, wall_s=12.3, python="3.11")

    run = labkit(ROOT, "summary", "--cell", str(cell))

    assert run.returncode == 0, str(run)
    lines = run.output.splitlines()
    assert lines[0] == "## lab-1 on Python 3.11"
    assert "**ok** (done, exit 0) in 12.3 s." in lines and any(line.startswith("Claims: ") for line in lines)
    fenced = lines[lines.index("```") + 1 : len(lines) - 1]
    assert fenced == ["first line", "'''", "last line"], "the output's own fence would end the block"
