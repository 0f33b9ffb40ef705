"""Lab manifests (labs/<id>.yml): load, validate with locations, and expose typed steps."""

from __future__ import annotations

import copy
import functools
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from labkit.errors import LabError
from labkit.records import AdaptiveSpec, ClaimSpec, JSONObject
from labkit.versions import MANIFEST_VERSION

SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")
VERSION_KEY = "format_version"  # the top-level key that says which manifest format a file is written in
FORMATS_DOC = "docs/instructors.md#formats"  # where an instructor reads what changed between formats


@functools.cache
def _file_schema() -> JSONObject:
    loaded: JSONObject = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def schema() -> JSONObject:
    """The manifest's JSON Schema (draft 2020-12, package data beside this module), with the step
    kinds that are registered now: the file leaves `kind` open, the registry closes it."""
    from labkit import kinds  # the kinds import this module: ask them only once it is loaded

    out = copy.deepcopy(_file_schema())
    out["$defs"]["step"]["properties"]["kind"] = {
        "description": "one of the registered step kinds (labkit.kinds)",
        "enum": list(kinds.REGISTRY),
    }
    return out


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def _missing_version(rel: Path) -> str:
    return (
        f"{rel}:1: no `{VERSION_KEY}:`; this toolkit reads manifest format {MANIFEST_VERSION}: "
        f"add `{VERSION_KEY}: {MANIFEST_VERSION}` at the top"
    )


def _version_problem(found: int) -> str:
    """What to do with a manifest written in another format than this toolkit reads."""
    if found < MANIFEST_VERSION:
        return (
            f"manifest format {found} is older than the format this toolkit reads ({MANIFEST_VERSION}); "
            f"see the changes in {FORMATS_DOC}, update the manifest to them and set "
            f"`{VERSION_KEY}: {MANIFEST_VERSION}`"
        )
    return (
        f"manifest format {found} is newer than the format this toolkit reads ({MANIFEST_VERSION}); "
        "update the toolkit (git pull)"
    )


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

    grader: str  # one of labkit.grade.GRADERS
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
        """Whether one of the lab's Python programs defines this function (by name)."""
        pattern = re.compile(rf"^\s*(async\s+)?def\s+{re.escape(function)}\b", re.MULTILINE)
        return any(
            pattern.search(path.read_text(encoding="utf-8", errors="replace"))
            for folder in self.programs
            for path in (root / folder).rglob("*.py")
        )


# py-spy options that cannot work together (py-spy refuses them, or they contradict each other).
_CONFLICTS = [
    ({"--native", "-n"}, {"--nonblocking"}, "--native cannot be combined with --nonblocking"),
    ({"--function", "-F"}, {"--nolineno"}, "--function cannot be combined with --nolineno"),
]


def spy_options_problem(args: Sequence[str], *, platform: str = sys.platform) -> str | None:
    """Why these py-spy options cannot work here, or None."""
    given = set(args)
    for first, second, why in _CONFLICTS:
        if given & first and given & second:
            return why
    if platform == "darwin" and given & {"--native", "-n"}:
        return "--native is not supported on macOS (py-spy supports it on Linux and Windows only)"
    return None


def spy_options_warning(args: Sequence[str]) -> str | None:
    given = set(args)
    if "--gil" in given and "--idle" in given:
        return "--gil with --idle: --gil keeps only the thread holding the GIL, so --idle adds little"
    return None


def _step_problem(step: Step, *, earlier: list[str], kinds: dict[str, str]) -> str | None:
    """What a step of this kind needs and cannot have, beyond the schema's types (asked of its kind)."""
    from labkit import kinds as registry  # the kinds import this module: ask them only once it is loaded

    kind = registry.get(step.kind)
    problem = kind.problem(step, kinds)
    if problem:
        return problem
    if step.target and not kind.accepts_target:
        accepting = [k.name for k in registry.REGISTRY.values() if k.accepts_target]
        return f"'target' applies to {', '.join(accepting)} steps only"
    return None


_FIGURE_NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")


def _step_numbers(step: Step) -> set[str]:
    """Every number in a step's command and settings, as digits: what an input may quote."""
    words = [*step.command, *(step.quick_command or []), str(step.rate), str(step.duration)]
    words += [str(step.window), str(step.rounds), *(str(v) for v in (step.adaptive or {}).values())]
    return {n.replace(",", "") for w in words for n in _FIGURE_NUMBER.findall(w)}


def _threshold_numbers(claim: ClaimSpec) -> set[float]:
    """The numbers a page may write for a claim's threshold: `than` (a share also in percent), `factor`."""
    given = (claim.get("than"), claim.get("factor"))
    found = {float(x) for x in given if isinstance(x, (int, float)) and not isinstance(x, bool)}
    return found | {round(100 * x, 9) for x in found if x < 1}


def _figure_problem(
    figure: Figure, *, steps: list[Step], claims: list[ClaimSpec], pages: list[str]
) -> str | None:
    """What a declared figure names that does not exist, or a number its step or claim does not hold."""
    numbers = [n.replace(",", "") for n in _FIGURE_NUMBER.findall(figure.text)]
    if figure.page and figure.page not in pages:
        return f"names page {figure.page!r}, which is not one of the lab's pages ({', '.join(pages)})"
    if figure.step:
        step = next((s for s in steps if s.id == figure.step), None)
        if step is None:
            return f"names step {figure.step!r}, which the lab does not have"
        missing = [n for n in numbers if n not in _step_numbers(step)]
        if missing:
            return f"step {step.id!r} has no {', '.join(missing)} in its command or settings"
    if figure.claim:
        claim = next((c for c in claims if c["id"] == figure.claim), None)
        if claim is None:
            return f"names claim {figure.claim!r}, which the lab does not have"
        if not any(float(n) in _threshold_numbers(claim) for n in numbers):
            return f"no number in it is the threshold of claim {claim['id']!r} (than: {claim.get('than')})"
    return None


def _locate(node: yaml.Node, path: Sequence[Any]) -> yaml.Node:
    """Follow a jsonschema error path through PyYAML's node tree to get a line and column."""
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
    return node


def load(path: Path, *, root: Path) -> Lab:
    """Read and validate one manifest; every problem names the file, the line and what was expected."""
    rel = path.relative_to(root) if path.is_absolute() else path
    try:
        text = (root / rel).read_text(encoding="utf-8")
        # libyaml when available: the same nodes and marks, several times faster than pure Python.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        node = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)
    except OSError as exc:
        raise LabError(f"{rel}: cannot read the manifest ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{rel}:{mark.line + 1}:{mark.column + 1}" if mark else str(rel)
        raise LabError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if node is None or not isinstance(data, dict):
        raise LabError(f"{rel}:1: expected a mapping with {VERSION_KEY}, id, title, page, programs and steps")
    found = data.get(VERSION_KEY)
    if isinstance(found, int) and not isinstance(found, bool) and found != MANIFEST_VERSION:
        # another format: its keys cannot be judged by this format's schema, so say only this
        mark = _locate(node, [VERSION_KEY]).start_mark
        raise LabError(f"{rel}:{mark.line + 1}:{mark.column + 1}: {_version_problem(found)}")
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.path))
    if errors:
        lines = []
        for error in errors:
            if (
                error.validator == "required"
                and not error.path
                and error.message.startswith(repr(VERSION_KEY))
            ):
                lines.append(_missing_version(rel))
                continue
            message = error.message
            if list(error.path) == [VERSION_KEY]:  # not a whole number, e.g. "1" or 1.5
                message = (
                    f"{found!r} is not a format number: this toolkit reads manifest format {MANIFEST_VERSION}"
                )
            at_node = _locate(node, list(error.path))
            if error.validator == "additionalProperties" and isinstance(at_node, yaml.MappingNode):
                # point at the unexpected key itself, not at the mapping that holds it
                allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
                at_node = next((k for k, _ in at_node.value if k.value not in allowed), at_node)
            mark = at_node.start_mark
            at = "/".join(str(p) for p in error.path) or "(top level)"
            lines.append(f"{rel}:{mark.line + 1}:{mark.column + 1}: {at}: {message}")
        raise LabError("invalid manifest:\n" + "\n".join(lines))
    steps = [Step(**step) for step in data["steps"]]
    ids = [s.id for s in steps]
    warnings = []
    for index, step in enumerate(steps):
        warning = spy_options_warning(step.py_spy_args)
        if warning:
            mark = _locate(node, ["steps", index, "py_spy_args"]).start_mark
            warnings.append(f"{rel}:{mark.line + 1}: step {step.id!r}: {warning}")
        problem = spy_options_problem(step.py_spy_args)
        if problem:
            mark = _locate(node, ["steps", index, "py_spy_args"]).start_mark
            raise LabError(f"{rel}:{mark.line + 1}:{mark.column + 1}: step {step.id!r}: {problem}")
        if step.id in ids[:index]:  # point at the second use
            mark = _locate(node, ["steps", index, "id"]).start_mark
            raise LabError(f"{rel}:{mark.line + 1}: step id {step.id!r} is used twice; ids must be unique")
        problem = _step_problem(step, earlier=ids[:index], kinds={s.id: s.kind for s in steps[:index]})
        if problem:
            mark = _locate(node, ["steps", index]).start_mark
            raise LabError(f"{rel}:{mark.line + 1}: step {step.id!r}: {problem}")
    claim_ids = [c["id"] for c in data.get("claims", [])]
    for index, claim in enumerate(data.get("claims", [])):
        if claim["id"] in claim_ids[:index]:
            mark = _locate(node, ["claims", index, "id"]).start_mark
            raise LabError(
                f"{rel}:{mark.line + 1}: claim id {claim['id']!r} is used twice; ids must be unique"
            )
        if "page" in claim and not (root / claim["page"]).is_file():
            mark = _locate(node, ["claims", index, "page"]).start_mark
            raise LabError(
                f"{rel}:{mark.line + 1}: claim {claim['id']!r} names page {claim['page']!r}, "
                "which does not exist"
            )
    from labkit import kinds as registry

    for kind in registry.REGISTRY.values():
        if not kind.keyed and kind.section and sum(s.kind == kind.name for s in steps) > 1:
            raise LabError(f"{rel}: at most one {kind.name} step per lab")
    for index, folder in enumerate(data["programs"]):
        if not (root / folder).is_dir():
            mark = _locate(node, ["programs", index]).start_mark
            raise LabError(f"{rel}:{mark.line + 1}: program folder {folder!r} does not exist")
    page = str(data["page"])
    pages = [page, *sorted({str(c["page"]) for c in data.get("claims", []) if "page" in c} - {page})]
    figures = []
    for index, raw in enumerate(data.get("figures", [])):
        mark = _locate(node, ["figures", index]).start_mark
        figure = Figure(**raw, line=mark.line + 1)
        problem = _figure_problem(figure, steps=steps, claims=data.get("claims", []), pages=pages)
        if problem:
            raise LabError(f"{rel}:{mark.line + 1}: figure {figure.text!r}: {problem}")
        figures.append(figure)
    exercise = _exercise(data.get("exercise"), node=node, rel=rel, root=root)
    if data["id"] != path.stem:
        mark = _locate(node, ["id"]).start_mark
        raise LabError(f"{rel}:{mark.line + 1}: id {data['id']!r} must match the file name ({path.stem!r})")
    return Lab(
        id=data["id"],
        title=data["title"],
        page=Path(data["page"]),
        programs=[Path(p) for p in data["programs"]],
        steps=steps,
        values=data.get("values", {}),
        claims=data.get("claims", []),
        seed=data.get("seed"),
        source=rel,
        raw=data,
        warnings=warnings,
        figures=figures,
        exercise=exercise,
    )


def _exercise(raw: JSONObject | None, *, node: yaml.Node, rel: Path, root: Path) -> Exercise | None:
    """The optional exercise, checked against what its grader judges (beyond the schema's types)."""
    if raw is None:
        return None
    from labkit import graders  # it names Exercise: ask it only once this module is loaded

    exercise = Exercise(
        grader=raw["grader"],
        files=[Path(f) for f in raw["files"]],
        target=raw["target"],
        change=raw["change"],
        checks=raw["checks"],
        unchanged=raw.get("unchanged", ""),
    )
    for index, file in enumerate(exercise.files):
        if not (root / file).is_file():
            mark = _locate(node, ["exercise", "files", index]).start_mark
            raise LabError(f"{rel}:{mark.line + 1}: exercise file {str(file)!r} does not exist")
    names = [f.name for f in exercise.files]
    mark = _locate(node, ["exercise"]).start_mark
    if len(set(names)) != len(names):
        raise LabError(f"{rel}:{mark.line + 1}: two exercise files have the same name: {', '.join(names)}")
    if exercise.target.split(":")[0] not in names:
        raise LabError(
            f"{rel}:{mark.line + 1}: the exercise's target {exercise.target!r} is not in one of its files "
            f"({', '.join(names)})"
        )
    problem = graders.problem(exercise)
    if problem:
        mark = _locate(node, ["exercise", "checks"]).start_mark
        raise LabError(f"{rel}:{mark.line + 1}: exercise: {problem}")
    return exercise


def discover(root: Path) -> list[Path]:
    return sorted((root / "labs").glob("lab-*.yml"), key=lambda p: int(p.stem.split("-")[1]))


def steps_fingerprint(lab: Lab) -> str:
    """The manifest's steps as canonical text: part of the cache key.

    A step's ``needs`` is left out: it is checked before a run and changes no measurement.
    """
    steps = [{k: v for k, v in step.items() if k != "needs"} for step in lab.raw["steps"]]
    return json.dumps([steps, lab.raw.get("seed")], sort_keys=True)
