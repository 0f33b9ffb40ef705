"""What the kinds that draw one picture from two earlier steps (``before:`` and ``after:``) share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import registry, store
from labkit.steptypes import Step


@dataclass(frozen=True)
class Pair:
    what: str  # the kind's name, for messages
    inputs: str  # the results section that the two earlier steps write to
    needs: str  # what those steps are, in words
    derive: Callable[[Any, Path], dict[str, Any]]  # the entry's derived fields, and the picture as "svg"

    def files(self, step: Step, earlier: Any) -> dict[str, str]:
        """The two earlier steps' published recordings and this step's picture (its ``files``)."""
        first, second = earlier[step.before], earlier[step.after]
        return {
            "before": first["files"]["speedscope"],
            "after": second["files"]["speedscope"],
            "svg": f"{step.id}.svg",
        }

    def write(self, entry: dict[str, Any], out: Path) -> dict[str, Any]:
        """Derive from the files in ``out``, write the picture there, return the whole entry."""
        derived = self.derive(entry, out)
        store.write_text(out / entry["files"]["svg"], derived.pop("svg"))
        return {**entry, **derived}

    def refresh(self, _step: str, entry: Any, data_dir: Path) -> None:
        derived = self.derive(entry, data_dir)
        derived.pop("svg")
        entry.update(derived)

    def artifacts(self, _step: str, entry: Any, data_dir: Path) -> dict[str, str]:
        return {entry["files"]["svg"]: self.derive(entry, data_dir)["svg"]}

    def problem(self, step: Step, earlier: dict[str, str]) -> str | None:
        for side in ("before", "after"):
            kind = registry.REGISTRY.get(earlier.get(getattr(step, side), ""))
            if kind is None or kind.section != self.inputs:
                return f"a {self.what} step needs '{side}': the id of an earlier {self.needs}"
        return None
