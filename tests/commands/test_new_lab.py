"""`make new-lab`: the scaffold's lab measures, checks and builds green as generated, in a copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from labkit import manifest

from tests.helpers import assert_no_process_left, copy_repo, labkit, scaffold

NEW = "lab-7"
MADE = (
    Path("labs/lab-7.yml"),
    Path("labs/lab_7/service.py"),
    Path("docs/labs/lab-7/index.md"),
    Path("tests/labs/test_lab_7.py"),
)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("scaffold") / "repo")


@pytest.mark.full
def test_new_lab_measures_checks_and_builds_unchanged(copy: Path, tmp_path: Path) -> None:
    made = scaffold(copy, "--lab", NEW, "--title", "A busy <service> & a|b")
    assert made.returncode == 0, made.stderr
    for path in MADE:
        assert (copy / path).is_file(), path
        assert path.as_posix() in made.stdout
    for command in (f"make assets LAB={NEW}", "make check", "make site"):
        assert command in made.stdout
    assert '- "Lab 7: A busy <service> & a|b": labs/lab-7/index.md' in (copy / "mkdocs.yml").read_text()

    assets = labkit(copy, "assets", "--lab", NEW)  # the FULL configuration: claims are judged
    assert assets.returncode == 0, str(assets)
    assert_no_process_left(copy)
    assert (copy / "docs/labs/lab-7/data/results.json").is_file()
    assert "<!-- value: crunch_total -->…<!-- /value -->" not in (copy / MADE[2]).read_text()

    check = labkit(copy, "check", "--lab", NEW)
    assert check.returncode == 0, str(check)

    mkdocs = Path(sys.executable).with_name("mkdocs")
    site = subprocess.run(
        [str(mkdocs), "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert site.returncode == 0, site.stderr
    assert (tmp_path / "site/labs/lab-7/index.html").is_file()

    mirrored = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(copy / MADE[3])],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert mirrored.returncode == 0, mirrored.stdout


def test_refuses_to_overwrite_an_existing_lab(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo")
    assert scaffold(repo, "--lab", "lab-8", "--title", "First").returncode == 0
    page = (repo / "docs/labs/lab-8/index.md").read_text()
    nav = (repo / "mkdocs.yml").read_text()
    again = scaffold(repo, "--lab", "lab-8", "--title", "Second")
    assert again.returncode == 2
    assert "lab-8 exists already" in again.stderr and "labs/lab-8.yml" in again.stderr
    assert (repo / "docs/labs/lab-8/index.md").read_text() == page
    assert (repo / "mkdocs.yml").read_text() == nav


@pytest.mark.parametrize("bad", ["lab3", "lab-03", "Lab-3", "lab-", "lab-3/../x", ""])
def test_rejects_a_bad_id_and_writes_nothing(tmp_path: Path, bad: str) -> None:
    repo = copy_repo(tmp_path / "repo")
    before = sorted(p.relative_to(repo) for p in repo.rglob("*"))
    done = scaffold(repo, "--lab", bad, "--title", "Anything")
    assert done.returncode == 2
    assert ("is not valid: expected lab-N" if bad else "no lab id given") in done.stderr
    assert sorted(p.relative_to(repo) for p in repo.rglob("*")) == before


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_new_lab_takes_a_title_with_quotes_word_for_word(tmp_path: Path) -> None:
    """`make new-lab TITLE='a"b'` used to break the recipe's double quotes; backticks ran."""
    repo = copy_repo(tmp_path / "repo")
    title = "a\"b it's `touch touched` $(touch touched)"
    venv = Path(sys.executable).parents[1]  # this virtual environment: nothing to install in the copy
    done = subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", "new-lab", "LAB=lab-9", f"TITLE={title}"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not (repo / "touched").exists()
    lab = manifest.load(Path("labs/lab-9.yml"), root=repo)
    assert lab.title == title
    assert f"- {json.dumps('Lab 9: ' + title)}: labs/lab-9/index.md" in (repo / "mkdocs.yml").read_text()
