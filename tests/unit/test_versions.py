"""Versioned formats: the manifest's `format_version`, one list of every format's changes, and its page.

labkit.versions lists each versioned file (manifest, results.json, the soak summary) with its version
and changes; the "Formats" section of docs/instructors.md must say the same. The manifest's schema is a
JSON file, like the results' one, and both committed labs validate against it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from labkit import SCHEMA_VERSION, manifest, result_fields, scaffold, soak, versions
from labkit.errors import LabError

ROOT = Path(__file__).resolve().parents[2]
LABS = [ROOT / "labs" / "lab-1.yml", ROOT / "labs" / "lab-2.yml"]
FIXTURE = ROOT / "tests" / "fixtures" / "hot_elsewhere" / "lab-9.yml"
INSTRUCTORS = ROOT / "docs" / "instructors.md"

BODY = """\
id: lab-3
title: A test lab
page: docs/labs/lab-3/index.md
programs: [labs/prog]
steps:
  - {id: run, kind: profile, command: [labs/prog/main.py], method: launch}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "labs" / "prog").mkdir(parents=True)
    (tmp_path / "labs" / "prog" / "main.py").write_text("def main():\n    pass\n", encoding="utf-8")
    (tmp_path / "docs" / "labs" / "lab-3").mkdir(parents=True)  # a manifest's page must exist
    (tmp_path / "docs" / "labs" / "lab-3" / "index.md").write_text("# Lab 3\n", encoding="utf-8")
    return tmp_path


def load(root: Path, text: str) -> manifest.Lab:
    path = root / "labs" / "lab-3.yml"
    path.write_text(text, encoding="utf-8")
    return manifest.load(Path("labs/lab-3.yml"), root=root)


def refusal(root: Path, text: str) -> str:
    with pytest.raises(LabError) as caught:
        load(root, text)
    return str(caught.value)


# --- the manifest's format_version --------------------------------------------------------------------


def test_the_current_version_loads(root: Path) -> None:
    lab = load(root, f"format_version: {versions.MANIFEST_VERSION}\n" + BODY)
    assert lab.raw["format_version"] == versions.MANIFEST_VERSION == 1


def test_a_manifest_without_a_version_is_read_as_format_1_with_a_warning(root: Path) -> None:
    """Every manifest written before the key existed was format 1: it keeps working (issue 27, 6)."""
    lab = load(root, "# a comment first\n" + BODY)
    assert lab.raw["format_version"] == 1 and [s.id for s in lab.steps] == ["run"]
    assert lab.warnings == [
        "labs/lab-3.yml:1: no `format_version:`, so it is read as manifest format 1 (written before the "
        "key existed); add `format_version: 1` at the top to silence this warning"
    ]
    assert load(root, "format_version: 1\n" + BODY).warnings == []


def test_a_manifest_without_a_version_is_still_judged_by_the_schema(root: Path) -> None:
    shown = refusal(root, BODY.replace("title: A test lab\n", ""))
    assert "(top level): 'title' is a required property" in shown


@pytest.mark.parametrize(
    ("found", "says"),
    [
        (
            0,
            "labs/lab-3.yml:2:17: manifest format 0 is older than the format this toolkit reads (1); "
            "see the changes in docs/instructors.md#formats, update the manifest to them and set "
            "`format_version: 1`",
        ),
        (
            2,
            "labs/lab-3.yml:2:17: manifest format 2 is newer than the format this toolkit reads (1); "
            "update the toolkit (git pull)",
        ),
    ],
)
def test_another_version_names_file_line_both_versions_and_the_fix(root: Path, found: int, says: str) -> None:
    # a key of a future format must not hide the version: the version is judged first, alone
    text = f"# lab 3\nformat_version: {found}\n" + BODY + "colour: red\n"
    assert refusal(root, text) == says


@pytest.mark.parametrize("found", ['"1"', "1.5", "true", "one"])
def test_a_version_that_is_not_a_whole_number(root: Path, found: str) -> None:
    shown = refusal(root, BODY + f"format_version: {found}\n")
    assert re.search(
        r"labs/lab-3\.yml:7:17: format_version: .* is not a format number: "
        r"this toolkit reads manifest format 1$",
        shown,
    ), shown


def test_the_version_is_not_part_of_the_cache_key(root: Path) -> None:
    lab = load(root, "format_version: 1\n" + BODY)
    other = dataclasses.replace(lab, raw={**lab.raw, "format_version": 2})
    assert manifest.steps_fingerprint(other) == manifest.steps_fingerprint(lab)


@pytest.mark.parametrize("path", [*LABS, FIXTURE], ids=lambda p: p.name)
def test_committed_manifests_are_of_the_current_format(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["format_version"] == versions.MANIFEST_VERSION
    assert next(iter(data)) == "format_version", "the version goes at the top"


def test_a_scaffolded_manifest_is_of_the_current_format() -> None:
    text = scaffold.MANIFEST.format(
        format_version=versions.MANIFEST_VERSION, id="lab-3", title_yaml='"T"', title_comment="T", pkg="lab_3"
    )
    assert yaml.safe_load(text)["format_version"] == versions.MANIFEST_VERSION


# --- the manifest's JSON Schema -----------------------------------------------------------------------


def test_the_schema_file_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(manifest.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["format_version"]["const"] == versions.MANIFEST_VERSION
    assert schema["required"][0] == "format_version"
    assert {"step", "needs", "adaptive", "claim", "figure", "value"} <= set(schema["$defs"])


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_the_schema_validates_the_committed_labs(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(manifest.schema()).validate(data)
    broken = {**data, "steps": [{**data["steps"][0], "colour": "red"}]}
    assert not jsonschema.Draft202012Validator(manifest.schema()).is_valid(broken)


def _properties(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every key the schema defines (not the conditions of an `if`), with its subschema."""
    found = []
    if isinstance(node, dict):
        for key, sub in node.get("properties", {}).items():
            found.append((f"{where}/{key}", sub))
        for key, sub in node.items():
            if key != "if":
                found += _properties(sub, f"{where}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            found += _properties(sub, f"{where}/{index}")
    return found


def test_every_key_of_the_schema_is_described() -> None:
    schema = manifest.schema()
    undescribed = [
        where for where, sub in _properties(schema) if "description" not in sub and "$ref" not in sub
    ]
    assert undescribed == []
    assert all("description" in definition for definition in schema["$defs"].values())


# --- one list of every format's changes, and the instructors' page -------------------------------------


def test_each_format_lists_a_change_for_every_version() -> None:
    for form in versions.FORMATS:
        assert sorted(form.changes, reverse=True) == list(form.changes), f"{form.name}: newest first"
        assert list(form.changes) == list(range(form.version, 0, -1)), form.name


def test_the_toolkit_uses_the_listed_versions() -> None:
    results_schema = json.loads(result_fields.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert results_schema["properties"]["schema_version"]["const"] == versions.RESULTS_VERSION
    assert SCHEMA_VERSION == versions.RESULTS_VERSION
    assert soak.FORMAT_VERSION == versions.SOAK_VERSION


def _formats_section() -> str:
    text = INSTRUCTORS.read_text(encoding="utf-8")
    found = re.search(r"^## Formats\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert found, "docs/instructors.md has no '## Formats' section"
    return found[1]


def _page_formats() -> list[versions.Format]:
    """Each '### Name' subsection: its path, key and version, and its '- N: change' items."""
    listed = []
    for block in re.split(r"^### ", _formats_section(), flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        head = re.search(r"`([^`]+)`, key `([^`]+)`, current version (\d+)\.", " ".join(body.split()))
        assert head, f"### {name}: no '`path`, key `key`, current version N.' sentence"
        items = re.findall(r"^- (\d+): (.*?)(?=^- |^\S|\Z)", body, re.MULTILINE | re.DOTALL)
        changes = {int(n): " ".join(change.split()) for n, change in items}
        listed.append(versions.Format(name.strip(), head[1], head[2], int(head[3]), changes))
    return listed


def test_the_instructors_page_lists_the_formats_of_the_module() -> None:
    assert _page_formats() == list(versions.FORMATS)


def test_the_page_comparison_would_see_a_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    bumped = dataclasses.replace(
        versions.FORMATS[0], version=2, changes={2: "new", **versions.MANIFEST_CHANGES}
    )
    monkeypatch.setattr(versions, "FORMATS", (bumped, *versions.FORMATS[1:]))
    assert _page_formats() != list(versions.FORMATS)


def test_the_messages_link_to_the_formats_section() -> None:
    assert manifest.FORMATS_DOC == "docs/instructors.md#formats"
    assert "## Formats\n" in INSTRUCTORS.read_text(encoding="utf-8")
