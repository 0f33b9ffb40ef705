"""`make grade-2` against hostile updates: an over-counting update, an update that skips the record's
write, and one whose import-time code pauses the reference service to make its own p95 look good."""

from __future__ import annotations

from pathlib import Path

from tests.commands.test_grade import HEADER, grade, repo, verdicts  # noqa: F401 (repo is a fixture)

OVER_COUNT = HEADER + (
    "def update_shared_state(state: SharedState, value: int) -> None:\n"
    "    write_record(value)\n"
    "    with state.lock:\n"
    "        state.apply(value)\n"
    "        state.count += 10\n"
)
NO_WRITE = HEADER + (
    "def update_shared_state(state: SharedState, value: int) -> None:\n"
    "    with state.lock:\n"
    "        state.apply(value)\n"
)
# The original (slow) update, plus a thread that keeps pausing every other lab-2 service of this copy.
PAUSER = """import os, signal, threading, time
from pathlib import Path

from service import SharedState, write_record

SERVICE = str(Path(__file__).resolve().parents[2] / "labs" / "web_service" / "service.py")
FOUND = Path(__file__).with_name("found-the-reference")


def others():
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            argv = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\\0")
        except OSError:
            continue
        if SERVICE.encode() in argv and b"--update" not in argv:
            yield int(entry)


def pause():
    while True:
        for pid in list(others()):
            FOUND.write_text(str(pid))
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.2)
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.05)


threading.Thread(target=pause, daemon=True).start()


def update_shared_state(state: SharedState, value: int) -> None:
    with state.lock:
        write_record(value)
        state.apply(value)
"""


def measured(record: dict[str, object], check: str) -> str:
    checks = record["checks"]
    assert isinstance(checks, list)
    (found,) = [c for c in checks if c["id"] == check]
    return str(found["measured"])


def test_counting_too_many_fails(repo: Path) -> None:  # noqa: F811
    code, output, record = grade(repo, "lab-2", OVER_COUNT)
    assert code == 1 and verdicts(record)["no_lost_updates"] is False, output
    assert "counted twice" in measured(record, "no_lost_updates"), output


def test_an_update_that_skips_the_record_fails(repo: Path) -> None:  # noqa: F811
    code, output, record = grade(repo, "lab-2", NO_WRITE)
    assert code == 1 and verdicts(record)["no_lost_updates"] is False, output
    assert " 0 records written" in measured(record, "no_lost_updates"), output


def test_the_learners_service_never_runs_beside_the_reference(repo: Path) -> None:  # noqa: F811
    found = repo / "exercises" / "lab-2" / "found-the-reference"
    found.unlink(missing_ok=True)
    code, output, record = grade(repo, "lab-2", PAUSER)
    assert not found.exists(), "the learner's code saw the reference service running"
    assert code == 1 and verdicts(record)["p95"] is False, output
