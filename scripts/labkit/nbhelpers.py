"""The notebook's cell of helpers (see ``labkit.notebook``): start and stop programs in the background,
read py-spy's recordings. Plain Python with nothing but the standard library, so that the notebook runs
outside a clone; each notebook gets the definitions its own cells call. Pure: text in, text out.
"""

from __future__ import annotations

import re

HELPERS = '''\
import atexit, ctypes, json, os, re, shlex, signal, subprocess, sys, sysconfig, time
from collections import Counter
from pathlib import Path

# Every file of the lab goes into one folder beside this notebook, and the cells run there.
HERE = globals().get("HERE") or Path({folder!r}).resolve()
HERE.mkdir(exist_ok=True)
os.chdir(HERE)
# `python` and `py-spy` in the cells: this kernel's Python and the py-spy that pip installed for it
(HERE / "bin").mkdir(exist_ok=True)
(HERE / "bin" / "python").write_text(f'#!/bin/sh\\nexec "{{sys.executable}}" "$@"\\n')
(HERE / "bin" / "python").chmod(0o755)
scripts = [sysconfig.get_path("scripts"), sysconfig.get_path("scripts", f"{{os.name}}_user")]
os.environ["PATH"] = os.pathsep.join([str(HERE / "bin"), *scripts, os.environ.get("PATH", "")])

RUNNING = []  # the programs started in the background; each is stopped when the kernel stops


def _in_background():  # runs in each program just before it starts
    if not sys.platform.startswith("linux"):
        return  # macOS has neither prctl call (nor Yama); `stop()` and atexit still stop programs
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM when the kernel dies, even if killed
    # PR_SET_PTRACER_ANY: with Yama's ptrace_scope 1 (the usual default) only a program's ancestors
    # may attach to it, and py-spy is not the program's ancestor here; this lets your py-spy attach
    # by PID as it would in your terminal with ptrace_scope 0 (no effect without Yama)
    libc.prctl(0x59616D61, ctypes.c_ulong(2**64 - 1))


# That permission covers one process: a program's own children (a wrapper's Python, the workers it
# forks) do not inherit it. So each Python program that start() launches runs this file first (Python
# imports a `sitecustomize` module found on PYTHONPATH as it starts): it grants the permission in the
# program and again in each process the program forks; a new interpreter (spawn) reads it again.
SITECUSTOMIZE = """\
# Written by the lab's notebook: lets py-spy, which is not this program's ancestor, read this
# program and every process it forks under Linux's Yama ptrace_scope 1 (no effect elsewhere).
import os, sys

_prctl = None
if sys.platform.startswith("linux"):
    try:  # silent: without ctypes or prctl, py-spy needs the privileges it would need anyway
        import ctypes
        _prctl = ctypes.CDLL(None).prctl  # looked up once: a forked child only calls it
    except (ImportError, OSError, AttributeError):
        pass


def _let_py_spy_attach():
    if _prctl is not None:
        _prctl(0x59616D61, ctypes.c_ulong(2**64 - 1))  # PR_SET_PTRACER, PR_SET_PTRACER_ANY


_let_py_spy_attach()
if _prctl is not None:
    os.register_at_fork(after_in_child=_let_py_spy_attach)

# A sitecustomize of your own (later on the path) still runs, after this one.
import importlib.machinery, importlib.util
_here = os.path.dirname(os.path.abspath(__file__))
_path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _path)
if _spec is not None and _spec.loader is not None:
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
"""
(HERE / "startup").mkdir(exist_ok=True)
(HERE / "startup" / "sitecustomize.py").write_text(SITECUSTOMIZE)


def _environment():  # the programs' environment: the folder with sitecustomize.py first on PYTHONPATH
    path = [str(HERE / "startup"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {{**os.environ, "PYTHONPATH": os.pathsep.join(path)}}


_scope = Path("/proc/sys/kernel/yama/ptrace_scope")
_level = int(_scope.read_text()) if _scope.exists() else 0
if _level == 2 and os.geteuid() != 0:
    print("ptrace_scope is 2: py-spy --pid needs root or the ptrace capability here (Lab 1's "
          "troubleshooting, 'Permission denied on Linux', says what to do)")
elif _level >= 3:  # Yama's highest level: no attaching at all until the machine restarts
    print("ptrace_scope is 3: no program may attach by PID until reboot, root included (Lab 1's "
          "troubleshooting, 'Permission denied on Linux')")


def start(command, ready="", log="program.log"):
    """Start a program in the background, as in a second terminal; wait for `ready` in its output."""
    log = Path(log)
    with open(log, "w") as out:
        proc = subprocess.Popen(shlex.split(command), stdout=out, stderr=subprocess.STDOUT,
                                env=_environment(), preexec_fn=_in_background)
    RUNNING.append(proc)
    found, deadline = None, time.monotonic() + 30
    try:
        while ready and not (found := re.search(f"{{ready}}.*", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{{command}} did not start:\\n{{log.read_text()}}")
            time.sleep(0.1)
    except BaseException:  # interrupted or failed: stop what this cell started
        stop(proc)
        raise
    for name, value in (found.groupdict() if found else {{}}).items():
        setattr(proc, name, value)  # e.g. the port it listens on
    print(log.read_text()[: found.end() if found else None].strip())
    print(f"(running in the background as PID {{proc.pid}}; its output goes to {{log}})")
    return proc


def _stat(pid):
    """Linux: a process's parent and start time (None if it is gone)."""
    try:
        fields = Path(f"/proc/{{pid}}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), fields[19]


def _below(pid):
    """Linux: the processes below `pid` now, each with its start time (to know it again later)."""
    stats = {{int(e.name): _stat(e.name) for e in Path("/proc").glob("[0-9]*")}}
    children = {{}}
    for child, stat in stats.items():
        if stat:
            children.setdefault(stat[0], []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append((child, stats[child][1]))
            todo.append(child)
    return found


def stop(*procs):
    """Stop programs as Ctrl+C would (all that run in the background if none is named), then whatever
    they started and left running (a wrapper stopped before it could pass Ctrl+C on)."""
    for proc in procs or list(RUNNING):
        if proc.poll() is None:
            below = _below(proc.pid) if sys.platform.startswith("linux") else []
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for pid, started in below:  # each one still there is killed, if it is the same process
                if (_stat(pid) or (0, None))[1] == started:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        if proc in RUNNING:
            RUNNING.remove(proc)


atexit.register(stop)


def functions(path, threads="", top=6, also=(), label=""):
    """The functions in a py-spy speedscope file with the largest shares of samples running their
    own code (self), and of samples with them anywhere on the stack (total), over every sample of
    the threads whose names match `threads` (`label` says which in words); then those in `also`."""
    data = json.loads(Path(path).read_text())
    frames = data["shared"]["frames"]
    samples, total, own, per_thread = 0, Counter(), Counter(), Counter()
    for profile in data["profiles"]:
        # py-spy names it Thread 12 "worker-3" (Process 12 Thread 12 "worker-3" with --subprocesses)
        thread = re.search(r'"(.*)"$', profile["name"])
        if threads and not re.search(threads, thread[1] if thread else profile["name"]):
            continue
        per_thread[thread[1] if thread else profile["name"]] += len(profile["samples"])
        for stack in profile["samples"]:  # frame numbers, outermost first
            # with --subprocesses each stack starts with its processes, `process 12:"python jobs.py"`:
            # not functions, and named by PIDs that change with every run, so left out here
            names = [f"{{frames[i]['name']}} ({{Path(frames[i]['file']).name}})" for i in stack
                     if not re.match(r'process \\d+:"', frames[i]["name"])]
            samples += 1
            total.update(set(names))
            own.update(names[-1:])
    label = label or f"the threads matching {{threads!r}}"
    print(f"{{path}}: {{samples}} samples" + (f" of {{label}}" if threads else ""))
    if threads:  # which thread (with --subprocesses: which process) holds the time
        print("per thread: " + ", ".join(f"{{name}} {{n}}" for name, n in sorted(per_thread.items())))
    print(f"{{'self':>7}} {{'total':>7}}  function (file)")
    shown = [name for name, _ in own.most_common(top)]
    shown += [n for n in sorted(total) if n.split(" (")[0] in also and n not in shown]
    for name in shown:
        print(f"{{own[name] / max(samples, 1):7.1%}} {{total[name] / max(samples, 1):7.1%}}  {{name}}")
    return {{name: count / samples for name, count in total.items()}} if samples else {{}}


def compare(before, after, top=5):
    """The functions whose share of the samples fell and rose the most between two recordings."""
    change = {{name: after.get(name, 0) - before.get(name, 0) for name in {{*before, *after}}}}
    ranked = sorted((n for n in change if abs(change[n]) >= 0.01), key=lambda n: (change[n], n))
    fell, rose = [n for n in ranked if change[n] < 0][:top], [n for n in ranked if change[n] > 0][-top:][::-1]
    print(f"{{'before':>7}} {{'after':>7}} {{'change':>7}}  function (file)")
    for name in fell + rose:
        print(f"{{before.get(name, 0):7.1%}} {{after.get(name, 0):7.1%}} {{change[name]:+7.1%}}  {{name}}")


def screen(command, seconds, log):
    """Run a program that redraws a terminal screen (py-spy top) in a pseudo-terminal, for `seconds`
    after it first draws; stop it as Ctrl+C would and print the last whole screen it drew."""
    import fcntl, pty, select, struct, termios
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # rows, columns
    proc = subprocess.Popen(shlex.split(command), stdin=terminal, stdout=terminal, stderr=terminal,
                            preexec_fn=_in_background)
    os.close(terminal)
    out, deadline = b"", time.monotonic() + 30  # attaching can take a few seconds on a busy machine
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if select.select([master], [], [], 0.1)[0]:
                drawn = b"\\x1b[H" in out
                try:
                    out += os.read(master, 65536)
                except OSError:  # the program ended and its terminal closed
                    break
                if not drawn and b"\\x1b[H" in out:  # the first screen: count `seconds` from here
                    deadline = time.monotonic() + seconds
    finally:
        stop(proc)
        while select.select([master], [], [], 0.2)[0]:  # what it wrote before it stopped
            try:
                chunk = os.read(master, 65536)
            except OSError:  # Linux: the terminal closed with the program
                break
            if not chunk:  # macOS: the same
                break
            out += chunk
        os.close(master)
    Path(log).write_bytes(out)
    parts = out.decode(errors="replace").split("\\x1b[H")  # each redraw starts with "cursor home"
    parts = [re.sub(r"\\x1b\\[[0-9;?]*[A-Za-z]|\\r", "", s) for s in parts]
    screens = [re.sub(r"\\n\\s*\\n", "\\n", s).strip("\\n") for s in parts[1:]]
    print(next((s for s in reversed(screens[:-1] or screens) if s.strip()), parts[0].strip() or "(nothing)"))


def p95(path):
    """The 95th percentiles (ms) of a load report written by `load.py --json`, one per repeat."""
    stats = json.loads(Path(path).read_text())["summary"]["all"]["p95_ms"]
    return stats["min"], stats["median"], stats["max"]
'''

HELPERS_NOTE = (  # the notebook's words above HELPERS
    "Helpers: start and stop programs in the background, and read py-spy's recordings. They also write "
    "`startup/sitecustomize.py`, which each Python program they start runs first, so that py-spy may read "
    "that program and every process it forks, which Yama's `ptrace_scope` 1 (usual on desktops) would "
    "otherwise refuse (at 2 or 3 this cannot help: the cell prints what to do). A `sitecustomize` of your "
    "own still runs, after this one."
)


def helpers(folder: str, cells: list[str]) -> str:
    """``HELPERS`` for one notebook: its folder filled in, without the public definitions that none of
    its ``cells`` calls (a helper nothing calls only puzzles the reader); the private ones stay."""
    calls, parts = "\n".join(cells), HELPERS.format(folder=folder).split("\n\n\ndef ")
    kept = [p for p in parts[1:] if p.startswith("_") or re.search(rf"\b{p.split('(')[0]}\(", calls)]
    return "\n\n\ndef ".join([parts[0], *kept]).rstrip("\n")
