"""The step-kind contract and its registry: ``Kind``, ``register``, ``REGISTRY`` and what is asked of them.

Below every kind's package: a kind imports this module, never ``labkit.kinds`` (which imports the
built-in kinds), so registering a kind makes no import cycle. See ``labkit.kinds`` for the flow.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, NamedTuple, TypeVar

from labkit.records import JSONObject, Scalar
from labkit.steptypes import Options, Program, Step

if TYPE_CHECKING:
    from labkit.blocks import Context as PageContext
    from labkit.stepcontext import Context

# An entry of some kind's section: a records.Profile, records.Benchmark, … (or an outside kind's own).
Entry = Mapping[str, object]
E = TypeVar("E", bound=Entry)  # the entry of one kind: Kind[records.Profile]
Block = Callable[["PageContext", str | None], list[str]]
Attach = Literal["none", "may-launch", "must", "skippable"]
# A claim's value with its interval: (value, low, high, confidence level); None: no rule of the kind's own.
Interval = tuple[Any, float | None, float | None, float | None]


class Headline(NamedTuple):
    """What a run of one step is summed up by (the report, `make lab-N`, the soak): a number and a picture."""

    number: int
    unit: str  # what is counted: "samples"
    picture: str | None = None  # the file in the data folder a learner opens first, if any


def target_or_command(step: Step, earlier: dict[str, str]) -> str | None:
    """For kinds that look at a program: its own `command`, or the `target` of a running service."""
    if bool(step.target) == bool(step.command):
        return f"a {step.kind} step needs either 'command' (a program to start) or 'target' (a service step)"
    if step.target and earlier.get(step.target) != "service":
        return f"'target: {step.target}' names no earlier service step"
    if step.command and step.method == "pid" and not step.ready:
        return (
            "it attaches by PID, so it needs 'ready': a text the program prints once it is inside its "
            "work loop"
        )
    return None


def command_needed(step: Step, earlier: dict[str, str]) -> str | None:
    return None if step.command else f"a {step.kind} step needs 'command'"


@dataclass(frozen=True)
class Kind(Generic[E]):
    name: str
    section: str | None  # the results.json key its entries go to; None: it publishes nothing
    keyed: bool = True  # the section maps step ids to entries (False: one entry, or null)
    uses_spy: bool = False  # needs the py-spy executable
    honours_method: bool = False  # METHOD=pid|launch applies to it
    loopback: bool = False  # serves or talks to 127.0.0.1
    accepts_target: bool = False  # may name a running service step (`target:`) instead of a command
    attach: Callable[[Step], Attach] = lambda _step: "none"  # how it reaches a process with py-spy
    # what a step of this kind needs beyond the schema's types (earlier: step id -> kind)
    problem: Callable[[Step, dict[str, str]], str | None] = command_needed
    refresh: Callable[[str, E, Path], None] | None = None  # recompute derived fields in place
    artifacts: Callable[[str, E, Path], dict[str, str]] | None = None  # file name -> expected text
    values: Callable[[str, E], dict[str, tuple[Scalar, str]]] | None = None  # name -> (value, format)
    blocks: dict[str, Block] = field(default_factory=dict)
    provenance: Callable[[str, E], list[list[str]]] | None = None  # rows of the provenance block
    summary: Callable[[str, E], Any] | None = None  # a rich renderable for the learner's terminal
    runner: str = ""  # the module with ``run(ctx, step)``; default ``labkit.kinds.<name>.run``
    # The JSON Schema of one entry of its section (a built-in kind's: results.schema.json in its package,
    # read by ``results_schema``); "#/$defs/…" names a shared part of labkit/results.schema.json.
    schema: JSONObject | None = None
    options: type[Options] = Program  # the keys its steps take besides id, kind, title and needs
    # How claims judge a path into its section: (results, path, defined) -> its interval, or None for
    # the generic rule (a `min/median/max` spread, an `x_ci` beside `x`, an exact value)
    interval: Callable[[Mapping[str, Any], str, Callable[[str], bool]], Interval | None] | None = None
    # A path into its section that counts 0 when its item is absent (a function never sampled):
    # path -> (the item's name, which the lab's programs must define; the zero), or None
    unsampled: Callable[[str], tuple[str, Scalar] | None] | None = None
    headline: Callable[[str, E], Headline] | None = None  # what a run of a step is summed up by

    def run(self, ctx: Context, step: Step) -> E | None:
        """Run one step of this kind (its runner module is imported only now, never by `check`)."""
        module = importlib.import_module(self.runner or f"labkit.kinds.{self.name}.run")
        result: E | None = module.run(ctx, step)
        return result

    def empty(self) -> Any:
        return {} if self.keyed else None


def results_schema(package: str) -> JSONObject:
    """The schema of one entry of a built-in kind's section: ``results.schema.json`` in its package."""
    path = Path(importlib.import_module(package).__file__ or "").with_name("results.schema.json")
    loaded: JSONObject = json.loads(path.read_text(encoding="utf-8"))
    return loaded


REGISTRY: dict[str, Kind[Any]] = {}
# The page blocks every lab has, besides the kinds' (labkit.blocks): no kind may take their names.
GENERIC_BLOCKS = frozenset({"provenance", "claims"})  # pages.GENERIC_BLOCKS (a test holds them equal)


def register(kind: Kind[Any]) -> Kind[Any]:
    """Add a kind (a test or a plugin may add its own). A name, a results section and a page block
    belong to one kind, and no block may take the name of one every page has."""
    if kind.name in REGISTRY and REGISTRY[kind.name] is not kind:
        raise ValueError(f"a step kind named {kind.name!r} is registered already")
    others = [k for k in REGISTRY.values() if k.name != kind.name]
    taken = next((k for k in others if kind.section and k.section == kind.section), None)
    if taken is not None:
        raise ValueError(f"step kind {kind.name!r}: section {kind.section!r} is taken by {taken.name!r}")
    for block in kind.blocks:
        if block in GENERIC_BLOCKS:
            raise ValueError(
                f"step kind {kind.name!r}: block {block!r} would shadow the generic block of that name"
            )
        owner = next((k for k in others if block in k.blocks), None)
        if owner is not None:
            raise ValueError(f"step kind {kind.name!r}: block {block!r} is taken by {owner.name!r}")
    REGISTRY[kind.name] = kind
    return kind


def step_of(raw: Mapping[str, Any]) -> Step:
    """A step from its manifest mapping, with the options record of its kind."""
    return Step.of(raw, get(str(raw["kind"])).options)


def _builtins() -> None:
    """Register the built-in kinds (``labkit.kinds``) if nobody has yet: a caller that asks the
    registry on its own (the privacy scan, a test) sees the same kinds as one that loaded a lab."""
    importlib.import_module("labkit.kinds")


def get(name: str) -> Kind[Any]:
    _builtins()
    return REGISTRY[name]


SPY = "{py-spy}"  # the word a command writes for the py-spy executable


def with_spy(argv: list[str], exe: str) -> list[str]:
    """The one substitution of `{py-spy}`: the executable found here, or the word a reader types."""
    return [exe if a == SPY else a for a in argv]


def uses_spy(step: Step) -> bool:
    """Whether a step runs py-spy: by its kind, or because either of its commands names `{py-spy}`.

    `quick_command` counts too: a QUICK run runs it, and the py-spy a lab needs (preflight, environment)
    must not depend on the configuration it runs in.
    """
    return get(step.kind).uses_spy or SPY in [*step.command, *(step.quick_command or [])]


def of_path(path: str) -> Kind[Any] | None:
    """The kind whose results section a dotted path starts with (``section.step...``), if any."""
    section = path.partition(".")[0]
    return next((k for k in sections() if k.section == section), None)


def headlines(results: Mapping[str, object]) -> Iterator[tuple[str, Headline]]:
    """(step id, headline) of every entry whose kind sums its run up, in the order of the sections."""
    for kind, step, entry in entries(results):
        if kind.headline is not None:
            yield step, kind.headline(step, entry)


def sections() -> list[Kind[Any]]:
    """The kinds that publish a results section, in registration order (the order of results.json)."""
    _builtins()
    return [k for k in REGISTRY.values() if k.section]


def entries(results: Mapping[str, object]) -> Iterator[tuple[Kind[Any], str, Any]]:
    """Every (kind, step id, entry) in a results dict, in the order of its sections.

    The entry is the kind's own record (``Kind[E]``'s ``E``): what its callables take.
    """
    for kind in sections():
        section: Any = results.get(kind.section or "")  # entries by step id, or one entry
        if not section:
            continue
        if kind.keyed:
            yield from ((kind, step, entry) for step, entry in section.items())
        else:
            yield kind, section.get("step", ""), section


def blocks() -> dict[str, Block]:
    return {name: block for kind in REGISTRY.values() for name, block in kind.blocks.items()}
