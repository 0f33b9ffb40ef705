"""`make check` on code references: a program that moves under a bound line number fails, naming the page.

Each test works on a temporary copy of the repository (docs/ here is never written).
"""

from __future__ import annotations

from pathlib import Path

from labkit import citations

from tests.helpers import copy_repo, labkit
from tests.unit.test_citations import _sdist

PAGE = "docs/labs/lab-1/index.md"
PROGRAM = "labs/slow_service/finders.py"
LOOP = "if i != j and values[i] == values[j] and values[i] not in found:"
ANCHOR = "How to read it:\n"


def _bind(copy: Path, number: int) -> int:
    """Add a sentence with a line marker and a name marker to the copy's page; returns its page line."""
    page = copy / PAGE
    text = page.read_text(encoding="utf-8")
    assert ANCHOR in text
    name = "find_duplicates_slow"
    sentence = (
        f"The inner test of <!-- name: {PROGRAM} | {name} -->`{name}`<!-- /name --> "
        f"is finders.py:<!-- line: {PROGRAM} | {LOOP} -->{number}<!-- /line -->.\n\n"
    )
    page.write_text(text.replace(ANCHOR, sentence + ANCHOR, 1), encoding="utf-8")
    return text[: text.index(ANCHOR)].count("\n") + 1


def _number(copy: Path) -> int:
    lines = (copy / PROGRAM).read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, 1) if line.strip() == LOOP)


def test_check_fails_naming_the_page_when_the_program_moves_under_a_bound_line(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    before = _number(copy)
    line = _bind(copy, before)

    bound = labkit(copy, "check", "--lab", "lab-1")
    assert f"{PAGE}:{line}:" not in bound.flat, bound  # the reference is right: nothing about it

    program = copy / PROGRAM
    program.write_text("# a comment that moves every line down\n\n" + program.read_text("utf-8"), "utf-8")
    moved = labkit(copy, "check", "--lab", "lab-1")

    assert moved.returncode != 0, moved
    expected = f"{PAGE}:{line}: line {PROGRAM} shows '{before}' but the source says '{before + 2}'"
    assert expected in moved.flat, moved


def test_check_fails_naming_the_page_when_the_quoted_line_is_gone(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    line = _bind(copy, _number(copy))
    program = copy / PROGRAM
    program.write_text(program.read_text("utf-8").replace(LOOP, LOOP.replace("not in", "not  in")), "utf-8")

    run = labkit(copy, "check", "--lab", "lab-1")

    assert run.returncode != 0, run
    assert f"{PAGE}:{line}: {PROGRAM} has no line {LOOP!r}" in run.flat, run


def test_check_fails_when_a_bound_function_is_renamed(tmp_path: Path) -> None:
    # a function the manifest does not name (a claim or value naming a renamed one stops at the manifest)
    copy = copy_repo(tmp_path / "repo")
    page = copy / PAGE
    text = page.read_text(encoding="utf-8")
    sentence = (
        f"It loads a finder with <!-- name: {PROGRAM} | load_finder -->`load_finder`<!-- /name -->.\n\n"
    )
    page.write_text(text.replace(ANCHOR, sentence + ANCHOR, 1), encoding="utf-8")
    line = text[: text.index(ANCHOR)].count("\n") + 1
    assert f"{PAGE}:{line}:" not in labkit(copy, "check", "--lab", "lab-1").flat  # bound right: nothing
    program = copy / PROGRAM
    program.write_text(program.read_text("utf-8").replace("def load_finder(", "def get_finder("), "utf-8")

    run = labkit(copy, "check", "--lab", "lab-1")

    assert run.returncode != 0, run
    assert f"{PAGE}:{line}: {PROGRAM} defines no function or class 'load_finder'" in run.flat, run


def test_check_fails_naming_the_page_when_a_cited_snippet_is_not_in_py_spy_s_source(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    # py-spy 0.4.3's source as the cache holds it (a small stand-in: the check must not need the network here)
    _sdist(copy, {"README.md": "# py-spy\n\nOSX always requires\nrunning as root.\n"}, version="0.4.3")
    page = copy / PAGE
    text = page.read_text(encoding="utf-8")
    good = citations.parse("README.md | OSX always requires running as root")
    bad = citations.parse("README.md | Linux never requires root")
    sentence = "".join(
        f"Cited <!-- cite: {c.path} | {c.snippet} -->{citations.render(c, '0.4.3')}<!-- /cite -->.\n\n"
        for c in (good, bad)
    )
    page.write_text(text.replace(ANCHOR, sentence + ANCHOR, 1), encoding="utf-8")
    line = text[: text.index(ANCHOR)].count("\n") + 1

    run = labkit(copy, "check", "--lab", "lab-1")

    assert run.returncode != 0, run
    assert f"{PAGE}:{line}:" not in run.flat, run
    expected = (
        f'{PAGE}:{line + 2}: cite README.md: "Linux never requires root" is not in py-spy 0.4.3\'s README.md'
    )
    assert expected in run.flat, run
