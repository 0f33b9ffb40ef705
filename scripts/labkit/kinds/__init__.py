"""The registry of step kinds: one home per kind, like mkdocs' plugins or nbconvert's preprocessors.

Each kind is a package ``labkit.kinds.<name>`` whose ``__init__`` declares a ``Kind``: where its
results go, how they are recomputed from the raw files (pure, no processes: what `make check`
runs), the page blocks it offers, the standard values it adds, and the module that runs it
(``labkit.kinds.<name>.run``, imported only when a lab is measured). The flow is one way:
manifest → run (``<name>.run``) → derive (``Kind.refresh``) → results → page (``Kind.blocks``).
"""

from __future__ import annotations

import importlib

# The contract lives in labkit.registry (what the kinds import); the toolkit and outside kinds may
# use it from here as ``kinds.Kind``, ``kinds.register``, …
from labkit.registry import (
    GENERIC_BLOCKS,
    REGISTRY,
    SPY,
    Attach,
    Block,
    E,
    Entry,
    Headline,
    Interval,
    Kind,
    blocks,
    command_needed,
    entries,
    get,
    headlines,
    of_path,
    register,
    results_schema,
    sections,
    step_of,
    target_or_command,
    uses_spy,
    with_spy,
)

__all__ = [
    "GENERIC_BLOCKS",
    "REGISTRY",
    "SPY",
    "Attach",
    "Block",
    "E",
    "Entry",
    "Headline",
    "Interval",
    "Kind",
    "blocks",
    "command_needed",
    "entries",
    "get",
    "headlines",
    "of_path",
    "register",
    "results_schema",
    "sections",
    "step_of",
    "target_or_command",
    "uses_spy",
    "with_spy",
]

# The built-in kinds, in the order their sections appear in results.json.
for _name in (
    "profile",
    "benchmark",
    "command",
    "overhead",
    "service",
    "load",
    "stop",
    "dump",
    "top",
    "compare",
    "latency",
    "busy",
):
    importlib.import_module(f"labkit.kinds.{_name}")
