"""`make soak`: N measurements into a scratch folder, a per-claim stability summary, never docs/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import assert_no_process_left, copy_repo, hash_tree, labkit, scaffold

NEW = "lab-6"


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository with the scaffold's small lab in it (a second or two per run)."""
    copy = copy_repo(tmp_path_factory.mktemp("soak") / "repo")
    made = scaffold(copy, "--lab", NEW, "--title", "Soaked")
    assert made.returncode == 0, made.stderr
    return copy


def test_soak_reports_every_claim_and_step_and_leaves_docs_alone(scaffolded: Path) -> None:
    before = hash_tree(scaffolded / "docs")
    run = labkit(scaffolded, "soak", "--lab", NEW, "--runs", "2")
    assert run.returncode == 0, str(run)
    assert_no_process_left(scaffolded)
    assert hash_tree(scaffolded / "docs") == before  # measured into .labs/soak/, never docs/
    assert not (scaffolded / f"docs/labs/{NEW}/data").exists()
    summary = json.loads((scaffolded / f"out/soak/{NEW}.json").read_text())
    assert summary["runs"] == 2 and summary["successes"] == 2
    claim = summary["claims"]["crunch_dominates"]
    assert claim["verdicts"] == {"holds": 2} and claim["as_expected"] == 2
    low, high = claim["value_range"]
    assert 0.5 <= low <= high <= 1
    assert claim["smallest_margin"] > 0  # the interval cleared 0.5 in both runs
    assert set(summary["step_wall_s"]) == {"service"}
    spread = summary["step_wall_s"]["service"]
    assert spread["min"] <= spread["median"] <= spread["max"]
    assert [len(r["steps"]) for r in summary["per_run"]] == [1, 1]
    assert "2/2 runs succeeded" in run.flat and "crunch_dominates" in run.flat


def test_soak_fails_when_a_claim_does_not_come_out_as_expected(scaffolded: Path, tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo", source=scaffolded)
    manifest = copy / f"labs/{NEW}.yml"
    # The same sentence, now expected to fail: every run contradicts the expectation.
    manifest.write_text(manifest.read_text().replace("expect: holds", "expect: fails"))
    run = labkit(copy, "soak", "--lab", NEW, "--runs", "1")
    assert run.returncode == 1, str(run)
    summary = json.loads((copy / f"out/soak/{NEW}.json").read_text())
    assert summary["claims"]["crunch_dominates"]["as_expected"] == 0
    assert summary["every_claim_as_expected"] is False
    assert "NOT stable" in run.flat


def test_soak_needs_a_lab(scaffolded: Path) -> None:
    run = labkit(scaffolded, "soak")
    assert run.returncode == 2 and "make soak LAB=<id>" in run.flat
