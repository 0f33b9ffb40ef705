"""Drawing the latencies of two load steps of this run: their raw JSON is already in the output folder."""

from __future__ import annotations

from typing import Any

from labkit.kinds.latency import PAIR
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> dict[str, Any]:
    """The picture of the `before` and `after` load runs' latencies, and its entry."""
    ctx.opts.say(f"{step.id}: drawing the latencies of {step.before} and {step.after}")
    entry: dict[str, Any] = {
        "title": step.title,
        "before": step.before,
        "after": step.after,
        "files": {"before": f"{step.before}.json", "after": f"{step.after}.json", "svg": f"{step.id}.svg"},
    }
    return PAIR.write(entry, ctx.opts.out)
