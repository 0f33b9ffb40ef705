"""Two ways to find the values that occur more than once in a list.

``find_duplicates_slow`` is the bug the lab hunts: for every element it walks
the whole list again, and it keeps the answers in a *list*, so each
membership test is another walk. ``find_duplicates_fast`` is the fix: one
pass, with sets for both "seen" and "duplicates".
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def find_duplicates_slow(values: Sequence[T]) -> list[T]:
    """Quadratic on purpose: O(n^2) comparisons plus O(d) list look-ups."""
    found: list[T] = []
    count = len(values)
    for i in range(count):
        # No early exit: the whole list is compared against every element.
        for j in range(count):
            if i != j and values[i] == values[j] and values[i] not in found:
                found.append(values[i])
    return found


def find_duplicates_fast(values: Sequence[T]) -> set[T]:
    """Linear: each value is looked up once in a set (O(1) on average)."""
    seen: set[T] = set()
    duplicates: set[T] = set()
    for value in values:
        if value in seen:
            duplicates.add(value)
        else:
            seen.add(value)
    return duplicates
