"""The code cells of a lab's notebook, one recipe per step kind (see ``labkit.notebook``).

Each cell is what a learner would type: the page's shell commands as ``!`` lines (IPython runs them
in a pseudo-terminal and expands ``$NAME`` and ``{expression}``), and a few lines of plain Python that
read py-spy's output with the helpers of ``labkit.nbhelpers``. Pure: a step in, cell source out.
"""

from __future__ import annotations

import html
import re
import shlex
from pathlib import Path

from labkit import kinds
from labkit.kinds.profile import threads_in_words
from labkit.manifest import Lab, Step

_FIELD = re.compile(r"\{(\w+)\.(\w+)\}")  # `{web.port}`: a field of an earlier service step
_PY_SPY = re.compile(r'"(py-spy[^"]*)"')  # the requirement in pyproject.toml's dependencies

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


def _record(step: Step, output: str, *, speedscope: bool = True) -> str:
    extra = "".join(f" {a}" for a in step.py_spy_args)
    rate = f" --rate {step.rate}" if step.rate != 100 else ""
    form = " --format speedscope" if speedscope else ""  # else py-spy's default, its SVG flame graph
    return f"!py-spy record --pid $PID --duration $SECONDS{rate}{extra}{form} -o {output}"


def _tree_svg(step: Step, output: str) -> list[str]:
    """A recording of a process tree also gets py-spy's own SVG, which merges each process's threads
    under its process frame: one tower per worker, as the page shows it (none for other recordings)."""
    if "--subprocesses" not in step.py_spy_args:
        return []
    svg = _record(step, output.removesuffix(".json") + ".svg", speedscope=False)  # the same options
    note = "# py-spy's own flame graph of the same tree, one tower per worker process: open it in a browser"
    return [f"{note}\n{svg}"]


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


def _in_words(pattern: str) -> str:
    """The threads a name pattern chooses, in the page's words ("the worker threads"), as plain text."""
    return html.unescape(re.sub(r"</?code>", "'", threads_in_words(pattern)))


def _per_worker(step: Step, files: dict[str, str]) -> str:
    """Each worker thread's samples in both recordings (in its computing function, if the step names one)."""
    computing = step.computing or ""
    before, after = (files.get(s, f"{s}.json") for s in (step.before, step.after))  # the page's names
    return (
        f"COMPUTING = {computing!r}  # only samples with it on the stack count ('': every sample)\n"
        "# py-spy looks 100 times a second (its default rate) for SECONDS seconds and keeps the samples of\n"
        "# all but its last look (SECONDS x 100 - 1): a worker's busy share is its samples over those looks\n"
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
        return [_per_worker(step, files or {})]
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
        threads = f", threads={step.threads!r}, label={_in_words(step.threads)!r}" if step.threads else ""
        named = _named(lab, step)
        output = (files or {}).get(step.id, f"{step.id}.json")
        show = f'{step.id} = functions("{output}"{threads}' + (f", also={named!r})" if named else ")")
        if step.target:
            return [f"PID = {step.target}.pid\n{_record(step, output)}", show, *_tree_svg(step, output)]
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
