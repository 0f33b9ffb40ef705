"""Lab manifests (labs/<id>.yml): load, validate with locations, and expose typed steps.

The typed form is in labkit.spec, the located YAML reading in labkit.located, and the checks a
schema cannot make (paths, bounds, what claims name) in labkit.manifest_checks.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

import jsonschema
import yaml

from labkit import graders, kinds
from labkit import manifest_checks as checks
from labkit.errors import LabError, ManifestError, as_kind, where
from labkit.located import Located, at_mark, locate, read

# re-exported: the toolkit and its tests import these from labkit.manifest
from labkit.manifest_checks import spy_options_problem as spy_options_problem
from labkit.manifest_checks import spy_options_warning as spy_options_warning
from labkit.records import JSONObject
from labkit.spec import Exercise as Exercise
from labkit.spec import Figure as Figure
from labkit.spec import Lab as Lab
from labkit.steptypes import COMMON_KEYS
from labkit.steptypes import Step as Step
from labkit.store import steps_fingerprint as steps_fingerprint
from labkit.versions import MANIFEST_VERSION

SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")
VERSION_KEY = "format_version"  # the top-level key that says which manifest format a file is written in
FORMATS_DOC = "docs/instructors.md#formats"  # where an instructor reads what changed between formats


@functools.cache
def _file_schema() -> JSONObject:
    loaded: JSONObject = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def schema() -> JSONObject:
    """The manifest's JSON Schema (draft 2020-12, package data beside this module), assembled with the
    step kinds that are registered now: the file holds the keys every step has, each kind adds the keys
    its steps take (``Kind.options``), and a step takes no other key."""
    out = copy.deepcopy(_file_schema())
    step = out["$defs"]["step"]
    step["properties"]["kind"] = {
        "description": "one of the registered step kinds (labkit.kinds)",
        "enum": list(kinds.REGISTRY),
    }
    common = step.pop("properties")
    step["properties"] = {"kind": common["kind"]}  # the rest is checked by the step's kind, once
    step["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": kind.name}}, "required": ["kind"]},
            "then": {"properties": {**common, **kind.options.properties()}, "additionalProperties": False},
        }
        for kind in kinds.REGISTRY.values()
    ]
    return out


def step_keys(kind: str) -> list[str]:
    """Every key a step of this kind takes: the common ones, then its kind's options."""
    return [*COMMON_KEYS, *kinds.get(kind).options.properties()]


# Only the formats the manifest uses: a regular expression is compiled when the manifest is loaded,
# so a bad `threads:` or `ready:` is a located error before any program starts.
_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("regex", raises=re.error)
def _is_regex(instance: object) -> bool:
    if isinstance(instance, str):
        re.compile(instance)
    return True


def _validator() -> jsonschema.Draft202012Validator:
    """One validator for as long as the registered kinds (the schema's only variable part) stay the same."""
    return _validator_for(tuple((kind.name, kind.options) for kind in kinds.REGISTRY.values()))


@functools.lru_cache(maxsize=8)
def _validator_for(_kinds: tuple[tuple[str, type], ...]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema(), format_checker=_FORMATS)


def _missing_version(rel: Path) -> str:
    return (
        f"{where(rel, 1)}: no `{VERSION_KEY}:`, so it is read as manifest format 1 (written before the key "
        f"existed); add `{VERSION_KEY}: {MANIFEST_VERSION}` at the top to silence this warning"
    )


def _version_problem(found: int) -> str:
    """What to do with a manifest written in another format than this toolkit reads."""
    if found < MANIFEST_VERSION:
        return (
            f"manifest format {found} is older than the format this toolkit reads ({MANIFEST_VERSION}); "
            f"see the changes in {FORMATS_DOC}, update the manifest to them and set "
            f"`{VERSION_KEY}: {MANIFEST_VERSION}`"
        )
    return (
        f"manifest format {found} is newer than the format this toolkit reads ({MANIFEST_VERSION}); "
        "update the toolkit (git pull)"
    )


def _schema_message(error: jsonschema.ValidationError, found: object) -> str:
    """jsonschema's message, made to say what was expected where it does not by itself."""
    if list(error.path) == [VERSION_KEY]:  # not a whole number, e.g. "1" or 1.5
        return f"{found!r} is not a format number: this toolkit reads manifest format {MANIFEST_VERSION}"
    if error.validator == "format" and error.validator_value == "regex":
        return f"{error.instance!r} is not a valid regular expression ({error.cause})"
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("minimum", "maximum", "exclusiveMinimum") and described:
        return f"{error.message} ({described})"  # the description states the limits and why
    return error.message


def _foreign_keys(error: jsonschema.ValidationError) -> str | None:
    """A step's keys that its kind does not take, and the keys it does take; None for other errors."""
    path = list(error.path)
    instance = error.instance
    if error.validator != "additionalProperties" or len(path) != 2 or path[0] != "steps":
        return None
    if not isinstance(instance, dict) or instance.get("kind") not in kinds.REGISTRY:
        return None
    taken = step_keys(instance["kind"])
    foreign = ", ".join(repr(k) for k in instance if k not in taken)
    return f"a {instance['kind']} step does not take {foreign}; it takes {', '.join(taken)}"


def _schema_errors(doc: Located, node: yaml.Node, errors: list[jsonschema.ValidationError]) -> LabError:
    lines = []
    for error in errors:
        at_node = locate(node, list(error.path))
        if error.validator == "additionalProperties" and isinstance(at_node, yaml.MappingNode):
            # point at the unexpected key itself, not at the mapping that holds it
            allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            at_node = next((k for k, _ in at_node.value if k.value not in allowed), at_node)
        at = "/".join(str(p) for p in error.path) or "(top level)"
        message = _foreign_keys(error) or _schema_message(error, doc.data.get(VERSION_KEY))
        lines.append(f"{at_mark(doc.rel, at_node.start_mark)}: {at}: {message}")
    return LabError("invalid manifest:\n" + "\n".join(lines))


def load(path: Path, *, root: Path) -> Lab:
    """Read and validate one manifest; every problem (a ManifestError) names the file, the line and
    what was expected."""
    try:
        return _load(path, root=root)
    except LabError as exc:
        raise as_kind(exc, ManifestError) from exc


def _load(path: Path, *, root: Path) -> Lab:
    """Read and validate one manifest.

    Everything that can be known before a program runs is checked here: the schema (types, limits,
    regular expressions), paths, what each step kind needs, and what claims and figures name.
    """
    doc = read(path, root=root)
    rel, data = doc.rel, doc.data
    if doc.node is None or not isinstance(data, dict):
        expected = f"a mapping with {VERSION_KEY}, id, title, page, programs and steps"
        raise LabError(f"{where(rel, 1)}: expected {expected}")
    warnings = []
    if VERSION_KEY not in data:  # written before the key existed, as format 1: a warning, not a refusal
        if MANIFEST_VERSION != 1:
            raise LabError(f"{where(rel, 1)}: no `{VERSION_KEY}:`, so format 1: {_version_problem(1)}")
        warnings.append(_missing_version(rel))
        data = {VERSION_KEY: 1, **data}
    found = data.get(VERSION_KEY)
    if isinstance(found, int) and not isinstance(found, bool) and found != MANIFEST_VERSION:
        # another format: its keys cannot be judged by this format's schema, so say only this
        raise doc.error([VERSION_KEY], _version_problem(found))
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.path])
    if errors:
        raise _schema_errors(doc, doc.node, errors)
    if data["id"] != path.stem:
        raise doc.error(["id"], f"id {data['id']!r} must match the file name ({path.stem!r})", column=False)
    steps = [kinds.step_of(step) for step in data["steps"]]
    ids = [s.id for s in steps]
    for index, step in enumerate(steps):
        warning = spy_options_warning(step.py_spy_args)
        if warning:
            warnings.append(
                f"{doc.where(['steps', index, 'py_spy_args'], column=False)}: step {step.id!r}: {warning}"
            )
        problem = spy_options_problem(step.py_spy_args)
        if problem:
            raise doc.error(["steps", index, "py_spy_args"], f"step {step.id!r}: {problem}")
        if step.id in ids[:index]:  # point at the second use
            raise doc.error(
                ["steps", index, "id"], f"step id {step.id!r} is used twice; ids must be unique", column=False
            )
        problem = checks.step_problem(step, kinds={s.id: s.kind for s in steps[:index]})
        if problem:
            raise doc.error(["steps", index], f"step {step.id!r}: {problem}", column=False)
    checks.check_bounds(doc, steps=steps)
    claim_ids = [c["id"] for c in data.get("claims", [])]
    for index, claim in enumerate(data.get("claims", [])):
        if claim["id"] in claim_ids[:index]:
            raise doc.error(
                ["claims", index, "id"],
                f"claim id {claim['id']!r} is used twice; ids must be unique",
                column=False,
            )
    for kind in kinds.REGISTRY.values():
        if not kind.keyed and kind.section and sum(s.kind == kind.name for s in steps) > 1:
            raise LabError(f"{rel}: at most one {kind.name} step per lab")
    checks.check_paths(doc, root=root, lab_id=data["id"], commands=("command", "quick_command"))
    checks.check_claims(doc, steps=steps, root=root)
    checks.check_values(doc, steps=steps, root=root)
    page = str(data["page"])
    pages = [page, *sorted({str(c["page"]) for c in data.get("claims", []) if "page" in c} - {page})]
    figures = []
    for index, raw in enumerate(data.get("figures", [])):
        figure = Figure(**raw, line=doc.line(["figures", index]))
        problem = checks.figure_problem(figure, steps=steps, claims=data.get("claims", []), pages=pages)
        if problem:
            raise doc.error(["figures", index], f"figure {figure.text!r}: {problem}", column=False)
        figures.append(figure)
    exercise = _exercise(doc, root=root)
    return Lab(
        id=data["id"],
        title=data["title"],
        page=Path(data["page"]),
        programs=[Path(p) for p in data["programs"]],
        steps=steps,
        values=data.get("values", {}),
        claims=data.get("claims", []),
        seed=data.get("seed"),
        source=rel,
        raw=data,
        warnings=warnings,
        figures=figures,
        exercise=exercise,
    )


def _exercise(doc: Located, *, root: Path) -> Exercise | None:
    """The optional exercise, checked against what its grader judges (beyond the schema's types)."""
    raw: JSONObject | None = doc.data.get("exercise")
    if raw is None:
        return None
    exercise = Exercise(
        grader=raw["grader"],
        files=[Path(f) for f in raw["files"]],
        target=raw["target"],
        change=raw["change"],
        checks=raw["checks"],
        unchanged=raw.get("unchanged", ""),
    )
    for index, file in enumerate(exercise.files):
        if not (root / file).is_file():
            raise doc.error(
                ["exercise", "files", index], f"exercise file {str(file)!r} does not exist", column=False
            )
    names = [f.name for f in exercise.files]
    if len(set(names)) != len(names):
        raise doc.error(
            ["exercise"], f"two exercise files have the same name: {', '.join(names)}", column=False
        )
    if exercise.target.split(":")[0] not in names:
        raise doc.error(
            ["exercise"],
            f"the exercise's target {exercise.target!r} is not in one of its files ({', '.join(names)})",
            column=False,
        )
    problem = graders.problem(exercise, root=root)
    if problem:
        raise doc.error(["exercise", "checks"], f"exercise: {problem}", column=False)
    return exercise


def discover(root: Path) -> list[Path]:
    return sorted((root / "labs").glob("lab-*.yml"), key=lambda p: int(p.stem.split("-")[1]))


def keys_table() -> list[str]:
    """The instructors' reference's table of the keys each kind takes, as the kinds declare them
    (docs/reference.md holds it between ``KEYS_TABLE`` markers; a test keeps the two equal)."""
    common = ", ".join(f"`{k}`" for k in COMMON_KEYS)
    rows = [f"| kind | keys it takes besides {common} |", "|---|---|"]
    for kind in kinds.REGISTRY.values():
        taken = ", ".join(f"`{k}`" for k in kind.options.properties()) or "none"
        rows.append(f"| `{kind.name}` | {taken} |")
    return rows


KEYS_TABLE = ("<!-- keys of each kind: made by labkit.manifest.keys_table -->", "<!-- /keys of each kind -->")
