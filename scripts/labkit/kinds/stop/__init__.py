"""The stop kind: stop services and background loads started by earlier steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from labkit import registry, steptypes
from labkit.records import JSONObject
from labkit.steptypes import Step


def problem(step: Step, earlier: dict[str, str]) -> str | None:
    missing = [s for s in step.stop if s not in earlier]
    if not step.stop or missing:
        return f"'stop' must list earlier service or background load steps (unknown: {missing})"
    return None


@dataclass(frozen=True)
class Options(steptypes.Options):
    """A stop step's key: what it stops."""

    KEYS: ClassVar[JSONObject] = {
        "stop": {
            "description": "the ids of earlier service or background load steps to stop",
            "type": "array",
            "items": {"type": "string"},
        },
    }
    stop: list[str] = field(default_factory=list)


KIND = registry.register(registry.Kind(name="stop", options=Options, section=None, problem=problem))
