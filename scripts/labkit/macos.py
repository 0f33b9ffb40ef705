"""What py-spy cannot do on macOS, said before anything starts.

py-spy always needs root there, and System Integrity Protection keeps even root from reading the
system's own programs (py-spy's README says so of /usr/bin; Apple's list of protected folders has /bin
too). A lab that attaches to a service started by such a program (Lab 4's `sh` wrapper) cannot run.
"""

from __future__ import annotations

import os
import shutil

from labkit import pyspy
from labkit.manifest import Lab

SIP_FOLDERS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/libexec/", "/System/")


def protected(program: str) -> str | None:
    """The real path of ``program`` (found as the run finds it, on PATH) when SIP guards it."""
    found = shutil.which(program)
    real = os.path.realpath(found) if found else ""
    return real if real.startswith(SIP_FOLDERS) else None


def refusals(lab: Lab, spy_steps: tuple[str, ...], *, root: bool) -> list[tuple[tuple[str, ...], str]]:
    """(steps, why) for each way py-spy will be refused on this Mac."""
    out: list[tuple[tuple[str, ...], str]] = []
    services = {step.id: step for step in lab.steps}
    number = lab.number
    for step in lab.steps:
        started = services.get(step.target)
        real = protected(started.command[0]) if started is not None and started.command else None
        if step.id in spy_steps and real:
            out.append(((step.id,), (
                f"attaches py-spy to the service {step.target!r}, a {real} process, which System Integrity "
                f"Protection keeps even root from reading: this lab cannot run on macOS. Follow its page "
                f"with the Python PID; `make reset-{number}` makes your exercise copy"
            )))  # fmt: skip
    if not root and not out:  # where SIP refuses, `sudo make` is no remedy: say only what works
        advice = pyspy.attach_advice(scope=None, is_root=False, platform="darwin", lab=lab.id)
        out.append((spy_steps, f"runs py-spy, which needs root here. {advice}"))
    elif not root:
        out.append((spy_steps, (
            f"runs py-spy, which needs root on macOS: run the page's py-spy commands with `sudo`, and "
            f"`sudo make grade-{number}` for the exercise"
        )))  # fmt: skip
    return out
