"""Architecture: no import cycle among the toolkit's modules (labkit.imports reads the graph).

Every import counts, those inside functions too (a lazy import only hides a cycle); imports under
``if TYPE_CHECKING:`` do not (they never run). The registry (labkit.kinds) counts as importing each
built-in kind's package and the module that runs it, which it imports by name.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest
from labkit import imports

RUNNER = "labkit.runner"


def shown(found: list[list[str]]) -> str:
    return "\n".join(" ↔ ".join(component) for component in found)


def test_the_graph_counts_function_imports_and_the_registry_but_not_type_checking() -> None:
    text = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from labkit import runner\n"
        "def f():\n    from labkit import publish\n"
    )
    known = {"labkit", "labkit.runner", "labkit.publish"}
    assert imports.imports_of(text, module="labkit.x", known=known) == {"labkit", "labkit.publish"}
    edges = imports.graph()
    assert {"labkit.kinds.profile", "labkit.kinds.profile.run"} <= edges["labkit.kinds"]


def _parsed(tree: ast.AST) -> list[str]:
    """What Python's parser says a module imports (outside `if TYPE_CHECKING:`), names as written."""
    out: list[str] = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
            continue
        if isinstance(child, ast.Import):
            out += [a.name for a in child.names]
        elif isinstance(child, ast.ImportFrom) and child.module:
            out += [child.module, *(f"{child.module}.{a.name}" for a in child.names)]
        out += _parsed(child)
    return out


def test_the_text_reading_agrees_with_pythons_parser() -> None:
    found = imports.modules()
    edges = imports.graph()
    for module, path in found.items():
        names = _parsed(ast.parse(path.read_text(encoding="utf-8")))
        expected = imports.imports_of("\n".join(f"import {n}" for n in names), module=module, known=found)
        if module == imports.REGISTRY:
            expected |= {m for m in edges[module] if m.startswith(f"{module}.")}
        assert edges[module] == expected, module


def test_a_cycle_is_found() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert imports.cycles(edges) == [["a", "b", "c"]]


def test_no_import_cycle_but_the_run_modules_edge_to_the_runner() -> None:
    """Without the kinds' run modules' imports of the runner (K27B breaks those: the run modules get
    a context object), the toolkit has no import cycle."""
    edges = imports.graph()
    for module, targets in edges.items():
        if module.endswith(".run"):
            targets.discard(RUNNER)
    found = imports.cycles(edges)
    assert not found, "import cycles:\n" + shown(found)


_PENDING = any(m.endswith(".run") and RUNNER in t for m, t in imports.graph().items())


@pytest.mark.xfail(_PENDING, reason="kinds/*/run.py still import labkit.runner (K27B's part)", strict=True)
def test_no_import_cycle() -> None:
    found = imports.cycles(imports.graph())
    assert not found, "import cycles:\n" + shown(found)


def test_the_kinds_import_neither_the_manifest_nor_the_runner() -> None:
    """A kind's package (what `check` and the manifest use) reaches neither, directly or not."""
    found = imports.modules()
    for name in (m for m in found if m.startswith("labkit.kinds.") and not m.endswith(".run")):
        reached = set(imports.reachable([name]))
        assert not reached & {"labkit.manifest", RUNNER}, name


def test_the_manifest_imports_inside_no_function() -> None:
    tree = ast.parse(imports.modules()["labkit.manifest"].read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inner = [i.lineno for f in functions for i in ast.walk(f) if isinstance(i, (ast.Import, ast.ImportFrom))]
    assert inner == []


def test_every_module_is_at_most_400_lines() -> None:
    long = {m: n for m, p in imports.modules().items() if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_the_command_line_loads_without_numpy_or_matplotlib() -> None:
    """What every command pays before it starts (a no-change `make assets`, `make check`): numpy and
    matplotlib are imported where a number is computed or a picture drawn, not at start-up."""
    probe = "import sys, labkit.cli; print(sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(done.stdout))
    assert not loaded & {"numpy", "matplotlib"}, loaded & {"numpy", "matplotlib"}
