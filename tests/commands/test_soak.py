"""`make soak`: N measurements into a scratch folder, a per-claim stability summary, never docs/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import (
    assert_no_process_left,
    copy_repo,
    hash_tree,
    labkit,
    labkit_argv,
    labkit_env,
    processes_mentioning,
    scaffold,
    wait_for,
)

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


# --- LOAD=1 (the Makefile passes it as LABKIT_SOAK_LOAD=1) ---------------------------------------------

LOADED = {"LABKIT_SOAK_LOAD": "1"}


def load_processes(copy: Path) -> list[int]:
    """The soak's CPU loop started from this copy (its command line names the tag and the copy)."""
    return [pid for pid, cmd in processes_mentioning(str(copy)) if "labkit-soak-load" in cmd]


def start_soak(copy: Path, runs: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        labkit_argv(copy, "soak", "--lab", NEW, "--runs", str(runs), "--quick"),
        cwd=copy,
        env=labkit_env(copy, LOADED),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_a_loaded_soak_keeps_a_cpu_loop_running_and_says_so(scaffolded: Path) -> None:
    proc = start_soak(scaffolded, runs=2)
    try:
        seen = set(wait_for(lambda: load_processes(scaffolded), timeout=60, what="the load", proc=proc))
        while proc.poll() is None:
            seen.update(load_processes(scaffolded))
            time.sleep(0.05)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert len(seen) == 1, seen  # one loop for the whole soak
    assert not load_processes(scaffolded)
    assert_no_process_left(scaffolded)
    summary = json.loads((scaffolded / f"out/soak/{NEW}.json").read_text())
    assert summary["runs"] == summary["successes"] == 2
    assert summary["background"]["kind"] == "cpu-loop" and summary["background"]["cores"] == 1
    assert "CPU-bound" in summary["background"]["description"]
    assert "under load" in output and str(seen.pop()) in output


def test_an_unloaded_soak_names_no_load(scaffolded: Path) -> None:
    run = labkit(scaffolded, "soak", "--lab", NEW, "--runs", "1", "--quick")
    assert run.returncode == 0, str(run)
    assert json.loads((scaffolded / f"out/soak/{NEW}.json").read_text())["background"] is None
    assert "under load" not in run.output


def test_ctrl_c_during_a_loaded_soak_stops_the_load(scaffolded: Path, tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo", source=scaffolded)
    proc = start_soak(copy, runs=5)
    try:
        (pid,) = wait_for(lambda: load_processes(copy), timeout=60, what="the load", proc=proc)
        os.kill(proc.pid, signal.SIGINT)  # the toolkit only: its children run in their own sessions
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (130, -signal.SIGINT) and "interrupted" in output, output
    assert not load_processes(copy), f"the load (pid {pid}) outlived the toolkit"
    assert_no_process_left(copy)
