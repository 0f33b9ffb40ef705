"""`labkit grade` (make grade-N) on a temporary copy: real programs, real py-spy, QUICK configuration.

Verdicts only, from side-by-side measurements with wide margins (a fix is hundreds of times faster);
never absolute times.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import assert_no_process_left, copy_repo, hash_tree, labkit

SET_FINDER = """
def find_duplicates(values):
    seen, repeated = set(), set()
    for value in values:
        if value in seen:
            repeated.add(value)
        seen.add(value)
    return repeated
"""
EMPTY_FINDER = "def find_duplicates(values):\n    return set()\n"
HEADER = "from service import SharedState, write_record\n\n\n"
FIXED_LOCK = HEADER + (
    "def update_shared_state(state: SharedState, value: int) -> None:\n"
    "    write_record(value)\n"
    "    with state.lock:\n"
    "        state.apply(value)\n"
)
# No lock at all, and the counters read before the slow write: concurrent requests overwrite each other.
NO_LOCK = HEADER + (
    "def update_shared_state(state: SharedState, value: int) -> None:\n"
    "    count, total = state.count, state.total\n"
    "    write_record(value)\n"
    "    state.count, state.total = count + 1, total + value\n"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("grade") / "repo")


def grade(
    repo: Path, lab: str, source: str | None, *, env: dict[str, str] | None = None, timeout: float = 240
) -> tuple[int, str, dict[str, object]]:
    """Write the learner's file (None: restore the original), grade it, return code, output, grade.json.

    Every grade leaves docs/ as it was and no process behind, whatever the learner's code did.
    """
    reset = labkit(repo, "reset", lab, "--force")
    assert reset.returncode == 0, str(reset)
    if source is not None:
        name = {"lab-1": "finder.py", "lab-2": "shared_state.py", "lab-3": "distances.py"}[lab]
        (repo / "exercises" / lab / name).write_text(source, encoding="utf-8")
    docs = hash_tree(repo / "docs")
    (repo / "out" / lab / "grade.json").unlink(missing_ok=True)
    run = labkit(repo, "grade", lab, "--quick", env=env, timeout=timeout)
    assert_no_process_left(repo)
    assert hash_tree(repo / "docs") == docs, "grading changed docs/"
    assert (repo / "out" / lab / "grade.json").exists(), f"no grade.json: {run}"
    record = json.loads((repo / "out" / lab / "grade.json").read_text(encoding="utf-8"))
    assert record["format_version"] == 2 and record["lab"] == lab
    assert str(repo) not in json.dumps(record), "grade.json holds an absolute path"
    return run.returncode, run.output, record


def verdicts(record: dict[str, object]) -> dict[str, bool]:
    checks = record["checks"]
    assert isinstance(checks, list)
    return {c["id"]: c["passed"] for c in checks}


def test_the_unchanged_exercise_fails_and_says_so(repo: Path) -> None:
    code, output, record = grade(repo, "lab-1", None)
    assert code == 1, output
    assert record["unchanged"] is True and record["passed"] is False
    assert "unchanged" in output and "still the original" in output
    assert verdicts(record) == {"correct": True, "fast": False, "scales": False, "hot_path": False}
    assert "failed: fast, scales, hot_path" in output
    assert output.count("hint (") == 3, "one hint per failed check"
    graph = "out/lab-1/grade/your-service.svg"
    assert f"Your service's flame graph (open it in a browser): {graph}" in output
    (hot_hint,) = [line for line in output.splitlines() if line.startswith("hint (hot_path)")]
    assert hot_hint.endswith(f"Your flame graph: {graph}"), "the hint points to the learner's own graph"
    assert record["checks"][-1]["picture"] == graph  # type: ignore[index]


def test_a_set_based_finder_passes(repo: Path) -> None:
    code, output, record = grade(repo, "lab-1", SET_FINDER)
    assert code == 0, output
    assert record["passed"] is True and record["unchanged"] is False
    assert all(verdicts(record).values())
    assert "every check passed" in output
    svg = (repo / "out" / "lab-1" / "grade" / "your-service.svg").read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "find_duplicates" in svg  # the learner's finder, drawn
    assert str(repo) not in svg, "the flame graph holds an absolute path"
    assert "out/lab-1/grade/your-service.svg" in output
    assert "Next: A busy web service" in output and "make lab-2" in output
    assert "│" not in output, "no terminal here: the table prints as plain lines"


def test_an_empty_answer_fails_correctness_with_the_smallest_input(repo: Path) -> None:
    code, output, record = grade(repo, "lab-1", EMPTY_FINDER)
    assert code == 1, output
    assert verdicts(record)["correct"] is False
    assert "smallest failing input (shrunk by hypothesis): [0, 0]" in output
    assert "not timing a wrong answer" in output  # the benchmark refuses to time it


def test_the_exercise_is_never_overwritten_and_reset_asks(repo: Path) -> None:
    mine = repo / "exercises" / "lab-1" / "finder.py"
    mine.write_text(SET_FINDER, encoding="utf-8")
    refused = labkit(repo, "reset", "lab-1")  # no terminal here: refuses
    assert refused.returncode != 0 and "FORCE=1" in refused.output
    assert mine.read_text(encoding="utf-8") == SET_FINDER
    forced = labkit(repo, "reset", "lab-1", "--force")
    assert forced.returncode == 0, str(forced)
    assert mine.read_bytes() == (repo / "labs" / "starter" / "lab-1" / "finder.py").read_bytes()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, {"no_lost_updates": True, "p95": False}),
        (FIXED_LOCK, {"no_lost_updates": True, "p95": True}),
        (NO_LOCK, {"no_lost_updates": False}),  # its p95 is not what this case is about
    ],
    ids=["unchanged", "fixed", "no-lock"],
)
def test_lab_2_judges_the_lock(repo: Path, source: str | None, expected: dict[str, bool]) -> None:
    code, output, record = grade(repo, "lab-2", source)
    got = verdicts(record)
    assert {k: got[k] for k in expected} == expected, output
    assert code == (0 if all(got.values()) else 1), output
    # a pass points to the next lab (Lab 3), a failure to nothing further
    assert ("Next: When the time is in C" in output) == (code == 0), output
    assert ("still the original" in output) == (source is None)
