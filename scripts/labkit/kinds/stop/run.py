"""Stopping what earlier steps started."""

from __future__ import annotations

from labkit import services
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> None:
    for name in step.stop:
        services.stop(ctx.opts.running.pop(name))
