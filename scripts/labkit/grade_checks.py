"""What every grader shares: a check, its verdict by the claims' rules, its settings and its time limits."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit import claims
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.records import JSONObject

Say = Callable[[str], None]
QUESTIONS = {
    "correct": "correct: the same duplicates as the reference",
    "fast": "fast: faster than the slow finder",
    "scales": "scales: time ∝ n^b",
    "hot_path": "profile: the finder no longer dominates the service",
    "no_lost_updates": "no lost updates under concurrent requests",
    "p95": "fast: p95 of /locked, the slow version against yours",
    "untouched": "your code left the lab's files alone",
    "correct_distances": "correct: the same distances as the reference",
    "native_gone": "profile: NumPy's element-by-element loops no longer dominate",
}
# Seconds each check that runs the learner's code may take before its child is killed (whole group).
LIMITS_S = {"call": 10.0, "correct": 120.0, "bench": 240.0, "quick_bench": 120.0}
# A lower limit for every check (seconds), e.g. for tests of a hanging exercise.
LIMIT_ENV = "LABKIT_GRADE_LIMIT_S"


def limit(name: str) -> float:
    """The time limit of a check, lowered by $LABKIT_GRADE_LIMIT_S when that is set and smaller."""
    chosen = LIMITS_S[name]
    override = os.environ.get(LIMIT_ENV, "").strip()
    if override:
        try:
            chosen = min(chosen, float(override))
        except ValueError:
            raise LabError(f"${LIMIT_ENV} must be a number of seconds, not {override!r}") from None
    return chosen


@dataclass(frozen=True)
class Check:
    id: str
    question: str  # what the check asks, in a few words
    measured: str  # the measurement as the table shows it
    rule: str
    verdict: str  # holds, fails or undecided (claims.verdict)
    hint: str = ""  # the manifest's hint, kept only when the check did not pass
    detail: str = ""  # e.g. hypothesis's smallest failing input, or output that was cut
    picture: str = ""  # the flame graph of the learner's code, relative to the repository
    value: Any = None
    interval: list[float] | None = None

    @property
    def passed(self) -> bool:
        return self.verdict == "holds"


def judged(
    check_id: str,
    question: str,
    m: Measured,
    op: str,
    than: Any,
    *,
    kind: str,
    hint: str,
    rule: str = "",
    other: Measured | None = None,
    detail: str = "",
) -> Check:
    """A check decided by ``claims.verdict``, shown by ``claims.shown`` like a claim on a page."""
    verdict = claims.verdict(m, op, than, other=other)
    return Check(
        id=check_id,
        question=question,
        measured=claims.shown(m, kind),
        rule=rule or f"{claims.SYMBOL[op]} {formats_of(than, kind)}",
        verdict=verdict,
        hint="" if verdict == "holds" else hint,
        detail=detail,
        value=m.value,
        interval=None if m.low is None or m.high is None else [m.low, m.high],
    )


def setting(cfg: JSONObject, key: str, *, quick: bool, default: int | None = None) -> int:
    """A check's number, its ``quick_`` form in the QUICK configuration when the manifest gives one."""
    chosen = cfg.get(f"quick_{key}") if quick else None
    if chosen is None:
        chosen = cfg.get(key, default)
    if chosen is None:
        raise LabError(f"the exercise's check needs {key!r}")
    return int(chosen)


def formats_of(value: Any, kind: str) -> str:
    return claims.shown(Measured(value), kind)


def not_measured(check_id: str, question: str, why: str, *, hint: str, rule: str, detail: str = "") -> Check:
    """A check that could not measure (a wrong answer is never timed, a crash is never profiled)."""
    return Check(
        id=check_id,
        question=question,
        measured=f"not measured: {why}",
        rule=rule,
        verdict="fails",
        hint=hint,
        detail=detail,
    )


def joined(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def capped(check: Check, note: str) -> Check:
    """A check whose learner output was cut (``note``) does not pass: the note says how much was cut."""
    if not note:
        return check
    return dataclasses.replace(
        check,
        measured=f"{check.measured}; output cut",
        verdict="fails",
        detail=joined(check.detail, f"{note}: a check whose output was cut does not pass"),
        hint=check.hint or "your code printed more than the grader keeps: remove its print calls.",
    )
