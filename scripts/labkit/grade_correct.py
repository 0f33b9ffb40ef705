"""A correctness check of a function of a list: hypothesis runs here, the function answers from a child.

The child (labkit.sandbox_finder.Finder) only computes the learner's outputs for the inputs sent to it;
the reference answers and the comparison are made in this process, so nothing the learner's code
does in its process (patching the toolkit's modules included) changes what is judged here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from labkit import claims, sandbox_finder
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.grade_checks import Check, capped, limit, not_measured, setting
from labkit.records import JSONObject


def function_from(file: Path, name: str) -> Callable[..., Any]:
    """A function of the lab's own reference code (never the learner's: that runs in a child)."""
    spec = importlib.util.spec_from_file_location(f"reference_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise LabError(f"{file.name}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = getattr(module, name, None)
    if not callable(found):
        raise LabError(f"{file.name} defines no function {name!r}")
    return found  # type: ignore[no-any-return]


def smallest_failure(
    child: sandbox_finder.Finder, reference: Callable[..., Collection[Any]], *, examples: int
) -> tuple[int, list[Any] | None, str]:
    """Inputs tried, and hypothesis's shrunk smallest input on which the child's answer differs (or None).

    The inputs mix an empty list, all-equal lists, lists with no duplicates, negatives, strings and
    lists of 150 to 200 values (no more: the learner's finder may still be quadratic). Once the child
    is gone (it exited or hung), every further input fails at once, so hypothesis ends quickly.
    """
    from hypothesis import HealthCheck, Verbosity, given, settings
    from hypothesis import strategies as st

    small = st.integers(min_value=-20, max_value=20)
    inputs = st.one_of(
        st.just([]),
        st.lists(small, max_size=30),
        st.lists(st.integers(), unique=True, max_size=50),
        st.builds(lambda v, n: [v] * n, small | st.text(max_size=2), st.integers(min_value=1, max_value=20)),
        st.lists(st.text(alphabet="abc", max_size=2), max_size=30),
        st.lists(st.integers(min_value=-100, max_value=100), min_size=150, max_size=200),
    )
    tried = 0
    last: list[Any] = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
    )
    @given(values=inputs)
    def agrees(values: list[Any]) -> None:
        nonlocal tried
        tried += 1
        want = set(reference(list(values)))
        try:
            kind, got = child.answer(list(values))
        except sandbox_finder.Gone as exc:
            raise AssertionError(str(exc)) from None
        if kind == "raised":
            why = str(got)
        elif got == want:
            return
        else:
            why = f"returned {sorted(got, key=repr)} instead of {sorted(want, key=repr)}"
        last[:] = [values, why]  # the last failure hypothesis replays is the shrunk one
        raise AssertionError(why)

    try:
        agrees()
    except Exception:  # AssertionError, or hypothesis's own complaint about a flaky child
        return tried, (last[0] if last else None), (last[1] if last else "")
    return tried, None, ""


def check_correct(
    file: Path,
    function: str,
    reference: Callable[..., Any],
    *,
    cfg: JSONObject,
    quick: bool,
    folder: Path,
    work: Path,
    question: str,
) -> Check:
    """The learner's function against ``reference`` on the inputs hypothesis generates (cfg: examples,
    quick_examples, hint), the answers computed in a child and compared here."""
    examples = setting(cfg, "examples", quick=quick, default=200)
    rule = f"agrees on every input hypothesis generates ({examples} examples)"
    hint = str(cfg["hint"])
    log = work / "correct.log"
    child = sandbox_finder.Finder(
        file, function, folder=folder, log=log, call_s=limit("call"), total_s=limit("correct")
    )
    try:
        try:
            child.start(limit_s=limit("call"))
        except sandbox_finder.Gone as exc:
            return not_measured("correct", question, str(exc), hint=hint, rule=rule)
        tried, failing, why = smallest_failure(child, reference, examples=examples)
    finally:
        child.stop()
        note = child.capture.write()
    if child.reason:  # it exited, hung or broke the channel: that is the verdict's reason
        where = "" if failing is None else f" (smallest input hypothesis reached: {failing!r})"
        return not_measured("correct", question, child.reason + where, hint=hint, rule=rule, detail=note)
    m = Measured(0 if failing is None else 1)
    verdict = claims.verdict(m, "==", 0)
    if failing is None:
        shown, detail = f"agrees on all {tried} inputs tried", ""
    else:
        shown = f"disagrees: smallest failing input {failing!r}"
        detail = f"smallest failing input (shrunk by hypothesis): {failing!r}; your function {why}"
    check = Check(
        id="correct",
        question=question,
        measured=shown,
        rule=rule,
        verdict=verdict,
        hint="" if verdict == "holds" else hint,
        detail=detail,
        value=None if failing is None else repr(failing),
    )
    return capped(check, note)
