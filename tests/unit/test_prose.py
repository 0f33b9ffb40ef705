"""Numbers in prose: a typed number that measures fails unless a marker or a declaration binds it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from labkit import manifest, prose
from labkit.errors import LabError

PAGE = "docs/labs/lab-7/index.md"
NOTES = "docs/labs/lab-7/notes.md"
VALUES = {
    "slow_median": {"value": 1.3214, "format": "seconds", "text": "1.32 s"},
    "finder_total": {"value": 0.978, "format": "share", "text": "97.8%"},
    "bench_n": {"value": 5000, "format": "count", "text": "5,000"},
    "finder_lines": {"value": 3, "format": "count", "text": "3"},
    "py_spy_version": {"value": "0.4.2", "format": "text", "text": "0.4.2"},
}
MANIFEST = """\
format_version: 1
id: lab-7
title: A test lab
page: docs/labs/lab-7/index.md
programs: [labs/prog]
steps:
  - id: slow
    kind: profile
    command: [labs/prog/main.py]
    ready: running
  - id: bench
    kind: benchmark
    command: [labs/prog/bench.py, --n, "5000", --repeats, "5"]
claims:
  - id: finder_dominates
    text: the finder is on the stack in at least 90% of the samples
    value: profiles.slow.functions.finder.total_share
    op: ">="
    than: 0.9
    expect: holds
    evidence: measured
  - id: notes_claim
    page: docs/labs/lab-7/notes.md
    text: the fix is at least 1,000 times faster
    value: benchmark.speedup
    op: ">="
    than: 1000
    expect: holds
    evidence: measured
"""


def make_lab(root: Path, figures: str = "") -> manifest.Lab:
    (root / "labs" / "prog").mkdir(parents=True, exist_ok=True)
    (root / "docs" / "labs" / "lab-7").mkdir(parents=True, exist_ok=True)
    (root / NOTES).write_text("Notes.\n", encoding="utf-8")
    (root / PAGE).write_text("# Lab\n", encoding="utf-8")  # a manifest's page must exist
    (root / "labs" / "prog" / "main.py").write_text("def finder():\n    pass\n", encoding="utf-8")
    path = root / "labs" / "lab-7.yml"
    path.write_text(MANIFEST + figures, encoding="utf-8")
    return manifest.load(path, root=root)


def problems(root: Path, page: str, *, figures: str = "", notes: str = "Notes.\n") -> list[str]:
    lab = make_lab(root, figures)
    return prose.unbound(lab, texts={PAGE: page, NOTES: notes}, values=VALUES)


def test_a_typed_copy_of_a_value_fails_naming_page_line_and_value(tmp_path: Path) -> None:
    found = problems(tmp_path, "# Lab\n\nThe slow finder took 1.32 s per call.\n")
    assert len(found) == 1
    assert found[0].startswith(f'{PAGE}:3: "1.32 s" in prose copies the measured value slow_median')
    assert "<!-- value: slow_median -->1.32 s<!-- /value -->" in found[0]
    assert "figures: in labs/lab-7.yml" in found[0]


def test_a_copy_of_a_unitless_value_fails_and_a_changed_n_fails_as_a_quantity(tmp_path: Path) -> None:
    found = problems(tmp_path, "We timed 5,000 values.\nWe measured n = 4,000 only.\n")
    assert [p.split(" in prose")[0] for p in found] == [f'{PAGE}:1: "5,000"', f'{PAGE}:2: "n = 4,000"']
    assert "bench_n" in found[0]


def test_a_percentage_in_prose_fails(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "Intro.\n\nThe finder holds 42% of the samples.\n")
    assert found.startswith(f'{PAGE}:3: "42%" in prose is a number with a unit')


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("4003x faster", "4003x"),
        ("1000x+ faster", "1000x+"),
        ("12.41 s long", "12.41 s"),
        ("3\u00a0ms long", "3 ms"),
        ("355 µs long", "355 µs"),
        ("100 Hz", "100 Hz"),
        ("199 samples", "199 samples"),
        ("48 req/s", "48 req/s"),
        ("48 requests per second", "48 requests per second"),
        ("30 seconds", "30 seconds"),
        ("2 minutes", "2 minutes"),
        ("10-second recordings", "10-second"),
        ("5 batches", "5 batches"),
        ("2,963× faster", "2,963×"),
        ("40 times faster", "40 times"),
    ],
)
def test_numbers_with_a_unit_fail(tmp_path: Path, typed: str, found: str) -> None:
    (problem,) = problems(tmp_path, f"It was {typed} here.\n")
    assert problem.startswith(f'{PAGE}:1: "{found}" in prose is a number with a unit'), problem


def test_a_unit_after_a_line_break_and_a_number_in_a_heading_fail(tmp_path: Path) -> None:
    found = problems(tmp_path, "## 42% of the time\n\nIt took 30\nseconds.\n")
    assert [p.split(" in prose")[0] for p in found] == [f'{PAGE}:1: "42%"', f'{PAGE}:3: "30 seconds"']


@pytest.mark.parametrize(
    "page",
    [
        "Before.\n\n```text\nIt holds 42% and took 1.32 s.\n```\n\nAfter.\n",
        "!!! note\n\n    ```bash\n    sleep 42s  # 42%\n    ```\n",
        "Before.\n\n    an indented code block: 42%\n\nAfter.\n",
        "Run `--duration 30 # 42%` to see it.\n",
        "Run ``a `42%` b`` to see it.\n",
        "It holds <!-- value: finder_total -->97.8%<!-- /value --> of them.\n",
        "Before.\n\n<!-- begin: frame-table slow -->\n\n<td>42%</td>\n\n<!-- end: frame-table slow -->\n",
        "Text <!-- an editor's note: 42% -->.\n\n<!--\n1.32 s\n-->\n",
        "So the finder is on the stack in at least\n90% of the samples.\n",
        "See [the table](data/42%25.html) and <img src=x.svg style='width:42%'>.\n",
        "Step 3 reads the graph in 3 parts; see step 3.\n",
        "Install py-spy 0.4.3 with Python 3.12 (released 2026-06-21); ptrace_scope 0–3.\n",
        "1. First\n2. Second\n\nListen on 127.0.0.1:8000, port 8000.\n",
    ],
    ids=[
        "fence",
        "fence-in-admonition",
        "indented-code",
        "code-span",
        "double-backtick-span",
        "value-marker",
        "generated-block",
        "html-comment",
        "claim-text",
        "url-and-attribute",
        "small-integers",
        "versions-and-dates",
        "lists-and-addresses",
    ],
)
def test_numbers_that_do_not_measure_or_are_bound_pass(tmp_path: Path, page: str) -> None:
    assert problems(tmp_path, page) == []


def test_a_claim_binds_its_numbers_on_its_own_page_only(tmp_path: Path) -> None:
    sentence = "In short, the fix is at least 1,000 times faster.\n"
    assert problems(tmp_path, "Intro.\n", notes=sentence) == []
    (found,) = problems(tmp_path, sentence)
    assert found.startswith(f'{PAGE}:1: "1,000 times"')


def test_declared_figures_pass_and_an_unused_declaration_fails(tmp_path: Path) -> None:
    figures = """\
figures:
  - text: n = 5,000
    kind: input
    step: bench
    why: the benchmark's batch size
  - text: 4003x
    kind: cited
    source: the original article's benchmark table
    page: docs/labs/lab-7/index.md
"""
    assert problems(tmp_path, "We used n = 5,000, and the article\nsays 4003x.\n", figures=figures) == []
    # a declaration binds only on its page: 4003x on the notes page fails, and the declaration is unused
    found = problems(tmp_path, "We used n = 5,000.\n", notes="The article says 4003x.\n", figures=figures)
    assert [p.split(" in prose")[0] for p in found[:1]] == [f'{NOTES}:1: "4003x"']
    assert re.match(
        r'labs/lab-7\.yml:\d+: figure "4003x" is not in the prose of docs/labs/lab-7/index\.md', found[1]
    )
    assert len(found) == 2


def test_a_threshold_figure_binds_the_claims_number(tmp_path: Path) -> None:
    figures = """\
figures:
  - text: at least 90% of the flame graph
    kind: threshold
    claim: finder_dominates
"""
    assert problems(tmp_path, "We chose at least 90% of the flame graph.\n", figures=figures) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  - text: 4003x\n    kind: cited\n", "'source' is a required property"),
        ("  - text: n = 5,000\n    kind: input\n", "'why' is a required property"),
        ("  - text: 4003x\n    kind: guessed\n    why: x\n", "is not one of"),
        ("  - text: no number here\n    kind: cited\n    source: x\n", "does not match"),
        ("  - text: 4003x\n    kind: cited\n    source: x\n    typo: y\n", "Additional properties"),
        ("  - text: n = 4,000\n    kind: input\n    step: bench\n    why: x\n", "has no 4000 in its command"),
        ("  - text: n = 5,000\n    kind: input\n    step: nope\n    why: x\n", "names step 'nope'"),
        ("  - text: under 2%\n    kind: threshold\n    claim: finder_dominates\n", "is the threshold of"),
        (
            "  - text: 4003x\n    kind: cited\n    source: x\n    page: docs/other.md\n",
            "not one of the lab's",
        ),
    ],
)
def test_a_malformed_figure_names_file_and_line(tmp_path: Path, entry: str, message: str) -> None:
    first = MANIFEST.count("\n") + 2  # the entry's first line, after "figures:"
    with pytest.raises(LabError) as caught:
        make_lab(tmp_path, "figures:\n" + entry)
    where = re.search(r"labs/lab-7\.yml:(\d+)(:\d+)?: ", str(caught.value))
    assert where and first <= int(where[1]) < first + entry.count("\n"), caught.value
    assert message in str(caught.value)
