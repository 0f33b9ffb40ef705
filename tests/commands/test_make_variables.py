"""The Makefile's variables never reach a shell unchecked: a hostile LAB, METHOD, RUNS, EXCEPT or target
stem, or a TITLE or SPEEDSCOPE with a line break, is refused by make itself with a clear message before
anything runs, and TITLE reaches the scaffold as one argument, word for word.

The Makefile runs in a scratch folder with a stand-in virtual environment whose `python` only writes
down its arguments, so the test sees exactly what each recipe would have run, and runs nothing else.
EXCEPT's last stop, the noxfile, is listed (`nox -l`, no session run) from a copy in a scratch folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

RECORDER = """#!/bin/sh
# a stand-in for the virtual environment's python: one argument per line, NUL-separated runs
for arg in "$@"; do printf '%s\\n' "$arg"; done >> "$(dirname "$0")/../../args.txt"
printf '\\0\\n' >> "$(dirname "$0")/../../args.txt"
"""


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """The Makefile beside its inputs, with a stand-in venv newer than them (nothing to install)."""
    for name in ("Makefile", "pyproject.toml", "requirements-site.txt"):
        shutil.copy2(ROOT / name, tmp_path / name)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(RECORDER, encoding="utf-8")
    python.chmod(0o755)
    later = (
        max((tmp_path / n).stat().st_mtime for n in ("Makefile", "pyproject.toml", "requirements-site.txt"))
        + 60
    )
    for stamp in (".site-installed", ".installed"):
        (venv / stamp).touch()
        os.utime(venv / stamp, (later, later))
    return tmp_path


# What a surrounding make (`make test JOBS=0` hands its variables down in MAKEFLAGS) or the shell could
# set for these variables is not what a test means to give.
INHERITED = (
    *("MAKEFLAGS", "GNUMAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES"),
    *(
        "LAB",
        "ID",
        "METHOD",
        "RUNS",
        "JOBS",
        "EXCEPT",
        "FORCE",
        "QUICK",
        "LOAD",
        "HERE",
        "TITLE",
        "SPEEDSCOPE",
    ),
)


def make(scratch: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in INHERITED}
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={scratch / 'venv'}", *args],
        cwd=scratch,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**clean, **(env or {})},
    )


def ran(scratch: Path) -> list[list[str]]:
    """The argument lists the stand-in python was called with, in order."""
    path = scratch / "args.txt"
    if not path.exists():
        return []
    runs = path.read_text(encoding="utf-8").split("\0\n")
    return [run.splitlines() for run in runs if run]


MARKER = "touched"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["assets", f"LAB=lab-7; touch {MARKER} #"], "is not a lab id: expected lab-N"),
        (["assets", f"LAB=lab-7 && touch {MARKER}"], "is not a lab id"),
        (["assets", f"LAB=$(shell touch {MARKER})"], "is not a lab id"),
        (["assets", "LAB=lab-1\n", "QUICK=1"], "is not a lab id"),  # a full run into docs/, not QUICK
        (["check", "ID=lab-1\t"], "is not a lab id"),
        (["check", "LAB=lab-1\r"], "LAB='lab-1' (with a space, tab, carriage return or line break after it)"),
        (["check", f"ID=lab-1;touch {MARKER}"], "is not a lab id"),
        (["new-lab", f"LAB=lab-3`touch {MARKER}`", "TITLE=x"], "is not a lab id"),
        (["assets", f"METHOD=pid;touch {MARKER}"], "expected METHOD=pid or METHOD=launch"),
        (["soak", "LAB=lab-1", f"RUNS=5;touch {MARKER}"], "is not a number of runs"),
        (["test-pythons", f'EXCEPT=3.11"; touch {MARKER}; "'], "is not a list of Python versions"),
        (["test-pythons", f"EXCEPT=$(shell touch {MARKER})"], "is not a list of Python versions"),
        (["test-pythons", "EXCEPT=311"], "expected e.g. EXCEPT=3.11"),
        (["new-lab", "LAB=lab-9", f"TITLE=x\ntouch {MARKER}\n"], "TITLE holds a line break"),
        (["speedscope", f"SPEEDSCOPE=1\ntouch {MARKER}"], "SPEEDSCOPE holds a line break"),
        ([f"lab-1;touch${{IFS}}{MARKER}"], "is not a target: expected lab-N, grade-N or reset-N"),
        ([f"grade-1|touch${{IFS}}{MARKER}"], "is not a target"),
        ([f"reset-1&touch${{IFS}}{MARKER}"], "is not a target"),
    ],
)  # fmt: skip
def test_a_hostile_variable_is_refused_before_any_shell_runs(
    scratch: Path, args: list[str], says: str
) -> None:
    for dry in (True, False):
        done = make(scratch, *(["-n"] if dry else []), *args)
        assert done.returncode != 0, done
        assert says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert not (scratch / MARKER).exists(), f"make {args} ran the injected command"
        assert ran(scratch) == [], "a recipe ran"


def test_switches_take_any_text_without_running_it(scratch: Path) -> None:
    done = make(scratch, "assets", "LAB=lab-2", f"FORCE=$(shell touch {MARKER})", "QUICK=yes")
    assert done.returncode == 0, done
    assert not (scratch / MARKER).exists()
    assert ran(scratch) == [["-m", "labkit", "assets", "--lab", "lab-2", "--force", "--quick"]]


@pytest.mark.parametrize(
    "title",
    ['a"b', "it's `touch touched` $(touch touched) $$HOME", "x\\y; touch touched", "$(shell touch touched)"],
)
def test_the_title_reaches_the_scaffold_word_for_word(scratch: Path, title: str) -> None:
    done = make(scratch, "new-lab", "LAB=lab-9", f"TITLE={title}")
    assert done.returncode == 0, done
    assert not (scratch / MARKER).exists()
    assert ran(scratch) == [["-m", "labkit", "new-lab", "--lab", "lab-9", "--title", title]]


@pytest.mark.parametrize(
    "args",
    [
        ["help", f"TITLE=$(shell touch {MARKER})"],
        ["help", f"SPEEDSCOPE=$(shell touch {MARKER})"],
        ["check", "LAB=lab-1", f"ID=$(shell touch {MARKER})"],
    ],
)
def test_a_variable_a_target_does_not_use_is_never_expanded_for_its_recipes(
    scratch: Path, args: list[str]
) -> None:
    """make hands command-line variables to every recipe's environment, expanding them as it does: TITLE,
    ID and SPEEDSCOPE are the Makefile's own (overridden as typed), which make hands to no recipe."""
    done = make(scratch, *args)  # for real: a dry run runs no recipe, so it would show nothing
    assert not (scratch / MARKER).exists(), f"make {args} ran the command in a variable"
    assert done.returncode == 0, done


def test_good_values_still_reach_the_toolkit(scratch: Path) -> None:
    assert make(scratch, "soak", "LAB=lab-2", "RUNS=3", "METHOD=launch").returncode == 0
    assert make(scratch, "check", "ID=lab-1").returncode == 0
    assert make(scratch, "lab-12").returncode == 0
    assert ran(scratch) == [
        ["-m", "labkit", "soak", "--lab", "lab-2", "--runs", "3", "--method", "launch"],
        ["-m", "labkit", "check", "--lab", "lab-1"],
        ["-m", "labkit", "learn", "lab-12"],
    ]


def test_except_reaches_nox_as_typed_and_only_from_the_command_line(scratch: Path) -> None:
    """`make test-pythons EXCEPT=...` hands nox the versions to leave out; an EXCEPT in the environment
    (a common name, meant for something else) is not read."""
    nox = scratch / "venv" / "bin" / "nox"
    nox.write_text('#!/bin/sh\nprintf \'%s|\' "$LABKIT_NOX_EXCEPT" "$@" >> "$(dirname "$0")/../../nox.txt"\n')
    nox.chmod(0o755)
    assert make(scratch, "test-pythons", "EXCEPT=3.10 3.11").returncode == 0
    env_run = make(scratch, "test-pythons", env={"EXCEPT": "not; a version"})
    assert env_run.returncode == 0, env_run.stderr
    # One version a line (say, from a file): one line for the recipe all the same.
    assert make(scratch, "test-pythons", "EXCEPT=3.12\n3.13\n").returncode == 0
    assert (scratch / "nox.txt").read_text(encoding="utf-8") == (
        "3.10 3.11|-s|unit|--|-n|2||-s|unit|--|-n|2|3.12 3.13|-s|unit|--|-n|2|"
    )


NOX = Path(sys.executable).with_name("nox")


@pytest.mark.skipif(not NOX.exists(), reason="nox is not installed beside this Python (make venv)")
@pytest.mark.parametrize(
    ("left_out", "code", "says"),
    [
        ("3.11", 0, "* unit-3.10"),
        ("3,11", 1, "'3,11' is not a version X.Y"),
        ("3.10 3.11 3.12 3.13", 1, "leaves no unit session"),
        ("3.99", 0, "3.99 is not a supported version"),
    ],
)
def test_the_noxfile_leaves_out_versions_or_says_why_not(
    tmp_path: Path, left_out: str, code: int, says: str
) -> None:
    # A copy: loading the noxfile links the Pythons it finds into .nox/pythons/ beside it.
    (tmp_path / "scripts" / "labkit").mkdir(parents=True)
    shutil.copy2(ROOT / "noxfile.py", tmp_path / "noxfile.py")
    shutil.copy2(ROOT / "scripts" / "labkit" / "pythons.py", tmp_path / "scripts" / "labkit" / "pythons.py")
    done = subprocess.run(
        [str(NOX), "-f", str(tmp_path / "noxfile.py"), "-l"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("NOX")},
            "LABKIT_NOX_EXCEPT": left_out,
        },
    )
    assert done.returncode == code, done
    assert says in done.stdout + done.stderr, done
    assert "Traceback" not in done.stderr
    if left_out == "3.11":
        assert "unit-3.11" not in done.stdout and "* unit-3.13" in done.stdout


def test_a_method_with_a_line_break_after_it_reaches_the_toolkit_as_one_word(scratch: Path) -> None:
    done = make(scratch, "assets", "LAB=lab-1", "METHOD=pid\r\n", "QUICK=1")
    assert done.returncode == 0, done
    assert ran(scratch) == [["-m", "labkit", "assets", "--lab", "lab-1", "--quick", "--method", "pid"]]
