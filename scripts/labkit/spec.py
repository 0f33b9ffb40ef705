"""A loaded manifest's typed form: the lab, its figures and exercise (labkit.manifest loads it); its steps'
type is in labkit.steptypes, below the manifest and the kinds."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

from labkit.records import ClaimSpec, JSONObject
from labkit.steptypes import Step


@dataclass(frozen=True)
class Figure:
    """A number a page may type in its prose because it is not a measurement (see prose.py)."""

    text: str  # the phrase as the page has it, number included: "n = 5,000", "4003x"
    kind: str  # input (of the lab), cited (with its source) or threshold (of a claim)
    line: int  # where it is declared in the manifest
    why: str = ""
    step: str = ""  # input: the step whose command or settings hold the number (checked)
    source: str = ""  # cited: where the figure comes from
    claim: str = ""  # threshold: the claim whose threshold the number is (checked)
    page: str = ""  # only this page; by default any of the lab's pages


@dataclass(frozen=True)
class Exercise:
    """What the learner fixes (copied into exercises/<id>/) and how `make grade-N` judges it."""

    grader: str  # the lab's grader file, relative to the repository (labkit.graders)
    files: list[Path]  # repository-relative originals; each lands in exercises/<id>/ under its name
    target: str  # FILE.py:FUNCTION, FILE relative to exercises/<id>/
    change: str
    checks: dict[str, JSONObject]  # check id → its hint and settings
    unchanged: str = ""

    def folder(self, lab_id: str) -> Path:
        """Where the learner's copy lives, relative to the repository (git-ignored)."""
        return Path("exercises") / lab_id


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    page: Path  # repository-relative
    programs: list[Path]
    steps: list[Step]
    values: dict[str, dict[str, str]]
    claims: list[ClaimSpec]
    seed: int | None
    source: Path
    raw: JSONObject  # the manifest as YAML gives it
    warnings: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    exercise: Exercise | None = None

    @property
    def data_dir(self) -> Path:
        return self.page.parent / "data"

    @property
    def number(self) -> str:
        """What the lab's make targets are named by: "N" for lab-N (`make lab-N`, `make grade-N`)."""
        return self.id.split("-", 1)[-1]

    @property
    def pages(self) -> list[Path]:
        """The lab's page and every other page that one of its claims is written on."""
        extra = sorted({Path(c["page"]) for c in self.claims if "page" in c} - {self.page})
        return [self.page, *extra]

    def defines(self, function: str, *, root: Path) -> bool:
        """Whether one of the lab's Python programs defines this function (by name, at any depth)."""
        return function in defined_functions(root, tuple(self.programs))


def python_files(root: Path, folders: tuple[Path, ...]) -> list[Path]:
    """The Python files of program folders (repository-relative), never byte-code caches."""
    found = (p for folder in folders for p in (root / folder).rglob("*.py"))
    return sorted(p.relative_to(root) for p in found if "__pycache__" not in p.parts and p.is_file())


def defined_functions(root: Path, folders: tuple[Path, ...]) -> frozenset[str]:
    """Every function and method name the programs define (``def`` or ``async def``), read with ast.

    A file that does not parse defines nothing: running it would fail and say why.
    """
    names: set[str] = set()
    for rel in python_files(root, folders):
        names |= _functions_in(root / rel, (root / rel).stat().st_mtime_ns)
    return frozenset(names)


@functools.lru_cache(maxsize=256)
def _functions_in(path: Path, _mtime_ns: int) -> frozenset[str]:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return frozenset()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, kinds))
