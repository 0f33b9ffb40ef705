"""The graders' checks and the settings each needs: data only, so that loading a manifest runs nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.manifest import Exercise


@dataclass(frozen=True)
class Grader:
    checks: tuple[str, ...]  # the check ids, in the order they run and are shown
    settings: dict[str, tuple[str, ...]]  # the settings each check needs in the manifest


GRADERS = {
    "finder": Grader(
        checks=("correct", "fast", "scales", "hot_path"),
        settings={
            "correct": ("reference",),
            "fast": ("than", "program"),
            "scales": ("than",),
            "hot_path": ("than", "program", "duration"),
        },
    ),
    "lock": Grader(
        checks=("no_lost_updates", "p95"),
        settings={"no_lost_updates": (), "p95": ("than", "program", "server", "ready")},
    ),
    "native": Grader(  # Lab 3's rules are in its own folder (labs/native_service/grading.py)
        checks=("correct", "fast", "native_gone"),
        settings={
            "correct": ("program", "rules"),
            "fast": ("than", "program"),
            "native_gone": ("than", "program", "duration"),
        },
    ),
}


def problem(ex: Exercise) -> str | None:
    """What a manifest's exercise lacks for its grader (the schema checks the types)."""
    grader = GRADERS[ex.grader]
    if set(ex.checks) != set(grader.checks):
        given = ", ".join(ex.checks) or "none"
        return f"the {ex.grader} grader has the checks {', '.join(grader.checks)}; the manifest gives {given}"
    for check, needed in grader.settings.items():
        missing = [key for key in needed if key not in ex.checks[check]]
        if missing:
            return f"check {check!r} needs {', '.join(missing)}"
    return None
