"""The learner's exercise: a copy of the code to fix under exercises/<id>/, made once, restored on request.

The copy is the learner's work: nothing overwrites it, except `make reset-N` after the learner said yes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from labkit.errors import LabError
from labkit.manifest import Exercise, Lab


def of(lab: Lab) -> Exercise:
    """The lab's exercise, or a clear error for a lab that declares none."""
    if lab.exercise is None:
        raise LabError(f"{lab.id} has no exercise (its manifest, {lab.source}, declares no `exercise:`)")
    return lab.exercise


def copies(lab: Lab, *, root: Path) -> list[tuple[Path, Path]]:
    """(original, learner's copy) for each exercise file, as absolute paths."""
    exercise = of(lab)
    folder = root / exercise.folder(lab.id)
    return [(root / original, folder / original.name) for original in exercise.files]


def create(lab: Lab, *, root: Path) -> list[Path]:
    """Copy each missing exercise file; never touch one that exists. Returns the files made now."""
    made = []
    for original, copy in copies(lab, root=root):
        if copy.exists():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, copy)
        made.append(copy)
    return made


def restore(lab: Lab, *, root: Path) -> list[Path]:
    """Put the pristine files back (the caller asked the learner first)."""
    restored = []
    for original, copy in copies(lab, root=root):
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(original, copy)
        restored.append(copy)
    return restored


def unchanged(lab: Lab, *, root: Path) -> bool:
    """Whether every file of the learner's copy is still byte for byte the original."""
    return all(copy.read_bytes() == original.read_bytes() for original, copy in copies(lab, root=root))


def target(lab: Lab, *, root: Path) -> tuple[Path, str]:
    """The learner's file (absolute) and the name of the function in it that the grader judges."""
    exercise = of(lab)
    file, _, function = exercise.target.partition(":")
    return root / exercise.folder(lab.id) / file, function


def instructions(lab: Lab, *, root: Path, made: list[Path]) -> str:
    """What `make lab-N` says about the exercise: where it is, what to change, how to grade it."""
    exercise = of(lab)
    number = lab.id.split("-", 1)[1]
    file, function = target(lab, root=root)
    where = file.relative_to(root)
    state = "created" if made else "already there, kept as you left it"
    return (
        f"Your exercise: {where} ({state}).\n"
        f"Change `{function}`: {' '.join(exercise.change.split())}\n"
        f"Then run `make grade-{number}`; `make reset-{number}` restores the original."
    )
