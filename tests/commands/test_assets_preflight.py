"""The real CLI on a machine without a Python 3.12+: the preflight stops Lab 1 before it measures anything.

This machine has pyenv interpreters 3.10-3.13; the test hides them: HOME is an empty folder, PATH is a
folder with only this venv's python and py-spy and a few basic tools, and neither LABKIT_PYTHONS nor
PYENV_ROOT is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import LAB, assert_no_process_left, copy_repo, hash_tree, labkit_argv, labkit_env


def _bare_path(folder: Path) -> str:
    folder.mkdir()
    (folder / "python").symlink_to(sys.executable)
    (folder / "py-spy").symlink_to(Path(sys.executable).with_name("py-spy"))
    for tool in ("sh", "env", "cat", "ls", "uname"):
        found = shutil.which(tool)
        if found:
            (folder / tool).symlink_to(found)
    return str(folder)


def test_no_new_python_stops_lab_1_before_it_measures(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    (tmp_path / "home").mkdir()
    env = {
        k: v
        for k, v in labkit_env(copy).items()
        if k != "LABKIT_PYTHONS" and not k.startswith(("PYENV", "UV_"))
    }
    env.update(PATH=_bare_path(tmp_path / "bin"), HOME=str(tmp_path / "home"))
    # docs/labs/, not docs/: the run report (docs/reports.md) is rebuilt after every run, failed or not.
    docs_before = hash_tree(copy / "docs" / "labs")
    done = subprocess.run(
        labkit_argv(copy, "assets", "--lab", LAB, "--force"),
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    said = f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode != 0, said
    flat = " ".join(done.stderr.split())
    for words in ("old_py_spy", "3.12", "LABKIT_PYTHONS", "Nothing was started (preflight)"):
        assert words in flat, said
    assert "Traceback" not in done.stderr, said
    # Nothing measured, nothing published.
    work = copy / ".labs" / "work" / LAB
    assert not work.exists() or not any(work.iterdir()), sorted(os.listdir(work))
    assert hash_tree(copy / "docs" / "labs") == docs_before
    assert not (copy / "docs" / "labs" / LAB / "data.new").exists()
    assert_no_process_left(copy)
