"""The one run engine: a lab's steps run for real, in order, each by its kind, and assembled into results.

`make assets`, `make lab-N` and `make soak` (``publish.measure``) and the notebook session
(``session.Session``) all run steps through ``Engine``: it finds py-spy once, gives every kind's
runner its ``stepcontext.Context``, files each entry in its kind's section, times the steps, stops
the services at the end and assembles the results (values and claims come from ``derive``).
Everything a step produces lands in a work folder or in the run's output folder; nothing here
touches docs/.
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import time
from pathlib import Path
from typing import Any

from labkit import SCHEMA_VERSION, claims, kinds, processes, provenance, pyspy, services
from labkit.errors import LabError
from labkit.records import Machine, Results, StepTime, as_results
from labkit.spec import Lab
from labkit.stepcontext import Context, Options, Planner
from labkit.stepcontext import python_argv as python_argv  # the graders start lab programs as steps do
from labkit.steptypes import Step

__all__ = ["Engine", "Options", "planner", "python_argv"]


def planner(lab: Lab, *, root: Path) -> Planner:
    """How long an adaptive profile's second look should be, from the lab's claims on it."""
    defined = functools.partial(lab.defines, root=root)
    return lambda section, step, pilot, earlier: claims.plan_second_look(
        section, step, pilot, lab.claims, defined=defined, earlier=earlier
    )


def _run_step(kind: kinds.Kind[Any], ctx: Context, step: Step) -> kinds.Entry | None:
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


class Engine:
    """One run of a lab's steps: the state kept between steps, and the results they add up to.

    ``step`` runs one step (a notebook cell, or one turn of ``run``); running a step again replaces its
    entry and its time. ``close`` stops every service the steps started.
    """

    def __init__(self, lab: Lab, *, opts: Options) -> None:
        pyspy.check_platform()
        needs_spy = any(kinds.uses_spy(s) for s in lab.steps)
        exe = pyspy.find() if needs_spy else ""
        self.lab, self.opts = lab, opts
        self.py_spy = pyspy.version(exe) if needs_spy else None
        opts.work.mkdir(parents=True, exist_ok=True)
        # Each section starts empty: {} for a keyed one (entries by step id), None for a one-entry one.
        self.sections: dict[str, Any] = {k.section: k.empty() for k in kinds.sections() if k.section}
        self.ctx = Context(
            lab=lab, opts=opts, exe=exe, plan=planner(lab, root=opts.root), published=self.sections
        )
        self.timings: list[StepTime] = []  # wall seconds per step, in the order they ran
        self.started = time.perf_counter()
        self._machine: Machine | None = None

    def step(self, step: Step) -> kinds.Entry | None:
        """Run one step and file its entry under its kind's section."""
        began = time.perf_counter()
        kind = kinds.get(step.kind)
        entry = _run_step(kind, self.ctx, step)
        if kind.section and entry is not None:
            if kind.keyed:
                self.sections[kind.section][step.id] = entry
            else:
                self.sections[kind.section] = entry
        took = round(time.perf_counter() - began, 3)
        self.timings = [t for t in self.timings if t["id"] != step.id]
        self.timings.append({"id": step.id, "kind": step.kind, "wall_s": took})
        return entry

    def close(self) -> None:
        """Stop every service the steps started, the latest first (again: harmless)."""
        for item in reversed(list(self.opts.running.values())):
            services.stop(item)
        self.opts.running.clear()

    def run(self) -> None:
        """Every step, in order, under one supervisor; then the logs' and raw files' account."""
        with processes.supervised():
            try:
                for step in self.lab.steps:
                    self.step(step)
            finally:
                self.close()
        opts = self.opts
        for cut in processes.cut_logs(opts.work):
            kept = f"{cut.head_limit:,} and last {cut.tail_limit:,}"
            opts.say(
                f"{cut.path.name}: the program wrote {cut.received:,} bytes; its log keeps the first {kept}"
            )
        unwritten = processes.write_problems(opts.work)
        if unwritten:  # a raw file missing: nothing of this run may be published
            why = unwritten[0].replace(f"{opts.root}{os.sep}", "")
            raise LabError(f"{why}; nothing from this run is published")

    def results(self, *, inputs: str, generated_at: str) -> Results:
        """The run so far as results.json holds it, with no values or claims yet (``derive.judged``)."""
        run_s = round(time.perf_counter() - self.started, 1)
        if self._machine is None:
            self._machine = provenance.collect(root=self.opts.root, py_spy=self.py_spy)
        lab, quick = self.lab, self.opts.quick
        return as_results(  # the sections are keyed by the registry, so mypy cannot follow them
            {
                "schema_version": SCHEMA_VERSION,
                "lab": lab.id,
                "title": lab.title,
                "generated_at": generated_at,
                "inputs_sha256": inputs,
                "quick": quick,
                "environment": {"python": platform.python_version(), "py_spy": self.py_spy},
                "provenance": {
                    **self._machine,
                    "run_s": run_s,
                    "steps": list(self.timings),
                    "seed": lab.seed,
                    "quick": quick,
                },
                **{name: self.sections[name] for name in self.sections},
                "values": {},
                "claims": [],
            }
        )
