"""`make grade-N`: judge the learner's exercise with the claims' machinery, one check at a time.

Each check measures something about the learner's code (real programs, real py-spy), turns it into a
``claims.Measured`` and asks ``claims.verdict`` for the rule the manifest gives: a speedup on its
conservative end, an exponent or a share on its whole interval. A check passes only when it holds;
an undecided check does not pass.

The learner's code never runs in this process: it runs in children (labkit.sandbox) with a time
limit, capped output and a private working folder, and what they report is data judged here (by
the lab's own grader, labkit.graders). Nothing here writes under docs/; the repository's files and the
interpreter's start-up hooks (``guarded``) are kept before and compared after: a change made while
grading is undone and fails the grade.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from labkit import exercise, graders, processes, pyspy, sandbox
from labkit.errors import LabError
from labkit.grade_checks import QUESTIONS, Check, Say
from labkit.manifest import Lab
from labkit.records import JSONObject
from labkit.versions import GRADE_VERSION

__all__ = ["Check", "Grade", "failed", "grade", "write"]
# Without git, every file of the repository but these top-level folders (the learner's exercise, outputs,
# the toolkit's state, builds and environments: what .gitignore leaves out) and caches anywhere.
UNGUARDED = ("exercises", "out", ".labs", "site", "site-zensical", ".venv", ".nox", ".cache", ".git", "build")
CACHES = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis")  # .hypothesis: ours
# Files an interpreter runs at start-up from its site folders: one written there would run inside the
# grader (and every later toolkit command) the next time it starts.
STARTUP_HOOKS = ("*.pth", "sitecustomize.py", "usercustomize.py")


def guarded(root: Path) -> list[Path]:
    """What the learner's code must leave alone while it is graded: every file of the repository that
    git tracks or would track (git-ignored ones, such as exercises/, out/ and .labs/, aside; without
    git, every file outside UNGUARDED), and the start-up hooks of this interpreter's site folders."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=True, timeout=30,
        ).stdout.decode("utf-8", errors="surrogateescape")  # fmt: skip
        files = [root / name for name in listed.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        tops = [p for p in root.iterdir() if p.name not in UNGUARDED]
        files = [f for top in tops for f in ([top] if top.is_file() else top.rglob("*"))]
    folders = {*site.getsitepackages(), site.getusersitepackages()}
    files += [p for folder in sorted(folders) for hook in STARTUP_HOOKS for p in Path(folder).glob(hook)]
    return sorted(p for p in files if not set(CACHES) & set(p.parts) and p.is_file() and not p.is_symlink())


def _name(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every guarded file by its name (relative to the repository, or absolute) → its bytes."""
    return {_name(path, root): path.read_bytes() for path in guarded(root)}


def restore(root: Path, before: dict[str, bytes]) -> Check | None:
    """Put back what changed in the guarded files while grading, as a failing check (or None)."""
    after = snapshot(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if not changed:
        return None
    for name in changed:
        path = root / name  # an absolute name (a site folder's hook) stays absolute
        if name in before:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(before[name])
        else:
            path.unlink(missing_ok=True)
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return Check(
        id="untouched",
        question=QUESTIONS["untouched"],
        measured=f"changed while grading, now restored: {shown}",
        rule="no file of the repository (your exercise aside) and no start-up hook of Python changes",
        verdict="fails",
        hint="your code must not write into the lab's files; the grader put them back as they were.",
        value=changed,
    )


@dataclass(frozen=True)
class Grade:
    lab: str
    exercise: str  # the learner's folder, relative to the repository
    unchanged: bool
    quick: bool
    checks: list[Check]
    wall_s: float

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks) and not self.unchanged

    def record(self) -> JSONObject:
        """grade.json: versioned (labkit.versions), no absolute paths."""
        return {
            "format_version": GRADE_VERSION,
            "lab": self.lab,
            "exercise": self.exercise,
            "unchanged": self.unchanged,
            "quick": self.quick,
            "passed": self.passed,
            "wall_s": round(self.wall_s, 1),
            "checks": [{**asdict(c), "passed": c.passed} for c in self.checks],
        }


def grade(lab: Lab, *, root: Path, quick: bool, say: Say) -> Grade:
    """Every check of the lab's grader, with every process it starts stopped on the way out."""
    ex = exercise.of(lab)
    exercise.refuse_links(lab, root=root)
    work = root / ".labs" / "grade" / lab.id
    # A grader that dies (killed, a full disk) must leave no verdict of an earlier run behind.
    for old in verdicts(lab, root=root):
        sandbox.remove(old)
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LabError(f"{work}: cannot create it ({exc.strerror or exc})") from exc
    pyspy.check_platform()
    # Python trusts a cached .pyc whose source has the same size and time to the second: an edit made
    # within a second of the last run (or a test's) was graded as the old code. Compile from the source.
    shutil.rmtree(root / ex.folder(lab.id) / "__pycache__", ignore_errors=True)
    declared, run = graders.load(lab, root=root)  # the lab's own grader (labkit.graders)
    started = time.perf_counter()
    same = exercise.unchanged(lab, root=root)
    before = snapshot(root)
    try:
        private = sandbox.private_folder(root / ".labs" / "grade" / "tmp" / lab.id)
        with processes.supervised(), private as folder:
            checks = run(lab, root=root, work=work, folder=folder, quick=quick, say=say)
    finally:
        changed = restore(root, before)
    if [c.id for c in checks] != list(declared.checks):
        raise LabError(
            f"{ex.grader}: grade() returned the checks {', '.join(c.id for c in checks) or 'none'}; "
            f"its CHECKS declare {', '.join(declared.checks)}"
        )
    return Grade(
        lab=lab.id,
        exercise=ex.folder(lab.id).as_posix(),
        unchanged=same,
        quick=quick,
        checks=checks if changed is None else [*checks, changed],
        wall_s=time.perf_counter() - started,
    )


def verdicts(lab: Lab, *, root: Path) -> tuple[Path, Path]:
    """What a grade leaves in out/<id>/: grade.json and the learner's flame graph."""
    out = root / "out" / lab.id
    return out / "grade.json", out / "grade" / "your-service.svg"


def write(result: Grade, *, root: Path) -> Path:
    """out/<id>/grade.json (never under docs/)."""
    path = root / "out" / result.lab / "grade.json"
    sandbox.write_text(path, json.dumps(result.record(), indent=2, ensure_ascii=False) + "\n")
    return path


def failed(checks: Sequence[Check]) -> list[str]:
    return [c.id for c in checks if not c.passed]
