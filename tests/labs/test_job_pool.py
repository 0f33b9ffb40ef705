"""Mirrors labs/job_pool/ (Lab 4): how the job service routes its jobs, the wrapper's refusal and the
tree recording with the real py-spy, and no worker left after a `kill -9` of the toolkit mid-recording."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import privacy, pyspy, stacks
from labkit.kinds.busy import samples_by_thread
from labkit.sanitize import PathMap, sanitize_text

from tests.helpers import (
    ROOT,
    copy_repo,
    lab_module,
    labkit,
    labkit_argv,
    labkit_env,
    need,
    processes_mentioning,
    wait_for,
)

FOLDER = ROOT / "labs" / "job_pool"


jobs = lab_module(FOLDER, "jobs", prefix="lab4")


def test_the_slow_service_sends_every_large_job_to_one_worker() -> None:
    service = jobs.Service.__new__(jobs.Service)  # routing only: no worker started
    service.fixed, service.queues, service.router = False, ["q0", "q1", "q2", "q3"], jobs.by_customer
    large = [i for i, (customer, rounds, _seed) in enumerate(jobs.batch(0)) if rounds == jobs.BIG_JOB]
    assert len(large) == jobs.BIG_CUSTOMER_JOBS
    assert {service.route(jobs.batch(0)[i][0], i) for i in large} == {"q0"}
    service.fixed, service.queues = True, ["shared"] * jobs.WORKERS
    assert {service.route(c, i) for i, (c, _r, _s) in enumerate(jobs.batch(0))} == {"shared"}
    service.fixed, service.router = False, lambda _customer, _job, _workers: 4  # out of range
    with pytest.raises(ValueError, match="expected 0 to 3"):
        service.route(0, 0)


def test_both_services_do_every_job_and_report_each_worker() -> None:
    for flag in ([], ["--fixed"]):
        done = subprocess.run(
            [sys.executable, str(FOLDER / "jobs.py"), "--batches", "1", "--repeats", "1", "--json", *flag],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        (repeat,) = summary["repeats"]
        assert repeat["jobs"] == jobs.BIG_CUSTOMER_JOBS + jobs.OTHER_JOBS
        assert len(repeat["busy_shares"]) == jobs.WORKERS


@contextlib.contextmanager
def _tree(*args: str) -> Iterator[tuple[int, int]]:
    """The service started through its wrapper: (the wrapper's PID, the Python parent's PID)."""
    proc = subprocess.Popen(
        [str(FOLDER / "serve.sh"), *args], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        wrapper = proc.stdout.readline()
        python = proc.stdout.readline()
        assert wrapper.startswith("wrapper running as PID"), wrapper
        yield proc.pid, int(python.split("PID ")[1].split()[0])
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)


def test_py_spy_refuses_the_wrapper_and_records_the_tree_behind_it(tmp_path: Path) -> None:
    exe = pyspy.find()
    with _tree() as (wrapper, _python):
        refused = subprocess.run(
            [exe, "dump", "--pid", str(wrapper)], capture_output=True, text=True, timeout=30
        )
        assert refused.returncode != 0
        assert "Failed to find python version from target process" in refused.stdout + refused.stderr
        out = tmp_path / "tree.json"
        subprocess.run(
            [exe, "record", "--subprocesses", "--pid", str(wrapper), "--duration", "2", "--rate", "50",
             "--format", "speedscope", "--output", str(out), "--nonblocking"],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
    clean = stacks.sanitize(json.loads(out.read_text()), paths=PathMap.here(ROOT))
    counts = samples_by_thread(stacks.parse(clean), threads="^worker-")
    assert counts.get("worker-0", 0) > max(counts.get(f"worker-{n}", 0) for n in (1, 2, 3))
    processes = {f["name"] for f in clean["shared"]["frames"] if f["name"].startswith("process")}
    assert "process worker-0" in {p.split(":")[0] for p in processes}  # (an unsampled process: "process")
    assert not any(str(wrapper) in p for p in processes), processes  # PIDs replaced by names


def test_a_dump_of_the_tree_publishes_no_pid_or_home_path(tmp_path: Path) -> None:
    """The real `py-spy dump --subprocesses` text (PIDs, the interpreter's path, `~/` for a home folder),
    as the command kind publishes it."""
    exe = pyspy.find()
    with _tree() as (_wrapper, python):
        dumped = subprocess.run(
            [exe, "dump", "--subprocesses", "--pid", str(python)], capture_output=True, text=True, timeout=60
        )
    assert dumped.returncode == 0, dumped.stderr
    assert f"Process {python}" in dumped.stdout  # what there is to replace
    text = sanitize_text(dumped.stdout, root=ROOT)
    assert "Process <pid>" in text and "worker-3" in text
    assert str(python) not in text and not re.search(r"Process \d", text), text
    assert not re.search(r"Thread \d{3,}", text), text  # thread ids numbered 1, 2, ... (Linux ids: PIDs)
    assert "~/" not in text and str(Path.home()) + "/" not in text
    published = tmp_path / "tree_dump.txt"
    published.write_text(text, encoding="utf-8")
    assert privacy.scan([published], root=ROOT) == []


def _workers_of(copy: Path) -> list[int]:
    """Live processes whose working directory is the copy's job_pool folder: the wrapper's Pythons."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cwd == str(copy / "labs" / "job_pool") and state != "Z":
            found.append(int(entry.name))
    return found


def _recording(copy: Path) -> bool:
    return any(
        "py-spy" in cmd.split()[0] and " record " in cmd and "--subprocesses" in cmd
        for _pid, cmd in processes_mentioning(str(copy))
    )


def _copy(tmp_path: Path, *, tied: bool) -> Path:
    copy = copy_repo(tmp_path / "repo")
    program = copy / "labs/job_pool/jobs.py"
    text = program.read_text(encoding="utf-8")
    ready = 'with {WORKERS} workers", flush=True)\n'
    assert ready in text, "the service's ready line changed; update this test"
    # quiet after the ready line: a print into the killed toolkit's pipe would end the service by itself
    program.write_text(text.replace(ready, f'{ready}        sys.stdout = open(os.devnull, "w")\n'))
    if not tied:  # the protection switched off, to see what it prevents
        reaper = copy / "scripts/labkit/reaper.py"
        text = reaper.read_text(encoding="utf-8")
        assert "\nENABLED = True" in text
        reaper.write_text(text.replace("\nENABLED = True", "\nENABLED = False"), encoding="utf-8")
    return copy


def _kill_9_mid_recording(copy: Path) -> list[int]:
    """Start the lab, kill -9 the toolkit while py-spy records the tree; the workers left after 5 s."""
    proc = subprocess.Popen(
        labkit_argv(copy, "assets", "--lab", "lab-4", "--force", "--quick"),
        cwd=copy, env=labkit_env(copy), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: len(_workers_of(copy)) >= 5, timeout=60, what="the dispatcher and its workers", proc=proc
        )
        wait_for(lambda: _recording(copy), timeout=60, what="py-spy to record the tree", proc=proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while _workers_of(copy) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _workers_of(copy)
    for pid in left:  # never leave them to the rest of the suite
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.parametrize("tied", [True, False], ids=["ties-on", "ties-off"])
def test_kill_9_of_the_toolkit_leaves_no_worker(tmp_path: Path, tied: bool) -> None:
    """With the ties on, no worker outlives the toolkit; with them off (the test is not vacuous), the
    wrapper's grandchildren do."""
    need(
        sys.platform.startswith("linux"),
        "the toolkit's ties (a parent-death signal, a subreaper) are Linux's",
    )
    left = _kill_9_mid_recording(_copy(tmp_path, tied=tied))
    if tied:
        assert not left, f"workers left behind: {left}"
    else:
        assert left, "without the ties the workers should have survived: the test would prove nothing"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy with Lab 4 as its only lab: the grade's exit code then speaks for Lab 4 alone."""
    copy = copy_repo(tmp_path_factory.mktemp("grade4") / "repo")
    for other in (copy / "labs").glob("lab-*.yml"):
        if other.name != "lab-4.yml":
            other.unlink()
    return copy


def _grade(copy: Path, body: str | None) -> tuple[int, dict[str, str], str]:
    """`make grade-4` in the copy with ``body`` as choose_worker's (None: the exercise unchanged)."""
    mine = copy / "exercises/lab-4/routing.py"
    mine.parent.mkdir(parents=True, exist_ok=True)
    text = (copy / "labs/starter/lab-4/routing.py").read_text(encoding="utf-8")
    if body is not None:
        text = text.replace("    return customer % workers\n", body)
    mine.write_text(text, encoding="utf-8")
    run = labkit(copy, "grade", "lab-4", timeout=240)
    record = json.loads((copy / "out/lab-4/grade.json").read_text(encoding="utf-8"))
    return run.returncode, {c["id"]: c["verdict"] for c in record["checks"]}, run.output


def test_grade_fails_the_unchanged_exercise(graded: Path) -> None:
    code, verdicts, _ = _grade(graded, None)
    assert code != 0
    assert verdicts["correct"] == "holds"  # slow, but every job done right
    assert verdicts["even"] == "fails"  # one worker holds the samples: decided from py-spy's recording


def test_grade_passes_a_fix_and_fails_a_route_out_of_range(graded: Path) -> None:
    code, verdicts, output = _grade(graded, "    return job % workers\n")
    assert (code, verdicts) == (0, {"correct": "holds", "throughput": "holds", "even": "holds"}), output
    code, verdicts, _ = _grade(graded, "    return workers\n")
    assert code != 0 and verdicts["correct"] != "holds"
    # The service stops at the first job: the other checks' routing hints would mislead, so they point back.
    checks = json.loads((graded / "out/lab-4/grade.json").read_text(encoding="utf-8"))["checks"]
    hints = {c["id"]: c["hint"] for c in checks}
    grader = lab_module(FOLDER, "grader", prefix="lab4")
    assert hints["throughput"] == hints["even"] == grader.STOPPED, hints
    assert hints["correct"] != grader.STOPPED


def test_grade_explains_a_refused_py_spy_with_its_remedy(graded: Path, tmp_path: Path) -> None:
    """py-spy refusing to read the service (here its macOS message, from a stand-in that prints it) is no
    routing mistake: the grader names the refusal and the remedy, not the routing hint."""
    refusing = tmp_path / "py-spy"
    refusing.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && { echo "py-spy 0.4.3"; exit 0; }\n'
        'echo "This program requires root on OSX." >&2\nexit 1\n',
        encoding="utf-8",
    )
    refusing.chmod(0o755)
    mine = graded / "exercises/lab-4/routing.py"
    mine.parent.mkdir(parents=True, exist_ok=True)
    text = (graded / "labs/starter/lab-4/routing.py").read_text(encoding="utf-8")
    mine.write_text(
        text.replace("    return customer % workers\n", "    return job % workers\n"), encoding="utf-8"
    )
    run = labkit(graded, "grade", "lab-4", env={"LABKIT_PY_SPY": str(refusing)}, timeout=240)
    record = json.loads((graded / "out/lab-4/grade.json").read_text(encoding="utf-8"))
    even = next(c for c in record["checks"] if c["id"] == "even")
    assert run.returncode != 0 and even["verdict"] == "fails", run.output
    assert "requires root on OSX" in even["measured"], even
    assert even["hint"].startswith("py-spy may not read your service here, whatever your routing."), even
    assert ("Remedies" if os.geteuid() == 0 else "sudo make grade-4") in even["hint"], even


def test_grade_counts_a_worker_busy_only_in_checksum() -> None:
    """Where py-spy cannot tell idle threads (FreeBSD; i686 or --nonblocking before Python 3.11) each worker
    is sampled at every instant, blocked or not: the grader's evenness must come from the samples in
    checksum, or every pool would pass."""
    grader = lab_module(FOLDER, "grader", prefix="lab4")
    frames = [
        {"name": "Queue.get", "file": "q.py", "line": 1},
        {"name": "checksum", "file": "jobs.py", "line": 2},
    ]
    profiles = [
        {"type": "sampled", "name": f'Process {n} Thread {n} "{name}"', "unit": "seconds", "startValue": 0,
         "endValue": 1, "samples": [[0, 1]] * busy + [[0]] * (100 - busy), "weights": [1] * 100}
        for n, (name, busy) in enumerate(zip(grader.WORKERS, (90, 5, 5, 5), strict=True), start=10)
    ]  # fmt: skip
    check = grader.check_even(
        {"shared": {"frames": frames}, "profiles": profiles}, {"than": 0.5, "hint": "h"}, root=ROOT
    )
    assert (check.value, check.verdict) == (round(5 / 90, 4), "fails")
