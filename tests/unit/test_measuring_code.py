"""The cache key's measuring code is computed from what the measuring path imports: a change to any
of those modules changes `inputs_sha256`, a change to a module outside it does not."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from labkit import imports, manifest, store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def toolkit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("toolkit") / "labkit"
    shutil.copytree(imports.TOOLKIT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@functools.cache  # loaded once: the key is computed again for every module changed
def _lab() -> manifest.Lab:
    return manifest.load(Path("labs/lab-1.yml"), root=ROOT)


def key(toolkit: Path) -> str:
    return store.inputs_sha256(_lab(), root=ROOT, quick=False, toolkit=toolkit)


def test_the_measuring_code_is_what_the_measuring_path_imports() -> None:
    code = {p.as_posix() for p in store.measuring_code()}
    # the run loop and what it runs, the kinds and their runners, and what says how a step runs
    assert {"runner.py", "pyspy.py", "processes.py", "manifest.py", "spec.py", "steptypes.py"} <= code
    assert {"kinds/__init__.py", "kinds/profile/__init__.py", "kinds/profile/run.py", "registry.py"} <= code
    assert {"claims.py", "pythons.py", "reaper.py", "caplog.py", "stats.py", "stacks.py"} <= code
    assert not {"budget.py", "check.py", "cli.py", "soak.py", "scaffold.py", "commands.py"} & code


def test_each_measuring_module_changes_the_key_and_no_other_does(toolkit: Path) -> None:
    before = key(toolkit)
    code = store.measuring_code(toolkit)
    assert code == store.measuring_code()
    for rel in code:
        path = toolkit / rel
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        try:
            assert key(toolkit) != before, rel
        finally:
            path.write_bytes(original)
    for rel in ("budget.py", "check.py", "grade.py"):
        path = toolkit / rel
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        try:
            assert key(toolkit) == before, rel
        finally:
            path.write_bytes(original)


def test_a_lazy_import_brings_its_module_into_the_key(toolkit: Path) -> None:
    """An import inside a function runs too: what it imports is measuring code."""
    runner = toolkit / "runner.py"
    original = runner.read_text()
    assert "budget.py" not in {p.as_posix() for p in store.measuring_code(toolkit)}
    runner.write_text(original + "\n\ndef _lazy() -> None:\n    from labkit import budget  # noqa\n")
    try:
        assert "budget.py" in {p.as_posix() for p in store.measuring_code(toolkit)}
    finally:
        runner.write_text(original)


def test_an_import_only_for_type_checking_is_not_measuring_code() -> None:
    text = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from labkit import budget\nx = 1\n"
    assert imports.imports_of(text, module="labkit.x", known={"labkit", "labkit.budget"}) == set()
    text = "def f():\n    from labkit import (\n        budget,\n    )\n"
    assert imports.imports_of(text, module="labkit.x", known={"labkit", "labkit.budget"}) == {
        "labkit",
        "labkit.budget",
    }


def test_the_exercises_grader_is_not_part_of_the_key_but_the_programs_are(tmp_path: Path) -> None:
    """The grader lives beside the lab's programs (graders are lab data) yet measures nothing."""
    shutil.copytree(ROOT / "labs", tmp_path / "labs")
    shutil.copytree(
        ROOT / "docs/labs/lab-1", tmp_path / "docs/labs/lab-1", ignore=shutil.ignore_patterns("data")
    )
    lab = manifest.load(Path("labs/lab-1.yml"), root=tmp_path)
    assert lab.exercise is not None

    def key_here() -> str:
        return store.inputs_sha256(lab, root=tmp_path, quick=False)

    before = key_here()
    grader = tmp_path / lab.exercise.grader
    grader.write_text(grader.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert key_here() == before
    program = tmp_path / "labs/slow_service/service.py"
    program.write_text(program.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert key_here() != before
