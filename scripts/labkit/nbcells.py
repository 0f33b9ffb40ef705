"""The code cells of a lab's notebook, one recipe per step kind (see ``labkit.notebook``).

Each cell is what a learner would type: the page's shell commands as ``!`` lines (IPython runs them
in a pseudo-terminal and expands ``$NAME`` and ``{expression}``), and a few lines of plain Python that
read py-spy's output. ``HELPERS`` is the one cell of definitions they share: it needs nothing but the
standard library, so the notebook runs outside a clone, with Python, pip and the programs its own
cells write. Pure: a step in, cell source out.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from labkit import kinds
from labkit.manifest import Lab, Step

_FIELD = re.compile(r"\{(\w+)\.(\w+)\}")  # `{web.port}`: a field of an earlier service step
_PY_SPY = re.compile(r'"(py-spy[^"]*)"')  # the requirement in pyproject.toml's dependencies

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
if _scope.exists() and int(_scope.read_text()) >= 2 and os.geteuid() != 0:
    print(f"ptrace_scope is {{_scope.read_text().strip()}}: py-spy --pid needs root here (Lab 1's "
          "troubleshooting, 'Permission denied on Linux', says what to do)")


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


def stop(*procs):
    """Stop programs as Ctrl+C would (all that run in the background if none is named)."""
    for proc in procs or list(RUNNING):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in RUNNING:
            RUNNING.remove(proc)


atexit.register(stop)


def functions(path, threads="", top=6, also=()):
    """The functions in a py-spy speedscope file with the largest shares of samples running their
    own code (self), and of samples with them anywhere on the stack (total), over every sample of
    the threads whose names match `threads`; then the functions named in `also`."""
    data = json.loads(Path(path).read_text())
    frames = data["shared"]["frames"]
    samples, total, own = 0, Counter(), Counter()
    for profile in data["profiles"]:
        thread = re.search(r'"(.*)"$', profile["name"])  # py-spy names it: Thread 12 "worker-3"
        if threads and not re.search(threads, thread[1] if thread else profile["name"]):
            continue
        for stack in profile["samples"]:  # frame numbers, outermost first
            # with --subprocesses each stack starts with its processes, `process 12:"python jobs.py"`:
            # not functions, and named by PIDs that change with every run, so left out here
            names = [f"{{frames[i]['name']}} ({{Path(frames[i]['file']).name}})" for i in stack
                     if not re.match(r'process \\d+:"', frames[i]["name"])]
            samples += 1
            total.update(set(names))
            own.update(names[-1:])
    print(f"{{path}}: {{samples}} samples" + (f" of the threads matching {{threads!r}}" if threads else ""))
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
    "that program and every process it forks where Linux's Yama setting would otherwise refuse it (a "
    "`sitecustomize` of your own still runs, after this one)."
)


# The py-spy the labs measure with, as pyproject.toml requires it (a test keeps the two equal): what
# the notebook installs when the lab's repository has no pyproject.toml of its own.
PY_SPY = "py-spy>=0.4.2,<0.5"


def requirement(root: Path) -> str:
    """py-spy's version range: the one in the repository's pyproject.toml, else ``PY_SPY``."""
    config = root / "pyproject.toml"
    found = _PY_SPY.search(config.read_text(encoding="utf-8")) if config.is_file() else None
    return found[1] if found else PY_SPY


def imported(root: Path, files: dict[str, str]) -> list[str]:
    """The project's dependencies (pyproject.toml) that the lab's programs import, e.g. NumPy for Lab 3:
    the notebook installs them beside py-spy, in the project's version range."""
    config = root / "pyproject.toml"
    if not config.is_file():
        return []
    listed = re.search(r"^dependencies = \[(.*?)^\]", config.read_text(encoding="utf-8"), re.M | re.S)
    found = []
    for requirement in re.findall(r'^\s*"([^"]+)"', listed[1] if listed else "", re.M):
        module = re.split(r"[^A-Za-z0-9_.-]", requirement, maxsplit=1)[0].replace("-", "_").lower()
        pattern = re.compile(rf"^\s*(import|from) {re.escape(module)}\b", re.M)
        if module != "py_spy" and any(pattern.search(text) for text in files.values()):
            found.append(requirement)
    return found


def words(lab: Lab, argv: list[str]) -> list[str]:
    words = kinds.with_spy([a.replace("{seed}", str(lab.seed)) for a in argv], "py-spy")
    return ["python", *words] if words and words[0].endswith(".py") else words


def shell(lab: Lab, argv: list[str]) -> str:
    """A command line as the learner types it; `{web.port}` stays for IPython or an f-string."""
    return " ".join(w if _FIELD.search(w) else shlex.quote(w) for w in words(lab, argv))


def _string(text: str) -> str:
    """A Python string literal of a command: an f-string when it names a service's field."""
    return ("f" if _FIELD.search(text) else "") + f'"{text}"'


def _bang(lab: Lab, step: Step, suffix: str = "") -> str:
    """The step's command as a `!` line; with a QUICK variant, its arguments chosen in Python first."""
    full = words(lab, step.command)
    if not step.quick_command:
        return f"!{shell(lab, step.command)}{suffix}"
    quick = words(lab, step.quick_command)
    head = 2 if full[0] == "python" else 1
    var = f"{step.id.upper()}_ARGS"
    args = [shell(lab, words[head:]) for words in (quick, full)]
    choose = f"{var} = {_string(args[0])} if QUICK else {_string(args[1])}"
    return f"{choose}\n!{' '.join(full[:head])} ${var}{suffix}"


def _start(lab: Lab, name: str, step: Step) -> str:
    ready = f', ready=r"{step.ready}"' if step.ready and '"' not in step.ready else ""
    return f'{name} = start({_string(shell(lab, step.command))}{ready}, log="{name}.log")'


def _record(step: Step, output: str) -> str:
    extra = "".join(f" {a}" for a in step.py_spy_args)
    rate = f" --rate {step.rate}" if step.rate != 100 else ""
    return f"!py-spy record --pid $PID --duration $SECONDS{rate}{extra} --format speedscope -o {output}"


def _named(lab: Lab, step: Step) -> list[str]:
    """The functions of a recorded step whose numbers the manifest's values and claims read."""
    paths = [v["path"] for v in lab.values.values()]
    paths += [str(c.get(key, "")) for c in lab.claims for key in ("value", "than")]
    head = f"{kinds.get(step.kind).section}.{step.id}.functions."
    return sorted({p[len(head) :].split(".")[0] for p in paths if p.startswith(head)})


def _recorded(lab: Lab, step_id: str | None) -> bool:
    """Whether a step records with py-spy (its results are a profile's functions)."""
    found = [s for s in lab.steps if s.id == step_id]
    return bool(found) and kinds.get(found[0].kind).honours_method


def _per_worker(step: Step, files: dict[str, str]) -> str:
    """Each worker thread's samples in both recordings (in its computing function, if the step names one)."""
    computing = step.computing or ""
    before, after = (files.get(s, f"{s}.json") for s in (step.before, step.after))  # the page's names
    return (
        f"COMPUTING = {computing!r}  # only samples with it on the stack count ('': every sample)\n"
        "# py-spy looks 100 times a second (its default rate) and stops after SECONDS x 100 - 1 looks:\n"
        "# a worker's busy share is its samples over those looks, as the page counts it\n"
        "INSTANTS = SECONDS * 100 - 1\n"
        f"for path in [{before!r}, {after!r}]:\n"
        "    data = json.loads(Path(path).read_text())\n"
        "    names, counts = [f['name'] for f in data['shared']['frames']], Counter()\n"
        "    for profile in data['profiles']:\n"
        "        thread = re.search(r'\"(.*)\"$', profile['name'])  # Process 12 Thread 12 \"worker-3\"\n"
        f"        if thread and re.search({step.threads!r}, thread[1]):\n"
        "            counts[thread[1]] += sum(not COMPUTING or COMPUTING in {names[i] for i in s}\n"
        "                                     for s in profile['samples'])\n"
        '    print(f"{path}: " + ", ".join(\n'
        '        f"{name} {n} samples (busy {n / INSTANTS:.1%})" for name, n in sorted(counts.items())))'
    )


def cells(lab: Lab, step: Step, *, files: dict[str, str] | None = None) -> list[str]:
    """The code cells that run one step and show its numbers (empty: the notebook does not run it).
    A recording writes the file `files` names for its step (the page's name), else `<step id>.json`.

    The recipe follows what the step's kind declares in ``labkit.kinds`` (it records with py-spy,
    serves on loopback, publishes nothing, ...) and the step's own fields, never the kind's name.
    """
    kind = kinds.get(step.kind)
    if step.stop:
        return [f"stop({', '.join(step.stop)})"]
    if step.threads and step.before and step.after and _recorded(lab, step.before):  # per worker (busy)
        return [
            _per_worker(step, files or {}),
            f"# Which functions' shares changed\ncompare({step.before}, {step.after})",
        ]
    if step.before and step.after and _recorded(lab, step.before):
        return [f"compare({step.before}, {step.after})"]
    if step.before and step.after:  # two load runs: their p95 latencies
        return [
            f'before, after = p95("{step.before}.json"), p95("{step.after}.json")\n'
            'print(f"p95 before: {before[0]:.1f} to {before[2]:.1f} ms; "\n'
            '      f"after: {after[0]:.1f} to {after[2]:.1f} ms")\n'
            'print(f"the fastest repeat before took {before[0] / after[2]:.1f} times "\n'
            '      "as long as the slowest after")'
        ]
    if step.needs or not (step.command or step.target):
        return []  # needs what a notebook may lack (privileges, another Python)
    if kind.section is None:  # a program that runs until a stop: a service
        return [f"{_start(lab, step.id, step)}\nPID = {step.id}.pid"]
    if kind.honours_method:  # a py-spy recording, of a running service or of a program it starts
        threads = f", threads={step.threads!r}" if step.threads else ""
        named = _named(lab, step)
        output = (files or {}).get(step.id, f"{step.id}.json")
        show = f'{step.id} = functions("{output}"{threads}' + (f", also={named!r})" if named else ")")
        if step.target:
            return [f"PID = {step.target}.pid\n{_record(step, output)}", show]
        name = f"{step.id}_service"
        record = f"{_record(step, output)}\nstop({name})"
        return [f"{_start(lab, name, step)}\nPID = {name}.pid", record, show]
    if kind.uses_spy and step.target and "terminal" in kind.blocks:  # py-spy redraws a screen
        seconds = step.seconds(quick=False)
        return [
            "# py-spy redraws a terminal screen: here it runs in a terminal of its own for a few seconds,\n"
            f"# then its last screen is printed (in a terminal of yours: py-spy {step.kind} --pid PID)\n"
            f"PID = {step.target}.pid\n"
            f'screen(f"py-spy {step.kind} --pid {{PID}}", seconds={seconds}, log="{step.kind}.log")'
        ]
    if kind.uses_spy and step.target:  # py-spy's subcommand of the same name, once
        return [f"PID = {step.target}.pid\n!py-spy {step.kind} --pid $PID"]
    if kind.loopback and step.background:  # traffic that runs until a stop
        return [_start(lab, step.id, step)]
    if kind.loopback:  # a load run whose report the page reads
        return [_bang(lab, step, f" --json {step.id}.json")]
    if not kind.uses_spy and step.command:
        return [_bang(lab, step)]
    return []
