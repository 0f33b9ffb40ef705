"""The stop kind: stop services and background loads started by earlier steps."""

from __future__ import annotations

from labkit import kinds
from labkit.manifest import Step


def problem(step: Step, earlier: dict[str, str]) -> str | None:
    missing = [s for s in step.stop if s not in earlier]
    if not step.stop or missing:
        return f"'stop' must list earlier service or background load steps (unknown: {missing})"
    return None


KIND = kinds.register(kinds.Kind(name="stop", section=None, problem=problem))
