"""Run a lab's steps for real: services as processes, py-spy on them, the benchmark program.

Everything a step produces lands in a work folder; nothing here touches docs/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import benchmark, processes, pyspy, stacks
from labkit.errors import LabError
from labkit.flamegraph import render_svg
from labkit.manifest import Lab, Step
from labkit.sanitize import PathMap

Say = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    root: Path
    work: Path  # raw outputs and logs (git-ignored)
    out: Path  # where the publishable files are written (a data.new/ or out/<id>/)
    quick: bool
    method: str | None  # forced attach method, or None for the manifest's
    say: Say


def _python(command: list[str], root: Path) -> list[str]:
    """Lab programs are Python files, run with the toolkit's own interpreter."""
    first = command[0]
    return [sys.executable, str(root / first), *command[1:]] if first.endswith(".py") else command


def profile(lab: Lab, step: Step, *, exe: str, opts: Options) -> dict[str, Any]:
    argv = _python(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    seconds = step.seconds(quick=opts.quick)
    raw = opts.work / f"{step.id}.raw.speedscope.json"
    log, spy_log = opts.work / f"{step.id}.service.log", opts.work / f"{step.id}.py-spy.log"
    for stale in (raw, log, spy_log):
        stale.unlink(missing_ok=True)
    method = opts.method or step.method
    note = ""
    if method == "pid":
        service = processes.start(argv, log=log, cwd=opts.root)
        try:
            processes.wait_ready(service, log=log, pattern=step.ready, timeout=30)
            opts.say(f"{step.id}: attaching py-spy to PID {service.pid} for {seconds} s at {step.rate} Hz")
            try:
                rec = pyspy.record(
                    exe=exe,
                    out=raw,
                    log=spy_log,
                    cwd=opts.root,
                    rate=step.rate,
                    duration=seconds,
                    pid=service.pid,
                    extra=step.py_spy_args,
                )
            except pyspy.AttachRefused as refused:
                advice = pyspy.attach_advice(scope=pyspy.ptrace_scope(), is_root=os.geteuid() == 0)
                if opts.method == "pid":
                    raise LabError(f"{refused}\n{advice}") from refused
                opts.say(f"{step.id}: {refused}; using the launch form instead.\n{advice}")
                note = "attaching by PID was refused here, so py-spy launched the program"
                method = "launch"
            exited = service.poll()
        finally:
            processes.stop(service)
        if method == "pid" and exited is not None:
            raise LabError(
                f"{step.id}: the program exited (code {exited}) while it was being profiled; "
                f"its last output:\n{processes.tail(log)}"
            )
    if method == "launch":
        opts.say(f"{step.id}: launching the program under py-spy for {seconds} s at {step.rate} Hz")
        rec = pyspy.record(
            exe=exe,
            out=raw,
            log=spy_log,
            cwd=opts.root,
            rate=step.rate,
            duration=seconds,
            launch=argv,
            extra=step.py_spy_args,
        )
    if not raw.exists():
        raise LabError(
            f"{step.id}: py-spy wrote no recording (exit code {rec.returncode}); it said:\n"
            f"{rec.output.strip() or '(nothing)'}\nThe program's last output:\n{processes.tail(log)}"
        )
    data = stacks.load(raw)
    recording = stacks.parse(data)
    if recording.sample_count == 0:
        raise LabError(
            f"{step.id}: py-spy took no samples: the program ended, or sat idle, before it "
            f"was sampled (py-spy exit code {rec.returncode}). Not publishing an empty profile."
        )
    paths = PathMap.here(opts.root)
    clean = stacks.sanitize(data, paths=paths)
    return _publish_profile(
        step,
        clean=clean,
        opts=opts,
        method=method,
        note=note,
        seconds=seconds,
        wall=rec.wall_s,
        errors=rec.errors,
        args=paths.command(rec.args),
        command=paths.command(argv),
    )


def _publish_profile(
    step: Step,
    *,
    clean: dict[str, Any],
    opts: Options,
    method: str,
    note: str,
    seconds: int,
    wall: float,
    errors: int | None,
    args: list[str],
    command: list[str],
) -> dict[str, Any]:
    """Write the sanitised recording and everything derived from it; return the results entry."""
    names = {
        "speedscope": f"{step.id}.speedscope.json",
        "collapsed": f"{step.id}.collapsed.txt",
        "svg": f"{step.id}.svg",
    }
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / names["speedscope"]).write_text(
        json.dumps(clean, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    derived = derive(step_id=step.id, title=step.title, speedscope=clean)
    (opts.out / names["collapsed"]).write_text(derived["collapsed"], encoding="utf-8")
    (opts.out / names["svg"]).write_text(derived["svg"], encoding="utf-8")
    busiest = max(t["samples"] for t in derived["threads"])
    wall = round(wall, 4)  # stored rounded; the rate is computed from the stored figure so checks can redo it
    return {
        "title": step.title,
        "method": method,
        "method_note": note,
        "rate_hz": step.rate,
        "duration_s": seconds,
        "wall_s": wall,
        "samples": derived["samples"],
        "errors": errors,
        "effective_rate_hz": round(busiest / wall, 3) if wall > 0 else 0.0,
        "threads": derived["threads"],
        "command": command,
        "py_spy_args": args,
        "files": names,
        "functions": derived["functions"],
    }


def derive(*, step_id: str, title: str, speedscope: dict[str, Any]) -> dict[str, Any]:
    """Everything computed from one sanitised recording (also what `check` recomputes)."""
    recording = stacks.parse(speedscope)
    counted = stacks.collapsed(recording)
    return {
        "samples": recording.sample_count,
        "threads": stacks.thread_samples(recording),
        "functions": stacks.functions(recording),
        "collapsed": stacks.collapsed_text(counted),
        "svg": render_svg(
            stacks=counted,
            title=title or step_id,
            width=900,
            subtitle="width = share of samples · click a frame to zoom · press / to search",
        ),
    }


def bench(lab: Lab, step: Step, *, opts: Options) -> dict[str, Any]:
    argv = _python(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    raw = opts.work / f"{step.id}.json"
    log = opts.work / f"{step.id}.log"
    raw.unlink(missing_ok=True)
    log.unlink(missing_ok=True)
    opts.say(f"{step.id}: timing both versions ({' '.join(argv[2:])})")
    proc = processes.start([*argv, "--json", str(raw)], log=log, cwd=opts.root)
    try:
        code = proc.wait(timeout=1800)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{step.id}: the benchmark ran for more than 30 minutes") from exc
    finally:
        processes.stop(proc)
    if code != 0 or not raw.exists():
        raise LabError(
            f"{step.id}: the benchmark failed (exit code {code}); its last output:\n{processes.tail(log)}"
        )
    result = json.loads(raw.read_text(encoding="utf-8"))
    summary = benchmark.summarise(result)  # validates before anything is published
    if not summary["same_result"]:
        raise LabError(f"{step.id}: the two versions disagree; not publishing timings of a wrong answer")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    paths = PathMap.here(opts.root)
    return {**summary, "raw": f"{step.id}.json", "command": paths.command(argv)}


def run(lab: Lab, *, opts: Options) -> dict[str, Any]:
    """All steps of a lab, in order; returns the measured sections of results.json."""
    pyspy.check_platform()
    needs_spy = any(s.kind == "profile" for s in lab.steps)
    exe = pyspy.find() if needs_spy else ""
    opts.work.mkdir(parents=True, exist_ok=True)
    measured: dict[str, Any] = {
        "profiles": {},
        "benchmark": None,
        "py_spy": pyspy.version(exe) if needs_spy else None,
    }
    with processes.supervised():
        for step in lab.steps:
            if step.kind == "profile":
                measured["profiles"][step.id] = profile(lab, step, exe=exe, opts=opts)
            elif step.kind == "benchmark":
                measured["benchmark"] = {"step": step.id, **bench(lab, step, opts=opts)}
    return measured
