"""Claims are code: a sentence on a page, bound to a check over the measured results.

A check is declarative (a path into results.json, a comparison, a threshold)
and is decided on the *interval*, not the point estimate: a share claim holds
only when its whole interval is on the right side of the threshold, a speedup
"at least" claim uses the conservative end. When the interval straddles the
threshold the verdict is ``undecided``, which never counts as holding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labkit import formats, stats
from labkit.errors import LabError
from labkit.pages import states
from labkit.records import Claim, ClaimHead, ClaimSpec, HasProfiles, Profile, Results
from labkit.values import Missing, lookup

SAID = {
    "holds": "it holds",
    "fails": "it does not hold",
    "undecided": "it is undecided",
    "cited": "it is cited",
}
SECOND_LOOK_MARGIN = 2.0  # samples planned for the second look, as a multiple of the bare extrapolation
OPS = (">=", ">", "<=", "<", "==", "!=", "within")
SYMBOL = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "=", "!=": "≠", "within": "within"}
_SHARE = re.compile(
    # a function's share, or a named group's (a profile step's `groups:`), judged on its interval
    r"^profiles\.(?P<step>[a-z0-9_]+)\.(?:functions|groups)\.(?P<name>[^.]+)"
    r"\.(?P<kind>self|total)_(?P<what>share|per_instant)$"
)


@dataclass(frozen=True)
class Measured:
    value: Any
    low: float | None = None
    high: float | None = None
    level: float | None = None  # the interval's confidence; None for min..max spreads and exact values


def measure(results: HasProfiles, path: str, *, defined: Callable[[str], bool]) -> Measured:
    """A value with its interval: a share's CI, a timing's min..max spread, or an exact number."""
    share = _SHARE.match(path)
    if share:
        profile = results["profiles"].get(share["step"])
        if profile is None:
            raise LabError(f"claim path {path!r}: no profile step {share['step']!r}")
        level = float(profile["ci_level"])
        try:
            fn = lookup(results, path.rsplit(".", 1)[0])
        except Missing:
            if not defined(share["name"]):
                raise LabError(
                    f"claim path {path!r}: no function {share['name']!r} sampled or defined"
                ) from None
            # Never sampled: the share is 0, with the interval that n samples allow.
            low, high = stats.wilson(0.0, profile["samples"], confidence=level)
            if share["what"] == "per_instant":  # the same interval on the per-instant scale
                scale = profile["share_samples"] / profile["instants"] if profile["instants"] else 0.0
                low, high = low * scale, high * scale
            return Measured(0.0, low, high, level)
        field = f"{share['kind']}_{share['what']}"
        low, high = fn[f"{share['kind']}_ci" if share["what"] == "share" else f"{field}_ci"]
        return Measured(fn[field], low, high, level)
    found = lookup(results, path)
    if found is None:  # a probe that could not answer (e.g. no such interpreter here): nothing is decided
        raise Missing(f"claim path {path!r}: the run could not measure this")
    if isinstance(found, dict) and {"min", "median", "max"} <= found.keys():
        return Measured(found["median"], found["min"], found["max"], None)
    # A value stored with its interval beside it (`x` and `x_ci`) is judged on the interval, at the
    # level of its profile or the `ci_level` beside it (a benchmark's fitted exponent).
    parent_path, _, last = path.rpartition(".")
    if parent_path:
        parent = lookup(results, parent_path)
        key = "effective_rate_ci" if last == "effective_rate_hz" else f"{last}_ci"
        interval = parent.get(key) if isinstance(parent, dict) else None
        if interval is not None:
            low, high = interval
            if path.startswith("profiles."):
                level = results["profiles"][path.split(".")[1]]["ci_level"]
            else:
                level = parent["ci_level"]
            return Measured(found, low, high, level)
    if isinstance(found, (dict, list)):
        raise LabError(f"claim path {path!r} names a {type(found).__name__}, not a value")
    return Measured(found)


def verdict(
    m: Measured, op: str, than: Any, *, tolerance: float | None = None, other: Measured | None = None
) -> str:
    """'holds', 'fails' or 'undecided', from the whole interval (or spread) of the measurement."""
    low = m.value if m.low is None else m.low
    high = m.value if m.high is None else m.high
    if other is not None and op in ("==", "!=") and m.low is None and other.low is None:
        return "holds" if (m.value == other.value) == (op == "==") else "fails"
    if other is not None:  # comparing two measurements: their intervals must not overlap
        olow = other.value if other.low is None else other.low
        ohigh = other.value if other.high is None else other.high
        return _order(low, high, olow, ohigh, op)
    if op in ("==", "!="):
        if m.low is not None and m.low != m.high:
            raise LabError(
                f"op {op!r} on a value with an interval cannot be decided; use >= or <= (or within)"
            )
        equal = m.value == than
        return "holds" if equal == (op == "==") else "fails"
    if op == "within":
        if tolerance is None:
            raise LabError("op 'within' needs a tolerance")
        lo, hi = than * (1 - tolerance), than * (1 + tolerance)
        if lo <= low and high <= hi:
            return "holds"
        return "fails" if high < lo or low > hi else "undecided"
    return _order(low, high, than, than, op)


def _order(low: float, high: float, olow: float, ohigh: float, op: str) -> str:
    if op in (">=", ">"):
        above = low >= ohigh if op == ">=" else low > ohigh
        below = high < olow if op == ">=" else high <= olow
    elif op in ("<=", "<"):
        above = high <= olow if op == "<=" else high < olow
        below = low > ohigh if op == "<=" else low >= ohigh
    else:
        raise LabError(f"op {op!r} cannot compare two measurements; use one of >=, >, <=, <")
    return "holds" if above else "fails" if below else "undecided"


def _format_for(path: str, spec: ClaimSpec) -> str:
    if "format" in spec:
        return str(spec["format"])
    if path.endswith("_share"):
        return "share"
    if ".speedup" in path or path.endswith("_ratio") or ".ratios." in path:
        return "speedup" if ".speedup" in path else "text"
    if path.endswith("_hz"):
        return "rate"
    return "count"


def _show(value: Any, kind: str) -> str:
    if kind == "text" and isinstance(value, float):
        return f"{value:.3f}"
    return formats.FORMATS[kind](value)


def shown(m: Measured, kind: str) -> str:
    """'97.8% (95% CI 96.9–98.5%)', '3,431× (min–max 2,655–4,752×)' or just the value."""
    text = _show(m.value, kind)
    if m.low is None or m.high is None:
        return text
    if m.level is not None and kind == "share":
        return f"{text} ({formats.interval(m.low, m.high, level=m.level)})"
    label = f"{round(100 * m.level, 1):g}% CI" if m.level is not None else "min–max"
    return f"{text} ({label} {_show(m.low, kind)}–{_show(m.high, kind)})"


def evaluate(
    results: Results,
    claims: list[ClaimSpec],
    *,
    default_page: str,
    defined: Callable[[str], bool],
) -> list[Claim]:
    """Every claim's verdict with the evidence shown next to it on the page."""
    out: list[Claim] = []
    for spec in claims:
        head: ClaimHead = {
            "id": spec["id"],
            "text": spec["text"],
            "page": spec.get("page", default_page),
            "evidence": spec["evidence"],
            "expect": spec["expect"],
            "reason": spec.get("reason", ""),
            "source": spec.get("source", ""),
            "link": spec.get("link", ""),
        }
        if spec["evidence"] == "cited":
            out.append(_unmeasured(head, verdict="cited", rule="", shown=""))
            continue
        try:
            path, op, than = spec["value"], spec["op"], spec["than"]
            try:
                m = measure(results, path, defined=defined)
            except Missing as absent:  # e.g. a step that could not run here: nothing is decided
                out.append(
                    _unmeasured(
                        head,
                        verdict="undecided",
                        rule=f"{SYMBOL[op]} {than}",
                        shown=f"not measured ({absent})",
                    )
                )
                continue
            other = measure(results, than, defined=defined) if isinstance(than, str) and "." in than else None
            scaled = other
            if other is not None and spec.get("factor"):
                f = float(spec["factor"])
                scaled = Measured(
                    other.value * f,
                    None if other.low is None else other.low * f,
                    None if other.high is None else other.high * f,
                    other.level,
                )
            kind = _format_for(path, spec)
            result = verdict(m, op, than, tolerance=spec.get("tolerance"), other=scaled)
        except (LabError, KeyError, TypeError) as exc:
            raise LabError(f"claim {spec['id']!r}: {exc}") from exc
        if other is not None:
            unit = f" {spec['unit']}" if spec.get("unit") else ""
            factor = f"{spec['factor']:g} × " if spec.get("factor") else ""
            rule = f"{SYMBOL[op]} {factor}{shown(other, kind)}{unit}"
        elif op == "within":
            rule = f"within {100 * spec['tolerance']:g}% of {_show(than, kind)}"
        else:
            rule = f"{SYMBOL[op]} {_show(than, kind)}"
        out.append(
            {
                **head,
                "verdict": result,
                "value": _json_number(m.value),
                "interval": None if m.low is None or m.high is None else [m.low, m.high],
                "level": m.level,
                "rule": rule,
                "shown": shown(m, kind) + (f" {spec['unit']}" if spec.get("unit") else ""),
            }
        )
    return out


def _unmeasured(head: ClaimHead, *, verdict: str, rule: str, shown: str) -> Claim:
    """A claim with no measurement to show: cited, or not measured here (no value, interval or level)."""
    return {
        "id": head["id"],
        "text": head["text"],
        "page": head["page"],
        "evidence": head["evidence"],
        "expect": head["expect"],
        "reason": head["reason"],
        "source": head["source"],
        "link": head["link"],
        "verdict": verdict,
        "rule": rule,
        "shown": shown,
    }


def _json_number(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def mismatches(claims: list[Claim]) -> list[Claim]:
    """Claims whose verdict is not what the page expects (cited claims are not decided by a run)."""
    return [c for c in claims if c["verdict"] != "cited" and c["verdict"] != c["expect"]]


def describe(c: Claim) -> str:
    return (
        f"{c['page']}: claim {c['id']!r} ({c['text']!r}) was expected to {c['expect'].rstrip('s')} "
        f"but {SAID[c['verdict']]}: measured {c['shown']}, rule {c['rule']}. Rewrite the sentence to say "
        "what was measured; never loosen the check silently."
    )


def plan_second_look(
    step_id: str,
    pilot: Profile,
    claims: list[ClaimSpec],
    *,
    defined: Callable[[str], bool],
    earlier: Mapping[str, Profile] | None = None,
) -> tuple[int, str]:
    """Seconds of a second look so that the pilot's undecided claims can be decided, and why.

    An interval's half-width shrinks as 1/sqrt(samples), so the pilot's own
    interval tells how many samples would put the threshold outside it.
    """
    prefix = f"profiles.{step_id}."
    results: HasProfiles = {"profiles": {**(earlier or {}), step_id: pilot}}
    # Claims on this profile, against a number, this profile, or a profile measured before it
    # (only this profile can still take more samples; the other one's interval is what it is).
    known = tuple(f"profiles.{name}." for name in results["profiles"])
    mine = [
        c
        for c in claims
        if c.get("evidence") != "cited"
        and str(c.get("value", "")).startswith(prefix)
        and (not isinstance(c["than"], str) or c["than"].startswith(known))
    ]
    n = pilot["samples"]
    rate = n / pilot["wall_s"] if pilot["wall_s"] > 0 else 1.0
    needed, waiting = 0.0, []
    for spec in mine:
        m = measure(results, spec["value"], defined=defined)
        other = measure(results, spec["than"], defined=defined) if isinstance(spec["than"], str) else None
        if verdict(m, spec["op"], spec["than"], tolerance=spec.get("tolerance"), other=other) != "undecided":
            continue
        waiting.append(spec["id"])
        if m.low is None or m.high is None:
            return (
                10**6,
                f"pilot of {n} samples left {spec['id']!r} undecided with no interval to extrapolate",
            )
        half = (m.high - m.low) / 2 + (
            0 if other is None or other.high is None or other.low is None else (other.high - other.low) / 2
        )
        # A number here: a text `than` names another measurement, and then `other` is that one.
        target: Any = other.value if other is not None else spec["than"]
        if spec["op"] == "within":
            bounds = (target * (1 - spec["tolerance"]), target * (1 + spec["tolerance"]))
            gap = min(abs(m.value - b) for b in bounds)
        else:
            gap = abs(m.value - target)
        # Twice the extrapolated count: the estimate moves between looks and the samples are
        # autocorrelated, so a bare 1/sqrt(n) extrapolation left a claim undecided in a 5-run soak.
        needed = max(needed, math.inf if gap == 0 else n * (half / gap) ** 2 * SECOND_LOOK_MARGIN)
    if not waiting:
        return (0, f"the pilot's {n:,} samples decided every claim on this profile")
    seconds = max(1, math.ceil((needed - n) / rate)) if math.isfinite(needed) else 10**6
    return (
        seconds,
        f"the pilot's {n:,} samples left {', '.join(waiting)} undecided; about "
        f"{needed:,.0f} samples in all should decide {'it' if len(waiting) == 1 else 'them'}",
    )


def unstated(claims: list[Claim], texts: dict[str, str]) -> list[str]:
    """Claims whose sentence is missing from the prose of their page: a claim binds a sentence."""
    return [
        f"{c['page']}: claim {c['id']!r} is not stated on the page: the sentence {c['text']!r} must appear "
        "in its prose (outside generated blocks)"
        for c in claims
        if not states(texts.get(c["page"], ""), c["text"])
    ]
