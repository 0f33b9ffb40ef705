"""Lab 3's grading rules as plain functions: the inputs, the comparison with the reference, and which
samples of a recording hold NumPy's element-by-element loops. The toolkit's grader runs the children
and turns these into checks; nothing here runs a learner's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from distances import distances_broadcast

# The loops the broadcast spends its time in, whatever suffix NumPy picked for the CPU (labs/lab-3.yml).
LOOPS = r"^DOUBLE_(subtract|square|pairwise_sum)"


def cases(seed: int) -> list[dict[str, Any]]:
    """Inputs that a correct function must answer: shapes of every kind, and queries equal to items
    with large values, where the matrix-product form needs its clip at zero."""
    rng = np.random.default_rng(seed)
    out = []
    for q, c, d in ((1, 1, 1), (1, 3, 2), (7, 11, 5), (40, 300, 64)):
        out.append({"queries": rng.random((q, d)).tolist(), "items": rng.random((c, d)).tolist()})
    items = (rng.random((12, 64)) * 1e3).tolist()
    out.append({"queries": items, "items": items})
    return out


def first_difference(inputs: Sequence[dict[str, Any]], answers: Any) -> str:
    """Where an answer differs from the reference's ("" when all agree), as one line."""
    if not isinstance(answers, list) or len(answers) != len(inputs):
        return f"expected {len(inputs)} answers, got {type(answers).__name__}"
    for number, (case, answer) in enumerate(zip(inputs, answers, strict=True), start=1):
        queries, items = np.array(case["queries"]), np.array(case["items"])
        expected = distances_broadcast(queries, items)
        try:
            got = np.array(answer, dtype=np.float64)
        except (TypeError, ValueError):
            return f"input {number}: the answer is not an array of numbers"
        shape = f"{len(queries)} queries and {len(items)} items of {queries.shape[1]} numbers"
        if got.shape != expected.shape:
            return f"input {number} ({shape}): shape {got.shape}, expected {expected.shape}"
        if np.isnan(got).any():
            return f"input {number} ({shape}): the answer holds nan"
        if not np.allclose(got, expected, rtol=1e-7, atol=1e-3):
            worst = float(np.max(np.abs(got - expected)))
            return f"input {number} ({shape}): off by up to {worst:.3g}"
    return ""


def loop_samples(stacks: Iterable[Sequence[str]], pattern: str = LOOPS) -> list[int]:
    """1 for each sample (a stack of function names) with a frame of the loops, else 0, in time order."""
    regex = re.compile(pattern)
    return [1 if any(regex.search(name) for name in stack) else 0 for stack in stacks]
