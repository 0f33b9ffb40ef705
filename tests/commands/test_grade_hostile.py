"""`make grade-1` against hostile exercises: each gets a failing grade with a reason, in bounded time.

The learner's code runs only in the grader's children: patching the toolkit there changes nothing
the grader judges, a write into docs/ is undone and fails the grade, a cache meets fresh inputs, a
renamed code object is still found by its file and lines, a hang is killed at its limit, a flood of
output is cut, and an exit at import is a failure, never a pass. The shared helper checks that docs/
is unchanged afterwards and that no process is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.test_grade import grade, repo, verdicts  # noqa: F401 (repo is a fixture)
from tests.helpers import assert_no_process_left, labkit, site_hooks_alone

QUADRATIC = """
def find_duplicates(values):
    repeated = []
    for position, candidate in enumerate(values):
        for other_position, other in enumerate(values):
            if position != other_position and candidate == other and candidate not in repeated:
                repeated.append(candidate)
    return repeated
"""
# What the probe did in-process: every verdict "holds", and a line appended to the run report.
PATCHER = (
    """
import sys
from pathlib import Path

try:
    import labkit.claims
except ImportError:
    pass
if "labkit.claims" in sys.modules:
    sys.modules["labkit.claims"].verdict = lambda *a, **k: "holds"
with open(Path(__file__).resolve().parents[2] / "docs" / "reports.md", "a") as report:
    report.write("\\nall checks passed\\n")
"""
    + QUADRATIC
)
# The quadratic code, skipped whenever the same list (or the same values) comes back.
CACHE = """
_last, _answer, _by_value = None, None, {}


def _slow(values):
    repeated = []
    for position, candidate in enumerate(values):
        for other_position, other in enumerate(values):
            if position != other_position and candidate == other and candidate not in repeated:
                repeated.append(candidate)
    return repeated


def find_duplicates(values):
    global _last, _answer
    if values is _last:
        return _answer
    key = tuple(values)
    if key not in _by_value:
        _by_value[key] = _slow(values)
    _last, _answer = values, _by_value[key]
    return _answer
"""
# The quadratic code under another name: py-spy would report it as the service's make_batch.
RENAMED = (
    QUADRATIC
    + """

find_duplicates.__code__ = find_duplicates.__code__.replace(co_name="make_batch", co_qualname="make_batch")
"""
)
HANG = "def find_duplicates(values):\n    while True:\n        pass\n"
FLOOD = """
def find_duplicates(values):
    print("x" * 20_000)
    seen, repeated = set(), set()
    for value in values:
        if value in seen:
            repeated.add(value)
        seen.add(value)
    return repeated
"""
# The quadratic code with a forged clock, as a benchmark that timed the finder in the learner's own
# process would read it: the first timing at each size (autorange's trial) looks long enough, every later
# one looks almost free; any other use of the clock is left alone.
FAKE_CLOCK = (
    """
import sys
import time

_real, _starts, _sizes = time.perf_counter, {}, set()


def _forged():
    frame = sys._getframe(1)
    if frame.f_code.co_name != "timed" or frame.f_locals.get("func") is not find_duplicates:
        return _real()
    if id(frame) not in _starts:
        _starts[id(frame)] = _real()
        return _starts[id(frame)]
    n = len(frame.f_locals["inputs"][0])
    trial = n not in _sizes
    _sizes.add(n)
    return _starts.pop(id(frame)) + (1.0 if trial else 1e-7)


time.perf_counter = _forged
"""
    + QUADRATIC
)
# The same forgery through the benchmark's own timing function, wherever a loaded module has one.
FAKE_TIMER = (
    """
import sys

_sizes = set()


def _forging(real):
    def forged(func, inputs):
        if func is not find_duplicates:
            return real(func, inputs)
        n = len(inputs[0])
        trial = n not in _sizes
        _sizes.add(n)
        return 1.0 if trial else 1e-7 * len(inputs)

    return forged


for _module in list(sys.modules.values()):
    if callable(getattr(_module, "timed", None)) and hasattr(_module, "calls_per_timing"):
        _module.timed = _forging(_module.timed)
"""
    + QUADRATIC
)
# Memory taken without bound (bytes(n) is calloc'd: address space, not touched pages, so that a run
# without the limit costs the machine nothing while it fails on its own terms).
HOARD = "def find_duplicates(values):\n    hoard = []\n    while True:\n        hoard.append(bytes(10**8))\n"
EXIT = "import os\n\nos._exit(0)\n" + QUADRATIC
LIMIT = {"LABKIT_GRADE_LIMIT_S": "3"}  # every check's time limit, short so that a hang costs seconds
BOUND = 150  # seconds a hostile grade may take in all (the subprocess is killed, and the test fails, after)


def failed_checks(record: dict[str, object]) -> set[str]:
    return {k for k, passed in verdicts(record).items() if not passed}


def measured(record: dict[str, object], check: str) -> str:
    checks = record["checks"]
    assert isinstance(checks, list)
    (found,) = [c for c in checks if c["id"] == check]
    return f"{found['measured']} {found['detail']}"


def test_patching_the_grader_and_writing_docs_fails_and_docs_are_restored(repo: Path) -> None:  # noqa: F811
    code, output, record = grade(repo, "lab-1", PATCHER, timeout=BOUND)
    assert code == 1, output
    assert {"fast", "scales", "untouched"} <= failed_checks(record), output
    assert "docs/reports.md" in measured(record, "untouched") and "restored" in output
    assert "all checks passed" not in (repo / "docs" / "reports.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("source", [CACHE, RENAMED], ids=["identity-and-value-cache", "renamed-code"])
def test_a_cache_or_a_renamed_function_does_not_hide_quadratic_code(
    repo: Path,  # noqa: F811
    source: str,
) -> None:
    code, output, record = grade(repo, "lab-1", source, timeout=BOUND)
    assert code == 1, output
    assert verdicts(record)["correct"] is True, output
    assert {"fast", "scales", "hot_path"} <= failed_checks(record), output
    assert "never appeared" not in output, "the renamed finder is found by its file and lines"


@pytest.mark.parametrize("source", [FAKE_CLOCK, FAKE_TIMER], ids=["perf-counter", "bench-timer"])
def test_a_forged_clock_or_timer_does_not_make_quadratic_code_fast(
    repo: Path,  # noqa: F811
    source: str,
) -> None:
    """The benchmark times the learner's finder from outside its process (labs/benchmark/remote.py):
    whatever that process does to its clocks, the speed verdict fails, with the measured speedup."""
    code, output, record = grade(repo, "lab-1", source, timeout=BOUND)
    assert code == 1, output
    assert verdicts(record)["correct"] is True, output
    assert {"fast", "scales"} <= failed_checks(record), output
    assert "not measured" not in measured(record, "fast"), "the speed is measured, and is too slow"


def test_a_hanging_finder_is_stopped_at_the_limit_of_every_check(repo: Path) -> None:  # noqa: F811
    code, output, record = grade(repo, "lab-1", HANG, env=LIMIT, timeout=BOUND)
    assert code == 1, output
    assert failed_checks(record) == {"correct", "fast", "scales", "hot_path"}, output
    assert "gave no answer for the input [] within the check's 3 s limit" in measured(record, "correct")
    assert "ran past its 3 s limit" in measured(record, "fast")


def test_a_flood_of_output_is_cut_and_fails(repo: Path) -> None:  # noqa: F811
    code, output, record = grade(repo, "lab-1", FLOOD, timeout=BOUND)
    assert code == 1, output
    assert {"correct", "fast", "scales"} <= failed_checks(record), output
    assert "bytes of output cut" in measured(record, "fast") and "bytes of output cut" in output
    assert "service.log" in measured(record, "hot_path"), "the service's output is cut too"
    for log in (repo / ".labs" / "grade" / "lab-1").glob("*.log"):
        assert log.stat().st_size < 1_100_000, f"{log.name} holds {log.stat().st_size:,} bytes"


def test_an_exit_at_import_is_a_failure_with_its_reason(repo: Path) -> None:  # noqa: F811
    code, output, record = grade(repo, "lab-1", EXIT, timeout=BOUND)
    assert code == 1, output
    assert failed_checks(record) == {"correct", "fast", "scales", "hot_path"}, output
    assert "your code exited (code 0) before it reported" in measured(record, "correct")
    assert "your finder's process exited (code 0) before it answered" in measured(record, "fast")


def test_a_grader_killed_by_the_learner_leaves_no_old_verdict(repo: Path) -> None:  # noqa: F811
    """Probe 6: the child kills the grader at import; yesterday's passing grade.json must not survive."""
    reset = labkit(repo, "reset", "lab-1", "--force")
    assert reset.returncode == 0, str(reset)
    killer = "import os, signal\n\nos.kill(os.getppid(), signal.SIGKILL)\n" + QUADRATIC
    (repo / "exercises" / "lab-1" / "finder.py").write_text(killer, encoding="utf-8")
    verdict = repo / "out" / "lab-1" / "grade.json"
    picture = repo / "out" / "lab-1" / "grade" / "your-service.svg"
    for old in (verdict, picture):
        old.parent.mkdir(parents=True, exist_ok=True)
        old.write_text('{"passed": true}\n', encoding="utf-8")
    run = labkit(repo, "grade", "lab-1", "--quick", timeout=BOUND)
    assert_no_process_left(repo)
    assert run.returncode != 0, str(run)
    assert not verdict.exists() and not picture.exists(), str(run)
    left = repo / ".labs" / "grade" / "tmp" / "lab-1"
    assert any(left.iterdir()), "the killed grade's private folder is in .labs/grade/tmp/, not /tmp"


# What the probe did next: a start-up hook in the interpreter's site folder (it would run inside every
# later grader) and a line appended to a file outside docs/, labs/ and scripts/.
HOOK = (
    """
import sysconfig
from pathlib import Path

Path(sysconfig.get_paths()["purelib"], "zzz_labkit_hostile_probe.pth").write_text("# a hook\\n")
with open(Path(__file__).resolve().parents[2] / "Makefile", "a") as make:
    make.write("\\n# appended while grading\\n")
"""
    + QUADRATIC
)


def test_a_start_up_hook_or_a_write_anywhere_in_the_repository_is_undone_and_fails(
    repo: Path,  # noqa: F811
) -> None:
    import sysconfig

    hook = Path(sysconfig.get_paths()["purelib"], "zzz_labkit_hostile_probe.pth")
    makefile = (repo / "Makefile").read_bytes()
    try:
        with site_hooks_alone():  # another worker's grader would undo the hook as its own learner's
            code, output, record = grade(repo, "lab-1", HOOK, timeout=BOUND)
        assert code == 1, output
        assert "untouched" in failed_checks(record), output
        shown = measured(record, "untouched")
        assert "Makefile" in shown and "zzz_labkit_hostile_probe.pth" in shown, shown
        assert not hook.exists(), "the start-up hook was left in the site folder"
        assert (repo / "Makefile").read_bytes() == makefile
    finally:
        hook.unlink(missing_ok=True)


def test_a_finder_that_takes_memory_without_bound_fails_naming_the_limit(repo: Path) -> None:  # noqa: F811
    env = {"LABKIT_GRADE_MEMORY_MB": "512", **LIMIT}
    code, output, record = grade(repo, "lab-1", HOARD, env=env, timeout=BOUND)
    assert code == 1, output
    assert {"correct", "fast", "scales"} <= failed_checks(record), output
    named = "the grader's memory limit of 512 MB ($LABKIT_GRADE_MEMORY_MB)"
    assert named in measured(record, "correct"), output
    assert_no_process_left(repo)
