"""A lab run one step at a time from Python, with the toolkit (a kernel in a clone, the tests).

The published notebooks (``labkit.notebook``) do not use it: they run outside a clone. This module
also executes a notebook in a fresh kernel (``execute``) for `make notebooks`.

The steps run through the same engine as `make lab-N` (``runner.Engine``); between cells the
services that earlier steps started keep running. Every process a cell starts is stopped when the
cell is interrupted (or fails), when ``close()`` runs, and when the kernel exits (``atexit``; a
SIGTERM is turned into an exit so that it runs). Outputs go to ``out/<id>/notebook/``, never docs/.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from labkit import (
    blocks,
    claims,
    kinds,
    manifest,
    pages,
    preflight,
    processes,
    provenance,
    reaper,
    store,
    values,
)
from labkit.errors import LabError
from labkit.manifest import Lab
from labkit.records import Results
from labkit.resultfile import dump
from labkit.runner import Engine, Options

# ipykernel sets these so that tools colour their output; the lab's programs must write plain text
# (the toolkit reads py-spy's help and messages), as they do under `make lab-N`.
KERNEL_COLOUR = ("FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR")
QUICK_ENV = "LABKIT_QUICK"  # "1": the short configuration (tests, a quick look); never judged
_FIGURE = re.compile(r"<figure\b.*?</figure>", re.DOTALL)
_SVG_REF = re.compile(r'<(?:iframe|img)\b[^>]*\bsrc="data/([^"]+\.svg)"')


def quick_from_env() -> bool:
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes")


def find_root(lab_id: str, *, start: Path) -> Path:
    """The clone the notebook stands in: the first folder at or above ``start`` with labs/<id>.yml."""
    for folder in (start, *start.parents):
        if (folder / "labs" / f"{lab_id}.yml").is_file() and (folder / "scripts" / "labkit").is_dir():
            return folder
    raise LabError(
        f"no labs/{lab_id}.yml in {start.name or start} or above it: open the notebook inside a clone of "
        "the repository (it stands in docs/labs/<id>/ there)"
    )


def _display(obj: object) -> None:
    """IPython's display when a kernel runs us; plain text otherwise (a script, a test)."""
    try:
        from IPython.display import display
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        print(obj)
        return
    display(obj)


def _html(text: str) -> object:
    from IPython.display import HTML

    return HTML(text)


def _svg(path: Path) -> object:
    from IPython.display import SVG

    return SVG(filename=str(path))


class Session:
    """One lab's steps run from notebook cells, with the state `make lab-N` keeps between steps."""

    def __init__(self, lab: Lab, *, root: Path, quick: bool, method: str | None) -> None:
        self.lab, self.root, self.quick, self.method = lab, root, quick, method
        self.out = root / "out" / lab.id / "notebook"
        work = root / ".labs" / "notebook" / lab.id
        for folder in (self.out, work):
            if folder.exists():
                shutil.rmtree(folder)
        self.opts = Options(root=root, work=work, out=self.out, quick=quick, method=method, say=self._say)
        self.engine = Engine(lab, opts=self.opts)
        self.results: Results | None = None
        atexit.register(self.close)
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # an exit that runs atexit
            signal.signal(signal.SIGTERM, _exit_on_term)

    @classmethod
    def start(cls, lab_id: str, *, quick: bool | None = None, cwd: Path | None = None) -> Session:
        """Load the lab, check the machine (as `make lab-N` does) and choose how py-spy reaches programs.

        Where attaching by PID is refused (Yama's ptrace_scope 1 or more without privileges: a py-spy
        started from a notebook is no ancestor of the program), the launch form is used, unless a
        step must attach to a running service, which the preflight then names.
        """
        for name in KERNEL_COLOUR:
            os.environ.pop(name, None)
        root = find_root(lab_id, start=(cwd or Path.cwd()).resolve())
        lab = manifest.load(Path("labs") / f"{lab_id}.yml", root=root)
        quick = quick_from_env() if quick is None else quick
        scope = preflight.ptrace_scope()
        allowed = preflight.can_attach(
            scope=scope, privileged=preflight.privileged(), platform=preflight.platform()
        )
        method = None if allowed or any(s.target for s in lab.steps) else "launch"
        shown = "no Yama module" if scope is None else f"Yama's ptrace_scope is {scope}"
        print(f"{lab.title} ({lab.id}){' in the QUICK configuration' if quick else ''}")
        print(
            f"{shown}: "
            + (
                "py-spy attaches by PID, as the page does"
                if method is None
                else "attaching by PID is refused here, so py-spy launches each program it records"
            )
        )
        preflight.require(lab, root=root, method=method, learner=True, quick=quick, say=print)
        session = cls(lab, root=root, quick=quick, method=method)
        print(f"Your run's files go to {session.out.relative_to(root).as_posix()}/")
        return session

    def _say(self, message: str) -> None:
        print(f"  {message}", flush=True)

    def _step(self, step_id: str) -> manifest.Step:
        for step in self.lab.steps:
            if step.id == step_id:
                return step
        raise LabError(f"{self.lab.id} has no step {step_id!r}")

    def run(self, step_id: str) -> None:
        """Run one step; if the cell is interrupted or fails, stop every process the notebook started."""
        step = self._step(step_id)
        needed = [s for s in (step.target, *re.findall(r"\{(\w+)\.", " ".join(step.command))) if s]
        missing = [s for s in needed if s not in self.opts.running]
        if missing:
            raise LabError(f"step {step.id!r} needs the service of step {missing[0]!r}: run that cell first")
        kind = kinds.get(step.kind)
        print(f"{step.id}: {step.title or step.kind}", flush=True)
        try:
            entry = self.engine.step(step)
        except BaseException as exc:
            self.close()
            what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            print(f"{step.id} {what}: every process this notebook started was stopped", file=sys.stderr)
            raise
        self.results = None
        if kind.summary is not None and entry is not None:
            from labkit import terminal  # rich: HTML in a notebook, text elsewhere; names shown safely

            terminal.Console(highlight=False).print(kind.summary(step.id, entry))

    def _results(self) -> Results:
        """The run so far as results.json would hold it; values that need a later step are left out."""
        inputs = store.inputs_sha256(self.lab, root=self.root, quick=self.quick)
        results = self.engine.results(inputs=inputs, generated_at=provenance.now())
        declared = {}
        for name, spec in self.lab.values.items():
            try:
                values.lookup(results, spec["path"])
            except values.Missing:
                declared[name] = spec  # an unsampled function counts 0; evaluate decides
            except LabError:
                continue  # its step has not run yet
            else:
                declared[name] = spec
        defined = lambda name: self.lab.defines(name, root=self.root)  # noqa: E731
        results["values"] = values.evaluate(results, declared, defined=defined)
        return results

    def _context(self, results: Results) -> blocks.Context:
        return blocks.Context(
            results=results, data_href="data", data_dir=self.out, page=self.lab.page.as_posix()
        )

    def show(self, block: str, arg: str | None = None) -> None:
        """A block of the page, made from your run: its pictures inline (SVG), then its tables."""
        known = pages.blocks()
        if block not in known:
            raise LabError(f"no block {block!r}; expected one of {', '.join(known)}")
        html = "\n".join(known[block](self._context(self._results()), arg))
        for name in dict.fromkeys(_SVG_REF.findall(html)):
            _display(_svg(self.out / name))
        rest = _FIGURE.sub("", html).strip()
        if rest:
            _display(_html(rest))

    def verdicts(self) -> None:
        """The page's claims judged on your run, and every value the page names; results.json saved."""
        results = self._results()
        page = self.lab.page.as_posix()
        # only this page's claims: the notebook does not run the steps that only other pages read
        specs = [c for c in self.lab.claims if c.get("page", page) == page]
        defined = lambda name: self.lab.defines(name, root=self.root)  # noqa: E731
        results["claims"] = claims.evaluate(results, specs, default_page=page, defined=defined)
        self.results = results
        (self.out / "results.json").write_text(dump(results), encoding="utf-8")
        mine = results["claims"]
        if mine:
            _display(_html("\n".join(pages.claims_table(self._context(results), None))))
        decided = [c for c in mine if c["verdict"] != "cited"]
        kept = sum(c["verdict"] == c["expect"] for c in decided)
        if self.quick:
            print(f"QUICK configuration, too small to judge: {kept} of {len(decided)} as its pages say")
        else:
            print(f"{kept} of {len(decided)} claims came out as its pages say")
        print("\nYour run's values, by the names the text shows:")
        width = max((len(n) for n in results["values"]), default=0)
        for name, value in results["values"].items():
            plain = re.sub(r"\\(.)", r"\1", str(value["text"]))  # the text is escaped for Markdown
            print(f"  ⟨{name}⟩{' ' * (width - len(name))}  {plain}")
        print(f"\nSaved: {(self.out / 'results.json').relative_to(self.root).as_posix()}")

    def close(self) -> None:
        """Stop every service and process the notebook started (again: harmless)."""
        self.engine.close()
        processes.stop_all()


def _exit_on_term(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def execute(nb_path: Path, *, quick: bool, timeout: int, out: Path | None = None) -> Any:
    """Run a notebook top to bottom in a fresh kernel (this Python's ipykernel), as `make notebooks` and
    the tests do; an error in any cell raises ``nbclient.exceptions.CellExecutionError``.

    The kernel starts in ``out``'s folder (the notebook's own folder without it) with LABKIT_QUICK set
    to ``quick``; ``timeout`` is per cell. The notebook writes its programs and recordings there. The
    executed copy (with outputs) is written to ``out`` when given, never over the source.
    """
    import nbclient
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    # The kernel, and every program its cells start, carry the toolkit's mark: killed with it (labkit.reaper).
    reaper.guard()
    env = reaper.env({**os.environ, QUICK_ENV: "1" if quick else "0"})
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(out.parent if out is not None else nb_path.parent)}},
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    try:
        client.execute(env=env)  # passed on to the kernel manager's start_kernel
    finally:
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
    return nb
