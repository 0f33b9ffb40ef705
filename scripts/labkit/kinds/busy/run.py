"""Busy shares of two profiles this run recorded: their sanitised files are already in the output folder."""

from __future__ import annotations

from typing import Any

from labkit.kinds.busy import PAIR
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> dict[str, Any]:
    """Each worker's busy share in the `before` and `after` recordings, and the chart."""
    earlier = ctx.earlier(PAIR.inputs)
    first, second = earlier[step.before], earlier[step.after]
    ctx.opts.say(f"{step.id}: busy shares of the workers, {step.before} against {step.after}")
    entry: dict[str, Any] = {
        "title": step.title,
        "before": step.before,
        "after": step.after,
        "threads_filter": step.threads,
        "computing": step.computing,
        # py-spy's sampling instants of each recording (the profile kind counts them from its looks)
        "instants": {"before": first["instants"], "after": second["instants"]},
        "files": PAIR.files(step, earlier),
    }
    return PAIR.write(entry, ctx.opts.out)
