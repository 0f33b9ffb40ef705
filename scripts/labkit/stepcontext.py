"""What a step kind's runner is given: the run's options and state, and the few ways it starts programs.

A kind's ``run(ctx, step)`` (``labkit.kinds.<name>.run``) takes everything from its ``Context``: the
step's command line (``argv``), a program run to its end with ``--json`` (``run_json``), a service for
later steps (``start_service``), the process a step looks at (``pid_of``), the output folders, the
py-spy executable and the entries earlier steps published. It imports nothing from ``labkit.runner``,
which builds the context and runs the steps (``runner.Engine``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit import processes, registry, services
from labkit.errors import LabError
from labkit.records import JSONObject
from labkit.sanitize import PathMap

if TYPE_CHECKING:
    from labkit.spec import Lab
    from labkit.steptypes import Step

Say = Callable[[str], None]
# (results section, step id, the pilot's entry, that section's earlier entries) -> (more seconds, why)
Planner = Callable[[str, str, Any, Mapping[str, Any]], tuple[int, str]]


@dataclass
class Options:
    root: Path
    work: Path  # raw outputs and logs (git-ignored)
    out: Path  # where the publishable files are written (a data.new/ or out/<id>/)
    quick: bool
    method: str | None  # forced attach method, or None for the manifest's
    say: Say
    running: dict[str, services.Running] = field(default_factory=dict)  # services started by earlier steps


def python_argv(command: list[str], root: Path) -> list[str]:
    """Lab programs are Python files, run with the toolkit's own interpreter."""
    first = command[0]
    return [sys.executable, str(root / first), *command[1:]] if first.endswith(".py") else command


@dataclass
class Context:
    """One run's state as a step's runner sees it (the engine keeps it between steps)."""

    lab: Lab
    opts: Options
    exe: str  # the py-spy executable, "" when no step of the lab runs py-spy
    plan: Planner | None
    published: dict[str, Any] = field(default_factory=dict)  # section -> what earlier steps put there

    def earlier(self, section: str) -> Mapping[str, Any]:
        """The entries earlier steps published in a keyed section (what an adaptive look plans against)."""
        found = self.published.get(section)
        return found if isinstance(found, dict) else {}

    def argv(self, step: Step) -> list[str]:
        """The step's command: Python files run with this interpreter, every placeholder filled in."""
        opts = self.opts
        argv = python_argv(step.argv(quick=opts.quick, seed=self.lab.seed), opts.root)
        return services.substitute(registry.with_spy(argv, self.exe), opts.running)

    def shown(self, argv: list[str]) -> list[str]:
        """A command line as it is published: paths relative to the repository."""
        return PathMap.here(self.opts.root).command(argv)

    def run_to_end(self, step: Step, argv: list[str], *, log: Path, minutes: int, what: str) -> int:
        """Run a program to its end, its output into ``log``; its exit code. Stopped after ``minutes``."""
        proc = processes.start(argv, log=log, cwd=self.opts.root)
        try:
            return proc.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"{step.id}: the {what} ran for more than {minutes} minutes") from exc
        finally:
            processes.stop(proc)

    def run_json(self, step: Step, argv: list[str], *, what: str) -> JSONObject:
        """Run a program to its end with ``--json PATH`` appended; return what it wrote there."""
        opts = self.opts
        raw = opts.work / f"{step.id}.json"
        log = opts.work / f"{step.id}.log"
        raw.unlink(missing_ok=True)
        log.unlink(missing_ok=True)
        code = self.run_to_end(step, [*argv, "--json", str(raw)], log=log, minutes=30, what=what)
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

    def start_service(self, step: Step) -> None:
        """Start a program that later steps use, once its ready line appeared."""
        opts = self.opts
        argv = self.argv(step)
        opts.say(f"{step.id}: starting {' '.join(self.shown(argv)[1:])}")
        opts.running[step.id] = services.start(
            step.id, argv, ready=step.ready, cwd=opts.root, log=opts.work / f"{step.id}.log"
        )

    def pid_of(self, step: Step) -> tuple[int, services.Running | None]:
        """The process a dump/top step looks at: a running service, or a program it starts itself."""
        opts = self.opts
        if step.target:
            return opts.running[step.target].proc.pid, None
        item = services.start(
            step.id,
            self.argv(step),
            ready=step.ready,
            cwd=opts.root,
            log=opts.work / f"{step.id}.service.log",
        )
        return item.proc.pid, item
