"""Lab 3's grader (`make grade-3`): the learner's distance function, judged correct, fast, and free of
NumPy's element-by-element loops in the service's native profile.

The manifest's ``exercise: grader:`` names this file (labkit.graders). The learner's code runs only in
the toolkit's children (labkit.sandbox): answer.py answers this grader's inputs, bench_distances.py
times it in a child of its own on the benchmark's clock (timed_distances.py), and py-spy records
search.py running it with --native. The inputs, the reference, the shares and the verdicts are
computed here, in the grader's own process, which never imports the learner's file.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from distances import distances_broadcast  # first: it holds OpenBLAS to one thread before NumPy loads

# isort: split
import numpy as np
from labkit import exercise, runner, sandbox, stacks, stats
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.grade_checks import Check, Say, capped, formats_of, judged, limit, not_measured, setting
from labkit.grade_finder import NotRecorded, bench, record_service, your_flame_graph
from labkit.manifest import Lab
from labkit.records import JSONObject

# Each check, in the order it runs and is shown → the settings it needs in the manifest.
CHECKS = {
    "correct": ("program",),
    "fast": ("than", "program"),
    "native_gone": ("than", "program", "duration"),
}
QUESTIONS = {
    "correct": "correct: the same distances as the reference",
    "fast": "fast: faster than the broadcast",
    "native_gone": "profile: NumPy's element-by-element loops no longer dominate",
}
# The loops the broadcast spends its time in, whatever suffix NumPy picked for the CPU (labs/lab-3.yml).
LOOPS = r"^(DOUBLE_(subtract|square|pairwise_sum)|reduce_loop$)"  # NumPy 2.2 sums in reduce_loop
LEVEL = 0.95  # one recording, one look: the level of the loops' share interval


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


def _argv(lab: Lab, root: Path, command: list[Any]) -> list[str]:
    return runner.python_argv([str(a).replace("{seed}", str(lab.seed)) for a in command], root)


def check_answers(lab: Lab, *, root: Path, cfg: JSONObject, spec: str, folder: Path, work: Path) -> Check:
    """The learner's answers to the grader's inputs (from a child), compared here with the reference's."""
    question, hint = QUESTIONS["correct"], str(cfg["hint"])
    inputs = cases(lab.seed or 0)
    rule = f"the reference's distances on {len(inputs)} inputs, to 1e-7 relative or 1e-3 absolute"
    given, answers = folder / "inputs.json", folder / "answers.json"
    sandbox.write_text(given, json.dumps(inputs))
    sandbox.remove(answers)
    argv = [*_argv(lab, root, cfg["program"]), "--inputs", str(given), "--json", str(answers)]
    ran = sandbox.run(
        [*argv, "--distances", spec], cwd=folder, log=work / "correct.log", limit_s=limit("call")
    )
    last = (ran.output.strip().splitlines() or ["(no output)"])[-1]
    if ran.timed_out or ran.code != 0:
        why = "it ran past its time limit" if ran.timed_out else f"it exited with code {ran.code}: {last}"
        return not_measured("correct", question, why, hint=hint, rule=rule, detail=ran.note)
    try:
        got = json.loads(sandbox.read_report(answers))
    except (OSError, ValueError, RecursionError) as exc:
        return not_measured("correct", question, f"no readable answers ({exc})", hint=hint, rule=rule)
    differs = first_difference(inputs, got)
    check = Check(
        id="correct",
        question=question,
        measured=differs or f"agrees on all {len(inputs)} inputs",
        rule=rule,
        verdict="fails" if differs else "holds",
        hint=hint if differs else "",
    )
    return capped(check, ran.note)


def check_fast(
    lab: Lab, *, root: Path, file: Path, function: str, folder: Path, work: Path, quick: bool, say: Say
) -> Check:
    """The lab's benchmark with the learner's function timed in a child, on the benchmark's clock."""
    fast = exercise.of(lab).checks["fast"]
    got = bench(
        lab, root=root, file=file, function=function, fast=fast, quick=quick, folder=folder, work=work,
        say=say, flag="--distances", what="the broadcast", label="fast",
    )  # fmt: skip
    if got.fast is not None:
        return got.fast
    line = got.why.strip().splitlines()[-1] if got.why.strip() else "the benchmark reported nothing"
    hint = str(fast["hint"])
    return not_measured("fast", QUESTIONS["fast"], line, hint=hint, rule="see the hint", detail=got.note)


def loops_share(data: JSONObject) -> Measured:
    """The share of the recording's samples with a frame of NumPy's loops, with its interval."""
    recording = stacks.parse(data)
    if recording.sample_count == 0:
        raise LabError("py-spy took no samples of the service")
    series = loop_samples([f.name for f in stack] for stack in recording.stacks())
    low, high, _ = stats.share_interval(series, confidence=LEVEL)
    return Measured(sum(series) / len(series), low, high, LEVEL)


def check_native(
    lab: Lab, *, root: Path, cfg: JSONObject, spec: str, function: str, folder: Path, work: Path,
    quick: bool, say: Say,
) -> Check:  # fmt: skip
    """Record the service running the learner's function with --native (launch form); judge the loops."""
    question, hint, than = QUESTIONS["native_gone"], str(cfg["hint"]), float(cfg["than"])
    rule = f"whole interval < {formats_of(than, 'share')}" + (f" ({cfg['why']})" if cfg.get("why") else "")
    seconds = setting(cfg, "duration", quick=quick)
    argv = [*_argv(lab, root, cfg["program"]), "--distances", spec]
    say(f"native: the service with your {function}, recorded by py-spy --native for {seconds} s")
    try:
        data, note = record_service(argv, seconds=seconds, folder=folder, work=work, extra=["--native"])
    except NotRecorded as exc:
        return not_measured("native_gone", question, str(exc), hint=hint, rule=rule, detail=exc.note)
    try:
        share = loops_share(data)
    except LabError as exc:
        return not_measured("native_gone", question, str(exc), hint=hint, rule=rule, detail=note)
    check = capped(
        judged("native_gone", question, share, "<", than, kind="share", hint=hint, rule=rule), note
    )
    picture = your_flame_graph(data, lab=lab, root=root, function=function)
    return dataclasses.replace(check, picture=picture.relative_to(root).as_posix() if picture else "")


def grade(lab: Lab, *, root: Path, work: Path, folder: Path, quick: bool, say: Say) -> list[Check]:
    cfg = exercise.of(lab).checks
    file, function = exercise.target(lab, root=root)
    spec = f"{file}:{function}"
    say(f"correct: your {function} against the reference on the grader's inputs")
    return [
        check_answers(lab, root=root, cfg=cfg["correct"], spec=spec, folder=folder, work=work),
        check_fast(
            lab, root=root, file=file, function=function, folder=folder, work=work, quick=quick, say=say
        ),
        check_native(
            lab, root=root, cfg=cfg["native_gone"], spec=spec, function=function, folder=folder,
            work=work, quick=quick, say=say,
        ),
    ]  # fmt: skip
