"""Your exercise for Lab 1: make ``find_duplicates`` fast.

`make lab-1` copied this file to exercises/lab-1/finder.py; edit that copy, then run `make grade-1`.
The grader runs the service and the benchmark with your function instead of the lab's finder.

What it must do: return the values that occur more than once in ``values``, each once. Any
collection will do (a list, a set); the grader compares them as sets.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def find_duplicates(values: Sequence[Hashable]) -> list[Hashable]:
    """Every value that appears at least twice. This version is slow: find out why, and fix it."""
    repeated: list[Hashable] = []
    for position, candidate in enumerate(values):
        for other_position, other in enumerate(values):
            if position != other_position and candidate == other and candidate not in repeated:
                repeated.append(candidate)
    return repeated
