"""Programs that keep running across steps: a service to attach to, a load that keeps it busy.

A `service` step starts a program and waits for its ready line; a named group
in the ready pattern (e.g. ``port (?P<port>\\d+)``) becomes a placeholder that
later steps use as ``{web.port}``. Everything started here stops when the lab
ends, whatever happens (see processes.supervised).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from labkit import processes
from labkit.errors import LabError

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\.([a-z_]+)\}")


@dataclass
class Running:
    id: str
    proc: Popen[bytes]
    log: Path
    argv: list[str]
    values: dict[str, str] = field(default_factory=dict)


def start(
    step_id: str,
    argv: list[str],
    *,
    ready: str,
    cwd: Path,
    log: Path,
    timeout: float = 30,
    memory: int | None = None,
) -> Running:
    """Start a long-running program and read the values its ready line announces; ``memory`` limits
    its address space (bytes), as a grader limits a service that runs the learner's code."""
    log.unlink(missing_ok=True)
    proc = processes.start(argv, log=log, cwd=cwd, memory=memory)
    try:
        if ready:
            processes.wait_ready(proc, log=log, pattern=ready, timeout=timeout)
        else:  # a program that announces nothing (a load generator): give it a moment, then check it runs
            time.sleep(0.5)
            if proc.poll() is not None:
                raise LabError(f"{step_id}: exited at once (code {proc.returncode}):\n{processes.tail(log)}")
    except BaseException:
        processes.stop(proc)
        raise
    match = re.search(ready, log.read_text(encoding="utf-8", errors="replace"))
    values = {k: v for k, v in (match.groupdict() if match else {}).items() if v is not None}
    return Running(step_id, proc, log, argv, {"pid": str(proc.pid), **values})


def substitute(argv: list[str], running: dict[str, Running]) -> list[str]:
    """Replace ``{service.value}`` with what a running service announced."""

    def one(match: re.Match[str]) -> str:
        name, key = match.groups()
        if name not in running:
            raise LabError(f"{match.group(0)}: no running step {name!r} (start it with a service step first)")
        if key not in running[name].values:
            known = ", ".join(sorted(running[name].values))
            raise LabError(f"{match.group(0)}: {name!r} announced no {key!r} (it announced: {known})")
        return running[name].values[key]

    return [_PLACEHOLDER.sub(one, arg) for arg in argv]


def alive(item: Running) -> None:
    if item.proc.poll() is not None:
        raise LabError(
            f"{item.id}: the program exited (code {item.proc.returncode}); its last output:\n"
            f"{processes.tail(item.log)}"
        )


def stop(item: Running) -> None:
    processes.stop(item.proc)
