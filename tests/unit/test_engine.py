"""labkit.runner.Engine: the one run engine of `make assets`, `make lab-N`, `make soak` and the notebook."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from labkit import kinds, manifest, runner, session
from labkit.spec import Lab

ROOT = Path(__file__).resolve().parents[2]
TOOLKIT = ROOT / "scripts" / "labkit"

MANIFEST = """\
format_version: 1
id: lab-7
title: An engine lab
page: docs/labs/lab-7/index.md
programs: [labs/engine]
steps:
  - id: version
    kind: command
    command: [labs/engine/say.py]
    quick_command: ["{py-spy}", "--version"]
  - id: again
    kind: command
    command: [labs/engine/say.py]
"""


def _lab(root: Path) -> Lab:
    (root / "labs" / "engine").mkdir(parents=True)
    (root / "labs" / "engine" / "say.py").write_text("print('no py-spy here')\n")
    (root / "labs" / "lab-7.yml").write_text(MANIFEST)
    (root / "docs" / "labs" / "lab-7").mkdir(parents=True)
    (root / "docs" / "labs" / "lab-7" / "index.md").write_text("# Engine\n")
    return manifest.load(Path("labs/lab-7.yml"), root=root)


def _opts(root: Path, *, quick: bool) -> runner.Options:
    return runner.Options(
        root=root, work=root / "work", out=root / "out", quick=quick, method=None, say=print
    )


def test_a_quick_command_that_names_py_spy_gets_the_executable(tmp_path: Path) -> None:
    """`uses_spy` counts `quick_command`: a QUICK run runs it, so py-spy must be found for it."""
    lab = _lab(tmp_path)
    engine = runner.Engine(lab, opts=_opts(tmp_path, quick=True))
    engine.run()
    assert (tmp_path / "out" / "version.txt").read_text().startswith("py-spy ")
    assert kinds.uses_spy(lab.steps[0]) and not kinds.uses_spy(lab.steps[1])
    results = engine.results(inputs="x", generated_at="2026-01-01T00:00:00Z")
    assert results["environment"]["py_spy"] == engine.py_spy is not None
    assert [s["id"] for s in results["provenance"]["steps"]] == ["version", "again"]


def test_the_notebook_session_runs_steps_through_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell run again replaces its entry and its time; the results are the engine's."""
    lab = _lab(tmp_path)
    monkeypatch.setattr(session.atexit, "register", lambda _f: None)  # a kernel's hooks, not pytest's
    monkeypatch.setattr(session.signal, "signal", lambda *_a: None)
    notebook = session.Session(lab, root=tmp_path, quick=False, method=None)
    try:
        notebook.run("again")
        notebook.run("again")
        results = notebook._results()
    finally:
        notebook.close()
    assert [s["id"] for s in results["provenance"]["steps"]] == ["again"]
    entries = [(step, entry["file"]) for _kind, step, entry in kinds.entries(results)]
    assert entries == [("again", "again.txt")]
    assert results["provenance"]["steps"] == notebook.engine.timings


def _imports(path: Path) -> set[str]:
    """Every module a file imports, inside functions too, outside `if TYPE_CHECKING:` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for n in ast.walk(block)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_the_kinds_runners_import_nothing_back_from_the_runner_or_the_manifest() -> None:
    """A kind's runner gets argv, JSON runs, services and PIDs from its context, never from `runner`."""
    runs = sorted((TOOLKIT / "kinds").glob("*/run.py"))
    assert len(runs) == len(kinds.REGISTRY)  # every built-in kind has its runner module
    for path in runs:
        wrong = {m for m in _imports(path) if m.startswith(("labkit.runner", "labkit.manifest"))}
        assert not wrong, (path.relative_to(TOOLKIT).as_posix(), wrong)
    assert not {m for m in _imports(TOOLKIT / "stepcontext.py") if m.startswith("labkit.runner")}


def test_py_spy_is_named_only_where_it_is_found_substituted_or_checked() -> None:
    """One substitution of `{py-spy}` (``kinds.with_spy``): the runners and the notebook's cells use it."""
    holders = sorted(
        p.relative_to(TOOLKIT).as_posix()
        for p in TOOLKIT.rglob("*.py")
        if any(
            isinstance(n, ast.Constant) and isinstance(n.value, str) and "{py-spy}" in n.value
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    )
    # the registry substitutes it; the manifest's path check knows it is no file
    assert holders == ["manifest_checks.py", "registry.py"]
