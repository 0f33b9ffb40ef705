"""Running a command to its end and keeping its sanitised output."""

from __future__ import annotations

from labkit import privacy, pyspy, registry
from labkit.errors import LabError
from labkit.kinds.command import read_command
from labkit.records import Command, CommandRun
from labkit.sanitize import sanitize_text
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> Command:
    """Capture a command's output as evidence (e.g. `py-spy record --help`), sanitised, into the data."""
    lab, opts = ctx.lab, ctx.opts
    argv = ctx.argv(step)
    log = opts.work / f"{step.id}.log"
    log.unlink(missing_ok=True)
    opts.say(f"{step.id}: capturing the output of `{' '.join(ctx.shown(argv))}`")
    code = ctx.run_to_end(step, argv, log=log, minutes=2, what="command")
    text = sanitize_text(log.read_text(encoding="utf-8", errors="replace"), root=opts.root)
    if opts.out.resolve().is_relative_to((opts.root / "docs").resolve()):  # to be published
        leaks = privacy.bare_names(text, shown=(lab.data_dir / f"{step.id}.txt").as_posix())
        if leaks:
            raise LabError(
                f"{leaks[0]}: the output of step {step.id!r} would publish it; print something else"
            )
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.txt").write_text(text, encoding="utf-8")
    entry: CommandRun = {
        "title": step.title,
        "command": ctx.shown(argv),
        "exit_code": code,
        "file": f"{step.id}.txt",
        "extract": step.extract,
        "json": step.json,
    }
    try:
        return {**entry, **read_command(entry, text, step_id=step.id)}
    except LabError as exc:
        raise _with_remedy(exc, ctx, step, argv=argv, code=code, text=text) from exc


def _with_remedy(
    exc: LabError, ctx: Context, step: Step, *, argv: list[str], code: int, text: str
) -> LabError:
    """A refused py-spy command: the remedies, as a refused profile step gives them, not only what it said.

    ``argv`` is what ran (under QUICK, the step's quick command), so its flags decide the advice.
    """
    by_pid = "--pid" in argv
    why = pyspy.refusal(text, tree_by_pid=by_pid and "--subprocesses" in argv)
    if code == 0 or not why or not registry.uses_spy(step):
        return exc
    # a command that attaches (`dump --pid`) reaches a running service only that way
    advice = pyspy.advice_here(lab=ctx.lab.id, launch=not by_pid)
    return LabError(f"{exc}\n{why}.\n{advice}")
