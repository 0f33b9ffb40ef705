"""The base types of a step, below both the manifest and the kinds (it imports neither).

A step is the fields every kind has (id, kind, title, needs) plus its kind's options: a typed record
that declares its own JSON Schema part, as an mkdocs plugin declares its config. A kind's package
chooses its record from the ones here (or its own subclass of ``Options``); the manifest's schema is
assembled from them, so a key that a step's kind does not take is refused when the manifest loads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from labkit.records import AdaptiveSpec, JSONObject

COMMON_KEYS = ("id", "kind", "title", "needs")  # every step has them (manifest.schema.json: $defs/step)
_ID = "^[a-z][a-z0-9_]*$"


@dataclass(frozen=True)
class Options:
    """A kind's step options; ``KEYS``: the JSON Schema of the keys this class adds (its bases add theirs)."""

    KEYS: ClassVar[JSONObject] = {}

    @classmethod
    def properties(cls) -> JSONObject:
        """The JSON Schema properties of every key this record takes, its bases' first."""
        out: JSONObject = {}
        for klass in reversed(cls.__mro__):
            out.update(vars(klass).get("KEYS", {}))
        return out


@dataclass(frozen=True)
class Program(Options):
    """A program the step starts."""

    KEYS: ClassVar[JSONObject] = {
        "command": {
            "description": "the program and its arguments; a first item ending in .py is a path relative to "
            "the repository, run with the toolkit's own Python; every .py file (and a first item with a /) "
            "must be inside one of the lab's program folders and exist; {seed} is replaced by the lab's seed",
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
        },
        "quick_command": {
            "description": "the command used instead in the QUICK configuration (its files inside the "
            "program folders too)",
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
        },
    }
    command: list[str] = field(default_factory=list)
    quick_command: list[str] | None = None


@dataclass(frozen=True)
class Ready(Program):
    """A program whose output says when it is inside its work loop."""

    KEYS: ClassVar[JSONObject] = {
        "ready": {
            "description": "a regular expression (compiled when the manifest is loaded) that the program's "
            "output matches once it is inside its work loop; required to attach by PID; a service's named "
            "groups become values",
            "type": "string",
            "format": "regex",
        },
    }
    ready: str = ""


@dataclass(frozen=True)
class Attached(Ready):
    """A program of its own, or a running service (``target:``) to look at instead."""

    KEYS: ClassVar[JSONObject] = {
        "target": {
            "description": "the id of an earlier service step to look at, instead of a command of its own",
            "type": "string",
            "pattern": _ID,
        },
    }
    target: str = ""


RATE: JSONObject = {
    "description": "samples per second requested from py-spy, 1 to 1000: py-spy takes any number, but with 0 "
    "it never finishes, and far above its default of 100 it falls behind and records for longer than asked "
    "(seen with py-spy 0.4.3: 100,000 Hz for 1 s ran over 8 s)",
    "type": "integer",
    "minimum": 1,
    "maximum": 1000,
}


@dataclass(frozen=True)
class Sampled(Attached):
    """py-spy looking at a program for a number of seconds."""

    KEYS: ClassVar[JSONObject] = {
        "rate": RATE,
        "duration": {
            "description": "seconds to record when the step is not adaptive, 1 to 120",
            "type": "integer",
            "minimum": 1,
            "maximum": 120,
        },
        "quick_duration": {
            "description": "seconds to record in the QUICK configuration, 1 to 120",
            "type": "integer",
            "minimum": 1,
            "maximum": 120,
        },
    }
    rate: int = 100
    duration: int = 5
    quick_duration: int | None = None


@dataclass(frozen=True)
class BeforeAfter(Options):
    """Two earlier steps: the program before a change and after it."""

    KEYS: ClassVar[JSONObject] = {
        "before": {
            "description": "the id of the earlier step before the change",
            "type": "string",
            "pattern": _ID,
        },
        "after": {
            "description": "the id of the earlier step after the change",
            "type": "string",
            "pattern": _ID,
        },
    }
    before: str = ""
    after: str = ""


def _defaults() -> dict[str, object]:
    """Every option of every record defined so far, with its default: what a step whose kind does not
    take that option reads (the generic code asks any step for ``stop`` or ``json``)."""
    out: dict[str, object] = {}
    todo: list[type[Options]] = [Options]
    while todo:
        klass = todo.pop()
        todo.extend(klass.__subclasses__())
        for f in dataclasses.fields(klass):
            if f.name not in out:
                if f.default_factory is not dataclasses.MISSING:
                    out[f.name] = f.default_factory()
                else:
                    out[f.name] = f.default
    return out


@dataclass(frozen=True)
class Step:
    """One step of a manifest: the common fields and the options of its kind."""

    id: str
    kind: str
    title: str = ""
    needs: JSONObject = field(default_factory=dict)  # what the machine must have (labkit.preflight)
    options: Options = field(default_factory=Options)

    @classmethod
    def of(cls, raw: Mapping[str, Any], options: type[Options]) -> Step:
        """A step from its manifest mapping (already checked against its kind's schema)."""
        common = {k: v for k, v in raw.items() if k in COMMON_KEYS}
        return cls(**common, options=options(**{k: v for k, v in raw.items() if k not in COMMON_KEYS}))

    def __getattr__(self, name: str) -> Any:
        """An option: the kind's value, or the default of an option this kind does not take."""
        if name.startswith("__") or name == "options":
            raise AttributeError(name)
        if hasattr(self.options, name):
            return getattr(self.options, name)
        defaults = _defaults()
        if name in defaults:
            value = defaults[name]
            return list(value) if isinstance(value, list) else value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def command(self) -> list[str]:
        return getattr(self.options, "command", [])

    @property
    def quick_command(self) -> list[str] | None:
        return getattr(self.options, "quick_command", None)

    @property
    def ready(self) -> str:
        return getattr(self.options, "ready", "")

    @property
    def target(self) -> str:
        return getattr(self.options, "target", "")

    @property
    def adaptive(self) -> AdaptiveSpec | None:
        return getattr(self.options, "adaptive", None)

    def argv(self, *, quick: bool, seed: int | None) -> list[str]:
        chosen = self.quick_command if quick and self.quick_command else self.command
        return [arg.replace("{seed}", str(seed)) for arg in chosen]

    def seconds(self, *, quick: bool) -> int:
        duration: int = getattr(self.options, "duration", 5)
        quick_duration: int | None = getattr(self.options, "quick_duration", None)
        return quick_duration if quick and quick_duration else duration

    @property
    def ci_level(self) -> float:
        """Adaptive sampling looks twice, so each look gets half the error (Bonferroni)."""
        return 0.975 if self.adaptive else 0.95
