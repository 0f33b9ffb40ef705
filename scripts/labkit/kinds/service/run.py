"""Starting a service that later steps look at (it runs until a stop step or the lab's end)."""

from __future__ import annotations

from labkit.registry import Context
from labkit.runner import start_service
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> None:
    start_service(ctx, step)
