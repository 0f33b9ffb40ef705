"""What `make lab-N` and `make grade-N` print: the page's steps, one claims line, readable logs."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

from labkit import learner, manifest, resultfile
from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parents[2]

PAGE = """# A lab

## Before you start

Nothing measured here.

## Step 1: Start the `service`

```bash
python labs/slow_service/service.py --seed 1
```

## Step 2: Record it

It took <!-- value: slow_samples -->199<!-- /value --> samples.

## Step 3: Read the picture

<!-- begin: flamegraph fixed -->
<!-- end: flamegraph fixed -->

```text
## Step 9: not a heading, inside a code block
<!-- begin: benchmark-table -->
```

## Troubleshooting

<!-- begin: benchmark-table -->
<!-- end: benchmark-table -->
"""


def lab(name: str = "lab-1") -> manifest.Lab:
    return manifest.load(Path(f"labs/{name}.yml"), root=ROOT)


def results(name: str = "lab-1") -> dict[str, Any]:
    found = resultfile.read_results(ROOT / lab(name).data_dir)
    assert found is not None
    return dict(found)


def synthetic(tmp_path: Path) -> manifest.Lab:
    (tmp_path / "page.md").write_text(PAGE, encoding="utf-8")
    return dataclasses.replace(lab(), page=Path("page.md"), claims=[])


def test_sections_are_the_step_headings_outside_code(tmp_path: Path) -> None:
    titles = [title for title, _ in learner.sections(PAGE)]
    assert titles == ["Step 1: Start the service", "Step 2: Record it", "Step 3: Read the picture"]


def test_each_step_is_named_by_the_section_holding_its_block_or_value(tmp_path: Path) -> None:
    names = learner.places(synthetic(tmp_path), root=tmp_path, results=results())
    assert names["slow"] == "Step 2: Record it"  # its standard value slow_samples
    assert names["fixed"] == "Step 3: Read the picture"  # its flame graph block
    # the benchmark's table sits under Troubleshooting (not a step) or in code: evidence, by its title
    assert names["bench"] == "Evidence: Benchmark slow against fixed"
    assert names["help"].startswith("Evidence: ")
    for step, name in names.items():
        assert step not in name.split(": ", 1)[-1].split(), (step, name)


def test_a_step_without_blocks_is_placed_by_its_command(tmp_path: Path) -> None:
    page = PAGE.replace("--seed 1", "--fixed --seed 1").replace("flamegraph fixed", "flamegraph slow")
    (tmp_path / "page.md").write_text(page, encoding="utf-8")
    without = dataclasses.replace(lab(), page=Path("page.md"), claims=[], values={})
    names = learner.places(without, root=tmp_path, results=None)
    assert names["fixed"] == "Step 1: Start the service"  # runs the service with --fixed
    assert names["slow"] == "Step 3: Read the picture"  # its block comes first


def test_the_real_pages_name_their_profiles_by_a_step_heading() -> None:
    for name in ("lab-1", "lab-2"):
        names = learner.places(lab(name), root=ROOT, results=results(name))
        profiles = [s.id for s in lab(name).steps if s.kind == "profile"]
        for step in profiles:
            assert re.match(r"Step \d+: ", names[step]), (name, step, names[step])
        shown = " ".join(names.values())
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", shown), shown  # no step id such as done_slow


def test_progress_prints_a_heading_per_page_step_and_no_ids() -> None:
    lines: list[str] = []
    say = learner.Progress(
        {"slow": "Step 2: Record it", "quiet": "", "overhead": "Evidence: Overhead"},
        lambda t: lines.append(str(t)),
    )
    for message in (
        "slow: py-spy record for 2 s at 100 Hz",
        "slow: py-spy record for 2 s at 100 Hz (look 2)",
        "quiet: stopping traffic",
        "overhead: 2 rounds",
        "round 1 with py-spy: 100 batches in 1.0 s",
    ):
        say(message)
    assert lines == [
        "Step 2: Record it",
        "    py-spy record for 2 s at 100 Hz",
        "    py-spy record for 2 s at 100 Hz (look 2)",
        "    stopping traffic",
        "Evidence: Overhead",
        "    2 rounds",
        "    round 1 with py-spy: 100 batches in 1.0 s",
    ]
    assert not any(re.match(r"\s*\d+\. ", line) for line in lines), "nothing is numbered as a step"


def test_one_line_for_the_claims_counting_cited_ones() -> None:
    line = learner.claims_line(results(), quick=False, written="out/lab-1/claims.txt")  # type: ignore[arg-type]
    listed = results()["claims"]
    cited = sum(c["verdict"] == "cited" for c in listed)
    assert cited > 0
    assert line.startswith(f"{len(listed)} of {len(listed)} claims came out as its pages say ({cited} cited)")
    assert line.endswith("out/lab-1/claims.txt") and "\n" not in line
    text = learner.claims_text(results(), quick=False)  # type: ignore[arg-type]
    assert text.count("    page: ") == len(listed)
    assert "✓ refuted, as this page says" in text and "does not hold as expected" not in text


def test_the_next_lab_follows_the_site_navigation() -> None:
    after = learner.next_lab(lab("lab-1"), root=ROOT)
    assert after is not None and after.id == "lab-2"
    after = learner.next_lab(lab("lab-2"), root=ROOT)
    assert after is not None and after.id == "lab-3"
    after = learner.next_lab(lab("lab-3"), root=ROOT)
    assert after is not None and after.id == "lab-4"
    assert learner.next_lab(lab("lab-4"), root=ROOT) is None


def test_a_table_without_a_terminal_keeps_each_message_on_one_line() -> None:
    sink = io.StringIO()
    console = Console(file=sink, highlight=False, soft_wrap=True)  # a file: not a terminal
    assert not console.is_terminal
    hint = "your time still grows faster than n: something inside the loop walks over the values again " * 2
    learner.print_table(console, "make grade-1", ["check", "hint"], [["fast", Text(hint.strip())]])
    out = sink.getvalue()
    assert f"hint: {hint.strip()}" in out.splitlines()[-1], out
    assert "│" not in out and "┃" not in out


def test_claims_text_is_plain_json_free_text() -> None:
    text = learner.claims_text(results("lab-2"), quick=True)  # type: ignore[arg-type]
    assert text.splitlines()[0].endswith("(QUICK: not judged)")
    assert not text.lstrip().startswith("{")
    json.dumps(text)  # plain text, nothing the console would mark up
