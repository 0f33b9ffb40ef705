"""labkit.resultfile: results.json against its JSON Schema; publish.py split by job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from labkit import resultfile
from labkit.errors import LabError


def test_committed_results_validate(results: dict[str, Any]) -> None:
    resultfile.validate(results, where="results.json")


def test_absolute_function_file_fails(results: dict[str, Any]) -> None:
    results["profiles"]["slow"]["functions"][0]["file"] = "/home/alice/labs/slow_service/finders.py"
    with pytest.raises(LabError) as caught:
        resultfile.validate(results, where="docs/labs/lab-1/data/results.json")
    text = str(caught.value)
    assert "docs/labs/lab-1/data/results.json: profiles/slow/functions/0/file:" in text


@pytest.mark.parametrize("key", ["inputs_sha256", "values", "benchmark", "schema_version"])
def test_missing_top_level_key_fails(results: dict[str, Any], key: str) -> None:
    del results[key]
    with pytest.raises(LabError, match=rf"results.json: \(top level\): '{key}' is a required property"):
        resultfile.validate(results, where="results.json")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("profiles", "slow", "functions", 0, "self_share"), 1.5, "profiles/slow/functions/0/self_share"),
        (("profiles", "slow", "method"), "ssh", "profiles/slow/method"),
        (("profiles", "slow", "files", "svg"), "../slow.svg", "profiles/slow/files/svg"),
        (("benchmark", "speedup", "median"), "fast", "benchmark/speedup/median"),
        (("values", "speedup_median", "format"), "percent", "values/speedup_median/format"),
        (("inputs_sha256",), "abc", "inputs_sha256"),
        (("schema_version",), "2", "schema_version"),
    ],
)
def test_wrong_field_is_named(results: dict[str, Any], path: tuple[Any, ...], value: Any, field: str) -> None:
    node: Any = results
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    with pytest.raises(LabError, match=rf"results.json: {field}:"):
        resultfile.validate(results, where="results.json")


def test_missing_function_key_and_extra_key(results: dict[str, Any]) -> None:
    del results["profiles"]["fixed"]["functions"][2]["line_frames"]
    results["provenance"]["hostname"] = "box"
    with pytest.raises(LabError) as caught:
        resultfile.validate(results, where="r.json")
    text = str(caught.value)
    assert "r.json: profiles/fixed/functions/2: 'line_frames' is a required property" in text
    assert "r.json: provenance: Additional properties are not allowed ('hostname' was unexpected)" in text


@pytest.mark.parametrize(
    ("version", "says"), [(1, "older format.*make assets"), (99, "newer format.*update")]
)
def test_other_format_version_says_what_to_run(results: dict[str, Any], version: int, says: str) -> None:
    results["schema_version"] = version
    with pytest.raises(LabError, match=rf"results.json: format version {version} is .*{says}"):
        resultfile.validate(results, where="results.json")


def test_check_reads_and_derives_results_without_the_orchestration() -> None:
    """`make check` imports results I/O (``resultfile``) and derivation (``derive``), never ``publish``."""
    probe = (
        "import sys, labkit.check; "
        "print(sorted(m for m in sys.modules "
        "if m in ('labkit.publish', 'labkit.resultfile', 'labkit.derive')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['labkit.derive', 'labkit.resultfile']"


def test_every_module_is_at_most_400_lines() -> None:
    toolkit = Path(resultfile.__file__).parent
    long = {
        p.relative_to(toolkit).as_posix(): n
        for p in toolkit.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}
