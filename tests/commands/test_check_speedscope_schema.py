"""The published speedscope files validate against speedscope's own schema (from its npm package).

py-spy writes null for optional keys, which that schema rejects; the toolkit
drops them. `.ci/run` installs the package into .labs/npm/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import ROOT

SCHEMA = (
    ROOT / ".labs" / "npm" / "node_modules" / "speedscope" / "dist" / "release" / "file-format-schema.json"
)


def _schema() -> dict[str, object]:
    if not SCHEMA.exists():
        reason = "speedscope's schema is missing: npm install --prefix .labs/npm speedscope@1"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    loaded: dict[str, object] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def published() -> list[Path]:
    return sorted((ROOT / "docs" / "labs").glob("*/data/*.speedscope.json"))


def test_there_are_published_recordings() -> None:
    assert published(), "no docs/labs/*/data/*.speedscope.json to validate"


@pytest.mark.parametrize("path", published(), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_published_recording_validates(path: Path) -> None:
    schema = _schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [e.message for e in validator.iter_errors(json.loads(path.read_text(encoding="utf-8")))]
    assert errors == []


def test_the_schema_rejects_py_spys_nulls() -> None:
    """The protection matters: the same data with py-spy's null keys put back fails."""
    schema = _schema()
    data = json.loads(published()[0].read_text(encoding="utf-8"))
    data["activeProfileIndex"] = None
    data["shared"]["frames"][0]["col"] = None
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert any("None is not of type" in e.message for e in validator.iter_errors(data))
