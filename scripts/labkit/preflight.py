"""Before a lab runs: does this machine have what its steps need?

Every gap is one message naming the lab, the step, what is missing and how to get it, printed before
any program starts: a lab that cannot succeed fails in seconds, not after minutes of measuring (or,
worse, publishes a verdict that only says which tools this machine lacked). Nothing here downloads or
measures: it reads /proc, binds a port on 127.0.0.1, asks py-spy for its version and runs candidate
interpreters with ``-c``. A step's kind implies some needs (labkit.kinds); a step declares the others
with ``needs:`` in the manifest (see docs/instructors.md).
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labkit import kinds, macos, pyspy, pythons
from labkit.errors import LabError, NeedError
from labkit.manifest import Lab

# The oldest py-spy that reads each CPython (SOURCE_NOTES: 0.4.0 added 3.12 and 3.13, 0.4.2 added 3.14).
PY_SPY_FOR = {(3, 12): "0.4.0", (3, 13): "0.4.0", (3, 14): "0.4.2"}
NEWEST_KNOWN = (3, 14)


@dataclass(frozen=True)
class Problem:
    """One missing need. ``fatal``: the lab may not run; otherwise a note (it runs, with less)."""

    lab: str
    steps: tuple[str, ...]  # empty: the lab as a whole
    text: str  # what is missing, and how to get it
    fatal: bool = True

    def __str__(self) -> str:
        if not self.steps:
            return f"{self.lab}: {self.text}"
        label = "step" if len(self.steps) == 1 else "steps"
        return f"{self.lab}, {label} {', '.join(self.steps)}: {self.text}"


# What the machine is like. Module-level functions so that tests can replace each one.


def ptrace_scope() -> int | None:
    return pyspy.ptrace_scope()


def is_root() -> bool:
    return os.geteuid() == 0


def privileged() -> bool:
    """Root with CAP_SYS_PTRACE in effect (a container can take it away from root), or a py-spy that
    has the capability itself (`setcap`, one of the remedies the toolkit gives)."""
    try:
        if pyspy.can_ptrace(pyspy.find()):
            return True
    except LabError:
        pass  # no py-spy: reported on its own
    if not is_root():
        return False
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return True  # no /proc (macOS): root is root
    match = re.search(r"^CapEff:\s*([0-9a-fA-F]+)", status, re.MULTILINE)
    return match is None or bool(int(match.group(1), 16) >> 19 & 1)  # bit 19: CAP_SYS_PTRACE


def platform() -> str:
    return sys.platform


def python_version() -> tuple[int, int]:
    """The Python that the lab's programs run with: this one."""
    return sys.version_info[0], sys.version_info[1]


def loopback_problem() -> str | None:
    """Why no server can listen on 127.0.0.1 here, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def py_spy() -> tuple[str, str]:
    """py-spy's version and where it was found, as the run will find it (LabError when missing)."""
    exe = pyspy.find()
    return pyspy.version(exe), exe


def discover() -> pythons.Found:
    return pythons.discover()


def user_exists(name: str) -> bool:
    return any(entry.pw_name == name for entry in pwd.getpwall())


def others_can_run(path: str) -> bool:
    """Whether another user may run this file: every folder above it and the file itself allow it."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & stat.S_IXOTH:
            return False
        return all(folder.stat().st_mode & stat.S_IXOTH for folder in real.parents)
    except OSError:
        return False


# The decisions.


def can_attach(*, scope: int | None, privileged: bool, platform: str) -> bool:
    """Whether py-spy may attach by PID to a process that it did not start itself.

    With Yama's ptrace_scope 1 only an ancestor may attach, and py-spy is never the ancestor of a
    program the toolkit started, so 1 needs CAP_SYS_PTRACE as 2 does; 3 forbids it to everyone.
    Without Yama (or at 0), refusals by a container's seccomp profile can only be seen at run time.
    """
    if platform == "darwin":
        return privileged
    if scope is None or scope == 0:
        return True
    return scope in (1, 2) and privileged


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _group(problems: list[Problem]) -> list[Problem]:
    """Steps with the same gap become one message (one message per missing need)."""
    merged: dict[tuple[str, bool], Problem] = {}
    for p in problems:
        seen = merged.get((p.text, p.fatal))
        merged[(p.text, p.fatal)] = (
            Problem(p.lab, seen.steps + p.steps, p.text, p.fatal) if seen is not None else p
        )
    return list(merged.values())


def _writable(path: Path) -> Path | None:
    """None when this user can create files in ``path`` (or where it will be created); else the folder."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
        return None
    return probe


def _write_problems(lab: Lab, *, root: Path, docs: bool) -> list[Problem]:
    folders = {root / ".labs": "the toolkit's work files, logs and lock"}
    if docs:
        data_dir = root / lab.data_dir
        folders[data_dir.parent] = "data.new/ is staged beside data/ and the page replaced in place"
        for page in lab.pages:
            folders.setdefault((root / page).parent, "its pages are replaced in place")
        if data_dir.exists():
            folders[data_dir] = "the old data/ is removed after the swap"
    else:
        folders[root / "out"] = "a learner's outputs go to out/<id>/"
    blocked: dict[Path, list[str]] = {}  # one message per folder, with every reason it is needed
    for folder, why in folders.items():
        at = _writable(folder)
        if at is not None:
            blocked.setdefault(at, []).append(why)
    out = []
    for at, whys in blocked.items():
        where = (at.relative_to(root).as_posix() or ".") if at.is_relative_to(root) else str(at)
        out.append(
            Problem(
                lab.id,
                (),
                f"needs write access to {where} ({'; '.join(whys)}). Give your user write access to it "
                f'(e.g. `sudo chown -R "$USER" {where}`), or work in a clone of your own',
            )
        )
    return out


def _spy_problems(lab: Lab, steps: tuple[str, ...]) -> list[Problem]:
    """A py-spy exists, and is new enough for the Python the lab's programs run with."""
    try:
        have, _exe = py_spy()
    except LabError as exc:
        return [Problem(lab.id, steps, f"needs py-spy: {exc}")]
    py = python_version()
    need = PY_SPY_FOR.get(py)
    name = f"Python {py[0]}.{py[1]}"
    override = " (set by LABKIT_PY_SPY)" if os.environ.get("LABKIT_PY_SPY") else ""
    if need and _version(have) < _version(need):
        return [
            Problem(
                lab.id,
                steps,
                f"needs py-spy {need} or newer to read {name} (the Python the lab's programs run "
                f"with); found py-spy {have}{override}. Upgrade it: {pyspy.INSTALL_HINT}",
            )
        ]
    if py > NEWEST_KNOWN:
        return [
            Problem(
                lab.id,
                steps,
                f"no py-spy release known to this toolkit reads {name} (found py-spy {have}); "
                f"if py-spy says 'Unsupported version of Python', use Python "
                f"3.{NEWEST_KNOWN[1]} or older for the toolkit "
                f"(`make venv PYTHON=python3.{NEWEST_KNOWN[1]}`)",
                fatal=False,
            )
        ]
    return []


def _attach_problems(lab: Lab, *, method: str | None, judged: bool) -> list[Problem]:
    """Steps that attach by PID, where this machine (or METHOD=launch) will not let py-spy attach."""
    out = [
        Problem(
            lab.id,
            (step.id,),
            f"profiles the running service {step.target!r}, which only attaching by PID can reach, "
            "so METHOD=launch cannot run this lab: run it without METHOD",
        )
        for step in lab.steps
        if step.target and method == "launch" and kinds.get(step.kind).honours_method
    ]
    scope, where = ptrace_scope(), platform()
    if can_attach(scope=scope, privileged=privileged(), platform=where):
        return out

    def advice(*, launch: bool) -> str:
        return pyspy.attach_advice(scope=scope, is_root=is_root(), platform=where, lab=lab.id, launch=launch)

    claimed = {str(c.get("value", "")).partition(".")[0] for c in lab.claims}  # the sections claims read
    for step in lab.steps:
        reach = kinds.get(step.kind).attach(step)
        own = reach == "may-launch"
        if (own and (method or step.method) == "launch") or (step.target and method == "launch"):
            continue  # launched: nothing to attach to (or already reported above)
        if own and method != "pid":
            text = (
                "attaching by PID will be refused here, so py-spy will launch the program instead "
                "(the provenance says so)"
            )
            out.append(Problem(lab.id, (step.id,), text, fatal=False))
        elif own:
            text = "METHOD=pid forces attaching by PID, which this machine refuses: " + advice(launch=True)
            out.append(Problem(lab.id, (step.id,), text))
        elif reach == "must":
            text = (
                "attaches py-spy by PID to a running program (no launch form can replace that), "
                "which this machine refuses: " + advice(launch=False)
            )
            out.append(Problem(lab.id, (step.id,), text))
        elif reach == "skippable":
            text = (
                "attaches py-spy by PID to time it, which this machine refuses, so the step would be "
                "skipped and its claims left undecided: " + advice(launch=False)
            )
            on_it = kinds.get(step.kind).section in claimed  # its claims would be left undecided
            out.append(Problem(lab.id, (step.id,), text, fatal=on_it and judged))
    return out


def _unprivileged_attach_gap() -> str | None:
    """Why an unprivileged account cannot show here that it attaches to its own process, or None."""
    where, scope = platform(), ptrace_scope()
    if where == "darwin":
        return "on macOS py-spy always needs root, so no unprivileged user can attach"
    if scope not in (None, 0):
        return (
            f"Yama's ptrace_scope is {scope} here, so an unprivileged user cannot attach to its own "
            "process and the step would report that attaching needs sudo. Lower it until reboot: "
            "`echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`, or run the lab on a machine "
            "without that restriction"
        )
    if is_root():  # the probe drops to `nobody` for both processes
        if not user_exists("nobody"):
            return "run as root, the probe switches to the account `nobody`, which is missing here: add it"
        if not os.path.exists("/usr/bin/python3") and not others_can_run(sys.executable):
            return (
                "run as root, the probe starts its busy program as `nobody`, which can run neither "
                "/usr/bin/python3 (missing) nor this Python (in a private folder): install the system's "
                "python3, or run the lab as an ordinary user"
            )
    return None


def _declared(lab: Lab, *, judged: bool) -> list[Problem]:
    """The needs a step declares in the manifest (``needs:``)."""
    found: pythons.Found | None = None
    out = []
    for step in lab.steps:
        needs = step.needs
        why = f" {needs['why']}" if needs.get("why") else ""
        later = "" if judged else "; without it, this step's claims stay undecided in this run"
        for spec in needs.get("pythons", []):
            found = found if found is not None else discover()
            if any(pythons.satisfies(v, spec) for v in found.pythons):
                continue
            version = spec.removeprefix(">=")
            have = ", ".join(found.versions())
            out.append(
                Problem(
                    lab.id,
                    (step.id,),
                    f"needs {pythons.describe(spec)}{why}; found {have + ' only' if have else 'none'} "
                    f"(looked in: {', '.join(found.looked)}). Install one (`pyenv install {version}`, "
                    f"`uv python install {version}`, or your system's package) or list interpreters in "
                    f"{pythons.ENV}=/path/to/python{version}" + later,
                    fatal=judged,
                )
            )
        if needs.get("unprivileged_attach"):
            gap = _unprivileged_attach_gap()
            if gap:
                text = f"needs an unprivileged user who can attach py-spy to its own process{why}; {gap}"
                out.append(Problem(lab.id, (step.id,), text + later, fatal=judged))
    return out


def check(
    lab: Lab,
    *,
    root: Path,
    method: str | None,
    learner: bool,
    quick: bool = False,
    writes_docs: bool | None = None,
) -> list[Problem]:
    """Everything ``lab`` needs that this machine lacks; starts nothing, downloads nothing.

    ``method`` is the forced attach method (METHOD=pid|launch) or None. ``learner``: a run into out/
    (`make lab-N`). A learner's run and a QUICK run do not judge claims, so a gap that would only leave
    a claim undecided (a declared need, an overhead step that cannot attach) is a note there, not an
    error. ``writes_docs`` defaults to ``not learner``; a soak (scratch outputs, claims judged) passes
    ``learner=False, writes_docs=False``.
    """
    docs = not learner if writes_docs is None else writes_docs
    judged = not (learner or quick)
    problems: list[Problem] = []
    try:
        pyspy.check_platform()
    except LabError as exc:
        problems.append(Problem(lab.id, (), str(exc)))
    problems += _write_problems(lab, root=root, docs=docs)
    spy_steps = tuple(s.id for s in lab.steps if kinds.uses_spy(s))
    if spy_steps:
        problems += _spy_problems(lab, spy_steps)
        darwin = platform() == "darwin"
        mac = macos.refusals(lab, spy_steps, root=is_root()) if darwin else []
        problems += [Problem(lab.id, steps, why) for steps, why in mac]
        if not darwin or is_root():
            problems += _attach_problems(lab, method=method, judged=judged)
    served = tuple(s.id for s in lab.steps if kinds.get(s.kind).loopback)
    if served:
        why = loopback_problem()
        if why:
            problems.append(
                Problem(
                    lab.id,
                    served,
                    f"needs to listen and connect on 127.0.0.1, which fails here ({why}); run the lab "
                    "where the loopback interface is up (in a container: not with `--network none`)",
                )
            )
    problems += _declared(lab, judged=judged)
    return _group(problems)


def require(
    lab: Lab,
    *,
    root: Path,
    method: str | None,
    learner: bool,
    say: Callable[[str], None],
    quick: bool = False,
    writes_docs: bool | None = None,
) -> None:
    """Run ``check``: say each note, and raise one LabError that lists every missing need."""
    problems = check(lab, root=root, method=method, learner=learner, quick=quick, writes_docs=writes_docs)
    for note in (p for p in problems if not p.fatal):
        say(f"note: {note}")
    fatal = [str(p) for p in problems if p.fatal]
    if fatal:
        raise NeedError("\n".join(fatal) + "\nNothing was started (preflight).")
