"""Comparing two profiles this run recorded: their sanitised files are already in the output folder."""

from __future__ import annotations

from typing import Any

from labkit.kinds.compare import PAIR
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> dict[str, Any]:
    """The differential flame graph of the `before` and `after` recordings, and its entry."""
    earlier = ctx.earlier(PAIR.inputs)
    first = earlier[step.before]
    ctx.opts.say(f"{step.id}: comparing the {step.before} and {step.after} recordings")
    entry: dict[str, Any] = {
        "title": step.title,
        "before": step.before,
        "after": step.after,
        "threads_filter": first["threads_filter"],
        "files": PAIR.files(step, earlier),
    }
    return PAIR.write(entry, ctx.opts.out)
