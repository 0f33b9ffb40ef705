"""`make grade-N`: judge the learner's exercise with the claims' machinery, one check at a time.

Each check measures something about the learner's code (real programs, real py-spy), turns it into a
``claims.Measured`` and asks ``claims.verdict`` for the rule the manifest gives: a speedup on its
conservative end, an exponent or a share on its whole interval. A check passes only when it holds;
an undecided check does not pass. Nothing here writes under docs/.
"""

from __future__ import annotations

import dataclasses
import http.client
import importlib.util
import json
import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from labkit import (
    benchmark,
    claims,
    exercise,
    flamegraph,
    processes,
    pyspy,
    runner,
    services,
    stacks,
    stats,
)
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.graders import GRADERS
from labkit.manifest import Lab, Step
from labkit.records import JSONObject
from labkit.sanitize import PathMap
from labkit.versions import GRADE_VERSION

Say = Callable[[str], None]
QUESTIONS = {
    "correct": "correct: the same duplicates as the reference",
    "fast": "fast: faster than the slow finder",
    "scales": "scales: time ∝ n^b",
    "hot_path": "profile: the finder no longer dominates the service",
    "no_lost_updates": "no lost updates under concurrent requests",
    "p95": "fast: p95 of /locked, the slow version against yours",
}
LEVEL = 0.95  # the confidence of a share's interval in the profile check (one look, as in the lab)


@dataclass(frozen=True)
class Check:
    id: str
    question: str  # what the check asks, in a few words
    measured: str  # the measurement as the table shows it
    rule: str
    verdict: str  # holds, fails or undecided (claims.verdict)
    hint: str = ""  # the manifest's hint, kept only when the check did not pass
    detail: str = ""  # e.g. hypothesis's smallest failing input
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


def not_measured(check_id: str, question: str, why: str, *, hint: str, rule: str) -> Check:
    """A check that could not measure (a wrong answer is never timed, a crash is never profiled)."""
    return Check(
        id=check_id, question=question, measured=f"not measured: {why}", rule=rule, verdict="fails", hint=hint
    )


def function_from(file: Path, name: str) -> Callable[..., Any]:
    """A function from a Python file (the learner's copy, or the lab's reference), loaded by path."""
    spec = importlib.util.spec_from_file_location(f"graded_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise LabError(f"{file.name}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the learner's file: any error in it is theirs to see
        raise LabError(f"{file.name} does not load: {type(exc).__name__}: {exc}") from exc
    found = getattr(module, name, None)
    if not callable(found):
        raise LabError(f"{file.name} defines no function {name!r}")
    return found  # type: ignore[no-any-return]


# --- Lab 1: a duplicate finder ---------------------------------------------------------------------


def disagreement(
    finder: Callable[..., Any], reference: Callable[..., Collection[Any]], values: list[Any]
) -> str | None:
    """How the finder's answer differs from the reference's on one input (as sets), or None."""
    want = set(reference(list(values)))
    try:
        got = set(finder(list(values)))
    except Exception as exc:  # the learner's code: report its error as the answer
        return f"raised {type(exc).__name__}: {exc}"
    if got == want:
        return None
    return f"returned {sorted(got, key=repr)} instead of {sorted(want, key=repr)}"


def smallest_failure(
    finder: Callable[..., Any], reference: Callable[..., Collection[Any]], *, examples: int
) -> tuple[int, list[Any] | None, str]:
    """Inputs tried, and hypothesis's shrunk smallest input on which the finder disagrees (or None).

    The inputs mix an empty list, all-equal lists, lists with no duplicates, negatives, strings and
    lists of 150 to 200 values (no more: the learner's finder may still be quadratic).
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
        why = disagreement(finder, reference, values)
        if why is not None:
            last[:] = [values, why]  # the last failure hypothesis replays is the shrunk one
            raise AssertionError(why)

    try:
        agrees()
    except AssertionError:
        return tried, last[0], last[1]
    return tried, None, ""


def check_correct(
    finder: Callable[..., Any], reference: Callable[..., Any], *, cfg: JSONObject, quick: bool
) -> Check:
    examples = setting(cfg, "examples", quick=quick, default=200)
    tried, failing, why = smallest_failure(finder, reference, examples=examples)
    question = "correct: the same duplicates as the reference"
    m = Measured(0 if failing is None else 1)
    rule = f"agrees on every input hypothesis generates ({examples} examples)"
    verdict = claims.verdict(m, "==", 0)
    if failing is None:
        shown = f"agrees on all {tried} inputs tried"
        detail = ""
    else:
        shown = f"disagrees: smallest failing input {failing!r}"
        detail = f"smallest failing input (shrunk by hypothesis): {failing!r}; your function {why}"
    return Check(
        id="correct",
        question=question,
        measured=shown,
        rule=rule,
        verdict=verdict,
        hint="" if verdict == "holds" else str(cfg["hint"]),
        detail=detail,
        value=None if failing is None else repr(failing),
    )


def program_json(argv: list[str], *, name: str, root: Path, work: Path, say: Say) -> JSONObject:
    """Run a lab program to its end with --json (labkit.runner's way); its log stays in ``work``."""
    opts = runner.Options(root=root, work=work, out=work, quick=False, method=None, say=say)
    return runner.run_json(Step(id=name, kind="grade"), argv, opts=opts, what=name)


def check_speed(raw: JSONObject, *, fast: JSONObject, scales: JSONObject) -> tuple[Check, Check]:
    """fast: the conservative speedup at the largest size; scales: the fitted exponent's interval."""
    summary = benchmark.summarise(raw)
    spread = summary["speedup"]
    n = summary["n"]
    speedup = Measured(spread["median"], spread["min"], spread["max"])
    fast_check = judged(
        "fast",
        f"fast: faster than the slow finder at n = {n:,}",
        speedup,
        ">=",
        float(fast["than"]),
        kind="speedup",
        hint=str(fast["hint"]),
        rule=f"≥ {formats_of(float(fast['than']), 'speedup')} at the conservative end (your slowest call "
        "against the slow finder's fastest)",
    )
    scaling = summary["scaling"]
    if scaling is None:
        raise LabError("the grader's benchmark needs at least three sizes to fit an exponent")
    low, high = scaling["fast"]["exponent_ci"]
    exponent = Measured(scaling["fast"]["exponent"], low, high, scaling["fast"]["ci_level"])
    sizes = ", ".join(f"{p['n']:,}" for p in summary["sizes"])
    scales_check = judged(
        "scales",
        f"scales: time ∝ n^b over n = {sizes}",
        exponent,
        "<",
        float(scales["than"]),
        kind="exponent",
        hint=str(scales["hint"]),
        rule=f"whole interval < {float(scales['than']):g} (1 is linear, 2 quadratic)",
    )
    return fast_check, scales_check


def finder_share(data: JSONObject, *, file: Path, function: str) -> Measured:
    """The learner's finder's total share of the samples, with its interval (0 when never sampled)."""
    recording = stacks.parse(data)
    if recording.sample_count == 0:
        raise LabError("py-spy took no samples of the service")
    for row in stacks.functions(recording, confidence=LEVEL):
        if row["name"] == function and Path(str(row["file"])).name == file.name:
            low, high = row["total_ci"]
            return Measured(float(row["total_share"]), low, high, LEVEL)
    low, high = stats.wilson(0.0, recording.sample_count, confidence=LEVEL)
    return Measured(0.0, low, high, LEVEL)


def check_profile(
    lab: Lab, *, cfg: JSONObject, file: Path, function: str, root: Path, work: Path, quick: bool, say: Say
) -> Check:
    """Record the service running the learner's finder (launch form) and judge the finder's share."""
    question = "profile: the finder no longer dominates the service"
    than = float(cfg["than"])
    rule = f"whole interval < {formats_of(than, 'share')}" + (f" ({cfg['why']})" if cfg.get("why") else "")
    command = [str(a).replace("{seed}", str(lab.seed)) for a in cfg["program"]]
    argv = [*runner.python_argv(command, root), "--finder", f"{file}:{function}"]
    seconds = setting(cfg, "duration", quick=quick)
    out = work / "profile.speedscope.json"
    out.unlink(missing_ok=True)
    say(f"profile: the service with your finder, recorded by py-spy for {seconds} s")
    rec = pyspy.record(
        exe=pyspy.find(), out=out, log=work / "profile.log", cwd=root, rate=100, duration=seconds, launch=argv
    )
    if not out.exists():
        why = (rec.output.strip().splitlines() or ["(no output)"])[-1]
        return not_measured(
            "hot_path", question, f"py-spy wrote no recording: {why}", hint=str(cfg["hint"]), rule=rule
        )
    data = stacks.load(out)
    share = finder_share(data, file=file, function=function)
    check = judged("hot_path", question, share, "<", than, kind="share", hint=str(cfg["hint"]), rule=rule)
    picture = your_flame_graph(data, lab=lab, root=root, function=function)
    return dataclasses.replace(check, picture=picture.relative_to(root).as_posix())


def your_flame_graph(data: JSONObject, *, lab: Lab, root: Path, function: str) -> Path:
    """The learner's service as the toolkit draws a flame graph: out/<id>/grade/your-service.svg."""
    recording = stacks.parse(stacks.sanitize(data, paths=PathMap.here(root)))
    path = root / "out" / lab.id / "grade" / "your-service.svg"
    path.parent.mkdir(parents=True, exist_ok=True)
    svg = flamegraph.render_svg(
        stacks=stacks.collapsed(recording),
        title=f"The service with your {function}",
        subtitle="width = share of samples · click a frame to zoom · press / to search",
        width=900,
    )
    path.write_text(svg, encoding="utf-8")
    return path


def grade_finder(lab: Lab, *, root: Path, work: Path, quick: bool, say: Say) -> list[Check]:
    ex = exercise.of(lab)
    file, function = exercise.target(lab, root=root)
    cfg = ex.checks
    ref_file, _, ref_name = str(cfg["correct"]["reference"]).partition(":")
    reference = function_from(root / ref_file, ref_name)
    out: list[Check] = []
    try:
        finder = function_from(file, function)
    except LabError as exc:
        return [
            not_measured(c, QUESTIONS[c], str(exc), hint=str(cfg[c]["hint"]), rule="your file must load")
            for c in GRADERS["finder"].checks
        ]
    say(f"correct: your {function} against the reference on inputs generated by hypothesis")
    out.append(check_correct(finder, reference, cfg=cfg["correct"], quick=quick))
    fast = cfg["fast"]
    command = fast["quick_program"] if quick and "quick_program" in fast else fast["program"]
    argv = [*runner.python_argv([str(a).replace("{seed}", str(lab.seed)) for a in command], root)]
    argv += ["--finder", f"{file}:{function}"]
    say(f"fast, scales: {' '.join(PathMap.here(root).command(argv)[1:])}")
    try:
        raw = program_json(argv, name="bench", root=root, work=work, say=say)
        out.extend(check_speed(raw, fast=fast, scales=cfg["scales"]))
    except LabError as exc:
        why = str(exc).strip().splitlines()[-1]
        for c in ("fast", "scales"):
            out.append(
                not_measured(c, QUESTIONS[c], why, hint=str(cfg[c]["hint"]), rule=f"{c}: see the hint")
            )
    try:
        out.append(
            check_profile(
                lab,
                cfg=cfg["hot_path"],
                file=file,
                function=function,
                root=root,
                work=work,
                quick=quick,
                say=say,
            )
        )
    except LabError as exc:
        out.append(
            not_measured(
                "hot_path",
                QUESTIONS["hot_path"],
                str(exc).strip().splitlines()[0],
                hint=str(cfg["hot_path"]["hint"]),
                rule="see the hint",
            )
        )
    return out


# --- Lab 2: a lock ---------------------------------------------------------------------------------


def counters(port: int) -> dict[str, int]:
    """The service's shared counters (its /state endpoint)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/state")
        body = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    result: dict[str, int] = body["result"]
    return result


def answered(load: JSONObject) -> tuple[int, int]:
    """Requests answered and failed over every repeat of a load."""
    return sum(int(r["requests"]) for r in load["repeats"]), sum(int(r["errors"]) for r in load["repeats"])


def p95(load: JSONObject) -> Measured:
    s = load["summary"]["all"]["p95_ms"]
    if s["min"] is None:
        return Measured(math.nan, math.nan, math.nan)
    return Measured(s["median"], s["min"], s["max"])


def check_lost(load: JSONObject, state: dict[str, int], *, hint: str) -> Check:
    ok, failed = answered(load)
    lost = max(0, ok - int(state["count"]))
    m = Measured(lost + failed)
    verdict = claims.verdict(m, "==", 0) if ok > 0 else "fails"
    return Check(
        id="no_lost_updates",
        question="no lost updates under concurrent requests",
        measured=f"{lost} lost, {failed} failed (counter {state['count']:,} after {ok:,} answered requests)",
        rule="= 0 lost and 0 failed: the counter equals the requests answered",
        verdict=verdict,
        hint="" if verdict == "holds" else hint,
        value=lost + failed,
    )


def check_p95(slow: JSONObject, yours: JSONObject, *, cfg: JSONObject) -> Check:
    factor = float(cfg["than"])
    before, after = p95(slow), p95(yours)
    if math.isnan(before.value) or math.isnan(after.value):
        return not_measured(
            "p95", "p95", "a load got no answers", hint=str(cfg["hint"]), rule=f"≥ {factor:g} ×"
        )
    scaled = Measured(after.value * factor, (after.low or 0) * factor, (after.high or 0) * factor)
    check = judged(
        "p95",
        QUESTIONS["p95"],
        before,
        ">=",
        None,
        kind="milliseconds",
        hint=str(cfg["hint"]),
        other=scaled,
        rule=f"the slow version's fastest repeat ≥ {factor:g} × your slowest repeat",
    )
    shown = f"slow version {check.measured}; yours {claims.shown(after, 'milliseconds')}"
    return dataclasses.replace(check, measured=shown)


def grade_lock(lab: Lab, *, root: Path, work: Path, quick: bool, say: Say) -> list[Check]:
    ex = exercise.of(lab)
    file, function = exercise.target(lab, root=root)
    cfg = ex.checks["p95"]
    service = runner.python_argv([str(a) for a in cfg["server"]], root)
    command = cfg["quick_program"] if quick and "quick_program" in cfg else cfg["program"]
    loads: dict[str, JSONObject] = {}
    started: dict[str, services.Running] = {}
    try:
        for name, argv in (("slow", service), ("yours", [*service, "--update", f"{file}:{function}"])):
            say(f"starting the web service: {'the slow version' if name == 'slow' else 'yours'}")
            started[name] = services.start(
                name, argv, ready=str(cfg["ready"]), cwd=root, log=work / f"{name}.log"
            )
        for name, running in started.items():
            url = f"http://127.0.0.1:{running.values['port']}/locked"
            say(f"load on /locked: {'the slow version' if name == 'slow' else 'yours'}")
            argv = [*runner.python_argv([str(a) for a in command], root), "--url", url]
            loads[name] = program_json(argv, name=f"load_{name}", root=root, work=work, say=say)
            services.alive(running)
        state = counters(int(started["yours"].values["port"]))
    except LabError as exc:
        why = str(exc).strip().splitlines()[0]
        return [
            not_measured(c, QUESTIONS[c], why, hint=str(ex.checks[c]["hint"]), rule="see the hint")
            for c in GRADERS["lock"].checks
        ]
    finally:
        for running in started.values():
            services.stop(running)
    return [
        check_lost(loads["yours"], state, hint=str(ex.checks["no_lost_updates"]["hint"])),
        check_p95(loads["slow"], loads["yours"], cfg=cfg),
    ]


RUNS: dict[str, Callable[..., list[Check]]] = {"finder": grade_finder, "lock": grade_lock}


@dataclass(frozen=True)
class Grade:
    lab: str
    exercise: str  # the learner's folder, relative to the repository
    unchanged: bool
    quick: bool
    checks: list[Check]
    wall_s: float

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks) and not self.unchanged

    def record(self) -> JSONObject:
        """grade.json: versioned (labkit.versions), no absolute paths."""
        return {
            "format_version": GRADE_VERSION,
            "lab": self.lab,
            "exercise": self.exercise,
            "unchanged": self.unchanged,
            "quick": self.quick,
            "passed": self.passed,
            "wall_s": round(self.wall_s, 1),
            "checks": [{**asdict(c), "passed": c.passed} for c in self.checks],
        }


def grade(lab: Lab, *, root: Path, quick: bool, say: Say) -> Grade:
    """Every check of the lab's grader, with every process it starts stopped on the way out."""
    ex = exercise.of(lab)
    work = root / ".labs" / "grade" / lab.id
    work.mkdir(parents=True, exist_ok=True)
    pyspy.check_platform()
    started = time.perf_counter()
    same = exercise.unchanged(lab, root=root)
    with processes.supervised():
        checks = RUNS[ex.grader](lab, root=root, work=work, quick=quick, say=say)
    return Grade(
        lab=lab.id,
        exercise=ex.folder(lab.id).as_posix(),
        unchanged=same,
        quick=quick,
        checks=checks,
        wall_s=time.perf_counter() - started,
    )


def write(result: Grade, *, root: Path) -> Path:
    """out/<id>/grade.json (never under docs/)."""
    path = root / "out" / result.lab / "grade.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.record(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def failed(checks: Sequence[Check]) -> list[str]:
    return [c.id for c in checks if not c.passed]
