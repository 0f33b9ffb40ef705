"""A service that runs the learner's code (Lab 2's grader) gets the grader's memory limit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from labkit import processes, services

LINUX = sys.platform.startswith("linux")


def address_space_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max address space"):
            return line.split()[3]
    raise AssertionError("no address space line")


@pytest.mark.skipif(not LINUX, reason="reads the limit from /proc")
@pytest.mark.parametrize("memory", [1 << 30, None])
def test_a_service_started_with_a_memory_limit_has_it(tmp_path: Path, memory: int | None) -> None:
    argv = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"]
    running = services.start(
        "svc", argv, ready="ready", cwd=tmp_path, log=tmp_path / "svc.log", memory=memory
    )
    try:
        limit = address_space_limit(running.proc.pid)
        assert limit == (str(memory) if memory else address_space_limit(os.getpid()))  # else inherited
    finally:
        processes.stop(running.proc)


def test_lab_2s_grader_starts_the_learners_service_with_the_memory_limit() -> None:
    """The grader file passes the limit (read from its text: running it needs the whole lab)."""
    text = (Path(__file__).resolve().parents[2] / "labs/web_service/grader.py").read_text(encoding="utf-8")
    assert "memory=sandbox.memory_mb() << 20" in text
