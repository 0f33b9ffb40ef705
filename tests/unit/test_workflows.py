"""The workflows: third-party actions pinned by commit, and every step a command of the project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from labkit import commands, workflow

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s#]+)@(?P<ref>[^\s#]+)(?:\s+#\s*(?P<comment>.*))?$")
PINNED = re.compile(r"[0-9a-f]{40}")
VERSION = re.compile(r"v\d+(\.\d+){0,2}")
# What a run step may call: the project's commands, and the shell's plumbing around them.
ALLOWED = {"make", "$LABKIT", "echo", "sudo", "mkdir", "cat", "exit", "tee"}


def unpinned(name: str, text: str) -> list[str]:
    """Every `uses:` of an action outside this repository that is not a commit with its version."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        match = USES.match(line)
        if not match or match["action"].startswith(("./", "docker://")):
            continue
        where = f"{name}:{number}: {match['action']}@{match['ref']}"
        if not PINNED.fullmatch(match["ref"]):
            out.append(f"{where}: a movable reference, not a commit")
        elif not (match["comment"] and VERSION.fullmatch(match["comment"].strip())):
            out.append(f"{where}: the commit needs its version in a comment (# v1.2.3)")
    return out


def test_a_tag_reference_is_refused() -> None:
    text = "steps:\n  - uses: actions/checkout@v7\n  - uses: actions/setup-python@main # v7.0.0\n"
    assert unpinned("x.yml", text) == [
        "x.yml:2: actions/checkout@v7: a movable reference, not a commit",
        "x.yml:3: actions/setup-python@main: a movable reference, not a commit",
    ]


def test_a_commit_without_its_version_is_refused() -> None:
    text = "  - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1\n  - uses: ./local\n"
    assert unpinned("x.yml", text) == [
        "x.yml:1: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1: "
        "the commit needs its version in a comment (# v1.2.3)"
    ]


def test_every_action_is_pinned_by_commit() -> None:
    found = [p for f in WORKFLOWS for p in unpinned(f.name, f.read_text(encoding="utf-8"))]
    assert found == []


def _runs(path: Path) -> list[str]:
    jobs = yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"]
    return [step["run"] for job in jobs.values() for step in job["steps"] if "run" in step]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_call_only_project_commands(path: Path) -> None:
    subcommands = set(commands.parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for script in _runs(path):
        for line in script.splitlines():
            for part in re.split(r"\|\||&&|\||;|\$\(", line):
                words = part.strip().strip('"').split()
                if not words:
                    continue
                assert words[0] in ALLOWED, f"{path.name}: {line!r}: {words[0]} is not a project command"
                if words[0] == "$LABKIT":
                    assert words[1] in subcommands, f"{path.name}: {line!r}: no labkit {words[1]}"


def test_the_workflow_publishes_the_python_the_toolkit_names() -> None:
    assets = yaml.safe_load((ROOT / ".github/workflows/assets.yml").read_text(encoding="utf-8"))
    assert assets["env"]["PUBLISH_PYTHON"] == workflow.PUBLISH_PYTHON
    assert assets["jobs"]["regenerate"]["strategy"]["matrix"]["python"] == list(workflow.SUPPORTED)
    preflight = next(
        s["run"] for s in assets["jobs"]["regenerate"]["steps"] if "preflight" in s.get("run", "")
    )
    assert preflight.split("--pythons")[1].split() == list(workflow.SUPPORTED)


def test_the_local_matrix_runs_one_cell_per_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell keeps about two cores busy; more cells than that at once skewed a Lab 2 claim."""
    from labkit import workflow

    for cores, jobs in ((1, 1), (2, 1), (3, 1), (4, 2), (16, 8)):
        monkeypatch.setattr(workflow, "_cores", lambda n=cores: n)
        assert workflow.default_jobs() == jobs
