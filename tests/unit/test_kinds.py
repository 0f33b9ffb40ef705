"""labkit.kinds: one home per step kind; the manifest, results schema, check and pages follow the registry."""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from labkit import check, kinds, manifest, publish, result_fields, stepcontext
from labkit.blocks import Context, table
from labkit.manifest import Step

ROOT = Path(__file__).resolve().parents[2]
TOOLKIT = ROOT / "scripts" / "labkit"
BUILTIN = [
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
]


def test_the_builtin_kinds_are_registered_in_the_order_of_results_json() -> None:
    assert [k for k in kinds.REGISTRY if k in BUILTIN] == BUILTIN
    sections = [k.section for k in kinds.sections() if k.name in BUILTIN]
    assert sections == [
        "profiles",
        "benchmark",
        "commands",
        "overhead",
        "loads",
        "dumps",
        "tops",
        "compares",
        "latencies",
        "busy_shares",
    ]


def test_results_schema_has_a_section_for_each_kind_and_no_other() -> None:
    """The file holds what every lab has; each section is its kind's, declared in its package."""
    in_file = json.loads((TOOLKIT / "results.schema.json").read_text())
    fixed = {"schema_version", "lab", "title", "generated_at", "inputs_sha256", "quick", "environment"}
    fixed |= {"provenance", "values", "claims"}
    assert set(in_file["properties"]) == fixed
    builtin_sections = {k.section for k in kinds.sections() if k.name in BUILTIN}
    assembled = result_fields.schema()["properties"]
    assert set(assembled) - fixed == builtin_sections
    for kind in kinds.sections():
        if kind.name in BUILTIN:
            assert kind.schema == json.loads(
                (TOOLKIT / "kinds" / kind.name / "results.schema.json").read_text()
            )


def test_the_manifest_accepts_exactly_the_registered_kinds() -> None:
    kind = manifest.schema()["$defs"]["step"]["properties"]["kind"]
    assert kind["enum"] == list(kinds.REGISTRY)


def test_the_instructors_page_lists_every_kind_and_every_block() -> None:
    page = (ROOT / "docs" / "instructors.md").read_text()
    for name in BUILTIN:
        assert f"`{name}`" in page, name
    for block in kinds.blocks():
        assert f"`{block} STEP`" in page or f"`{block}`" in page, block


@functools.cache  # each file parsed once, however many names are looked for in it
def _literals(path: Path) -> frozenset[str]:
    return frozenset(
        {
            n.value
            for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
    )


# Words that are also the names of fields or of py-spy's subcommands, where they mean that, not the kind.
HOMONYMS = {
    ("command", "manifest.py"),  # a step's `command:` field
    ("command", "steptypes.py"),
    ("command", "pages.py"),  # the claims table's "command output" evidence
    ("command", "kinds/profile/run.py"),  # results' `command` field of an entry
    ("command", "kinds/benchmark/run.py"),
    ("command", "kinds/load/run.py"),
    ("command", "kinds/overhead/run.py"),
    ("stop", "manifest.py"),  # a stop step's `stop:` field
    ("top", "kinds/dump/__init__.py"),  # a dumped thread's innermost frame
    ("dump", "live.py"),  # py-spy's own subcommands
    ("top", "live.py"),
}


def test_no_toolkit_module_dispatches_on_a_kind_name() -> None:
    """`step.kind == "profile"` and the like: what the registry replaced."""
    for path in TOOLKIT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                isinstance(side, ast.Attribute) and side.attr == "kind"
                for side in [node.left, *node.comparators]
            ):
                words = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)}
                assert not words & set(BUILTIN), f"{path.relative_to(TOOLKIT)}:{node.lineno}"


def test_a_kind_is_named_only_in_its_own_package_and_the_registry() -> None:
    for name in BUILTIN:
        found = {
            p.relative_to(TOOLKIT).as_posix()
            for p in TOOLKIT.rglob("*.py")
            if name in _literals(p) and not p.relative_to(TOOLKIT).as_posix().startswith(f"kinds/{name}/")
        }
        unexpected = {
            f for f in found if f not in ("kinds/__init__.py", "registry.py") and (name, f) not in HOMONYMS
        }
        assert not unexpected, (name, unexpected)


# Literals that spell a section's name but mean something else there.
SECTION_HOMONYMS = {
    ("benchmark", "kinds/__init__.py"),  # the registry's list of kind names
    ("overhead", "kinds/__init__.py"),
    ("profiles", "stacks.py"),  # a speedscope file's own list of profiles (one per thread)
    ("profiles", "nbcells.py"),  # the notebook's reader of a speedscope file
    ("profiles", "grade_finder.py"),  # the grader's reader of a speedscope file
}


def _names_section(path: Path, section: str) -> bool:
    """A string literal (or an f-string's text) that is the section's name or starts a path into it
    (a module's file name, `benchmark.py`, is no path into results)."""
    return any(
        v == section or (v.startswith(f"{section}.") and v != f"{section}.py") for v in _literals(path)
    )


def test_a_section_is_named_only_in_its_kinds_package() -> None:
    """`results["profiles"]`, `"overhead."`: claims, values, report, CLI, soak and preflight ask the kinds."""
    for kind in kinds.sections():
        if kind.name not in BUILTIN or not kind.section:
            continue
        found = {
            p.relative_to(TOOLKIT).as_posix()
            for p in TOOLKIT.rglob("*.py")
            if _names_section(p, kind.section)
            and not p.relative_to(TOOLKIT).as_posix().startswith(f"kinds/{kind.name}/")
        }
        unexpected = {f for f in found if (kind.section, f) not in SECTION_HOMONYMS}
        assert not unexpected, (kind.section, unexpected)


def test_check_imports_nothing_that_runs_a_lab() -> None:
    probe = (
        "import sys, labkit.check, labkit.cli; "
        "print([m for m in sys.modules if m in ('labkit.runner', 'labkit.services', 'labkit.processes', "
        "'labkit.live') or "
        "(m.startswith('labkit.kinds.') and m.endswith('.run'))])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- a new kind, defined here only, goes through validation, run, check and a page block ------------------


def _run(ctx: stepcontext.Context, step: Step) -> dict[str, Any]:
    """Count the lines a command prints (the toy kind's whole measurement)."""
    done = subprocess.run(step.command, capture_output=True, text=True, check=True, cwd=ctx.opts.root)
    ctx.opts.out.mkdir(parents=True, exist_ok=True)
    (ctx.opts.out / f"{step.id}.txt").write_text(done.stdout)
    return {"file": f"{step.id}.txt", "lines": len(done.stdout.splitlines())}


def _refresh(_step: str, entry: dict[str, Any], data_dir: Path) -> None:
    entry["lines"] = len((data_dir / entry["file"]).read_text().splitlines())


def _block(ctx: Context, arg: str | None) -> list[str]:
    entry = ctx.results["toys"][arg]
    return table(["Step", "Lines"], [[str(arg), str(entry["lines"])]])


run = _run  # this module is the toy kind's runner too

TOY = kinds.Kind(
    name="toy",
    section="toys",
    runner=__name__,
    refresh=_refresh,
    values=lambda step, entry: {f"{step}_lines": (entry["lines"], "count")},
    blocks={"toy-lines": _block},
    schema={"type": "object", "required": ["file", "lines"]},
)

MANIFEST = """\
format_version: 1
id: lab-5
title: A toy lab
page: docs/labs/lab-5/index.md
programs: [labs/toy]
steps:
  - id: echo
    kind: toy
    command: [python3, labs/toy/say.py]
"""

PAGE = """\
# Toy

It printed <!-- value: echo_lines -->…<!-- /value --> lines.

<!-- begin: toy-lines echo -->

<!-- end: toy-lines echo -->
"""


@pytest.fixture
def toy() -> Any:
    kinds.register(TOY)
    yield TOY
    kinds.REGISTRY.pop("toy")


def test_a_new_kind_runs_checks_and_renders_without_editing_the_toolkit(toy: Any, tmp_path: Path) -> None:
    (tmp_path / "labs" / "toy").mkdir(parents=True)
    (tmp_path / "labs" / "toy" / "say.py").write_text("print('one')\nprint('two')\nprint('three')\n")
    (tmp_path / "labs" / "lab-5.yml").write_text(MANIFEST)
    (tmp_path / "docs" / "labs" / "lab-5").mkdir(parents=True)
    (tmp_path / "docs" / "labs" / "lab-5" / "index.md").write_text(PAGE)
    lab = manifest.load(Path("labs/lab-5.yml"), root=tmp_path)
    outcome = publish.assets(lab, root=tmp_path, force=False, quick=False, method=None, say=lambda _: None)
    assert outcome.status == "measured"
    assert outcome.results["toys"] == {"echo": {"file": "echo.txt", "lines": 3}}
    page = (tmp_path / "docs" / "labs" / "lab-5" / "index.md").read_text()
    assert "It printed <!-- value: echo_lines -->3<!-- /value --> lines." in page
    assert "<tr><td>echo</td><td>3</td></tr>" in page
    problems, _ = check.check_lab(lab, root=tmp_path)
    assert problems == []
    # check recomputes the toy section from its raw file: an edited result is caught
    data = tmp_path / "docs" / "labs" / "lab-5" / "data"
    results = json.loads((data / "results.json").read_text())
    results["toys"]["echo"]["lines"] = 4
    (data / "results.json").write_text(json.dumps(results))
    problems, _ = check.check_lab(lab, root=tmp_path)
    assert any("toys.echo.lines is 4 but the raw data give 3" in p for p in problems), problems


def test_a_step_of_an_unregistered_kind_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "labs" / "toy").mkdir(parents=True)
    (tmp_path / "labs" / "lab-5.yml").write_text(MANIFEST)
    (tmp_path / "docs" / "labs" / "lab-5").mkdir(parents=True)
    (tmp_path / "docs" / "labs" / "lab-5" / "index.md").write_text(PAGE)
    with pytest.raises(Exception, match=r"labs/lab-5.yml:8:\d+: steps/0/kind: 'toy' is not one of"):
        manifest.load(Path("labs/lab-5.yml"), root=tmp_path)


def test_a_command_output_without_its_pattern_names_what_the_command_said() -> None:
    """A refused py-spy prints no stacks: the error must show its refusal, not only the missing pattern."""
    from labkit.errors import LabError
    from labkit.kinds.command import read_command

    entry: Any = {"extract": {"last_worker": r'"\(worker-3\)"'}, "json": False}
    with pytest.raises(LabError) as raised:
        read_command(
            entry, "Process 12: python\n\n1: Permission denied (os error 13)\n\n", step_id="tree_dump"
        )
    assert str(raised.value) == (
        "tree_dump: the output has nothing that matches last_worker: '\"\\\\(worker-3\\\\)\"'; "
        "its last line: 1: Permission denied (os error 13)"
    )
