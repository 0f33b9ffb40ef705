"""What every grader shares: a check, its verdict by the claims' rules, its settings and its time limits."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from labkit import claims, sandbox
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.records import JSONObject

Say = Callable[[str], None]
QUESTIONS = {"untouched": "your code left the lab's files alone"}  # the toolkit's own check; labs give theirs
# Seconds each check that runs the learner's code may take before its child is killed (whole group).
LIMITS_S = {"call": 10.0, "correct": 120.0, "bench": 240.0, "quick_bench": 120.0}
PROGRAM_S = 300.0  # seconds a lab program run by program_json may take (a load bounds its own repeats)
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


# A busy machine only adds time, and most to the learner's slowest call or request, which the conservative
# end of a speed check uses: a check left undecided (its median passes, that end does not) is measured
# again, up to this many times in all. A clear verdict is final: a fix whose median misses fails at once.
ATTEMPTS = 3
T = TypeVar("T")
C = TypeVar("C", bound="Check | None")


def until_decided(attempt: Callable[[], tuple[T, C]], *, say: Say, verb: str = "measured") -> tuple[T, C]:
    """``attempt()`` (what it measured, its speed check or None if nothing could be judged), run again
    while the check is undecided, up to ATTEMPTS times; the last check's detail names the earlier ones."""
    earlier: list[str] = []
    for done in range(1, ATTEMPTS + 1):
        result, check = attempt()
        if check is None or check.verdict != "undecided" or done == ATTEMPTS:
            break
        earlier.append(check.measured)
        say(f"{check.id}: undecided ({check.measured}); {verb} again ({done + 1} of {ATTEMPTS})")
    if earlier and check is not None:
        note = f"{verb} {len(earlier) + 1} times: a busy machine left the earlier ones undecided"
        check = dataclasses.replace(check, detail=joined(f"{note} ({'; '.join(earlier)})", check.detail))
    return result, check


def program_json(argv: list[str], *, name: str, work: Path) -> JSONObject:
    """Run a lab program to its end with ``--json`` (in ``work``, its output in ``work/<name>.log``,
    capped); its report is read as one that a learner's process could have replaced."""
    raw = work / f"{name}.json"
    sandbox.remove(raw)
    ran = sandbox.run([*argv, "--json", str(raw)], cwd=work, log=work / f"{name}.log", limit_s=PROGRAM_S)
    last = (ran.output.strip().splitlines() or ["(no output)"])[-1]
    if ran.timed_out:
        raise LabError(f"{name}: ran past its {PROGRAM_S:g} s limit and was stopped")
    if ran.code != 0:
        raise LabError(sandbox.named_limit(f"{name}: failed (exit code {ran.code}): {last}"))
    try:
        loaded = json.loads(sandbox.read_report(raw))
    except (OSError, ValueError, RecursionError) as exc:
        raise LabError(f"{name}: no readable report ({exc})") from exc
    if not isinstance(loaded, dict):
        raise LabError(f"{name}: its report is not a JSON object")
    return loaded
