"""The generator's guarantees: one run at a time, claims re-judged without re-measuring,
an interrupted swap repaired, and a run report kept in step with the results."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from labkit import words

from tests.helpers import (
    LAB,
    LAB_DIR,
    PAGE,
    QUICK,
    QUICK_DATA,
    assert_no_process_left,
    labkit,
    labkit_argv,
    labkit_env,
    wait_for,
)

LOCK = Path(".labs/lock")


def _results(copy: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((copy / QUICK_DATA / "results.json").read_text(encoding="utf-8"))


def test_a_second_run_waits_then_names_the_holder(work_copy: Path) -> None:
    first = subprocess.Popen(
        labkit_argv(work_copy, "assets", "--lab", LAB, "--quick", "--force"),
        cwd=work_copy,
        env=labkit_env(work_copy),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: (work_copy / LOCK).exists() and (work_copy / LOCK).read_text().strip() == str(first.pid),
            timeout=30,
            what="the first run to take the lock",
            proc=first,
        )
        impatient = labkit(work_copy, "assets", "--lab", LAB, "--quick", env={"LABKIT_LOCK_WAIT": "1"})
        assert impatient.returncode != 0
        assert f"PID {first.pid}" in impatient.flat and "holds" in impatient.flat
        patient = labkit(work_copy, "assets", "--lab", LAB, "--quick", env={"LABKIT_LOCK_WAIT": "120"})
        # It waited for the first run, then found everything fresh: serialised, not interleaved.
        assert first.poll() is not None, "the second run finished before the first one"
        assert patient.returncode == 0, str(patient)
        assert "waiting up to" in patient.flat and "unchanged" in patient.flat
    finally:
        out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    assert labkit(work_copy, "check", "--lab", LAB, "--quick").returncode == 0
    assert_no_process_left(work_copy)


def test_a_lock_left_by_a_killed_run_is_taken_over(work_copy: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (work_copy / LOCK).parent.mkdir(parents=True, exist_ok=True)
    (work_copy / LOCK).write_text(f"{dead.pid}\n")
    run = labkit(work_copy, "assets", "--lab", LAB, "--quick", env={"LABKIT_LOCK_WAIT": "2"})
    assert run.returncode == 0, str(run)
    assert f"taking over the lock left by PID {dead.pid}" in run.flat


def test_an_edited_claim_is_judged_again_without_measuring(work_copy: Path) -> None:
    before = _results(work_copy)
    manifest = work_copy / "labs" / f"{LAB}.yml"
    text = manifest.read_text(encoding="utf-8")
    edited = text.replace("    than: 0.90\n", "    than: 0.80\n", 1)
    assert edited != text
    manifest.write_text(edited, encoding="utf-8")
    run = labkit(work_copy, "assets", "--lab", LAB, "--quick")
    assert run.returncode == 0, str(run)
    assert "updated" in run.flat and "measured" not in run.flat.replace("claims as expected", "")
    after = _results(work_copy)
    assert after["generated_at"] == before["generated_at"]  # nothing was measured again
    assert after["profiles"] == before["profiles"]
    rule = next(c["rule"] for c in after["claims"] if c["id"] == "finder_dominates_slow")
    assert rule == "≥ 80.0%"
    assert labkit(work_copy, "check", "--lab", LAB, "--quick").returncode == 0


def test_a_run_killed_between_the_renames_is_repaired(work_copy: Path) -> None:
    data = work_copy / QUICK_DATA
    page, notebook = work_copy / QUICK / PAGE, work_copy / QUICK / LAB_DIR / f"{LAB}.ipynb"
    before = page.read_text(encoding="utf-8"), notebook.read_text(encoding="utf-8")
    listed = sorted(p.name for p in (work_copy / QUICK / LAB_DIR).iterdir())
    # The state a SIGKILL between `data → data.old` and `data.new → data` leaves behind: the pages'
    # new texts written, one of them cut short (a full disk).
    os.rename(data, data.with_name("data.old"))
    shutil.copytree(data.with_name("data.old"), data.with_name("data.new"))
    page.with_name("index.md.new").write_text(before[0][:100], encoding="utf-8")
    notebook.with_name(f"{LAB}.ipynb.new").write_text("", encoding="utf-8")
    broken = labkit(work_copy, "check", "--lab", LAB, "--quick")
    assert broken.returncode != 0 and "interrupted run" in broken.flat
    for left in ("data.old", "data.new", "index.md.new", f"{LAB}.ipynb.new"):
        assert f"{(QUICK / LAB_DIR).as_posix()}/{left}: an interrupted run left this" in broken.flat, left
    run = labkit(work_copy, "assets", "--lab", LAB, "--quick")
    assert run.returncode == 0, str(run)
    assert "restored data/ from data.old/" in run.flat and "removed an unfinished index.md.new" in run.flat
    assert sorted(p.name for p in (work_copy / QUICK / LAB_DIR).iterdir()) == listed
    assert (page.read_text(encoding="utf-8"), notebook.read_text(encoding="utf-8")) == before
    assert labkit(work_copy, "check", "--lab", LAB, "--quick").returncode == 0


def test_the_run_report_follows_the_results(work_copy: Path) -> None:
    report = work_copy / QUICK / "docs" / "reports.md"
    measured_at = words.date(_results(work_copy)["generated_at"])  # as a person reads it
    assert measured_at in report.read_text(encoding="utf-8")
    stamp = report.stat().st_mtime_ns
    run = labkit(work_copy, "assets", "--lab", LAB, "--quick")
    assert run.returncode == 0 and report.stat().st_mtime_ns == stamp  # nothing measured: not rewritten
    assert re.search(rf"{LAB}\s.*cached", run.output)
    report.write_text(report.read_text(encoding="utf-8").replace(measured_at, "1 January 2000, 00:00 UTC"))
    check = labkit(work_copy, "check", "--quick")
    assert check.returncode != 0 and "out/quick/docs/reports.md: the run report does not match" in check.flat
