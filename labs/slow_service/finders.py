"""Two ways to find the values that occur more than once in a list.

``find_duplicates_slow`` is the bug the lab hunts: for every element it walks
the whole list again, and it keeps the answers in a *list*, so each
membership test is another walk. ``find_duplicates_fast`` is the fix: one
pass, with sets for both "seen" and "duplicates".
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Collection, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T", bound=Hashable)
Finder = Callable[[Sequence[Any]], Collection[Any]]


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


def load_finder(spec: str) -> Finder:
    """``FILE.py:FUNCTION``: a finder from any file (a learner's exercise), for the service and bench.py."""
    file, sep, name = spec.rpartition(":")
    if not sep or not file.endswith(".py") or not name.isidentifier():
        raise ValueError(f"expected FILE.py:FUNCTION, got {spec!r}")
    path = Path(file).resolve()
    loader = importlib.util.spec_from_file_location(f"finder_{path.stem}", path)
    if loader is None or loader.loader is None or not path.is_file():
        raise ValueError(f"{file}: no such Python file")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    found = getattr(module, name, None)
    if not callable(found):
        raise ValueError(f"{file} defines no function {name!r}")
    finder: Finder = found
    return finder
