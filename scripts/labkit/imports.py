"""The toolkit's own import graph, read from its source text (no module is imported or parsed).

Two users: the cache key's measuring code (labkit.store: every module the measuring path imports)
and the architecture test (no import cycle). Every import counts, those inside a function too (a
lazy import still runs); those under ``if TYPE_CHECKING:`` do not (they never run). The registry,
``labkit.kinds``, counts as importing each built-in kind's package and its ``run`` module, which it
imports by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

Graph = dict[str, set[str]]

TOOLKIT = Path(__file__).parent  # scripts/labkit
REGISTRY = "labkit.kinds"
_FROM = re.compile(r"from\s+(labkit(?:\.\w+)*)\s+import\s+\(?([^)#]*)")
_IMPORT = re.compile(r"import\s+(labkit[\w., ]*)")
_GUARD = re.compile(r"if\s+(?:typing\.)?TYPE_CHECKING\s*:")


def modules(toolkit: Path = TOOLKIT) -> dict[str, Path]:
    """Every module of the toolkit by its dotted name (a package by its own name), byte-code never."""
    out: dict[str, Path] = {}
    for path in sorted(toolkit.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = ("labkit", *path.relative_to(toolkit).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def statements(text: str) -> Iterator[str]:
    """The import statements that run (a parenthesised list joined into one line), at any depth."""
    guard: int | None = None  # the indentation of an `if TYPE_CHECKING:` whose block is being skipped
    lines = iter(text.splitlines())
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if guard is not None and indent > guard:
            continue
        guard = indent if _GUARD.match(stripped) else None
        if not stripped.startswith(("from ", "import ")):
            continue
        while "(" in stripped and ")" not in stripped:
            stripped += " " + next(lines, ")").strip()
        yield stripped


def imports_of(text: str, *, module: str, known: Iterable[str]) -> set[str]:
    """The toolkit modules that a module's text imports (each the nearest module that exists)."""
    names = set(known)

    def nearest(name: str) -> str | None:
        while name and name not in names:
            name = name.rpartition(".")[0]
        return name or None

    found: set[str] = set()
    for statement in statements(text):
        wanted: list[str] = []
        if match := _FROM.match(statement):
            base = match.group(1)
            wanted = [base] + [f"{base}.{n.split()[0]}" for n in match.group(2).split(",") if n.strip()]
        elif match := _IMPORT.match(statement):
            wanted = [n.split()[0] for n in match.group(1).split(",") if n.strip()]
        found |= {m for m in map(nearest, wanted) if m and m != module}
    return found


def _edges(module: str, found: dict[str, Path]) -> set[str]:
    out = imports_of(found[module].read_text(encoding="utf-8"), module=module, known=found)
    if module == REGISTRY:  # the built-in kinds' packages and their runners, imported by name
        for name, path in found.items():
            if name.count(".") == 2 and name.startswith(f"{REGISTRY}.") and path.name == "__init__.py":
                out |= {n for n in (name, f"{name}.run") if n in found}
    return out


def graph(toolkit: Path = TOOLKIT) -> Graph:
    """Each module and the toolkit modules it imports."""
    found = modules(toolkit)
    return {module: _edges(module, found) for module in found}


def reachable(roots: Iterable[str], toolkit: Path = TOOLKIT) -> dict[str, Path]:
    """Every module that importing ``roots`` runs, the roots included (only those files are read)."""
    found = modules(toolkit)
    seen: dict[str, Path] = {}
    todo = [r for r in roots if r in found]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen[module] = found[module]
            todo.extend(_edges(module, found))
    return seen


def cycles(edges: Graph) -> list[list[str]]:
    """Every group of modules that import one another, directly or not (Tarjan's components of more
    than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found
