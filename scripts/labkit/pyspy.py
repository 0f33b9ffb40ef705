"""Run real py-spy: find it, record speedscope, and explain failures with the exact remedy."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.caplog import CappedLog
from labkit.errors import LabError

INSTALL_HINT = "run `make venv` (it installs py-spy), or `python -m pip install 'py-spy>=0.4.2,<0.5'`"
# Only a permission error counts as a refusal: "Failed to get process executable name" alone also
# means the process is gone (its cause is then "No such file or directory"), which no privilege fixes.
# "This program requires root on OSX." is py-spy's refusal on macOS (src/main.rs), before it reads anything.
# With --subprocesses py-spy drops each process it cannot open and, if none is left, says only this
# (src/sampler.rs): for a Python service the toolkit started and saw ready, that is a refused attach.
NONE_READ = "No python processes found in process"
PERMISSION_MARKERS = ("Permission Denied", "Permission denied", "Operation not permitted", "requires root")


def refusal(output: str, *, tree_by_pid: bool = False) -> str | None:
    """Why a failed py-spy was refused, from what it printed; None if it was not refused.

    ``tree_by_pid``: py-spy was given ``--pid`` and ``--subprocesses``, for a service seen running.
    """
    if any(marker in output for marker in PERMISSION_MARKERS):
        return "py-spy was not permitted to read the process"
    if tree_by_pid and NONE_READ in output:
        return (
            "py-spy could read none of the Python processes (with --subprocesses py-spy gives no reason "
            "when it can open no process: here, a refusal)"
        )
    return None


def find() -> str:
    """py-spy from $LABKIT_PY_SPY, beside this interpreter (the venv), or on PATH."""
    override = os.environ.get("LABKIT_PY_SPY")
    candidates = (
        [override] if override else [str(Path(sys.executable).with_name("py-spy")), shutil.which("py-spy")]
    )
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    where = f"LABKIT_PY_SPY={override} is not an executable file" if override else "py-spy is not installed"
    raise LabError(f"{where}: {INSTALL_HINT}")


VERSION_TIMEOUT_S = 10.0  # py-spy answers in milliseconds; a hung one must not hang the toolkit


def version(exe: str) -> str:
    """py-spy's version (x.y.z), or a one-line LabError naming the executable."""
    from labkit import processes  # starting a process ties it to the toolkit (labkit.reaper)

    proc = processes.popen(
        [exe, "--version"], cwd=Path.cwd(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        raw, _ = proc.communicate(timeout=VERSION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise LabError(
            f"{exe}: `py-spy --version` did not answer within {VERSION_TIMEOUT_S:g} s (stopped); "
            f"a hung or broken py-spy: {INSTALL_HINT}"
        ) from None
    finally:
        processes.stop(proc, grace=1.0)
    output = raw.decode("utf-8", errors="replace")
    match = re.search(r"(\d+\.\d+\.\d+)", output)
    if proc.returncode != 0 or not match:
        said = " ".join(output.split())[:200] or "(no output)"
        raise LabError(f"{exe}: `py-spy --version` failed (exit code {proc.returncode}): {said}")
    return match.group(1)


def check_platform() -> None:
    """Refuse early, and clearly, where py-spy cannot work."""
    if sys.platform == "win32":
        raise LabError("the labs run on Linux or macOS; on Windows, use WSL (Windows Subsystem for Linux)")
    gil_disabled = getattr(sys, "_is_gil_enabled", lambda: True)() is False
    if gil_disabled:
        raise LabError("py-spy does not support free-threaded Python builds: use a regular CPython 3.10-3.14")


def can_ptrace(exe: str) -> bool:
    """Whether the file ``exe`` carries CAP_SYS_PTRACE, effective when it runs (`setcap cap_sys_ptrace=eip`).

    Read from its `security.capability` attribute (struct vfs_cap_data: magic_etc, then the permitted
    set's low 32 bits), so no `getcap` is needed. Such a py-spy may attach by PID without root.
    """
    try:
        raw = os.getxattr(exe, "security.capability")
    except (AttributeError, OSError):  # not Linux, no attribute, or a file system without them
        return False
    if len(raw) < 8:
        return False
    magic, permitted = int.from_bytes(raw[0:4], "little"), int.from_bytes(raw[4:8], "little")
    if not (magic & 1 and permitted >> 19 & 1):  # VFS_CAP_FLAGS_EFFECTIVE; bit 19: CAP_SYS_PTRACE
        return False
    # Outside this process's bounding set (a container without SYS_PTRACE) the kernel refuses to run it.
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return True
    bounding = re.search(r"^CapBnd:\s*([0-9a-fA-F]+)", status, re.MULTILINE)
    return bounding is None or bool(int(bounding.group(1), 16) >> 19 & 1)


def ptrace_scope() -> int | None:
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip())
    except (OSError, ValueError):
        return None


def attach_advice(
    *,
    scope: int | None,
    is_root: bool,
    platform: str = sys.platform,
    lab: str = "lab-N",
    program: str = "your_program.py",
    launch: bool = True,
    by_hand: bool = True,
) -> str:
    """What to do when py-spy may not attach by PID, for this machine's settings.

    ``launch=False`` for a program that only attaching can reach (a running service): the launch form
    is then no remedy, so it is not offered. Root refused is root without CAP_SYS_PTRACE (a container):
    sudo adds nothing, and setcap cannot grant a capability the container's bounding set lacks.
    ``by_hand=False`` where the learner runs no py-spy command (a grader): no by-hand form is offered.
    """
    if platform == "darwin":
        hand = ", or `sudo py-spy record ...` by hand" if by_hand else ""
        return (
            f"On macOS py-spy always needs root, in both forms: `sudo make {lab}` (then give the files back: "
            f'`sudo chown -R "$USER" .venv .labs exercises out`){hand} '
            "(SIP protects the system Python: use another interpreter, e.g. from python.org or Homebrew)."
        )
    ancestors = "so the launch form works without privileges but --pid does not" if launch else (
        "and py-spy is not the running service's ancestor"
    )  # fmt: skip
    why = {
        None: "there is no Yama module here, so only ptrace capabilities or container limits can refuse",
        0: "Yama's ptrace_scope is 0: any process of yours may be attached",
        1: f"Yama's ptrace_scope is 1: only a process's ancestors may attach, {ancestors}",
        2: "Yama's ptrace_scope is 2: attaching needs CAP_SYS_PTRACE (root)",
        3: "Yama's ptrace_scope is 3: attaching is forbidden until reboot, even for root",
    }.get(scope, f"Yama's ptrace_scope is {scope}")
    if scope == 3:
        return f"{why}: no remedy works until the machine restarts with a lower kernel.yama.ptrace_scope."
    fixes = [
        f"use the launch form, which profiles its own child: `make {lab} METHOD=launch` "
        f"(or `py-spy record -o out.svg -- python {program}`)"
    ] if launch else []  # fmt: skip
    if not is_root:
        hand = '; by hand, `sudo env "PATH=$PATH" py-spy …`' if by_hand else ""
        fixes += [
            f"run py-spy as root: `sudo make {lab}`, then give the files back "
            f'(`sudo chown -R "$USER" .venv .labs exercises out`){hand}',
            f"give py-spy the capability once: `sudo setcap cap_sys_ptrace=eip {_spy_shown()}`",
        ]
    fixes.append(
        "in Docker, start the container with `--cap-add SYS_PTRACE` (not --privileged); in Kubernetes, "
        "add SYS_PTRACE to the pod's securityContext capabilities"
    )
    if scope in (1, 2):  # at 0 attaching is not what Yama refuses; 3 cannot be lowered
        where = "on the host (a container cannot change it)" if is_root else "until reboot"
        fixes.append(f"or lower the scope {where}: `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`")
    who = "root without the CAP_SYS_PTRACE capability (e.g. a container)" if is_root else "not root"
    return f"{why}; you are {who}. Remedies:\n" + "\n".join(f"  - {fix}" for fix in fixes)


def advice_here(
    *, lab: str, program: str = "your_program.py", launch: bool = True, by_hand: bool = True
) -> str:
    """attach_advice for this machine and this user: its ptrace scope, whether we are root, its platform."""
    return attach_advice(
        scope=ptrace_scope(),
        is_root=os.geteuid() == 0,
        platform=sys.platform,
        lab=lab,
        program=program,
        launch=launch,
        by_hand=by_hand,
    )


def _spy_shown() -> str:
    """The py-spy the toolkit runs, as a learner would type it: relative to here (`.venv/bin/py-spy`)."""
    try:
        shown = os.path.relpath(find())
    except (LabError, ValueError):
        shown = ".."
    return '"$(command -v py-spy)"' if shown.startswith("..") else shown


class AttachRefused(LabError):
    """py-spy was not allowed to read the target process."""


@dataclass(frozen=True)
class Recording:
    args: list[str]
    returncode: int
    wall_s: float  # py-spy's run from start to exit, timed here
    errors: int | None
    output: str


def record(
    *,
    exe: str,
    out: Path,
    log: Path,
    cwd: Path,
    rate: int,
    duration: int,
    pid: int | None = None,
    launch: Sequence[str] | None = None,
    extra: Sequence[str] = (),
) -> Recording:
    """One py-spy recording in speedscope format; its output is drained into ``log``."""
    args = [
        exe,
        "record",
        "--rate",
        str(rate),
        "--duration",
        str(duration),
        "--format",
        "speedscope",
        "--output",
        str(out),
        *extra,
    ]
    if pid is not None:
        args += ["--pid", str(pid)]
    elif launch is not None:
        args += ["--", *launch]
    else:
        raise ValueError("record() needs a pid or a command to launch")
    # Wall time is py-spy's whole run, start-up included (an upper bound of the sampling window): a
    # rate derived from it leans low; py-spy's random gaps still make it vary by about 1/sqrt(samples).
    from labkit import processes  # only a recording starts processes; `check` imports this module too

    started = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    sink = CappedLog(log)  # a full disk is reported by the run, not raised in this thread
    proc = processes.start(args, log=log, cwd=cwd, stdout=subprocess.PIPE)
    lines: list[str] = []
    last: deque[str] = deque(maxlen=200)  # a flood is kept as its first and last lines (the summary)

    def drain() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace")
            (lines.append if len(lines) < 500 else last.append)(line)
            sink.feed(raw)
        sink.close()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    processes.keep(log, sink, reader, proc)
    try:
        proc.wait(timeout=duration + 60)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"py-spy did not finish within {duration + 60} s") from exc
    finally:
        ended = time.perf_counter()
        processes.stop(proc)
        reader.join(timeout=5)
    if sink.problem():
        raise LabError(f"{sink.problem()}; py-spy's output could not be kept")
    output = "".join([*lines, *last])
    wall = ended - started
    match = re.search(r"Errors:\s*(\d+)", output)
    tree_by_pid = "--subprocesses" in extra and pid is not None
    if proc.returncode != 0 and (why := refusal(output, tree_by_pid=tree_by_pid)):
        raise AttachRefused(f"{why}: {_first_error(output)}")
    return Recording(
        args=args,
        returncode=proc.returncode or 0,
        wall_s=wall,
        errors=int(match.group(1)) if match else None,
        output=output,
    )


def _first_error(output: str) -> str:
    for line in output.splitlines():
        if "Error" in line or "Permission" in line or "permitted" in line:
            return line.strip()
    return output.strip().splitlines()[-1] if output.strip() else "(no output)"
