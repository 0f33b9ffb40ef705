"""How claims and values read a profile: shares with their interval, 0 for a function never sampled.

The registry's hooks ``Kind.interval`` and ``Kind.unsampled``: `claims` and `values` know no section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from labkit import stats
from labkit.errors import LabError
from labkit.records import Scalar
from labkit.registry import Interval
from labkit.values import Missing, lookup

_SHARE = re.compile(
    # a function's share, or a named group's (a profile step's `groups:`), judged on its interval
    r"^(?P<section>[^.]+)\.(?P<step>[a-z0-9_]+)\.(?:functions|groups)\.(?P<name>[^.]+)\."
    r"(?P<kind>self|total)_(?P<what>share|per_instant)$"
)
# A function that was never sampled is absent from a profile: its counts are 0, not unknown.
_ZERO_WHEN_UNSAMPLED = re.compile(
    r"^[^.]+\.[a-z0-9_]+\.functions\.(?P<name>[^.]+)\."
    r"(?P<field>self_share|total_share|self_samples|total_samples|total_per_instant)$"
)


def unsampled(path: str) -> tuple[str, Scalar] | None:
    """(the function's name, its zero) for a count or share of a function, None for any other path."""
    found = _ZERO_WHEN_UNSAMPLED.match(path)
    if not found:
        return None
    return found["name"], 0.0 if found["field"].endswith(("_share", "_per_instant")) else 0


def interval(results: Mapping[str, Any], path: str, defined: Callable[[str], bool]) -> Interval | None:
    """A function's share with its interval, at the level of its profile; None for any other path."""
    share = _SHARE.match(path)
    if not share:
        return None  # effective_rate_hz and the like: the generic rule (its `_ci` and `ci_level` beside it)
    profile = (results.get(share["section"]) or {}).get(share["step"])
    if profile is None:
        raise LabError(f"claim path {path!r}: no profile step {share['step']!r}")
    level = float(profile["ci_level"])
    try:
        fn = lookup(results, path.rsplit(".", 1)[0])
    except Missing:
        if not defined(share["name"]):
            raise LabError(f"claim path {path!r}: no function {share['name']!r} sampled or defined") from None
        # Never sampled: the share is 0, with the interval that n samples allow.
        low, high = stats.wilson(0.0, profile["samples"], confidence=level)
        if share["what"] == "per_instant":  # the same interval on the per-instant scale
            scale = profile["share_samples"] / profile["instants"] if profile["instants"] else 0.0
            low, high = low * scale, high * scale
        return 0.0, low, high, level
    field = f"{share['kind']}_{share['what']}"
    low, high = fn[f"{share['kind']}_ci" if share["what"] == "share" else f"{field}_ci"]
    return fn[field], low, high, level
