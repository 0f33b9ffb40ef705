"""Starting a service that later steps look at (it runs until a stop step or the lab's end)."""

from __future__ import annotations

from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> None:
    ctx.start_service(step)
