"""Fixtures of the command tests: real processes and real py-spy, always in a temporary copy of the repo.

Nothing here writes into this repository's docs/: every run of the toolkit gets
``--root COPY`` and ``PYTHONPATH=COPY/scripts``, so the copy's own toolkit runs on
the copy's own files. A session fixture (tests/conftest.py) fails the suite if docs/ changed anyway.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import LAB, QUICK, assert_no_process_left, copy_repo, hash_tree, labkit, labkit_env


@pytest.fixture(scope="session")
def measured_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository with a fresh QUICK run of Lab 1 (in out/quick/). Read it; never modify it."""
    copy = copy_repo(tmp_path_factory.mktemp("measured") / "repo")
    probe = subprocess.run(
        [sys.executable, "-c", "import labkit; print(labkit.__file__)"],
        cwd=copy,
        env=labkit_env(copy),
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(copy), f"the copy would run another toolkit: {probe}"
    docs = hash_tree(copy / "docs")
    run = labkit(copy, "assets", "--lab", LAB, "--quick", "--force")
    assert run.returncode == 0, str(run)
    assert_no_process_left(copy)
    assert hash_tree(copy / "docs") == docs, "a QUICK run wrote into docs/"
    return copy


@pytest.fixture
def work_copy(measured_copy: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the measured copy (QUICK results in out/quick/), for tests that change things."""
    copy = copy_repo(tmp_path / "repo", source=measured_copy)
    shutil.copytree(measured_copy / QUICK, copy / QUICK)  # out/ is not copied: the QUICK results are
    yield copy
    assert_no_process_left(copy)
