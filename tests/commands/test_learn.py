"""The one FULL-configuration run of Lab 1, then the learner's run in the same copy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers import DATA, LAB, assert_no_process_left, copy_repo, hash_tree, labkit

# What a learner's run may write: its outputs, the toolkit's state, its exercise (made once) and bytecode
# caches (all git-ignored).
LEARNER_MAY_WRITE = ("out", ".labs", "exercises", "__pycache__")


@pytest.mark.full
def test_full_run_then_learner_run(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    run = labkit(copy, "assets", "--lab", LAB, "--force", timeout=1800)
    assert run.returncode == 0, str(run)
    assert_no_process_left(copy)
    results = json.loads((copy / DATA / "results.json").read_text(encoding="utf-8"))
    assert results["quick"] is False and results["provenance"]["quick"] is False

    (finder,) = [f for f in results["profiles"]["slow"]["functions"] if f["name"] == "find_duplicates_slow"]
    assert finder["total_share"] >= 0.90, (
        f"find_duplicates_slow has only {finder['total_share']:.1%} of samples"
    )
    bench = results["benchmark"]
    assert bench["same_result"] is True
    slow, fast = bench["slow_s"]["median"], bench["fast_s"]["median"]
    assert slow / fast >= 1000, (
        f"acceptance figure missed: the slow finder's median per call ({slow:.3g} s) is only "
        f"{slow / fast:,.0f}× the fast finder's ({fast:.3g} s), side by side at n = {bench['n']:,}; "
        "the lab promises at least 1,000×"
    )
    assert bench["speedup"]["median"] == pytest.approx(slow / fast)

    check = labkit(copy, "check", "--lab", LAB)
    assert check.returncode == 0, str(check)

    before = hash_tree(copy, skip=LEARNER_MAY_WRITE)
    learn = labkit(copy, "learn", LAB, "--quick", timeout=600)
    assert learn.returncode == 0, str(learn)
    assert_no_process_left(copy)
    assert hash_tree(copy, skip=LEARNER_MAY_WRITE) == before, "the learner's run wrote outside out/"
    mine = copy / "exercises" / LAB / "finder.py"
    assert mine.is_file() and "exercises/lab-1/finder.py (created)" in learn.output, str(learn)
    out = copy / "out" / LAB
    assert (out / "results.json").is_file()
    assert not (copy / "out" / f"{LAB}.new").exists()
    shown = re.findall(r"out/lab-1/\S+\.svg", learn.output)
    assert shown, f"no flame graph paths printed:\n{learn}"
    for rel in shown:
        assert (copy / rel).is_file(), rel
    # Progress by the page's steps: no step ids, nothing numbered that the page does not number.
    lines = learn.output.splitlines()
    assert any(re.match(r"Step \d+: ", line) for line in lines), str(learn)
    assert not any(re.match(r"\s*\d+\. ", line) for line in lines), "an item numbered as a step"
    assert not re.search(r"^\s*(slow|fixed|bench|overhead|function_nolineno): ", learn.output, re.MULTILINE)
    # One line for the claims; the whole table in out/lab-1/claims.txt.
    claims_lines = [line for line in lines if "claims" in line and "out/lab-1/claims.txt" in line]
    assert len(claims_lines) == 1, str(learn)
    assert (out / "claims.txt").read_text(encoding="utf-8").count("    page: ") >= 20
    learned = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {Path(p["files"]["svg"]).name for p in learned["profiles"].values()} == {
        Path(r).name for r in shown
    }
