"""`make check` and what it guards: numbers typed into the lab pages fail it, and the PUBLISHED Lab 1 data
(docs/labs/lab-1/, read, never written) is consistent with its own recordings and leaks nothing.

The consistency tests read docs/ on purpose: they check the published data, so a regeneration changes
their input. The unit tests read a frozen copy instead (tests/unit/data/).
"""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from labkit import benchmark, privacy, stacks

from tests.helpers import ROOT, copy_repo, labkit

LAB1_RESULTS = ROOT / "docs" / "labs" / "lab-1" / "data" / "results.json"


@pytest.fixture(scope="module")
def _committed_results() -> dict[str, Any]:
    """docs/labs/lab-1/data/results.json as published."""
    loaded: dict[str, Any] = json.loads(LAB1_RESULTS.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def results(_committed_results: dict[str, Any]) -> dict[str, Any]:
    """A private copy of the published docs/labs/lab-1/data/results.json."""
    return deepcopy(_committed_results)


# --- `make check` on a copy whose pages have typed numbers -------------------------------------------


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_make_check_fails_on_numbers_typed_into_a_copy_of_the_lab_pages(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    page = copy / "docs/labs/lab-1/index.md"
    text = page.read_text(encoding="utf-8")
    anchor = "How to read it:\n"
    page.write_text(text.replace(anchor, "The finder holds 42% of the samples.\n\n" + anchor, 1), "utf-8")
    check = copy / "docs/labs/lab-1/fact-check.md"
    facts = check.read_text(encoding="utf-8")
    marked = "n = <!-- value: bench_n -->5,000<!-- /value -->"
    assert marked in facts
    check.write_text(facts.replace(marked, "n = 4,000"), "utf-8")

    run = labkit(copy, "check", "--lab", "lab-1")

    assert run.returncode != 0, run
    line = _line_of(text, anchor)
    assert f'docs/labs/lab-1/index.md:{line}: "42%" in prose' in run.flat, run
    assert f'docs/labs/lab-1/fact-check.md:{_line_of(facts, marked)}: "n = 4,000" in prose' in run.flat, run


# --- the published Lab 1 data ------------------------------------------------------------------------


def test_committed_benchmark_is_reproduced(results: dict[str, Any]) -> None:
    import json
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "docs" / "labs" / "lab-1" / "data"
    bench = results["benchmark"]
    summary = benchmark.summarise(json.loads((folder / bench["raw"]).read_text(encoding="utf-8")))
    for field, value in summary.items():
        assert bench[field] == value, field


def test_committed_lab1_functions_match_their_recording(_committed_results: dict[str, Any]) -> None:
    """The published shares are exactly what stacks derives from the published recording."""
    folder = Path(__file__).resolve().parents[2] / "docs" / "labs" / "lab-1" / "data"
    for step, profile in _committed_results["profiles"].items():
        rec = stacks.parse(stacks.load(folder / profile["files"]["speedscope"]))
        derived = stacks.functions(rec, confidence=profile["ci_level"])
        # the published entries add the per-instant figures, which need the recording's instants
        published = [
            {k: v for k, v in f.items() if not k.startswith("total_per_instant")}
            for f in profile["functions"]
        ]
        assert derived == published, step
        assert rec.sample_count == profile["samples"], step


def test_committed_lab1_data_is_clean() -> None:
    repo = Path(__file__).resolve().parents[2]
    folder = repo / "docs" / "labs" / "lab-1"
    assert privacy.scan(privacy.tree(folder), root=repo) == []


# --- every published picture is redrawn by `make check` and compared byte for byte ---------------------

PICTURES = [
    ("lab-1", "bench.scaling.svg"),  # the scaling plot (matplotlib)
    ("lab-1", "change.svg"),  # the differential flame graph
    ("lab-1", "slow.svg"),  # a flame graph
    ("lab-2", "latency.svg"),  # the latency distributions (matplotlib)
]


@pytest.fixture(scope="module")
def committed_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("pictures") / "repo")


@pytest.mark.parametrize(("lab", "name"), PICTURES)
def test_one_changed_byte_of_a_picture_fails_check(committed_copy: Path, lab: str, name: str) -> None:
    path = committed_copy / "docs" / "labs" / lab / "data" / name
    original = path.read_bytes()
    at = original.index(b"<svg") + 1  # a byte that no renderer would write differently: the element's name
    path.write_bytes(original[:at] + b"S" + original[at + 1 :])
    try:
        run = labkit(committed_copy, "check", "--lab", lab)
        assert run.returncode != 0, str(run)
        assert name in run.output, str(run)
    finally:
        path.write_bytes(original)
    assert labkit(committed_copy, "check", "--lab", lab).returncode == 0, "the copy is whole again"
