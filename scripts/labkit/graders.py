"""A lab's grader is lab data: a Python file beside the lab's programs, named by the manifest's exercise.

``exercise: grader: labs/<folder>/grader.py`` names it. The file declares, as literals,

- ``CHECKS``: a dict, check id → the settings that check needs in the manifest, in the order the
  checks run and are shown;
- ``QUESTIONS`` (optional): check id → what the check asks, in a few words, for the grade's table;

and defines ``grade(lab, *, root, work, folder, quick, say) -> list[Check]``, which measures with
the toolkit's machinery (labkit.sandbox, grade_checks, grade_correct, grade_finder) and returns one
check per id of CHECKS, in that order. Loading a manifest reads the literals from the file's syntax
tree and runs nothing; the file is imported only by ``make grade-N``.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labkit.errors import LabError, where
from labkit.manifest_checks import outside

if TYPE_CHECKING:
    from labkit.grade_checks import Check
    from labkit.manifest import Exercise, Lab

Run = Callable[..., "list[Check]"]


@dataclass(frozen=True)
class Grader:
    checks: tuple[str, ...]  # the check ids, in the order they run and are shown
    settings: dict[str, tuple[str, ...]]  # the settings each check needs in the manifest
    questions: dict[str, str]  # what each check asks (a check without one shows its id)


def path_of(ex: Exercise, *, root: Path) -> Path:
    """The grader's file, inside the repository (links resolved), or a one-line reason why not."""
    why = outside(root, ex.grader)
    if why:
        raise LabError(f"the grader {ex.grader!r} is {why}: name a file such as labs/<folder>/grader.py")
    path = (root / ex.grader).resolve()
    if path.suffix != ".py" or not path.is_file():
        raise LabError(f"the grader {ex.grader!r} is not a Python file of the repository")
    return path


def _literal(tree: ast.Module, name: str, file: str) -> Any:
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value is not None:
                try:
                    return ast.literal_eval(node.value)
                except ValueError:
                    raise LabError(f"{where(file, node.lineno)}: {name} must be a literal") from None
    return None


def declared(path: Path, *, shown: str) -> Grader:
    """CHECKS and QUESTIONS of a grader's file, read from its syntax tree (nothing runs)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=shown)
    except (OSError, SyntaxError, ValueError) as exc:
        raise LabError(f"{shown}: cannot be read as Python ({exc})") from exc
    checks = _literal(tree, "CHECKS", shown)
    questions = _literal(tree, "QUESTIONS", shown) or {}
    good = isinstance(checks, dict) and checks and isinstance(questions, dict)
    if good:
        good = all(
            isinstance(k, str) and isinstance(v, tuple) and all(isinstance(s, str) for s in v)
            for k, v in checks.items()
        )
    if not good:
        raise LabError(
            f"{shown}: CHECKS must be a literal dict, check id → a tuple of the settings it needs "
            "(and QUESTIONS, if given, a dict of check id → question)"
        )
    return Grader(checks=tuple(checks), settings=dict(checks), questions=dict(questions))


def problem(ex: Exercise, *, root: Path) -> str | None:
    """What a manifest's exercise lacks for its grader (the schema checks the types)."""
    try:
        grader = declared(path_of(ex, root=root), shown=ex.grader)
    except LabError as exc:
        return str(exc)
    if set(ex.checks) != set(grader.checks):
        given = ", ".join(ex.checks) or "none"
        return f"the grader {ex.grader} has the checks {', '.join(grader.checks)}; the manifest gives {given}"
    for check, needed in grader.settings.items():
        missing = [key for key in needed if key not in ex.checks[check]]
        if missing:
            return f"check {check!r} needs {', '.join(missing)}"
    return None


def load(lab: Lab, *, root: Path) -> tuple[Grader, Run]:
    """The lab's grader: what it declares, and its ``grade`` function (the file is imported here)."""
    ex = lab.exercise
    assert ex is not None
    path = path_of(ex, root=root)
    grader = declared(path, shown=ex.grader)
    spec = importlib.util.spec_from_file_location(f"labkit_grader_{lab.id.replace('-', '_')}", path)
    if spec is None or spec.loader is None:
        raise LabError(f"{ex.grader}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = getattr(module, "grade", None)
    if not callable(run):
        raise LabError(f"{ex.grader} defines no function grade(lab, *, root, work, folder, quick, say)")
    return grader, run
