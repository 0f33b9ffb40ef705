"""Mirrors labs/slow_service/: finders.py (the fix must give the same answer as the original), then
service.py (run the real program and read what it prints)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest
from finders import find_duplicates_fast, find_duplicates_slow
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import ROOT

SERVICE = ROOT / "labs" / "slow_service" / "service.py"

# --- finders.py --------------------------------------------------------------------------------------


def expected(values: list[object]) -> set[object]:
    return {value for value, count in Counter(values).items() if count > 1}


@pytest.mark.parametrize(
    ("values", "duplicates"),
    [
        ([], set()),
        ([7], set()),
        ([1, 2, 3, 4], set()),
        ([5, 5, 5, 5, 5], {5}),
        ([-1, -1, 0, 2, -3, -3, -3], {-1, -3}),
        (["a", "b", "a", "c", "b"], {"a", "b"}),
        ([0, 0.0, False], {0}),  # equal values, different types: Python treats them as one
        ([(1, 2), (1, 2), (2, 1)], {(1, 2)}),
    ],
)
def test_edge_cases(values: list[object], duplicates: set[object]) -> None:
    assert set(find_duplicates_slow(values)) == duplicates
    assert find_duplicates_fast(values) == duplicates


def test_slow_reports_each_duplicate_once_in_first_seen_order() -> None:
    assert find_duplicates_slow([3, 1, 3, 1, 3, 2]) == [3, 1]


@settings(deadline=None, max_examples=200)
@given(st.lists(st.integers(min_value=-50, max_value=50), max_size=200))
def test_agree_on_integers(values: list[int]) -> None:
    slow = find_duplicates_slow(values)
    assert len(slow) == len(set(slow))
    assert set(slow) == find_duplicates_fast(values) == expected(list(values))


@settings(deadline=None, max_examples=100)
@given(st.lists(st.text(max_size=3), max_size=120))
def test_agree_on_strings(values: list[str]) -> None:
    assert set(find_duplicates_slow(values)) == find_duplicates_fast(values) == expected(list(values))


# --- service.py --------------------------------------------------------------------------------------


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
