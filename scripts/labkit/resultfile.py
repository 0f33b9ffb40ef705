"""results.json: its schema, its checks, reading and writing it, and where a lab's published files live.

What coverage.py's data module is to its data file: `make check` reads results through here and
nothing here runs a lab.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import jsonschema
from jsonschema.exceptions import best_match

from labkit import SCHEMA_VERSION, kinds, pyspy, result_fields
from labkit.errors import LabError
from labkit.records import Environment, JSONObject, Results, load_results
from labkit.spec import Lab

# Where a QUICK run publishes: a mirror of what it would write (docs/..., paths as in the repository),
# never docs/ itself. `check --quick` checks it there.
QUICK_INTO = Path("out/quick")


def target(root: Path, *, quick: bool) -> Path:
    """The folder that stands for the repository when published files are written: docs/ lives under it."""
    return root / QUICK_INTO if quick else root


def published(lab: Lab) -> list[Path]:
    """Every file the swap replaces, besides data/: the lab's pages and its notebook (repository paths)."""
    return [*lab.pages, lab.page.parent / f"{lab.id}.ipynb"]  # the notebook: notebook.path_of


def schema() -> JSONObject:
    """The results' JSON Schema, assembled from results.schema.json and the kinds (labkit.result_fields)."""
    return result_fields.schema()


def validate(results: object, *, where: str) -> None:
    version = results.get("schema_version") if isinstance(results, dict) else None
    if isinstance(version, int) and version != SCHEMA_VERSION:
        age = "an older" if version < SCHEMA_VERSION else "a newer"
        fix = (
            "run `make assets` to measure it again in this format"
            if version < SCHEMA_VERSION
            else "update the toolkit (git pull)"
        )
        raise LabError(
            f"{where}: format version {version} is {age} format than this toolkit's ({SCHEMA_VERSION}); {fix}"
        )
    # best_match descends into oneOf/anyOf, so a message names the deepest field, not just "benchmark"
    found = (best_match([e]) for e in jsonschema.Draft202012Validator(schema()).iter_errors(results))
    errors = sorted(found, key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [
            f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
            for e in errors[:10]
        ]
        raise LabError("results do not match the schema:\n" + "\n".join(lines))


def environment(lab: Lab) -> Environment:
    """What, besides the inputs, can change a measurement; a change re-measures."""
    needs_spy = any(kinds.uses_spy(s) for s in lab.steps)
    return {"python": platform.python_version(), "py_spy": pyspy.version(pyspy.find()) if needs_spy else None}


def environment_here(lab: Lab) -> Environment:
    """The same, for reports only: a machine without py-spy can still check the pages."""
    try:
        return environment(lab)
    except LabError:
        return {"python": platform.python_version(), "py_spy": "not installed"}


def read_results(data_dir: Path) -> Results | None:
    """The stored results as they are: `validate` them before trusting a field."""
    path = data_dir / "results.json"
    if not path.exists():
        return None
    try:
        return load_results(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"{path}: unreadable ({exc})") from exc


def dump(results: Results) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"
