"""The service kind: start a program, wait for its ready line, keep it running for later steps."""

from __future__ import annotations

from labkit import registry, steptypes
from labkit.steptypes import Step


def problem(step: Step, earlier: dict[str, str]) -> str | None:
    if not step.command:
        return "a service step needs 'command'"
    if not step.ready:
        return "a service step needs 'ready': a pattern its ready line matches (named groups become values)"
    return None


KIND = registry.register(
    registry.Kind(name="service", options=steptypes.Ready, section=None, loopback=True, problem=problem)
)
