"""Mirrors labs/slow_service/finders.py: the fix must give the same answer as the original."""

from __future__ import annotations

from collections import Counter

import pytest
from finders import find_duplicates_fast, find_duplicates_slow
from hypothesis import given, settings
from hypothesis import strategies as st


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
