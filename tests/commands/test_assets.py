"""`assets` and `check` on a real QUICK run of Lab 1: written into out/quick/ (never docs/), hand edits
detected, cache, staleness."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from labkit import resultfile

from tests.helpers import (
    DATA,
    FIX,
    LAB,
    LAB_DIR,
    PAGE,
    QUICK,
    QUICK_DATA,
    QUICK_FIX,
    ROOT,
    hash_tree,
    labkit,
    mtimes,
)

VALUE = re.compile(r"<!-- value: (?P<name>\w+) -->(?P<text>[^<]*\d[^<]*)<!-- /value -->")


def test_quick_run_writes_a_mirror_that_passes_check(measured_copy: Path) -> None:
    """Everything the run would publish, in out/quick/ and self-consistent; docs/ as committed."""
    results = json.loads((measured_copy / QUICK_DATA / "results.json").read_text(encoding="utf-8"))
    resultfile.validate(results, where="results.json")
    assert results["quick"] is True and results["provenance"]["quick"] is True
    assert set(results["profiles"]) == {"slow", "fixed"}
    for profile in results["profiles"].values():
        assert profile["samples"] > 0 and profile["method"] == "pid"
        for name in profile["files"].values():
            assert (measured_copy / QUICK_DATA / name).is_file(), name
    assert results["benchmark"]["same_result"] is True
    for name in (PAGE, LAB_DIR / f"{LAB}.ipynb", Path("docs/reports.md")):
        assert (measured_copy / QUICK / name).is_file(), name
    assert not (measured_copy / QUICK / LAB_DIR / "data.new").exists()
    assert not (measured_copy / QUICK / LAB_DIR / "data.old").exists()
    run = labkit(measured_copy, "check", "--lab", LAB, "--quick")
    assert run.returncode == 0, str(run)
    run = labkit(measured_copy, "check", "--lab", LAB)  # docs/ still holds the committed full run
    assert run.returncode == 0, str(run)


def test_quick_runs_leave_docs_byte_identical(measured_copy: Path, work_copy: Path) -> None:
    """Every file under docs/ hashed before and after: with LAB= (the measured copy's run) and without."""
    assert hash_tree(measured_copy / "docs") == hash_tree(ROOT / "docs", skip=("data.new", "data.old"))
    (work_copy / "labs" / "lab-2.yml").unlink()  # every lab, in seconds: Lab 1's QUICK results are fresh
    docs = hash_tree(work_copy / "docs")
    run = labkit(work_copy, "assets", "--quick")
    assert run.returncode == 0, str(run)
    assert "QUICK results are never published" in run.flat, str(run)
    assert hash_tree(work_copy / "docs") == docs
    report = (work_copy / QUICK / "docs/reports.md").read_text(encoding="utf-8")
    assert "lab-2/index.html" not in report  # the mirror's report lists the labs there are
    assert "lab-2/index.html" in (work_copy / "docs/reports.md").read_text(encoding="utf-8")


def test_check_refuses_a_quick_result_in_docs(work_copy: Path) -> None:
    """A QUICK result copied into docs/ by hand is refused by check, naming the fix."""
    shutil.rmtree(work_copy / DATA)
    shutil.copytree(work_copy / QUICK_DATA, work_copy / DATA)
    run = labkit(work_copy, "check", "--lab", LAB)
    assert run.returncode != 0, str(run)
    assert "QUICK" in run.output and FIX in run.flat, str(run)


def test_hand_edited_page_value_fails_check_naming_page_value_and_fix(work_copy: Path) -> None:
    page = work_copy / QUICK / PAGE
    text = page.read_text(encoding="utf-8")
    marker = VALUE.search(text)
    assert marker, "the page has no value marker with a number in it"
    shown = marker["text"]
    digit = re.search(r"\d", shown)
    assert digit
    edited = shown[: digit.start()] + str((int(digit[0]) + 1) % 10) + shown[digit.end() :]
    start, end = marker.span("text")
    page.write_text(text[:start] + edited + text[end:], encoding="utf-8")

    run = labkit(work_copy, "check", "--lab", LAB, "--quick")
    assert run.returncode != 0, str(run)
    line = text.count("\n", 0, start) + 1
    assert f"{(QUICK / PAGE).as_posix()}:{line}" in run.output, str(run)
    assert f"value {marker['name']}" in run.output, str(run)
    assert QUICK_FIX in run.flat, str(run)


def test_hand_edited_results_fail_check_naming_file_and_field(work_copy: Path) -> None:
    path = work_copy / QUICK_DATA / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    (finder,) = [f for f in results["profiles"]["slow"]["functions"] if f["name"] == "find_duplicates_slow"]
    finder["total_share"] = round(finder["total_share"] / 2, 4)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    run = labkit(work_copy, "check", "--lab", LAB, "--quick")
    assert run.returncode != 0, str(run)
    assert f"{QUICK_DATA.as_posix()}/results.json" in run.output, str(run)
    assert "profiles.slow" in run.output and "find_duplicates_slow" in run.output, str(run)
    assert "total_share" in run.output, str(run)


def test_hand_edited_benchmark_time_fails_check(work_copy: Path) -> None:
    path = work_copy / QUICK_DATA / "results.json"
    results = json.loads(path.read_text(encoding="utf-8"))
    results["benchmark"]["speedup"]["median"] *= 2
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    run = labkit(work_copy, "check", "--lab", LAB, "--quick")
    assert run.returncode != 0, str(run)
    assert "benchmark" in run.output and "speedup" in run.output and "median" in run.output, str(run)


def test_second_run_without_changes_writes_nothing(work_copy: Path) -> None:
    for where in (work_copy / "docs", work_copy / QUICK):
        hashes, times = hash_tree(where), mtimes(where)
        run = labkit(work_copy, "assets", "--lab", LAB, "--quick")
        assert run.returncode == 0, str(run)
        assert "unchanged" in run.output, str(run)
        assert hash_tree(where) == hashes
        assert mtimes(where) == times, f"an unchanged run touched files under {where.name}/"


def test_changed_program_makes_results_stale(work_copy: Path) -> None:
    service = work_copy / "labs/slow_service/service.py"
    service.write_text(
        service.read_text(encoding="utf-8") + "# a comment changes the inputs\n", encoding="utf-8"
    )
    run = labkit(work_copy, "check", "--lab", LAB, "--quick")
    assert run.returncode != 0, str(run)
    assert "stale" in run.output and QUICK_FIX in run.flat, str(run)


def test_missing_py_spy_says_how_to_install_it(work_copy: Path) -> None:
    before = hash_tree(work_copy / "docs"), hash_tree(work_copy / QUICK)
    run = labkit(
        work_copy, "assets", "--lab", LAB, "--quick", "--force", env={"LABKIT_PY_SPY": "/nonexistent/py-spy"}
    )
    assert run.returncode != 0, str(run)
    assert "py-spy" in run.output and "pip install" in run.flat and "make venv" in run.flat, str(run)
    assert "Traceback" not in run.output, str(run)
    assert (hash_tree(work_copy / "docs"), hash_tree(work_copy / QUICK)) == before
