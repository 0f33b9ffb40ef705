"""Running a command to its end and keeping its sanitised output."""

from __future__ import annotations

from labkit import privacy
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
    return {**entry, **read_command(entry, text, step_id=step.id)}
