"""A hostile or broken manifest stops `check` and `assets` before any program runs, with file:line and the
reason, never a traceback; nothing is written outside the repository and docs/ is left as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_no_process_left, copy_repo, hash_tree, labkit

LAB2 = Path("labs/lab-2.yml")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} no longer holds {old!r}; update this test"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_check_names_a_missing_page_instead_of_a_traceback(copy: Path) -> None:
    (copy / "docs/labs/lab-2/index.md").unlink()
    run = labkit(copy, "check", "--lab", "lab-2")
    assert run.returncode != 0, str(run)
    assert "labs/lab-2.yml:5:7: page 'docs/labs/lab-2/index.md' does not exist" in run.flat, str(run)
    assert "Traceback" not in run.output, str(run)


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('    threads: "^worker-"\n    rate: 100\n    adaptive: {pilot: 3, max: 9}',
         '    threads: "(worker-"\n    rate: 100\n    adaptive: {pilot: 3, max: 9}',
         "steps/6/threads: '(worker-' is not a valid regular expression (missing ), unterminated subpattern"),
        ("adaptive: {pilot: 3, max: 9}", "adaptive: {pilot: 5, max: 2}",
         "step 'gil': adaptive: max (2 s) must be at least pilot (5 s)"),
        ("page: docs/labs/lab-2/index.md", "page: ELSEWHERE/index.md",
         "labs/lab-2.yml:5:7: page must be inside the repository (docs/labs/lab-2/...md), not "),
        ("  - labs/idle_probe\n", "  - labs/idle_probe\n  - ../../../etc\n",
         "labs/lab-2.yml:11:5: program folder must be inside the repository"),
    ],
)  # fmt: skip
def test_assets_refuses_a_hostile_manifest_before_running_a_step(
    copy: Path, tmp_path: Path, old: str, new: str, says: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    edit(copy / LAB2, old, new.replace("ELSEWHERE", str(elsewhere)))
    lab = copy / "docs/labs/lab-2"
    docs = hash_tree(lab)  # the run report (docs/reports.md) after a failed lab is another test's
    run = labkit(copy, "assets", "--lab", "lab-2", timeout=60)
    assert run.returncode != 0, str(run)
    assert says in run.flat, str(run)
    assert "Traceback" not in run.output, str(run)
    assert "web:" not in run.flat and "traffic:" not in run.flat, f"a step ran:\n{run}"
    assert not elsewhere.exists(), "the toolkit wrote outside the repository"
    assert hash_tree(lab) == docs
    assert_no_process_left(copy)
