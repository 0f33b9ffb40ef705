"""Mirrors labs/slow_service/service.py: run the real program and read what it prints."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

SERVICE = ROOT / "labs" / "slow_service" / "service.py"


def run_service(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(SERVICE), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


@pytest.mark.parametrize("variant", [[], ["--fixed"]])
def test_prints_pid_then_one_line_per_batch(variant: list[str]) -> None:
    lines = run_service(*variant, "--seed", "3", "--size", "300", "--batches", "3")
    assert re.fullmatch(r"(slow|fixed) service running as PID \d+: batches of 300 values", lines[0])
    batches = lines[1:]
    assert len(batches) == 3
    for number, line in enumerate(batches, start=1):
        assert re.fullmatch(rf"batch {number}: [\d,]+ duplicated values in \d+\.\d{{3}} s", line)


def test_slow_and_fixed_find_the_same_counts_for_one_seed() -> None:
    def counts(lines: list[str]) -> list[str]:
        return [line.split(" duplicated")[0] for line in lines[1:]]

    slow = run_service("--seed", "11", "--size", "400", "--batches", "4")
    fixed = run_service("--fixed", "--seed", "11", "--size", "400", "--batches", "4")
    assert counts(slow) == counts(fixed)


def test_rejects_negative_sizes() -> None:
    done = subprocess.run(
        [sys.executable, str(SERVICE), "--size", "-1"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "must not be negative" in done.stderr
