"""Lab 4's grader (`make grade-4`): the learner's routing of jobs, judged by the results, the
throughput against the slow routing, and how evenly py-spy --subprocesses sees the workers busy.

The manifest's ``exercise: grader:`` names this file (labkit.graders). The learner's function runs
only inside this folder's job service (``--route FILE.py:FUNCTION``), a child with a time limit and
capped output; its results are compared with the slow service's, its wall time is measured here,
and its workers are recorded by py-spy from outside.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from labkit import exercise, processes, pyspy, runner, sandbox, stacks
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.grade_checks import Check, Say, judged, not_measured, program_json
from labkit.grade_finder import your_flame_graph
from labkit.kinds.busy import samples_by_thread
from labkit.manifest import Lab
from labkit.records import JSONObject
from labkit.sanitize import PathMap

# Each check, in the order it runs and is shown → the settings it needs in the manifest.
CHECKS = {"correct": ("program",), "throughput": ("than", "program"), "even": ("than", "program", "duration")}
QUESTIONS = {
    "correct": "every job done once, with the slow service's result",
    "throughput": "faster: the same batches, start-up included, yours against the slow routing",
    "even": "even: the least busy worker against the busiest, in py-spy's recording",
}
ROUNDS = 2  # interleaved rounds of the throughput check: the slow routing, then yours
WORKERS = ("worker-0", "worker-1", "worker-2", "worker-3")  # the service's fixed pool
UNMEASURED = (
    "py-spy measured nothing (the check's not-measured line says why): nothing yet about your routing"
)
STOPPED = "your routing stopped the service before its end: the first check says why; fix that first"


def _argv(root: Path, command: list[object], *more: str) -> list[str]:
    return [*runner.python_argv([str(a) for a in command], root), *more]


def check_results(reference: JSONObject, yours: JSONObject, *, hint: str) -> Check:
    """Every job of the batch, once, with the value the slow service computed for it."""
    want = {(b, j): v for b, j, v in reference["repeats"][0]["values"]}
    got = [(b, j, v) for b, j, v in yours["repeats"][0]["values"]]
    seen = {(b, j): v for b, j, v in got}
    wrong = sum(seen.get(key) != value for key, value in want.items()) + (len(got) - len(seen))
    return judged(
        "correct", QUESTIONS["correct"], Measured(wrong), "==", 0, kind="count", hint=hint,
        rule="0 jobs missing, repeated or with another result",
    )  # fmt: skip


def _timed(argv: list[str], *, name: str, work: Path) -> float:
    """The wall time of one run of the service, measured here (its own report is not trusted)."""
    started = time.perf_counter()
    program_json(argv, name=name, work=work)
    return time.perf_counter() - started


def check_throughput(root: Path, cfg: JSONObject, spec: str, *, work: Path, say: Say) -> Check:
    """Interleaved rounds; the conservative end: the slow routing's fastest run against your slowest."""
    slow, yours = [], []
    for n in range(ROUNDS):
        say(f"throughput: round {n + 1} of {ROUNDS}, the slow routing, then yours")
        slow.append(_timed(_argv(root, cfg["program"]), name=f"slow_{n}", work=work))
        yours.append(_timed(_argv(root, cfg["program"], "--route", spec), name=f"yours_{n}", work=work))
    gain = Measured(min(slow) / max(yours))
    rule = f"≥ {float(cfg['than']):g}×: the slow routing's fastest run ÷ your slowest"
    return judged(
        "throughput", QUESTIONS["throughput"], gain, ">=", float(cfg["than"]), kind="speedup",
        hint=str(cfg["hint"]), rule=rule,
    )  # fmt: skip


def record_tree(root: Path, cfg: JSONObject, spec: str, *, work: Path, seconds: int) -> JSONObject:
    """The service with the learner's routing, recorded by py-spy --subprocesses (attached by PID)."""
    argv = _argv(root, cfg["program"], "--route", spec)
    log, out, spy_log = work / "even.log", work / "even.speedscope.json", work / "even.py-spy.log"
    sandbox.remove(out)
    spy_log.unlink(missing_ok=True)  # py-spy's log is appended to: keep only this run's
    service = processes.start(argv, log=log, cwd=work, memory=sandbox.memory_mb() << 20)
    try:
        processes.wait_ready(service, log=log, pattern="running as PID", timeout=30)
        pyspy.record(
            exe=pyspy.find(), out=out, log=spy_log, cwd=work, rate=100, duration=seconds,
            pid=service.pid, extra=["--subprocesses"],
        )  # fmt: skip
    finally:
        processes.stop(service)
    if not out.exists():
        raise LabError(f"py-spy recorded nothing; the service said: {processes.tail(log).strip()[-300:]}")
    return stacks.load(out)


def check_even(data: JSONObject, cfg: JSONObject, *, root: Path) -> Check:
    """Each worker's samples (threads named by the service) in the recording, as the lab counts them."""
    clean = stacks.sanitize(data, paths=PathMap.here(root))
    # Samples in checksum only: where py-spy cannot tell idle threads (FreeBSD; i686 or --nonblocking before
    # Python 3.11; a container seen from the host) it samples a blocked worker.
    counts = samples_by_thread(stacks.parse(clean), threads="^worker-", computing="checksum")
    values = [counts.get(name, 0) for name in WORKERS]
    evenness = min(values) / max(values) if max(values) else 0.0
    rule = f"≥ {float(cfg['than']):g}: the least busy worker's samples ÷ the busiest's"
    return judged(
        "even", QUESTIONS["even"], Measured(round(evenness, 4)), ">=", float(cfg["than"]), kind="text",
        hint=str(cfg["hint"]), rule=rule,
    )  # fmt: skip


def grade(lab: Lab, *, root: Path, work: Path, folder: Path, quick: bool, say: Say) -> list[Check]:
    del folder, quick  # the service runs in the work folder; its batches are few already
    ex = exercise.of(lab)
    file, function = exercise.target(lab, root=root)
    spec = f"{file}:{function}"
    checks = ex.checks
    out: list[Check] = []
    reference: JSONObject | None = None
    stopped = False  # the learner's routing stopped the service: every check fails, one hint fits
    try:
        say(f"correct: one batch routed by your {function}, against the slow service's results")
        program = checks["correct"]["program"]
        reference = program_json(_argv(root, program), name="reference", work=work)
        yours = program_json(_argv(root, program, "--route", spec), name="yours", work=work)
        out.append(check_results(reference, yours, hint=str(checks["correct"]["hint"])))
    except (LabError, KeyError, TypeError, ValueError) as exc:
        hint = str(checks["correct"]["hint"])
        out.append(not_measured("correct", QUESTIONS["correct"], _line(exc), hint=hint, rule="see the hint"))
        stopped = reference is not None
    try:
        out.append(check_throughput(root, checks["throughput"], spec, work=work, say=say))
    except LabError as exc:
        hint = str(checks["throughput"]["hint"])
        out.append(
            not_measured("throughput", QUESTIONS["throughput"], _line(exc), hint=hint, rule="see the hint")
        )
    cfg = checks["even"]
    try:
        seconds = int(cfg["duration"])
        say(f"even: your service recorded by py-spy --subprocesses for {seconds} s")
        data = record_tree(root, cfg, spec, work=work, seconds=seconds)
        check = check_even(data, cfg, root=root)
        picture = your_flame_graph(data, lab=lab, root=root, function=function)
        out.append(
            Check(**{**check.__dict__, "picture": picture.relative_to(root).as_posix() if picture else ""})
        )
    except pyspy.AttachRefused as refused:  # no routing fixes this: say what does
        out.append(
            not_measured(
                "even", QUESTIONS["even"], _line(refused), hint=_attach_hint(lab), rule="see the hint"
            )
        )
    except LabError as exc:
        out.append(not_measured("even", QUESTIONS["even"], _line(exc), hint=UNMEASURED, rule="see the hint"))
    if stopped:  # the later checks measured a service that stopped early: their routing hints would mislead
        out = [c if c.id == "correct" or c.passed else dataclasses.replace(c, hint=STOPPED) for c in out]
    return out


def _attach_hint(lab: Lab) -> str:
    """Whatever the routing, py-spy was refused: what lets it read the service (as `make lab-N` says)."""
    grade = f"grade-{lab.number}"  # the remedies name the command to run again
    advice = pyspy.advice_here(lab=grade, launch=False, by_hand=False)
    return f"py-spy may not read your service here, whatever your routing. {advice[:1].upper()}{advice[1:]}"


def _line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
