"""Run a lab's steps for real, in order, each by its kind (``labkit.kinds``), inside one supervisor.

This module holds what every kind's runner shares: the run's options and state, the command line of
a step, a program run to its end with ``--json``, a service started for later steps. Everything a
step produces lands in a work folder or in the run's output folder; nothing here touches docs/.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit import kinds, processes, pyspy, services
from labkit.errors import LabError
from labkit.manifest import Lab, Step
from labkit.records import JSONObject, Measured, Profile, StepTime
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
    profiles: dict[str, Profile] = field(default_factory=dict)  # profiles measured by earlier steps


def python_argv(command: list[str], root: Path) -> list[str]:
    """Lab programs are Python files, run with the toolkit's own interpreter."""
    first = command[0]
    return [sys.executable, str(root / first), *command[1:]] if first.endswith(".py") else command


def argv_of(lab: Lab, step: Step, *, opts: Options, exe: str = "") -> list[str]:
    """The step's command: Python files run with this interpreter, placeholders filled in."""
    argv = python_argv(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    argv = [exe if a == "{py-spy}" else a for a in argv]
    return services.substitute(argv, opts.running)


Planner = kinds.Planner
uses_spy = kinds.uses_spy


def run_json(step: Step, argv: list[str], *, opts: Options, what: str) -> JSONObject:
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
        loaded: JSONObject = json.loads(raw.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LabError(f"{step.id}: the {what} wrote malformed JSON: {exc}") from exc
    return loaded


def start_service(ctx: kinds.Context, step: Step) -> None:
    """Start a program that later steps use, once its ready line appeared."""
    opts = ctx.opts
    argv = argv_of(ctx.lab, step, opts=opts)
    opts.say(f"{step.id}: starting {' '.join(PathMap.here(opts.root).command(argv)[1:])}")
    opts.running[step.id] = services.start(
        step.id, argv, ready=step.ready, cwd=opts.root, log=opts.work / f"{step.id}.log"
    )


def pid_of(lab: Lab, step: Step, *, opts: Options) -> tuple[int, services.Running | None]:
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


def _run_step(kind: kinds.Kind[Any], ctx: kinds.Context, step: Step) -> kinds.Entry | None:
    """One step; a full disk (its own write, or a program's log) is named as such, with the path."""
    here = f"{ctx.opts.root}{os.sep}"
    try:
        return kind.run(ctx, step)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = f"could not write {exc.filename}" if exc.filename else "a write failed"
        why = f"no space left on the device: {where} ({exc.strerror})"
        raise LabError(f"{step.id}: {why}; nothing from this run is published".replace(here, "")) from None
    except LabError as exc:
        unwritten = processes.write_problems(ctx.opts.work)
        if not unwritten:
            raise
        said = str(exc).splitlines()[0] if str(exc) else ""
        why = unwritten[0] if unwritten[0] in said else f"{unwritten[0]} (then: {said})"
        raise LabError(f"{step.id}: {why}; nothing from this run is published".replace(here, "")) from None


def run(lab: Lab, *, opts: Options, plan: Planner | None = None) -> Measured:
    """All steps of a lab, in order; returns the measured sections of results.json."""
    pyspy.check_platform()
    needs_spy = any(uses_spy(s) for s in lab.steps)
    exe = pyspy.find() if needs_spy else ""
    opts.work.mkdir(parents=True, exist_ok=True)
    # Each section starts empty: {} for a keyed one (entries by step id), None for a one-entry one.
    keyed: dict[str, dict[str, kinds.Entry]] = {
        k.section: {} for k in kinds.sections() if k.section and k.keyed
    }
    sections: dict[str, object] = {k.section: keyed.get(k.section) for k in kinds.sections() if k.section}
    py_spy = pyspy.version(exe) if needs_spy else None
    ctx = kinds.Context(lab=lab, opts=opts, exe=exe, plan=plan)
    started = time.perf_counter()
    timings: list[StepTime] = []
    with processes.supervised():
        try:
            for step in lab.steps:
                began = time.perf_counter()
                kind = kinds.get(step.kind)
                entry = _run_step(kind, ctx, step)
                if kind.section and entry is not None:
                    if kind.keyed:
                        keyed[kind.section][step.id] = entry
                    else:
                        sections[kind.section] = entry
                timings.append(
                    {"id": step.id, "kind": step.kind, "wall_s": round(time.perf_counter() - began, 3)}
                )
        finally:
            for item in reversed(list(opts.running.values())):
                services.stop(item)
            opts.running.clear()
    for cut in processes.cut_logs(opts.work):
        kept = f"{cut.head_limit:,} and last {cut.tail_limit:,}"
        opts.say(f"{cut.path.name}: the program wrote {cut.received:,} bytes; its log keeps the first {kept}")
    unwritten = processes.write_problems(opts.work)
    if unwritten:  # a raw file missing: nothing of this run may be published
        why = unwritten[0].replace(f"{opts.root}{os.sep}", "")
        raise LabError(f"{why}; nothing from this run is published")
    # wall seconds per step, in the order they ran
    return {
        "sections": sections,
        "py_spy": py_spy,
        "run_s": round(time.perf_counter() - started, 1),
        "steps": timings,
    }
