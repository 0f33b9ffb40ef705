"""Running a load generator: in the background (stopped later), or to its end with --json."""

from __future__ import annotations

import json

from labkit.records import Load
from labkit.registry import Context
from labkit.runner import argv_of, run_json, start_service
from labkit.sanitize import PathMap
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> Load | None:
    """Run a load generator to its end and keep what it reports (its own JSON, per repeat)."""
    if step.background:
        start_service(ctx, step)
        return None
    lab, opts = ctx.lab, ctx.opts
    argv = argv_of(lab, step, opts=opts)
    opts.say(f"{step.id}: load: {' '.join(PathMap.here(opts.root).command(argv)[1:])}")
    result = run_json(step, argv, opts=opts, what="load")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return {
        "title": step.title,
        "raw": f"{step.id}.json",
        "command": PathMap.here(opts.root).command(argv),
        "result": result,
    }
