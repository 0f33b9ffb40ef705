"""A service gone before py-spy samples it: a clear failure, nothing published, nothing left running."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import LAB, assert_no_process_left, hash_tree, labkit

EXITS_AT_ONCE = 'import os\nprint(f"running as PID {os.getpid()}", flush=True)\n'
SLOW_COMMAND = 'command: [labs/slow_service/service.py, --seed, "{seed}"]'


def _make_slow_step_exit_at_once(copy: Path) -> None:
    (copy / "labs/slow_service/exits_at_once.py").write_text(EXITS_AT_ONCE, encoding="utf-8")
    manifest = copy / "labs/lab-1.yml"
    text = manifest.read_text(encoding="utf-8")
    assert text.count(SLOW_COMMAND) == 1, "the manifest's slow step changed; update this test"
    manifest.write_text(
        text.replace(SLOW_COMMAND, "command: [labs/slow_service/exits_at_once.py]"), encoding="utf-8"
    )


@pytest.mark.parametrize("method", [None, "launch"])
def test_service_that_exits_before_it_is_sampled(work_copy: Path, method: str | None) -> None:
    _make_slow_step_exit_at_once(work_copy)
    before = hash_tree(work_copy / "docs")
    run = labkit(
        work_copy, "assets", "--lab", LAB, "--quick", "--force", *(["--method", method] if method else [])
    )
    assert run.returncode != 0, str(run)
    assert "slow:" in run.output, str(run)
    if method is None:  # attached by PID: the toolkit sees the program exit
        assert "exited" in run.output, str(run)
    else:
        # Launched: py-spy usually never gets to read it; on a busy machine it may catch a sample of the
        # interpreter starting, and then the lab's own values (the finder's share) cannot be found.
        reasons = ("wrote no recording", "no samples", "find_duplicates_slow")
        assert any(reason in run.output for reason in reasons), str(run)
    # A process that is gone is not a permission problem: no privilege advice, no silent fallback.
    assert "not permitted" not in run.output and "Remedies" not in run.output, str(run)
    assert "launching the program" not in run.output or method == "launch", str(run)
    assert re.search(r"docs/ still holds (the|its) previous results", run.flat), str(run)
    assert "Traceback" not in run.output, str(run)
    assert hash_tree(work_copy / "docs") == before
    assert not (work_copy / "docs/labs/lab-1/data.new").exists()
    assert_no_process_left(work_copy)
