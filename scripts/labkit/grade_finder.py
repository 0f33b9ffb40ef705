"""Checks of a learner's function that a lab's grader can reuse: speed, scaling, share of a profile.

The learner's code runs only in children (labkit.sandbox): the benchmark and the service are lab
programs given the learner's function (``FLAG FILE.py:FUNCTION``, ``--finder`` by default). The fits
and the verdicts are computed here. In the profile the learner's function is found by its file and
its lines, read from the file's syntax tree, not by the name its code object reports.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from labkit import benchmark, flamegraph, pyspy, runner, sandbox, stacks, stats
from labkit.claims import Measured
from labkit.errors import LabError, where
from labkit.grade_checks import (
    Check,
    Say,
    capped,
    formats_of,
    judged,
    limit,
    not_measured,
    setting,
    until_decided,
)
from labkit.manifest import Lab
from labkit.records import JSONObject
from labkit.sanitize import PathMap

LEVEL = 0.95  # the confidence of a share's interval in the profile check (one look, as in the lab)


def lines_of(file: Path, function: str) -> tuple[int, int]:
    """The first and last line of the module-level ``def function``, from the AST.

    The service calls whatever the name holds once the module ran, so the def must be the name's only
    kind of binding: an assignment, an import, a ``global``, a decorator or the name as a string (for
    ``globals()[...]``) could hand the service another function than the lines judged here.
    """
    try:
        source = sandbox.read_report(file)  # the learner's children ran before: it may be a FIFO now
    except OSError as exc:
        raise LabError(f"{file.name}: cannot be read ({exc.strerror or exc})") from exc
    try:
        tree = ast.parse(source, filename=file.name)
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise LabError(f"{file.name} does not parse: {exc}") from exc
    found = [
        node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function
    ]
    if not found:
        raise LabError(f"{file.name} has no `def {function}` at its top level")
    node = found[-1]  # the last definition is the one the module keeps
    for other in rebindings(tree, function, keep=set(found)):
        raise LabError(
            f"{where(file.name, getattr(other, 'lineno', 0))}: {function} must be a plain def, never rebound "
            f"(found {type(other).__name__}): the profile judges the def's own lines"
        )
    if node.decorator_list:
        raise LabError(
            f"{where(file.name, node.lineno)}: {function} must be a plain def, without a decorator"
        )
    return node.lineno, int(node.end_lineno or node.lineno)


def rebindings(tree: ast.Module, name: str, *, keep: set[ast.AST]) -> list[ast.AST]:
    """Every node that could give ``name`` another value than its top-level def (``keep``), in order."""
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        if node in keep:
            continue
        bound: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = [node.name]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound = [node.id]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound = [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound = list(node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            bound = [node.value]
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound = [node.attr]  # sys.modules[__name__].name = ...
        if name in bound:
            found.append(node)
    return sorted(found, key=lambda n: getattr(n, "lineno", 0))


# --- fast, scales -----------------------------------------------------------------------------------


def fastest_exponent(raw: JSONObject) -> float:
    """The exponent b of time ∝ n^b fitted through each size's fastest timing of the learner's finder.

    A busy machine only ever adds time: the fastest of a size's timings is the one least disturbed, so
    this fit keeps a linear finder near 1 and a quadratic one near 2 under load.
    """
    summary = benchmark.summarise(raw)
    xs = [float(p["n"]) for p in summary["sizes"]]
    ys = [float(p["fast_s"]["min"]) for p in summary["sizes"]]
    return benchmark.slope([math.log(x) for x in xs], [math.log(y) for y in ys])


def check_speed_only(raw: JSONObject, *, fast: JSONObject, what: str = "the slow finder") -> Check:
    """fast: the conservative speedup at the largest size (the benchmark's JSON as labkit.benchmark
    reads it; its ``fast`` function is the learner's; ``what``: the slow version, as the page says)."""
    summary = benchmark.summarise(raw)
    spread = summary["speedup"]
    speedup = Measured(spread["median"], spread["min"], spread["max"])
    return judged(
        "fast",
        f"fast: faster than {what} at n = {summary['n']:,}",
        speedup,
        ">=",
        float(fast["than"]),
        kind="speedup",
        hint=str(fast["hint"]),
        rule=f"≥ {formats_of(float(fast['than']), 'speedup')} at the conservative end (your slowest call "
        f"against {what}'s fastest)",
    )


def check_scales(raw: JSONObject, *, scales: JSONObject) -> Check:
    """scales: the exponent of the fastest timings of the learner's finder."""
    summary = benchmark.summarise(raw)
    scaling = summary["scaling"]
    if scaling is None:
        raise LabError("the grader's benchmark needs at least three sizes to fit an exponent")
    low, high = scaling["fast"]["exponent_ci"]
    sizes = ", ".join(f"{p['n']:,}" for p in summary["sizes"])
    exponent = fastest_exponent(raw)
    check = judged(
        "scales",
        f"scales: time ∝ n^b over n = {sizes}",
        Measured(exponent),
        "<",
        float(scales["than"]),
        kind="exponent",
        hint=str(scales["hint"]),
        rule=f"< {float(scales['than']):g} (1 is linear, 2 quadratic), fitted through each size's fastest "
        "timing (a busy machine only adds time)",
        detail=f"the fit through the medians gives {scaling['fast']['exponent']:.2f} "
        f"(95% CI {low:.2f}–{high:.2f})",
    )
    # Fastest timings at small sizes are a few microseconds: one lucky run there steepens the fit. A
    # verdict of "fails" also needs the medians' whole interval at or above the bound; else it is timed again.
    if check.verdict == "fails" and low < float(scales["than"]):
        return dataclasses.replace(check, verdict="undecided")
    return check


class Benched(NamedTuple):
    """The grader's benchmark run: its JSON and its speed check (both None when it could not be judged:
    ``why`` says why), and a note on cut output (the check then fails: see grade_checks.capped)."""

    raw: JSONObject | None
    fast: Check | None
    why: str
    note: str
    scales: Check | None = None  # judged only when bench() is given the scales check


def bench(
    lab: Lab,
    *,
    root: Path,
    file: Path,
    function: str,
    fast: JSONObject,
    quick: bool,
    folder: Path,
    work: Path,
    say: Say,
    flag: str = "--finder",
    what: str = "the slow finder",
    label: str = "fast, scales",
    scales: JSONObject | None = None,
) -> Benched:
    """The lab's benchmark with the learner's function as the fast one (``flag FILE.py:FUNCTION``), run
    again while its speed check is undecided (grade_checks.until_decided)."""
    command = fast["quick_program"] if quick and "quick_program" in fast else fast["program"]
    argv = runner.python_argv([str(a).replace("{seed}", str(lab.seed)) for a in command], root)
    argv += [flag, f"{file}:{function}"]
    say(f"{label}: {' '.join(PathMap.here(root).command(argv)[1:])}")

    def attempt() -> tuple[Benched, Check | None]:
        raw, why, note = _bench_once(argv, folder=folder, work=work, quick=quick)
        if raw is None:
            return Benched(None, None, why, note), None
        try:
            check = capped(check_speed_only(raw, fast=fast, what=what), note)  # cut output: fails at once
            shape = capped(check_scales(raw, scales=scales), note) if scales is not None else None
        except LabError as exc:
            return Benched(None, None, str(exc).strip().splitlines()[-1], note), None
        # Timed again while either check is undecided; the loop reads the first undecided one.
        pending = shape if shape is not None and check.verdict != "undecided" else check
        return Benched(raw, check, why, note, shape), pending

    got, pending = until_decided(attempt, say=say, verb="timed")
    if pending is not None and got.scales is not None and pending.id == "scales":
        return got._replace(scales=pending)  # the loop's note on earlier attempts goes with it
    return got._replace(fast=pending) if pending is not None else got


def _bench_once(
    argv: list[str], *, folder: Path, work: Path, quick: bool
) -> tuple[JSONObject | None, str, str]:
    """One run of the benchmark in the sandbox: (its JSON or None, why not, a note on cut output)."""
    raw = folder / "bench.json"
    seconds = limit("quick_bench" if quick else "bench")
    ran = sandbox.run([*argv, "--json", str(raw)], cwd=folder, log=work / "bench.log", limit_s=seconds)
    last = ran.output.strip().splitlines()[-1:] or ["(no output)"]
    if ran.timed_out:
        return (
            None,
            f"the benchmark of your finder ran past its {seconds:g} s limit and was stopped",
            ran.note,
        )
    if ran.code != 0:
        return None, sandbox.named_limit(f"the benchmark failed (exit code {ran.code}): {last[0]}"), ran.note
    if not raw.exists() and not raw.is_symlink():
        return None, f"your code exited (code 0) before the benchmark reported: {last[0]}", ran.note
    try:
        loaded: JSONObject = json.loads(sandbox.read_report(raw))
    except sandbox.NotRegular as exc:
        return None, f"the benchmark's report was refused: {exc}", ran.note
    except (ValueError, OSError, RecursionError) as exc:
        return None, f"the benchmark wrote malformed JSON: {exc}", ran.note
    if not isinstance(loaded, dict):
        return None, "the benchmark wrote something else than a JSON object", ran.note
    return loaded, "", ran.note


# --- hot_path ---------------------------------------------------------------------------------------


def finder_share(data: JSONObject, *, file: Path, lines: tuple[int, int]) -> Measured:
    """The share of samples with the learner's function on the stack, found by file and line range."""
    recording = stacks.parse(data)
    total = recording.sample_count
    if total == 0:
        raise LabError("py-spy took no samples of the service")
    first, last = lines
    target = str(file.resolve())

    def ours(frame: stacks.Frame) -> bool:
        return first <= frame.line <= last and frame.file == target

    series = [1 if any(ours(f) for f in stack) else 0 for stack in recording.stacks()]
    hits = sum(series)
    if hits == 0:
        where = f"{file.name}, lines {first}–{last}"
        raise LabError(f"your function ({where}) never appeared in {total:,} samples of the service")
    low, high, _ = stats.share_interval(series, confidence=LEVEL)
    return Measured(hits / total, low, high, LEVEL)


def check_profile(
    lab: Lab,
    *,
    cfg: JSONObject,
    file: Path,
    function: str,
    root: Path,
    folder: Path,
    work: Path,
    quick: bool,
    say: Say,
    question: str,
    check_id: str = "hot_path",
    flag: str = "--finder",
) -> Check:
    """Record the lab's program running the learner's function (launch form, ``flag FILE.py:FUNCTION``)
    and judge the function's share of the samples (cfg: than, program, duration, hint, why)."""
    than = float(cfg["than"])
    hint = str(cfg["hint"])
    rule = f"whole interval < {formats_of(than, 'share')}" + (f" ({cfg['why']})" if cfg.get("why") else "")
    try:
        lines = lines_of(file, function)
    except LabError as exc:
        return not_measured(check_id, question, str(exc), hint=hint, rule=rule)
    command = [str(a).replace("{seed}", str(lab.seed)) for a in cfg["program"]]
    argv = [*runner.python_argv(command, root), flag, f"{file}:{function}"]
    seconds = setting(cfg, "duration", quick=quick)
    say(f"profile: the service with your finder, recorded by py-spy for {seconds} s")
    try:
        data, note = record_service(argv, seconds=seconds, folder=folder, work=work)
    except NotRecorded as exc:
        return not_measured(check_id, question, str(exc), hint=hint, rule=rule, detail=exc.note)
    try:
        share = finder_share(data, file=file, lines=lines)
    except LabError as exc:
        check = not_measured(check_id, question, str(exc), hint=hint, rule=rule, detail=note)
    else:
        check = judged(check_id, question, share, "<", than, kind="share", hint=hint, rule=rule)
        check = capped(check, note)
    picture = your_flame_graph(data, lab=lab, root=root, function=function)
    return dataclasses.replace(check, picture=picture.relative_to(root).as_posix() if picture else "")


class NotRecorded(LabError):
    """The learner's service gave no recording; ``note`` says what output was cut, if any."""

    def __init__(self, why: str, note: str) -> None:
        super().__init__(why)
        self.note = note


def record_service(
    argv: list[str], *, seconds: int, folder: Path, work: Path, extra: Sequence[str] = ()
) -> tuple[JSONObject, str]:
    """Launch a lab's program running the learner's code under py-spy (``extra``: more py-spy options,
    such as --native): its recording and a note on any output that was cut, or NotRecorded."""
    out, log = folder / "profile.speedscope.json", work / "profile.log"
    log.unlink(missing_ok=True)
    # The service's own output (and the learner's prints) go to a capped pipe, not through py-spy.
    with sandbox.fifo_output(folder / "service.out", log=work / "service.log") as (redirect, service):
        rec = pyspy.record(
            exe=pyspy.find(),
            out=out,
            log=log,
            cwd=folder,
            rate=100,
            duration=seconds,
            launch=[*redirect, *argv],
            extra=extra,
        )
    note = service.write()  # py-spy's own log is capped as it is written (labkit.caplog)
    if not out.exists():
        spy = (rec.output[-2000:].strip().splitlines() or ["(no output)"])[-1]
        why = f"{spy}; the service's last output: {service.last_lines(1).strip() or '(none)'}"
        raise NotRecorded(f"py-spy wrote no recording: {why}", note)
    try:
        return recording_of(out), note
    except LabError as exc:
        raise NotRecorded(str(exc), note) from exc


def recording_of(path: Path) -> JSONObject:
    """The py-spy recording in the children's folder, read as a report a child could have replaced."""
    try:
        data = json.loads(sandbox.read_report(path))
    except (OSError, ValueError, RecursionError) as exc:
        raise LabError(f"{path.name}: not a readable speedscope file ({exc})") from exc
    if not isinstance(data, dict) or "shared" not in data or "profiles" not in data:
        raise LabError(f"{path.name}: not a speedscope file (no 'shared' frames or 'profiles')")
    return data


def your_flame_graph(data: JSONObject, *, lab: Lab, root: Path, function: str) -> Path | None:
    """The learner's service as the toolkit draws a flame graph: out/<id>/grade/your-service.svg (None
    for a recording with no samples: a service that exited at once has nothing to draw)."""
    recording = stacks.parse(stacks.sanitize(data, paths=PathMap.here(root)))
    counted = stacks.collapsed(recording)
    path = root / "out" / lab.id / "grade" / "your-service.svg"
    sandbox.remove(path)  # never an old run's picture beside this run's verdict
    if not counted:
        return None
    svg = flamegraph.render_svg(
        stacks=counted,
        title=f"The service with your {function}",
        subtitle="width = share of samples · click a frame to zoom · press / to search",
        width=900,
    )
    sandbox.write_text(path, svg)
    return path
