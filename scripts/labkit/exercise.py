"""The learner's exercise: a copy of the code to fix under exercises/<id>/, made once, restored on request.

The copy is the learner's work: nothing overwrites it, except `make reset-N` after the learner said yes.
"""

from __future__ import annotations

import os
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


def put(original: Path, copy: Path) -> None:
    """Write ``copy`` as a regular file: a symbolic link there (or as its folder) is removed, never
    written through, so a link to the toolkit's own code cannot turn a reset into an overwrite of it."""
    if copy.parent.is_symlink():
        copy.parent.unlink()
    copy.parent.mkdir(parents=True, exist_ok=True)
    if copy.is_symlink():
        copy.unlink()
    data = original.read_bytes()
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def create(lab: Lab, *, root: Path) -> list[Path]:
    """Copy each missing exercise file; never touch one that exists. Returns the files made now."""
    made = []
    for original, copy in copies(lab, root=root):
        if copy.exists() or copy.is_symlink():
            continue
        put(original, copy)
        made.append(copy)
    return made


def restore(lab: Lab, *, root: Path) -> list[Path]:
    """Put the pristine files back (the caller asked the learner first)."""
    restored = []
    for original, copy in copies(lab, root=root):
        put(original, copy)
        restored.append(copy)
    return restored


def refuse_links(lab: Lab, *, root: Path) -> None:
    """The grader judges regular files in a real folder: a symbolic link is refused with what to do."""
    number = lab.number
    for _, copy in copies(lab, root=root):
        for path in (copy.parent, copy):
            if path.is_symlink() or (path is copy and copy.exists() and not copy.is_file()):
                raise LabError(
                    f"{path.relative_to(root)}: is a symbolic link or not a regular file; the grader judges "
                    f"your own file: `make reset-{number}` puts a regular copy back"
                )


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
    number = lab.number
    file, function = target(lab, root=root)
    where = file.relative_to(root)
    state = "created" if made else "already there, kept as you left it"
    return (
        f"Your exercise: {where} ({state}).\n"
        f"Change `{function}`: {' '.join(exercise.change.split())}\n"
        f"Then run `make grade-{number}`; `make reset-{number}` restores the original."
    )
