"""A loaded manifest's typed form: the lab, its steps, figures and exercise (labkit.manifest loads it)."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

from labkit.records import AdaptiveSpec, ClaimSpec, JSONObject


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    command: list[str] = field(default_factory=list)
    title: str = ""
    target: str = ""
    background: bool = False
    stop: list[str] = field(default_factory=list)
    threads: str = ""
    quick_command: list[str] | None = None
    ready: str = ""
    method: str = "pid"
    rate: int = 100
    duration: int = 5
    quick_duration: int | None = None
    py_spy_args: list[str] = field(default_factory=list)
    adaptive: AdaptiveSpec | None = None
    window: int = 1
    rounds: int = 3
    extract: dict[str, str] = field(default_factory=dict)
    json: bool = False
    before: str = ""  # compare, latency: the earlier step that shows the program before the change
    after: str = ""  # compare, latency: the one after it
    needs: JSONObject = field(default_factory=dict)  # what the machine must have (labkit.preflight)

    def argv(self, *, quick: bool, seed: int | None) -> list[str]:
        chosen = self.quick_command if quick and self.quick_command else self.command
        return [arg.replace("{seed}", str(seed)) for arg in chosen]

    def seconds(self, *, quick: bool) -> int:
        return self.quick_duration if quick and self.quick_duration else self.duration

    @property
    def ci_level(self) -> float:
        """Adaptive sampling looks twice, so each look gets half the error (Bonferroni)."""
        return 0.975 if self.adaptive else 0.95


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
