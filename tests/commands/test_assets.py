"""`assets` and `check` on a real QUICK run of Lab 1: publish, detect hand edits, cache, staleness."""

from __future__ import annotations

import json
import re
from pathlib import Path

from labkit import publish

from tests.helpers import DATA, FIX, LAB, LAB_DIR, PAGE, hash_tree, labkit, mtimes

VALUE = re.compile(r"<!-- value: (?P<name>\w+) -->(?P<text>[^<]*\d[^<]*)<!-- /value -->")


def test_quick_run_publishes_results_that_pass_check(measured_copy: Path) -> None:
    results = json.loads((measured_copy / DATA / "results.json").read_text(encoding="utf-8"))
    publish.validate(results, where="results.json")
    assert results["quick"] is True and results["provenance"]["quick"] is True
    assert set(results["profiles"]) == {"slow", "fixed"}
    for profile in results["profiles"].values():
        assert profile["samples"] > 0 and profile["method"] == "pid"
        for name in profile["files"].values():
            assert (measured_copy / DATA / name).is_file(), name
    assert results["benchmark"]["same_result"] is True
    assert not (measured_copy / LAB_DIR / "data.new").exists()
    assert not (measured_copy / LAB_DIR / "data.old").exists()
    run = labkit(measured_copy, "check", "--lab", LAB, "--allow-quick")
    assert run.returncode == 0, str(run)


def test_check_refuses_a_quick_result_without_allow_quick(measured_copy: Path) -> None:
    run = labkit(measured_copy, "check", "--lab", LAB)
    assert run.returncode != 0, str(run)
    assert "QUICK" in run.output and FIX in run.flat, str(run)


def test_hand_edited_page_value_fails_check_naming_page_value_and_fix(work_copy: Path) -> None:
    page = work_copy / PAGE
    text = page.read_text(encoding="utf-8")
    marker = VALUE.search(text)
    assert marker, "the page has no value marker with a number in it"
    shown = marker["text"]
    digit = re.search(r"\d", shown)
    assert digit
    edited = shown[: digit.start()] + str((int(digit[0]) + 1) % 10) + shown[digit.end() :]
    start, end = marker.span("text")
    page.write_text(text[:start] + edited + text[end:], encoding="utf-8")

    run = labkit(work_copy, "check", "--lab", LAB, "--allow-quick")
    assert run.returncode != 0, str(run)
    line = text.count("\n", 0, start) + 1
    assert f"{PAGE.as_posix()}:{line}" in run.output, str(run)
    assert f"value {marker['name']}" in run.output, str(run)
    assert FIX in run.flat, str(run)


def test_hand_edited_results_fail_check_naming_file_and_field(work_copy: Path) -> None:
    path = work_copy / DATA / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    (finder,) = [f for f in results["profiles"]["slow"]["functions"] if f["name"] == "find_duplicates_slow"]
    finder["total_share"] = round(finder["total_share"] / 2, 4)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    run = labkit(work_copy, "check", "--lab", LAB, "--allow-quick")
    assert run.returncode != 0, str(run)
    assert f"{DATA.as_posix()}/results.json" in run.output, str(run)
    assert "profiles.slow" in run.output and "find_duplicates_slow" in run.output, str(run)
    assert "total_share" in run.output, str(run)


def test_hand_edited_benchmark_time_fails_check(work_copy: Path) -> None:
    path = work_copy / DATA / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    results["benchmark"]["speedup"]["median"] *= 2
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    run = labkit(work_copy, "check", "--lab", LAB, "--allow-quick")
    assert run.returncode != 0, str(run)
    assert "benchmark" in run.output and "speedup" in run.output and "median" in run.output, str(run)


def test_second_run_without_changes_writes_nothing(work_copy: Path) -> None:
    docs = work_copy / "docs"
    hashes, times = hash_tree(docs), mtimes(docs)
    run = labkit(work_copy, "assets", "--lab", LAB, "--quick")
    assert run.returncode == 0, str(run)
    assert "unchanged" in run.output, str(run)
    assert hash_tree(docs) == hashes
    assert mtimes(docs) == times, "an unchanged run touched files under docs/"


def test_changed_program_makes_results_stale(work_copy: Path) -> None:
    service = work_copy / "labs/slow_service/service.py"
    service.write_text(
        service.read_text(encoding="utf-8") + "# a comment changes the inputs\n", encoding="utf-8"
    )
    run = labkit(work_copy, "check", "--lab", LAB, "--allow-quick")
    assert run.returncode != 0, str(run)
    assert "stale" in run.output and FIX in run.flat, str(run)


def test_missing_py_spy_says_how_to_install_it(work_copy: Path) -> None:
    before = hash_tree(work_copy / "docs")
    run = labkit(
        work_copy, "assets", "--lab", LAB, "--quick", "--force", env={"LABKIT_PY_SPY": "/nonexistent/py-spy"}
    )
    assert run.returncode != 0, str(run)
    assert "py-spy" in run.output and "pip install" in run.flat and "make venv" in run.flat, str(run)
    assert "Traceback" not in run.output, str(run)
    assert hash_tree(work_copy / "docs") == before
