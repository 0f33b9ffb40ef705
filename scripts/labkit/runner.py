"""Run a lab's steps for real: services as processes, py-spy on them, the benchmark program.

Everything a step produces lands in a work folder; nothing here touches docs/.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from labkit import benchmark, live, overhead, processes, pyspy, services, stacks, stats
from labkit.errors import LabError
from labkit.flamegraph import render_svg
from labkit.manifest import Lab, Step
from labkit.sanitize import PathMap

Say = Callable[[str], None]


@dataclass
class Options:
    root: Path
    work: Path  # raw outputs and logs (git-ignored)
    out: Path  # where the publishable files are written (a data.new/ or out/<id>/)
    quick: bool
    method: str | None  # forced attach method, or None for the manifest's
    say: Say
    running: dict[str, services.Running] = field(default_factory=dict)  # services started by earlier steps
    profiles: dict[str, Any] = field(default_factory=dict)  # profiles measured by earlier steps


def _python(command: list[str], root: Path) -> list[str]:
    """Lab programs are Python files, run with the toolkit's own interpreter."""
    first = command[0]
    return [sys.executable, str(root / first), *command[1:]] if first.endswith(".py") else command


SPY_KINDS = ("profile", "overhead", "dump", "top")


def argv_of(lab: Lab, step: Step, *, opts: Options, exe: str = "") -> list[str]:
    """The step's command: Python files run with this interpreter, placeholders filled in."""
    argv = _python(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    argv = [exe if a == "{py-spy}" else a for a in argv]
    return services.substitute(argv, opts.running)


# (step id, the pilot's results entry, the profiles measured before it) -> (more seconds, why)
Planner = Callable[[str, dict[str, Any], dict[str, Any]], tuple[int, str]]


@dataclass
class _Look:
    seconds: int
    rec: pyspy.Recording
    data: dict[str, Any]


def _record(
    step: Step,
    *,
    exe: str,
    opts: Options,
    seconds: int,
    look: int,
    argv: list[str],
    pid: int | None,
    log: Path,
) -> _Look:
    raw = opts.work / f"{step.id}.look{look}.raw.speedscope.json"
    raw.unlink(missing_ok=True)
    how = f"attaching py-spy to PID {pid}" if pid else "launching the program under py-spy"
    opts.say(f"{step.id}: {how} for {seconds} s at {step.rate} Hz" + (f" (look {look})" if look > 1 else ""))
    rec = pyspy.record(
        exe=exe,
        out=raw,
        log=opts.work / f"{step.id}.py-spy.log",
        cwd=opts.root,
        rate=step.rate,
        duration=seconds,
        pid=pid,
        launch=None if pid else argv,
        extra=step.py_spy_args,
    )
    if not raw.exists():
        raise LabError(
            f"{step.id}: py-spy wrote no recording (exit code {rec.returncode}); it said:\n"
            f"{rec.output.strip() or '(nothing)'}\nThe program's last output:\n{processes.tail(log)}"
        )
    data = stacks.load(raw)
    if stacks.parse(data).sample_count == 0:
        raise LabError(
            f"{step.id}: py-spy took no samples: the program ended, or sat idle, before it "
            f"was sampled (py-spy exit code {rec.returncode}). Not publishing an empty profile."
        )
    return _Look(seconds, rec, data)


def profile(lab: Lab, step: Step, *, exe: str, opts: Options, plan: Planner | None = None) -> dict[str, Any]:
    """Profile one program; an adaptive step takes a pilot look, then one more if its claims need it."""
    target = opts.running.get(step.target) if step.target else None
    argv = target.argv if target is not None else argv_of(lab, step, opts=opts)
    first = step.adaptive["pilot"] if step.adaptive else step.seconds(quick=opts.quick)
    log = opts.work / f"{step.id}.service.log"
    log.unlink(missing_ok=True)
    (opts.work / f"{step.id}.py-spy.log").unlink(missing_ok=True)
    method = opts.method or step.method
    note, reason = "", ""
    looks: list[_Look] = []
    paths = PathMap.here(opts.root)

    def take_looks(pid: int | None, log: Path) -> None:
        """The pilot (or the fixed duration), then one more look if the planner asks for it."""
        nonlocal reason
        looks.append(_record(step, exe=exe, opts=opts, seconds=first, look=1, argv=argv, pid=pid, log=log))
        if not step.adaptive or plan is None or opts.quick:
            return  # the QUICK configuration never takes a second look
        pilot = _entry(step, looks, paths=paths, method=method, note="", argv=argv, reason="")
        extra, reason = plan(step.id, pilot, opts.profiles)
        extra = min(extra, step.adaptive["max"] - first)
        if extra > 0:
            looks.append(
                _record(step, exe=exe, opts=opts, seconds=extra, look=2, argv=argv, pid=pid, log=log)
            )

    if target is not None:  # a service started by an earlier step: attach to it, it keeps running
        if opts.method == "launch":
            raise LabError(
                f"{step.id}: profiles the running service {step.target!r}, which only --pid can reach"
            )
        try:
            take_looks(target.proc.pid, target.log)
        except pyspy.AttachRefused as refused:
            advice = pyspy.attach_advice(scope=pyspy.ptrace_scope(), is_root=os.geteuid() == 0, lab=lab.id)
            raise LabError(f"{refused}\n{advice}") from refused
        services.alive(target)
        method = "pid"
    elif method == "pid":
        service = processes.start(argv, log=log, cwd=opts.root)
        try:
            processes.wait_ready(service, log=log, pattern=step.ready, timeout=30)
            try:
                take_looks(service.pid, log)
            except pyspy.AttachRefused as refused:
                advice = pyspy.attach_advice(
                    scope=pyspy.ptrace_scope(),
                    is_root=os.geteuid() == 0,
                    lab=lab.id,
                    program=" ".join(paths.command(argv)[1:]),
                )
                if opts.method == "pid":
                    raise LabError(f"{refused}\n{advice}") from refused
                opts.say(f"{step.id}: {refused}; using the launch form instead.\n{advice}")
                note = "attaching by PID was refused here, so py-spy launched the program"
                method, looks = "launch", []
            except LabError as failed:
                if service.poll() is None:
                    raise
                raise _exited(step, service.returncode, log) from failed
            exited = service.poll()
        finally:
            processes.stop(service)
        if method == "pid" and exited is not None:
            raise _exited(step, exited, log)
    if method == "launch":
        take_looks(None, log)
    entry = _entry(step, looks, paths=paths, method=method, note=note, argv=argv, reason=reason)
    opts.out.mkdir(parents=True, exist_ok=True)
    clean = stacks.sanitize(stacks.pool([look.data for look in looks]), paths=paths)
    (opts.out / entry["files"]["speedscope"]).write_text(
        json.dumps(clean, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    derived = derive(
        step_id=step.id, title=step.title, speedscope=clean, level=step.ci_level, threads=step.threads
    )
    (opts.out / entry["files"]["collapsed"]).write_text(derived.pop("collapsed"), encoding="utf-8")
    (opts.out / entry["files"]["svg"]).write_text(derived.pop("svg"), encoding="utf-8")
    return entry


def _published_args(args: list[str]) -> list[str]:
    """py-spy's arguments as a reader can reuse them: the output is just a file name."""
    return [Path(a).name if prev == "--output" else a for prev, a in zip(["", *args[:-1]], args, strict=True)]


def _exited(step: Step, code: int | None, log: Path) -> LabError:
    return LabError(
        f"{step.id}: the program exited (code {code}) while it was being profiled; "
        f"its last output:\n{processes.tail(log)}"
    )


def _entry(
    step: Step, looks: list[_Look], *, paths: PathMap, method: str, note: str, argv: list[str], reason: str
) -> dict[str, Any]:
    """The results entry of the looks so far (also what the adaptive planner judges after the pilot)."""
    clean = stacks.sanitize(stacks.pool([look.data for look in looks]), paths=paths)
    wall = round(sum(look.rec.wall_s for look in looks), 4)
    errors = [look.rec.errors for look in looks]
    entry: dict[str, Any] = {
        "title": step.title,
        "method": method,
        "method_note": note,
        "rate_hz": step.rate,
        "duration_s": sum(look.seconds for look in looks),
        "wall_s": wall,
        "errors": None if None in errors else sum(e or 0 for e in errors),
        "ci_level": step.ci_level,
        "threads_filter": step.threads,
        "looks": [
            {
                "duration_s": look.seconds,
                "wall_s": round(look.rec.wall_s, 4),
                "samples": stacks.parse(look.data).sample_count,
            }
            for look in looks
        ],
        "adaptive": {**step.adaptive, "reason": reason} if step.adaptive else None,
        "command": paths.command(argv),
        "py_spy_args": _published_args(paths.command(looks[0].rec.args)),
        "files": {
            "speedscope": f"{step.id}.speedscope.json",
            "collapsed": f"{step.id}.collapsed.txt",
            "svg": f"{step.id}.svg",
        },
    }
    derived = derive(
        step_id=step.id,
        title=step.title,
        speedscope=clean,
        level=step.ci_level,
        svg=False,
        threads=step.threads,
    )
    return {
        **entry,
        **profile_figures(derived, looks=entry["looks"], rate_hz=step.rate, wall=wall, level=step.ci_level),
        **{k: derived[k] for k in ("samples", "share_samples", "threads", "functions")},
    }


def profile_figures(
    derived: dict[str, Any], *, looks: list[dict[str, Any]], rate_hz: int, wall: float, level: float
) -> dict[str, Any]:
    """The figures that divide by time or by sampling instants (also what `check` recomputes).

    Adds each function's per-instant samples to ``derived["functions"]`` and returns the profile's rates.
    """
    instants = sampling_instants(looks, rate_hz=rate_hz)
    per_instant(derived["functions"], share_samples=derived["share_samples"], instants=instants)
    return measured_rates(derived, wall=wall, level=level, instants=instants)


def sampling_instants(looks: list[dict[str, Any]], *, rate_hz: int) -> int:
    """How many times py-spy sampled: ``duration × rate − 1`` per look.

    py-spy's record loop (src/main.rs, 0.4.x) counts its timer's ticks and stops when the count
    reaches duration × rate, before taking that last tick's traces. With ``--idle`` every thread
    appears at every instant, which a recording confirms (each thread has exactly this many samples).
    """
    return sum(int(look["duration_s"]) * rate_hz - 1 for look in looks)


def per_instant(functions: list[dict[str, Any]], *, share_samples: int, instants: int) -> None:
    """Each function's samples per sampling instant, with the interval of its total share scaled alike.

    Two recordings of one process with different options (default against --idle) compare on this
    scale: both divide by how many times py-spy sampled, not by how many samples it kept.
    """
    scale = share_samples / instants if instants else 0.0
    for f in functions:
        f["total_per_instant"] = round(f["total_share"] * scale, 4)
        low, high = f["total_ci"]
        f["total_per_instant_ci"] = [round(low * scale, 4), round(high * scale, 4)]


def measured_rates(derived: dict[str, Any], *, wall: float, level: float, instants: int) -> dict[str, Any]:
    """Samples of the busiest thread over the wall time we measured (with a Poisson interval), and
    samples of all threads per sampling instant (exact: both counts are known).

    py-spy draws exponential gaps between samples, so n samples over T seconds
    estimate the rate with a relative error of about 1/sqrt(n). The wall time holds py-spy's start-up
    and exit too, so the effective rate is a lower bound of the rate while sampling.
    """
    busiest = max(t["samples"] for t in derived["threads"])
    if busiest > instants:
        raise LabError(
            f"a thread has {busiest:,} samples but py-spy sampled only {instants:,} times: this py-spy "
            "does not stop after duration × rate − 1 instants, as the toolkit assumes (py-spy 0.4.x)"
        )
    rate = busiest / wall if wall > 0 else 0.0
    half = stats.z_value(level) / math.sqrt(busiest) if busiest else 1.0
    return {
        "effective_rate_hz": round(rate, 3),
        "effective_rate_ci": [round(rate * (1 - half), 3), round(rate * (1 + half), 3)],
        "instants": instants,
        "thread_count": len(derived["threads"]),
        "threads_every_instant": sum(t["samples"] == instants for t in derived["threads"]),
        # 1 at most with --gil (one thread holds the GIL); the number of threads with --idle.
        "samples_per_instant": round(derived["samples"] / instants, 4) if instants else 0.0,
    }


def derive(
    *, step_id: str, title: str, speedscope: dict[str, Any], level: float, svg: bool = True, threads: str = ""
) -> dict[str, Any]:
    """Everything computed from one sanitised recording (also what `check` recomputes).

    The picture shows every thread; the shares are over the threads ``threads`` matches (all by default).
    """
    recording = stacks.parse(speedscope)
    counted = stacks.collapsed(recording)
    chosen = recording.only(threads) if threads else recording
    out: dict[str, Any] = {
        "samples": recording.sample_count,
        "share_samples": chosen.sample_count,
        "threads": stacks.thread_samples(recording),
        "functions": stacks.functions(chosen, confidence=level),
        "collapsed": stacks.collapsed_text(counted),
    }
    if svg:
        out["svg"] = render_svg(
            stacks=counted,
            title=title or step_id,
            width=900,
            subtitle="width = share of samples · click a frame to zoom · press / to search",
        )
    return out


def _run_json(step: Step, argv: list[str], *, opts: Options, what: str) -> dict[str, Any]:
    """Run a program to its end with ``--json PATH`` appended; return what it wrote there."""
    raw = opts.work / f"{step.id}.json"
    log = opts.work / f"{step.id}.log"
    raw.unlink(missing_ok=True)
    log.unlink(missing_ok=True)
    proc = processes.start([*argv, "--json", str(raw)], log=log, cwd=opts.root)
    try:
        code = proc.wait(timeout=1800)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{step.id}: the {what} ran for more than 30 minutes") from exc
    finally:
        processes.stop(proc)
    for item in opts.running.values():
        services.alive(item)  # a load that killed its service measured nothing worth publishing
    if code != 0 or not raw.exists():
        raise LabError(
            f"{step.id}: the {what} failed (exit code {code}); its last output:\n{processes.tail(log)}"
        )
    try:
        loaded: dict[str, Any] = json.loads(raw.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LabError(f"{step.id}: the {what} wrote malformed JSON: {exc}") from exc
    return loaded


def bench(lab: Lab, step: Step, *, opts: Options) -> dict[str, Any]:
    argv = _python(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    opts.say(f"{step.id}: timing both versions ({' '.join(argv[2:])})")
    result = _run_json(step, argv, opts=opts, what="benchmark")
    summary = benchmark.summarise(result)  # validates before anything is published
    if not summary["same_result"]:
        raise LabError(f"{step.id}: the two versions disagree; not publishing timings of a wrong answer")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    paths = PathMap.here(opts.root)
    return {**summary, "raw": f"{step.id}.json", "command": paths.command(argv)}


def command(lab: Lab, step: Step, *, exe: str, opts: Options) -> dict[str, Any]:
    """Capture a command's output as evidence (e.g. `py-spy record --help`), sanitised, into the data."""
    argv = [
        exe if a == "{py-spy}" else a for a in _python(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    ]
    log = opts.work / f"{step.id}.log"
    log.unlink(missing_ok=True)
    opts.say(f"{step.id}: capturing the output of `{' '.join(PathMap.here(opts.root).command(argv))}`")
    proc = processes.start(argv, log=log, cwd=opts.root)
    try:
        code = proc.wait(timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{step.id}: the command ran for more than 2 minutes") from exc
    finally:
        processes.stop(proc)
    text = sanitize_text(log.read_text(encoding="utf-8", errors="replace"), root=opts.root)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.txt").write_text(text, encoding="utf-8")
    entry: dict[str, Any] = {
        "title": step.title,
        "command": PathMap.here(opts.root).command(argv),
        "exit_code": code,
        "file": f"{step.id}.txt",
        "extract": step.extract,
        "json": step.json,
    }
    return {**entry, **read_command(entry, text, step_id=step.id)}


def read_command(entry: dict[str, Any], text: str, *, step_id: str) -> dict[str, Any]:
    """What a claim can test in a command's output: regex captures, and its last line as JSON."""
    extracted: dict[str, Any] = {}
    for name, pattern in sorted(entry["extract"].items()):
        match = re.search(pattern, text, re.MULTILINE)
        if not match:
            raise LabError(f"{step_id}: the output has nothing that matches {name}: {pattern!r}")
        value = match.group(1) if match.groups() else match.group(0)
        extracted[name] = int(value) if value.isdigit() else value.strip()
    result = None
    if entry["json"]:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            result = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError) as exc:
            raise LabError(f"{step_id}: the command's last line is not JSON: {exc}") from exc
    return {"extracted": extracted, "result": result}


def sanitize_text(text: str, *, root: Path) -> str:
    """Command output as it may be published: no repository path, home folder or /tmp paths."""
    text = text.replace(str(root.resolve()) + "/", "").replace(str(Path.home()), "~")
    return re.sub(r"/tmp/[^\s'\"]*", "<tmp>", text)


def overhead_step(lab: Lab, step: Step, *, exe: str, opts: Options) -> dict[str, Any]:
    """The target's throughput with no profiler, py-spy's default mode and --nonblocking, interleaved."""
    argv = _python(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    opts.say(
        f"{step.id}: {step.rounds} rounds of {step.window} s windows: no profiler, default, --nonblocking"
    )
    raw = overhead.measure(
        argv=argv,
        ready=step.ready,
        exe=exe,
        cwd=opts.root,
        work=opts.work,
        rate=step.rate,
        window_s=step.window,
        rounds=step.rounds,
        say=opts.say,
    )
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    return {
        "step": step.id,
        "title": step.title,
        "raw": f"{step.id}.json",
        "command": PathMap.here(opts.root).command(argv),
        "rate_hz": step.rate,
        "window_s": step.window,
        "rounds": step.rounds,
        "ratios": raw["ratios"],
        "stops_per_sample": overhead.stops_per_sample(raw["windows"]),
        "batch_s": overhead.batch_seconds(raw["windows"]),
    }


def _pid_of(lab: Lab, step: Step, *, opts: Options) -> tuple[int, services.Running | None]:
    """The process a dump/top step looks at: a running service, or a program it starts itself."""
    if step.target:
        return opts.running[step.target].proc.pid, None
    item = services.start(
        step.id,
        argv_of(lab, step, opts=opts),
        ready=step.ready,
        cwd=opts.root,
        log=opts.work / f"{step.id}.service.log",
    )
    return item.proc.pid, item


def dump_step(lab: Lab, step: Step, *, exe: str, opts: Options) -> dict[str, Any]:
    """What every thread is doing right now: `py-spy dump`, as text and as JSON."""
    paths = PathMap.here(opts.root)
    (opts.work / f"{step.id}.log").unlink(missing_ok=True)
    pid, own = _pid_of(lab, step, opts=opts)
    try:
        opts.say(f"{step.id}: py-spy dump of every thread, as text and as JSON")
        text = live.dump(
            exe=exe, pid=pid, cwd=opts.root, log=opts.work / f"{step.id}.log", paths=paths, as_json=False
        )
        data = live.dump(
            exe=exe, pid=pid, cwd=opts.root, log=opts.work / f"{step.id}.log", paths=paths, as_json=True
        )
    finally:
        if own is not None:
            services.stop(own)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.txt").write_text(text, encoding="utf-8")
    (opts.out / f"{step.id}.json").write_text(data, encoding="utf-8")
    return {
        "title": step.title,
        "files": {"text": f"{step.id}.txt", "json": f"{step.id}.json"},
        "threads": live.summarise_dump_json(data),
    }


def top_step(lab: Lab, step: Step, *, exe: str, opts: Options) -> dict[str, Any]:
    """`py-spy top` through a pseudo-terminal; its last screen as text and as a terminal picture."""
    paths = PathMap.here(opts.root)
    (opts.work / f"{step.id}.log").unlink(missing_ok=True)
    pid, own = _pid_of(lab, step, opts=opts)
    seconds = step.seconds(quick=opts.quick)
    try:
        opts.say(f"{step.id}: py-spy top for {seconds} s (through a pseudo-terminal)")
        screen = live.top(
            exe=exe,
            pid=pid,
            seconds=seconds,
            cwd=opts.root,
            log=opts.work / f"{step.id}.log",
            paths=paths,
            rate=step.rate,
        )
    finally:
        if own is not None:
            services.stop(own)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.txt").write_text(screen, encoding="utf-8")
    (opts.out / f"{step.id}.svg").write_text(
        terminal_svg(screen, title=step.title or "py-spy top"), encoding="utf-8"
    )
    return {
        "title": step.title,
        "seconds": seconds,
        "files": {"text": f"{step.id}.txt", "svg": f"{step.id}.svg"},
    }


def terminal_svg(text: str, *, title: str) -> str:
    """A picture of a terminal screen (rich's SVG export), deterministic for the same text."""
    console = Console(
        record=True,
        width=max(80, max((len(line) for line in text.splitlines()), default=80)),
        file=io.StringIO(),
        color_system=None,
        force_terminal=False,
    )
    console.print(text, markup=False, highlight=False, soft_wrap=True)
    svg = console.export_svg(title=title, unique_id="terminal")
    # rich's template loads a web font from a CDN; the site loads nothing from other origins.
    return re.sub(r"@font-face\s*\{[^}]*\}", "", svg)


def load_step(lab: Lab, step: Step, *, opts: Options) -> dict[str, Any]:
    """Run a load generator to its end and keep what it reports (its own JSON, per repeat)."""
    argv = argv_of(lab, step, opts=opts)
    opts.say(f"{step.id}: load: {' '.join(PathMap.here(opts.root).command(argv)[1:])}")
    result = _run_json(step, argv, opts=opts, what="load")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return {
        "title": step.title,
        "raw": f"{step.id}.json",
        "command": PathMap.here(opts.root).command(argv),
        "result": result,
    }


def run(lab: Lab, *, opts: Options, plan: Planner | None = None) -> dict[str, Any]:
    """All steps of a lab, in order; returns the measured sections of results.json."""
    pyspy.check_platform()
    needs_spy = any(s.kind in SPY_KINDS or "{py-spy}" in s.command for s in lab.steps)
    exe = pyspy.find() if needs_spy else ""
    opts.work.mkdir(parents=True, exist_ok=True)
    measured: dict[str, Any] = {
        "profiles": {},
        "benchmark": None,
        "commands": {},
        "overhead": None,
        "loads": {},
        "dumps": {},
        "tops": {},
        "py_spy": pyspy.version(exe) if needs_spy else None,
    }
    started = time.perf_counter()
    timings: list[dict[str, Any]] = []
    with processes.supervised():
        try:
            for step in lab.steps:
                began = time.perf_counter()
                _step(lab, step, exe=exe, opts=opts, plan=plan, measured=measured)
                timings.append(
                    {"id": step.id, "kind": step.kind, "wall_s": round(time.perf_counter() - began, 3)}
                )
        finally:
            for item in reversed(list(opts.running.values())):
                services.stop(item)
            opts.running.clear()
    measured["run_s"] = round(time.perf_counter() - started, 1)
    measured["steps"] = timings  # wall seconds per step, in the order they ran
    return measured


def _step(
    lab: Lab, step: Step, *, exe: str, opts: Options, plan: Planner | None, measured: dict[str, Any]
) -> None:
    """One step of a lab, by kind; what it measures goes into ``measured``."""
    kind = step.kind
    if kind == "service" or (kind == "load" and step.background):
        argv = argv_of(lab, step, opts=opts)
        opts.say(f"{step.id}: starting {' '.join(PathMap.here(opts.root).command(argv)[1:])}")
        opts.running[step.id] = services.start(
            step.id, argv, ready=step.ready, cwd=opts.root, log=opts.work / f"{step.id}.log"
        )
    elif kind == "stop":
        for name in step.stop:
            services.stop(opts.running.pop(name))
    elif kind == "load":
        measured["loads"][step.id] = load_step(lab, step, opts=opts)
    elif kind == "dump":
        measured["dumps"][step.id] = dump_step(lab, step, exe=exe, opts=opts)
    elif kind == "top":
        measured["tops"][step.id] = top_step(lab, step, exe=exe, opts=opts)
    elif kind == "profile":
        measured["profiles"][step.id] = opts.profiles[step.id] = profile(
            lab, step, exe=exe, opts=opts, plan=plan
        )
    elif kind == "benchmark":
        measured["benchmark"] = {"step": step.id, **bench(lab, step, opts=opts)}
    elif kind == "overhead":
        try:
            measured["overhead"] = overhead_step(lab, step, exe=exe, opts=opts)
        except pyspy.AttachRefused as refused:
            # Nothing to measure without attaching; claims on it stay undecided (never "holds").
            opts.say(f"{step.id}: skipped, {refused}")
    elif kind == "command":
        measured["commands"][step.id] = command(lab, step, exe=exe, opts=opts)
