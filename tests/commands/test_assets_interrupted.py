"""Ctrl-C (SIGINT to the toolkit alone) while py-spy records and while the benchmark runs."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.helpers import (
    LAB,
    LAB_DIR,
    QUICK,
    assert_no_process_left,
    hash_tree,
    labkit,
    labkit_argv,
    labkit_env,
    processes_mentioning,
    wait_for,
)


def _py_spy_recording(copy: Path) -> list[tuple[int, str]]:
    return [
        (pid, cmd) for pid, cmd in processes_mentioning(str(copy)) if " record " in cmd and "py-spy" in cmd
    ]


def _benchmark_running(copy: Path) -> list[tuple[int, str]]:
    return processes_mentioning(str(copy / "labs/benchmark/bench.py"))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("moment", ["profiling", "benchmark"])
def test_ctrl_c_stops_everything_and_leaves_docs_whole(work_copy: Path, moment: str) -> None:
    before = hash_tree(work_copy / LAB_DIR), hash_tree(work_copy / QUICK / LAB_DIR)  # docs/, the QUICK mirror
    proc = subprocess.Popen(
        labkit_argv(work_copy, "assets", "--lab", LAB, "--quick", "--force"),
        cwd=work_copy,
        env=labkit_env(work_copy),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        if moment == "profiling":
            wait_for(
                lambda: processes_mentioning(str(work_copy / "labs/slow_service/service.py")),
                timeout=60,
                what="the service to start",
                proc=proc,
            )
            spies = wait_for(
                lambda: _py_spy_recording(work_copy), timeout=60, what="py-spy to record", proc=proc
            )
        else:
            spies = []
            wait_for(
                lambda: _benchmark_running(work_copy), timeout=120, what="the benchmark to start", proc=proc
            )
        os.kill(proc.pid, signal.SIGINT)  # the toolkit only: its children run in their own sessions
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, f"exit {proc.returncode}:\n{output}"
    assert "interrupted" in output, output
    assert "Traceback" not in output, output
    assert not _py_spy_recording(work_copy), "py-spy outlived the toolkit"
    assert not [pid for pid, _ in spies if _alive(pid)], "py-spy outlived the toolkit"
    assert_no_process_left(work_copy)
    after = hash_tree(work_copy / LAB_DIR), hash_tree(work_copy / QUICK / LAB_DIR)
    assert after == before, "docs/ or the QUICK mirror changed after Ctrl-C"
    run = labkit(work_copy, "check", "--lab", LAB, "--quick")
    assert run.returncode == 0, str(run)
