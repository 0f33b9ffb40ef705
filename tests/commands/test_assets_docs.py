"""What a run may leave in docs/: never a temporary file of the swap, never a row lost to a manifest that does
not load, and a read-only docs/ said in one located line, the committed files left whole.

Each test works on a plain copy of the repository with its committed (full) results, which are fresh:
`assets` reuses them, so nothing is measured and each test takes seconds.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import words

from tests.helpers import DATA, LAB, LAB_DIR, copy_repo, hash_tree, labkit, labkit_argv, labkit_env, need

REPORT = Path("docs/reports.md")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def test_temporary_files_of_the_swap_fail_check_and_the_next_run_removes_them(copy: Path) -> None:
    """A kill (or a full disk) before the page renames left them, some at 0 bytes; `make site` would
    publish them."""
    leftovers = [LAB_DIR / "index.md.new", LAB_DIR / f"{LAB}.ipynb.new", Path("docs/reports.md.new")]
    for path in leftovers:
        (copy / path).write_text("", encoding="utf-8")
    check = labkit(copy, "check")
    assert check.returncode != 0, str(check)
    for path in leftovers:
        assert f"{path.as_posix()}: an interrupted run left this" in check.flat, str(check)
    run = labkit(copy, "assets", "--lab", LAB)
    assert run.returncode == 0, str(run)
    assert "removed an unfinished index.md.new" in run.flat, str(run)
    assert not [path for path in leftovers if (copy / path).exists()]
    assert hash_tree(copy / "docs") == hash_tree(copy_repo(copy.with_name("fresh")) / "docs")
    check = labkit(copy, "check")
    assert check.returncode == 0, str(check)


def test_a_manifest_that_does_not_load_loses_no_row_of_the_report(copy: Path) -> None:
    manifest = copy / "labs" / "lab-2.yml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "steps: [\n", encoding="utf-8")
    docs = hash_tree(copy / "docs")
    broken = labkit(copy, "assets", "--lab", "lab-2")
    assert broken.returncode != 0, str(broken)
    assert hash_tree(copy / "docs") == docs
    assert "labs/lab-2.yml:" in broken.output and "Traceback" not in broken.output, str(broken)
    assert "docs/reports.md left as it was: labs/lab-2.yml does not load" in broken.flat, str(broken)
    other = labkit(copy, "assets", "--lab", LAB)  # another lab's run keeps lab-2's row too
    assert other.returncode == 0, str(other)
    assert hash_tree(copy / "docs") == docs
    assert "lab-2/index.html" in (copy / REPORT).read_text(encoding="utf-8")


@pytest.fixture
def without_dac_override() -> Iterator[list[str]]:
    """A command prefix that runs as root without CAP_DAC_OVERRIDE: root then obeys a folder's mode."""
    capsh = shutil.which("capsh") or next(
        (p for p in ("/usr/sbin/capsh", "/sbin/capsh") if os.path.exists(p)), None
    )
    need(capsh is not None, "capsh is not installed (Debian: apt-get install libcap2-bin)")
    need(os.geteuid() == 0, "dropping CAP_DAC_OVERRIDE from a root process needs root")
    assert capsh
    yield [capsh, "--drop=cap_dac_override,cap_dac_read_search", "--", "-c"]


def _run(prefix: list[str], copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, shlex.join(labkit_argv(copy, *args))],
        cwd=copy,
        env=labkit_env(copy),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_read_only_docs_is_one_located_line_and_leaves_docs_whole(
    copy: Path, without_dac_override: list[str]
) -> None:
    report = copy / REPORT
    results = json.loads((copy / DATA / "results.json").read_text(encoding="utf-8"))
    measured_at = words.date(results["generated_at"])
    report.write_text(report.read_text(encoding="utf-8").replace(measured_at, "1 January 2000"), "utf-8")
    page = copy / LAB_DIR / "index.md"
    page.write_text(
        page.read_text(encoding="utf-8").replace("<!-- /value -->", "0<!-- /value -->", 1), "utf-8"
    )
    docs = hash_tree(copy / "docs")
    folders = [copy / "docs", copy / LAB_DIR]
    modes = [folder.stat().st_mode for folder in folders]
    try:
        for folder in folders:
            folder.chmod(0o555)
        done = _run(without_dac_override, copy, "assets", "--lab", LAB)
    finally:
        for folder, mode in zip(folders, modes, strict=True):
            folder.chmod(mode)
    out = done.stdout
    assert done.returncode != 0, out
    assert "Traceback" not in out, out
    assert f"{(LAB_DIR / 'data.new').as_posix()}: cannot be written (Permission denied)" in out, out
    assert f"{REPORT.as_posix()}: cannot be rewritten (Permission denied)" in " ".join(out.split()), out
    assert hash_tree(copy / "docs") == docs
    assert not [p for p in (copy / "docs").rglob("*") if p.name.endswith((".new", ".old"))]
