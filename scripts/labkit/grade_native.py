"""Lab 3's grader: the learner's distance function, judged for correctness, speed and its native profile.

An adapter from the grading registry to the lab's own rules (labs/native_service/grading.py: the
inputs, the comparison, which frames are NumPy's loops). The learner's code runs only in children
(labkit.sandbox): one answers the grader's inputs, the lab's benchmark times it, and py-spy records
the service running it with --native. The reference, the shares and the verdicts are computed here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from labkit import exercise, runner, sandbox, stacks, stats
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.grade_checks import (
    QUESTIONS,
    Check,
    Say,
    capped,
    formats_of,
    judged,
    limit,
    not_measured,
    setting,
)
from labkit.grade_finder import NotRecorded, bench, check_speed_only, record_service, your_flame_graph
from labkit.graders import GRADERS
from labkit.manifest import Lab
from labkit.records import JSONObject

LEVEL = 0.95  # one recording, one look: the level of the loops' share interval


def rules(root: Path, folder: str) -> ModuleType:
    """The lab's grading module (lab code, never the learner's), imported beside its distances module."""
    where = root / folder
    sys.path.insert(0, str(where))
    try:
        spec = importlib.util.spec_from_file_location("lab_grading", where / "grading.py")
        if spec is None or spec.loader is None:
            raise LabError(f"{folder}/grading.py: cannot be loaded")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(where))


def _argv(lab: Lab, root: Path, command: list[Any]) -> list[str]:
    return runner.python_argv([str(a).replace("{seed}", str(lab.seed)) for a in command], root)


def check_correct(
    lab: Lab, *, root: Path, lab_rules: ModuleType, cfg: JSONObject, spec: str, folder: Path, work: Path
) -> Check:
    """The learner's answers to the grader's inputs, compared here with the reference's."""
    question, hint = QUESTIONS["correct_distances"], str(cfg["hint"])
    inputs = lab_rules.cases(lab.seed or 0)
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
    differs = lab_rules.first_difference(inputs, got)
    check = Check(
        id="correct",
        question=question,
        measured=differs or f"agrees on all {len(inputs)} inputs",
        rule=rule,
        verdict="fails" if differs else "holds",
        hint=hint if differs else "",
    )
    return capped(check, ran.note)


def loops_share(data: JSONObject, *, lab_rules: ModuleType, pattern: str) -> Measured:
    """The share of the recording's samples with a frame of NumPy's loops, with its interval."""
    recording = stacks.parse(data)
    if recording.sample_count == 0:
        raise LabError("py-spy took no samples of the service")
    series = lab_rules.loop_samples(([f.name for f in stack] for stack in recording.stacks()), pattern)
    low, high, _ = stats.share_interval(series, confidence=LEVEL)
    return Measured(sum(series) / len(series), low, high, LEVEL)


def check_native(
    lab: Lab, *, root: Path, lab_rules: ModuleType, cfg: JSONObject, spec: str, function: str,
    folder: Path, work: Path, quick: bool, say: Say,
) -> Check:  # fmt: skip
    """Record the service running the learner's function with --native (launch form); judge the loops."""
    question, hint, than = QUESTIONS["native_gone"], str(cfg["hint"]), float(cfg["than"])
    pattern = str(cfg.get("pattern") or lab_rules.LOOPS)
    rule = f"whole interval < {formats_of(than, 'share')}" + (f" ({cfg['why']})" if cfg.get("why") else "")
    seconds = setting(cfg, "duration", quick=quick)
    argv = [*_argv(lab, root, cfg["program"]), "--distances", spec]
    say(f"native: the service with your {function}, recorded by py-spy --native for {seconds} s")
    try:
        data, note = record_service(
            argv, name="native", seconds=seconds, folder=folder, work=work, extra=["--native"]
        )
    except NotRecorded as exc:
        return not_measured("native_gone", question, str(exc), hint=hint, rule=rule, detail=exc.note)
    try:
        share = loops_share(data, lab_rules=lab_rules, pattern=pattern)
    except LabError as exc:
        return not_measured("native_gone", question, str(exc), hint=hint, rule=rule, detail=note)
    check = capped(
        judged("native_gone", question, share, "<", than, kind="share", hint=hint, rule=rule), note
    )
    picture = your_flame_graph(data, lab=lab, root=root, function=function)
    return dataclasses.replace(check, picture=picture.relative_to(root).as_posix() if picture else "")


def grade_native(lab: Lab, *, root: Path, work: Path, folder: Path, quick: bool, say: Say) -> list[Check]:
    ex = exercise.of(lab)
    file, function = exercise.target(lab, root=root)
    cfg = ex.checks
    spec = f"{file}:{function}"
    lab_rules = rules(root, str(cfg["correct"]["rules"]))
    say(f"correct: your {function} against the reference on the grader's inputs")
    out = [
        check_correct(
            lab, root=root, lab_rules=lab_rules, cfg=cfg["correct"], spec=spec, folder=folder, work=work
        )
    ]
    fast = cfg["fast"]
    raw, why, note = bench(
        lab, root=root, file=file, function=function, fast=fast, quick=quick, folder=folder, work=work,
        say=say, option="--distances",
    )  # fmt: skip
    try:
        if raw is None:
            raise LabError(why)
        out.append(capped(check_speed_only(raw, fast=fast, what="the broadcast"), note))
    except LabError as exc:
        line = str(exc).strip().splitlines()[-1]
        out.append(not_measured("fast", QUESTIONS["fast"], line, hint=str(fast["hint"]), rule="see the hint"))
    out.append(
        check_native(
            lab,
            root=root,
            lab_rules=lab_rules,
            cfg=cfg["native_gone"],
            spec=spec,
            function=function,
            folder=folder,
            work=work,
            quick=quick,
            say=say,
        )
    )
    assert [c.id for c in out] == list(GRADERS["native"].checks)
    return out
