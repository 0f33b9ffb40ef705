"""What a manifest's schema cannot say, checked when it is loaded, each problem located in the file.

Paths stay inside the repository (after links are resolved) and the files they name exist; a step
runs for a bounded time; the steps, functions and pages that claims and figures name exist.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from labkit import kinds as registry
from labkit import result_fields
from labkit.located import Located
from labkit.records import ClaimSpec, JSONObject
from labkit.spec import Figure, defined_functions
from labkit.steptypes import Step

# The longest a step may record or measure, in seconds: the schema's limits on `duration`, adaptive
# `max` and the overhead's windows (3 × window × rounds) add up to it (a test holds them together),
# so that a lab's run stays within minutes and a typo cannot attach py-spy for days.
MAX_SECONDS = 120

# py-spy options the toolkit sets itself (pyspy.record): a step may not give them again.
_TOOLKIT_SETS = {"--rate", "-r", "--duration", "-d", "--format", "-f", "--output", "-o", "--pid", "-p"}
# py-spy options that cannot work together (py-spy refuses them, or they contradict each other).
_CONFLICTS = [
    ({"--native", "-n"}, {"--nonblocking"}, "--native cannot be combined with --nonblocking"),
    ({"--function", "-F"}, {"--nolineno"}, "--function cannot be combined with --nolineno"),
]


def spy_options_problem(args: Sequence[str], *, platform: str = sys.platform) -> str | None:
    """Why these py-spy options cannot work here, or None."""
    given = set(args)
    mine = sorted({a.split("=", 1)[0] for a in args} & _TOOLKIT_SETS)
    if mine:
        return f"{', '.join(mine)}: the toolkit sets --rate, --duration, --format, --output and --pid itself"
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


def step_problem(step: Step, *, kinds: dict[str, str]) -> str | None:
    """What a step of this kind needs and cannot have, beyond the schema's types (asked of its kind)."""
    kind = registry.get(step.kind)
    problem = kind.problem(step, kinds)
    if problem:
        return problem
    if step.target and not kind.accepts_target:
        accepting = [k.name for k in registry.REGISTRY.values() if k.accepts_target]
        return f"'target' applies to {', '.join(accepting)} steps only"
    return None


def bounds_problem(step: Step) -> tuple[str, str] | None:
    """(the key, why) for limits between two fields, which a schema cannot state, or None."""
    if step.adaptive:
        pilot, most = step.adaptive["pilot"], step.adaptive["max"]
        if most < pilot:
            return "adaptive", (
                f"max ({most} s) must be at least pilot ({pilot} s): max bounds the whole recording, "
                "pilot included (max equal to pilot: no second look)"
            )
    return None


# ---- paths -------------------------------------------------------------------------------------


def outside(root: Path, value: str) -> str | None:
    """Why ``value`` is not a path inside the repository ``root`` (links resolved), or None."""
    if not value or PurePosixPath(value).is_absolute() or Path(value).is_absolute() or "\\" in value:
        return "an absolute path"
    if ".." in PurePosixPath(value).parts:
        return "a path that climbs out with '..'"
    top = root.resolve()
    resolved = (top / value).resolve()
    if resolved != top and top not in resolved.parents:
        return "a link to a place outside the repository"
    return None


def _under(value: str, folder: str) -> bool:
    parts = PurePosixPath(value).parts
    return parts[: len(PurePosixPath(folder).parts)] == PurePosixPath(folder).parts


def page_problem(root: Path, value: str, *, folder: str, name: str, missing: str) -> str | None:
    """Why a page path is refused: outside ``folder`` (docs/...), escaping, not Markdown, or missing."""
    why = outside(root, value)
    if why or not _under(value, folder) or not value.endswith(".md"):
        because = f" ({why})" if why else ""
        return f"{name} must be inside the repository ({folder}/...md), not {value}{because}"
    return None if (root / value).is_file() else missing


def program_folder_problem(root: Path, value: str) -> str | None:
    why = outside(root, value)
    if why:
        return f"program folder must be inside the repository (labs/...), not {value} ({why})"
    if (root / value).resolve() == root.resolve() or _under(value, "docs"):
        return (
            f"program folder {value!r} is the repository or under docs/; name the lab's own folder (labs/...)"
        )
    if not (root / value).is_dir():
        return f"program folder {value!r} does not exist"
    return None


def _names_a_path(root: Path, word: str) -> bool:
    """Whether a word names something that exists: absolute, or relative to the repository (the cwd)."""
    try:
        return os.path.lexists(word if os.path.isabs(word) else root / word)
    except (OSError, ValueError):  # a NUL, a name too long: no file has it
        return False


def _file_words(root: Path, argv: Sequence[Any]) -> Iterator[tuple[int, str]]:
    """The words of a command that name a file: any word ending in .py, a first word that is a path, and
    any word (or an option's value after '=') that names an existing path, whatever its suffix.

    A first word without '/' is an interpreter or tool found on PATH (sh, python): not a file here.
    """
    for index, word in enumerate(argv):
        text = str(word)
        if text.startswith("-") and "=" in text:
            text = text.partition("=")[2]  # --config=/tmp/x names /tmp/x
        if text == "{py-spy}":
            continue  # the py-spy executable, found by the toolkit
        filled = re.sub(r"\{[^}]*\}", "x", text)  # {seed} and the like, filled in at run time
        if index == 0 and "/" not in text:
            if text.endswith(".py"):
                yield index, text
            continue
        if text.endswith(".py") or (index == 0 and "/" in text) or _names_a_path(root, filled):
            yield index, text


def _inside(root: Path, path: str, folder: str) -> bool:
    """Whether ``path`` is in ``folder``, both with links resolved."""
    where, top = (root / path).resolve(), (root / folder).resolve()
    return where == top or top in where.parents


def command_problems(
    root: Path, argv: Sequence[Any], *, folders: Sequence[str] | None
) -> Iterator[tuple[int, str]]:
    """(index, why) for each file a command names outside the repository (links resolved).

    With ``folders`` (a step's command), the file must be inside one of the lab's program folders:
    their git-tracked files are the cache key, so a change to it re-measures the lab, and a step runs
    only what the lab holds (never a script elsewhere on the machine).
    """
    place = f"one of the lab's program folders: {', '.join(folders)}" if folders else "the repository"
    for index, word in _file_words(root, argv):
        path = re.sub(r"\{[^}]*\}", "x", word)
        why = outside(root, path)
        if why:
            yield index, f"must be inside the repository ({place}), not {word} ({why})"
        elif folders is not None and not any(_inside(root, path, f) for f in folders):
            yield (
                index,
                (
                    f"{word} is not in {place}; their files are the lab's cache key, so a change to it "
                    "would not re-measure the lab"
                ),
            )


# ---- claims ------------------------------------------------------------------------------------

_FUNCTION = re.compile(r"^profiles\.[a-z0-9_]+\.functions\.(?P<name>[^.]+)(\.|$)")


def claim_path_problem(
    path: str, *, steps: Sequence[Step], functions: frozenset[str], fields: JSONObject | None = None
) -> str | None:
    """Why a claim's path names a step, a section, a function or a field the lab does not have, or None.

    ``fields``: the results' schema (result_fields.schema()), which says the fields of every entry.
    """
    section, _, rest = path.partition(".")
    kind = next((k for k in registry.REGISTRY.values() if k.section == section), None)
    if kind is None:  # not a step's section (provenance, …): only its fields can be checked
        return result_fields.field_problem(path, fields if fields is not None else result_fields.schema())
    mine = [s.id for s in steps if s.kind == kind.name]
    if not mine:
        return f"{path!r} names {section!r}, but the lab has no {kind.name} step"
    step = rest.split(".")[0]
    if kind.keyed and step not in mine:
        return f"{path!r} names step {step!r}, which is not a {kind.name} step of the lab ({', '.join(mine)})"
    named = _FUNCTION.match(path)
    if named and named["name"].isidentifier() and named["name"] not in functions:
        return (
            f"{path!r} names function {named['name']!r}, which no program of the lab defines "
            "(a `def` in its program folders)"
        )
    return result_fields.field_problem(path, fields if fields is not None else result_fields.schema())


def claim_problems(
    claims: Sequence[ClaimSpec], *, steps: Sequence[Step], root: Path, programs: Sequence[str]
) -> Iterator[tuple[int, str, str]]:
    """(claim index, key, why) for each path of a claim (`value`, or `than` with a dot) that names nothing."""
    functions: frozenset[str] | None = None
    fields: JSONObject | None = None
    for index, claim in enumerate(claims):
        for key in ("value", "than"):
            path = claim.get(key)
            if not isinstance(path, str) or (key == "than" and "." not in path):
                continue
            if functions is None:  # parse the programs once, and only when a claim has a path
                functions = defined_functions(root, tuple(Path(p) for p in programs))
                fields = result_fields.schema()
            why = claim_path_problem(path, steps=steps, functions=functions, fields=fields)
            if why:
                yield index, key, why


# ---- figures -----------------------------------------------------------------------------------

_FIGURE_NUMBER = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")


def _step_numbers(step: Step) -> set[str]:
    """Every number in a step's command and settings, as digits: what an input may quote."""
    words = [*step.command, *(step.quick_command or []), *(str(v) for v in (step.adaptive or {}).values())]
    for option in dataclasses.fields(step.options):  # the kind's own numbers: rate, duration, window, …
        value = getattr(step.options, option.name)
        if isinstance(value, int) and not isinstance(value, bool):
            words.append(str(value))
    return {n.replace(",", "") for w in words for n in _FIGURE_NUMBER.findall(w)}


def _threshold_numbers(claim: ClaimSpec) -> set[float]:
    """The numbers a page may write for a claim's threshold: `than` (a share also in percent), `factor`."""
    given = (claim.get("than"), claim.get("factor"))
    found = {float(x) for x in given if isinstance(x, (int, float)) and not isinstance(x, bool)}
    return found | {round(100 * x, 9) for x in found if x < 1}


def figure_problem(
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


# ---- the whole manifest --------------------------------------------------------------------------


def check_paths(doc: Located, *, root: Path, lab_id: str, commands: Sequence[str]) -> None:
    """Every path the manifest names: inside the repository, links resolved, and existing.

    ``commands``: the keys of a step that hold a command (its files must be in the program folders).
    """
    data: JSONObject = doc.data
    page = str(data["page"])
    why = page_problem(
        root, page, folder=f"docs/labs/{lab_id}", name="page", missing=f"page {page!r} does not exist"
    )
    # The toolkit replaces the page's data/ as a whole (beside it: data.new/, data.old/): never a link out.
    parent = PurePosixPath(str(data["page"])).parent
    for name in ("data", "data.new", "data.old"):
        if not why and outside(root, str(parent / name)):
            why = f"{parent / name} is a link to a place outside the repository; the toolkit replaces it"
    if why:
        raise doc.error(["page"], why)
    for index, folder in enumerate(data["programs"]):
        why = program_folder_problem(root, str(folder))
        if why:
            raise doc.error(["programs", index], why)
    for index, claim in enumerate(data.get("claims", [])):
        if "page" in claim:
            name, page = f"claim {claim['id']!r}: page", str(claim["page"])
            missing = f"claim {claim['id']!r} names page {page!r}, which does not exist"
            why = page_problem(root, page, folder="docs", name=name, missing=missing)
            if why:
                raise doc.error(["claims", index, "page"], why)
    folders = [str(f).rstrip("/") for f in data["programs"]]
    for index, step in enumerate(data["steps"]):
        for key in commands:
            for at, why in command_problems(root, step.get(key) or [], folders=folders):
                raise doc.error(["steps", index, key, at], f"step {step['id']!r}: {key}: {why}")
    exercise = data.get("exercise")
    if not exercise:
        return
    for index, file in enumerate(exercise["files"]):
        why = outside(root, str(file))
        if why:
            raise doc.error(
                ["exercise", "files", index],
                f"exercise file must be inside the repository, not {file} ({why})",
            )
    for name, check in exercise["checks"].items():
        for key in ("program", "quick_program", "server"):
            for at, why in command_problems(root, check.get(key) or [], folders=None):
                raise doc.error(
                    ["exercise", "checks", name, key, at], f"exercise check {name!r}: {key}: {why}"
                )
        if "reference" in check:
            file = str(check["reference"]).partition(":")[0]
            for _, why in command_problems(root, [file], folders=None):
                raise doc.error(
                    ["exercise", "checks", name, "reference"], f"exercise check {name!r}: reference: {why}"
                )


def check_claims(doc: Located, *, steps: Sequence[Step], root: Path) -> None:
    """Each claim's paths name a step of the right kind and, for a function, one the programs define."""
    data: JSONObject = doc.data
    found = claim_problems(data.get("claims", []), steps=steps, root=root, programs=data["programs"])
    for index, key, why in found:
        raise doc.error(["claims", index, key], f"claim {data['claims'][index]['id']!r}: {why}")


def check_values(doc: Located, *, steps: Sequence[Step], root: Path) -> None:
    """Each value's path names a step of the right kind and, for a function, one the programs define."""
    data: JSONObject = doc.data
    specs = data.get("values", {})
    if not specs:
        return
    functions = defined_functions(root, tuple(Path(p) for p in data["programs"]))
    fields = result_fields.schema()
    for name, spec in specs.items():
        why = claim_path_problem(spec["path"], steps=steps, functions=functions, fields=fields)
        if why:
            raise doc.error(["values", name, "path"], f"value {name!r}: {why}")


def check_bounds(doc: Located, *, steps: Sequence[Step]) -> None:
    for index, step in enumerate(steps):
        found = bounds_problem(step)
        if found:
            key, why = found
            raise doc.error(["steps", index, key], f"step {step.id!r}: {key}: {why}")
