"""The flat ``values`` map: every number a page shows, with its text made in formats.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labkit import formats
from labkit.errors import LabError
from labkit.records import Results, Scalar, Value


class Missing(LabError):
    """A path that names something the results do not hold."""


class NotMeasured(Missing):
    """A path into a step that did not run here (e.g. attaching was refused): shown as such."""


def lookup(results: Mapping[str, object], path: str) -> Any:
    """Follow a dotted path; in a list of named items (functions, threads), a part picks by name."""
    node: Any = results
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            named = [item for item in node if isinstance(item, dict) and item.get("name") == part]
            if len(named) != 1:
                found = "nothing" if not named else f"{len(named)} items"
                raise (Missing if not named else LabError)(f"value path {path!r}: {part!r} matched {found}")
            node = named[0]
        elif node is None:
            raise NotMeasured(f"value path {path!r}: nothing was measured at {part!r}")
        else:
            raise LabError(f"value path {path!r}: no {part!r} here")
    return node


def _manifest(results: Results) -> str:
    # TODO(manifest): name the value's line once the manifest keeps where each value is declared.
    return f"labs/{results['lab']}.yml"


def _no_step_for(results: Results, path: str) -> str:
    """Why a path's section can never be measured (no step of its kind in the lab), or "" if it can.

    A section is empty both when its step was skipped here ("not measured", shown as such) and when the
    lab has no such step at all: a misspelt or copied path, which must not publish "not measured".
    """
    ran = results["provenance"].get("steps")
    if ran is None:  # results from before the provenance listed the steps: cannot tell
        return ""
    return missing_section(path, [str(step.get("kind")) for step in ran])


def missing_section(path: str, step_kinds: Iterable[str]) -> str:
    """Why ``path`` names a section that no step of a lab with steps of ``step_kinds`` fills, or "".

    The same rule serves a manifest being loaded (its steps) and results being evaluated (the steps run).
    """
    from labkit import registry  # filled by whoever loaded the lab (labkit.kinds)

    section = path.split(".", 1)[0]
    owners = [k.name for k in registry.sections() if k.section == section]
    present = sorted(set(step_kinds))
    if not owners or any(kind in owners for kind in present):
        return ""
    kinds_here = ", ".join(present) or "none"
    return f"the lab has no {' or '.join(owners)} step (its steps are of the kinds {kinds_here})"


def _unsampled(path: str) -> tuple[str, Scalar] | None:
    """(name, 0) when the path's kind counts an absent item as 0 (a function never sampled), else None."""
    from labkit import registry

    kind = registry.of_path(path)
    return kind.unsampled(path) if kind is not None and kind.unsampled is not None else None


def _entry(value: Scalar, kind: str) -> Value:
    return {"value": value, "format": kind, "text": formats.render(value, kind)}


def standard(results: Results) -> dict[str, Value]:
    """Values every lab gets from its steps, named after the step."""
    out: dict[str, Value] = {}
    prov = results["provenance"]
    out["python_version"] = _entry(prov["python"], "text")
    out["py_spy_version"] = _entry(prov["py_spy"] or "not used", "text")
    out["os_name"] = _entry(prov["os"], "text")
    out["cpu_model"] = _entry(prov["cpu_model"], "text")
    out["cpu_count"] = _entry(prov["cpu_count"], "count")
    out["measured_date"] = _entry(results["generated_at"][:10], "text")
    from labkit import registry  # the step kinds (loaded with the lab) add their own standard values

    for kind, step, entry in registry.entries(results):
        if kind.values is not None:
            out.update({name: _entry(value, fmt) for name, (value, fmt) in kind.values(step, entry).items()})
    return out


def evaluate(
    results: Results, declared: dict[str, dict[str, str]], *, defined: Callable[[str], bool]
) -> dict[str, Value]:
    """Standard values plus the manifest's named ones.

    ``defined(name)`` tells whether the lab's programs define a function: an
    unsampled function that exists counts 0, a misspelt one is an error.
    """
    out = standard(results)
    for name, spec in sorted(declared.items()):
        if name in out:
            raise LabError(f"value {name!r} is declared in the manifest but is also a standard value")
        try:
            found = lookup(results, spec["path"])
        except NotMeasured as exc:
            absent = _no_step_for(results, spec["path"])
            if absent:
                raise LabError(f"{_manifest(results)}: value {name!r}: {exc}: {absent}") from exc
            # The step was skipped on this machine; its claims are undecided, so no such run is published.
            out[name] = {"value": None, "format": spec["format"], "text": "not measured"}
            continue
        except Missing as exc:
            zero = _unsampled(spec["path"])
            if zero is None:
                raise LabError(f"value {name!r}: {exc}") from exc
            if not defined(zero[0]):
                raise LabError(
                    f"value {name!r}: {exc}; no such function in the lab's programs either"
                ) from exc
            found = zero[1]
        try:
            out[name] = _entry(found, spec["format"])
        except ValueError as exc:
            raise LabError(f"value {name!r}: {exc}") from exc
    return dict(sorted(out.items()))
