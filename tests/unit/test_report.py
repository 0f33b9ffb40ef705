"""The run report (docs/reports.md): steps by their titles, dates a person reads, every claim counted."""

from __future__ import annotations

import re
from pathlib import Path

from labkit import manifest, report
from labkit.resultfile import read_results

ROOT = Path(__file__).resolve().parents[2]


def labs() -> list[manifest.Lab]:
    return [manifest.load(p.relative_to(ROOT), root=ROOT) for p in manifest.discover(ROOT)]


def test_every_claim_is_counted_and_the_cited_ones_are_named() -> None:
    html = "\n".join(report.block(labs(), root=ROOT))
    results = read_results(ROOT / labs()[0].data_dir)
    assert results is not None
    total = len(results["claims"])
    cited = sum(c["verdict"] == "cited" for c in results["claims"])
    assert cited > 0, "Lab 1 cites py-spy's documentation"
    assert f"{total} of {total} as its pages say ({cited} cited)" in html


def test_no_step_id_and_no_machine_time_reaches_the_reader() -> None:
    html = "\n".join(report.block(labs(), root=ROOT))
    shown = re.sub(r"<[^>]+>", " ", html)
    for lab in labs():
        for step in lab.steps:
            if "_" in step.id:
                assert step.id not in shown, step.id
    assert not re.search(r"\d{4}-\d\d-\d\dT", shown)
    assert re.search(r"\b\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC\b", shown)


def test_the_table_is_four_columns_that_link_each_lab_and_fold_the_steps() -> None:
    html = "\n".join(report.block(labs(), root=ROOT))
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", html)
    assert head is not None and head.group(1).count("<th>") == 4
    for lab in labs():
        assert f'<a href="labs/{lab.id}/index.html">' in html
    assert html.count("<details><summary>Per step</summary>") == len(labs())
