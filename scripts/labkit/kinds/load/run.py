"""Running a load generator: in the background (stopped later), or to its end with --json."""

from __future__ import annotations

import json

from labkit.records import Load
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> Load | None:
    """Run a load generator to its end and keep what it reports (its own JSON, per repeat)."""
    if step.background:
        ctx.start_service(step)
        return None
    opts = ctx.opts
    argv = ctx.argv(step)
    opts.say(f"{step.id}: load: {' '.join(ctx.shown(argv)[1:])}")
    result = ctx.run_json(step, argv, what="load")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return {
        "title": step.title,
        "raw": f"{step.id}.json",
        "command": ctx.shown(argv),
        "result": result,
    }
