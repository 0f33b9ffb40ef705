"""Helpers shared by the tests (imported as ``tests.helpers``); the fixtures live in the conftest.py files.

The integration helpers run the toolkit on a temporary copy of the repository:
every run gets ``--root COPY`` and ``PYTHONPATH=COPY/scripts``, so the copy's own
toolkit runs on the copy's own files.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[1]
ON_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip when the machine lacks something; on CI (CI=true) the same gap is a failure."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"CI=true, so this may not be skipped: {reason}")
    pytest.skip(reason)


LAB = "lab-1"
PAGE = Path("docs/labs/lab-1/index.md")
LAB_DIR = Path("docs/labs/lab-1")
DATA = LAB_DIR / "data"
FIX = f"make assets LAB={LAB}"
# Where `assets --quick` publishes (a mirror of docs/, never docs/ itself) and `check --quick` looks.
QUICK = Path("out/quick")
QUICK_DATA = QUICK / DATA
QUICK_FIX = f"make assets QUICK=1 LAB={LAB}"
# Never copied: the venvs (.nox holds four, about 1 GB), git, build outputs, toolkit state, caches, and a
# swap in progress in this tree: everything git ignores (a test below keeps the two lists together).
IGNORED = (
    ".venv",
    ".nox",
    "build",
    "site-zensical",
    ".cache",
    ".hypothesis",
    "*.egg-info",
    "*.pyc",
    ".git",
    "site",
    "out",
    ".labs",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "data.new",
    "data.old",
    "*.md.new",
    "exercises",
)
T = TypeVar("T")


def copy_repo(dest: Path, source: Path = ROOT) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True)
    return dest


def hash_tree(folder: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file under ``folder`` by relative path → SHA-256 (parts named in ``skip`` left out)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part in skip for part in rel.parts):
            out[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Live (non-zombie) processes whose command line contains ``text``, this one excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found.append((int(entry.name), cmdline.strip()))
    return found


def wait_for(
    predicate: Callable[[], T], *, timeout: float, what: str, proc: subprocess.Popen[str] | None = None
) -> T:
    """Poll until ``predicate()`` is truthy; fail early if the toolkit ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"the toolkit exited (code {proc.returncode}) before {what}:\n{out}")
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def labkit_env(copy: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_PY_SPY", "PYTHONPATH")}
    # Wide lines: rich wraps at 80 columns when not on a terminal, which would split messages.
    env.update({"PYTHONPATH": str(copy / "scripts"), "COLUMNS": "400", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra or {})
    return env


def scaffold(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`make new-lab` in the copy (the copy's own toolkit)."""
    return subprocess.run(
        [sys.executable, "-m", "labkit", "--root", str(copy), "new-lab", *args],
        cwd=copy,
        env=labkit_env(copy),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def labkit_argv(copy: Path, *args: str, python: str = sys.executable) -> list[str]:
    return [python, "-m", "labkit", "--root", str(copy), *args]


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    output: str  # stdout and stderr, interleaved

    @property
    def flat(self) -> str:
        """The output with line breaks and runs of spaces collapsed (for phrases a terminal may wrap)."""
        return " ".join(self.output.split())

    def __str__(self) -> str:
        return f"labkit {' '.join(self.args)} → exit {self.returncode}\n{self.output}"


# Every grader guards the start-up hooks of this interpreter's site folders, which all the test workers
# share: a grader running beside a test that plants a hook there would undo that hook as its own learner's.
# Graders take this lock shared; a test that plants a hook takes it alone (site_hooks_alone).
_SITE_LOCK = Path(os.environ.get("TMPDIR", "/tmp")) / (
    "labkit-tests-site-" + hashlib.sha256(sys.prefix.encode()).hexdigest()[:12] + ".lock"
)
_alone = False


@contextlib.contextmanager
def _site_lock(mode: int) -> Iterator[None]:
    import fcntl

    with open(_SITE_LOCK, "a") as held:
        fcntl.flock(held, mode)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


@contextlib.contextmanager
def site_hooks_alone() -> Iterator[None]:
    """For a test whose learner code writes a start-up hook: no other worker's grader runs meanwhile."""
    import fcntl

    global _alone
    with _site_lock(fcntl.LOCK_EX):
        _alone = True
        try:
            yield
        finally:
            _alone = False


def labkit(copy: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> Run:
    """Run the copy's toolkit on the copy; always returns (assert on the result)."""
    import fcntl

    shared = _site_lock(fcntl.LOCK_SH) if args[:1] == ("grade",) and not _alone else contextlib.nullcontext()
    with shared:
        return _labkit(copy, *args, env=env, timeout=timeout)


def _labkit(copy: Path, *args: str, env: Mapping[str, str] | None, timeout: float) -> Run:
    done = subprocess.run(
        labkit_argv(copy, *args),
        cwd=copy,
        env=labkit_env(copy, env),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    return Run(args, done.returncode, done.stdout)


def assert_no_process_left(copy: Path) -> None:
    """Nothing started from the copy may outlive the toolkit (a second's grace for the reaper)."""
    deadline = time.monotonic() + 5
    left = processes_mentioning(str(copy))
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = processes_mentioning(str(copy))
    for pid, _ in left:  # do not leave them running for the rest of the suite
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left behind: {left}"


def docs_state() -> tuple[str, dict[str, str]]:
    """`git status --porcelain docs/` and the hash of every file under docs/ in this repository."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "docs/"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return status, hash_tree(ROOT / "docs")


def lab_module(folder: Path, name: str, *, prefix: str) -> ModuleType:
    """A lab program imported from its file (as ``<prefix>_<name>``), its folder on the path meanwhile
    so that it can import its siblings."""
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(f"{prefix}_{name}", folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))
