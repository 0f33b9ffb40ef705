"""Lab 2 end to end: a QUICK run, Ctrl-C at several moments, and a claim that fails without its protection.

Lab 2 keeps a web service (and a background load) running across steps while py-spy
dumps, tops and records it. Everything runs in a temporary copy of the repository.
py-spy's `dump` and `top` command lines name the service only by PID (never the
copy's path), so the Ctrl-C test also looks for py-spy processes by the service's PIDs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from labkit import privacy

from tests.helpers import (
    QUICK,
    assert_no_process_left,
    copy_repo,
    hash_tree,
    labkit,
    labkit_argv,
    labkit_env,
    processes_mentioning,
    wait_for,
)

LAB2 = "lab-2"
LAB2_DIR = Path("docs/labs/lab-2")
QUICK_LAB2 = QUICK / LAB2_DIR  # where a QUICK run writes what it would publish (never docs/)
LAB2_DATA = QUICK_LAB2 / "data"
MANIFEST = Path("labs/lab-2.yml")
WORK = Path(".labs/work/lab-2")
SERVICE = Path("labs/web_service/service.py")
LOAD = Path("labs/load/load.py")
# The claims that only the lock in the slow service can make hold.
LOCK_CLAIMS = ("idle_lock_majority", "fix_cuts_p95")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~<>-])/(?:[A-Za-z_][\w.-]*/)+")


def _step(copy: Path, step_id: str) -> dict[str, object]:
    manifest = yaml.safe_load((copy / MANIFEST).read_text(encoding="utf-8"))
    (step,) = [s for s in manifest["steps"] if s["id"] == step_id]
    return dict(step)


def _services(copy: Path) -> list[int]:
    return [pid for pid, _ in processes_mentioning(str(copy / SERVICE))]


def _spies_on(pids: set[int]) -> list[tuple[int, str]]:
    """Live py-spy processes (dump, top or record) whose command line targets one of ``pids``."""
    found = []
    for pid, cmd in processes_mentioning("py-spy"):
        match = re.search(r"--pid\s+(\d+)\b", cmd)
        if match and int(match.group(1)) in pids:
            found.append((pid, cmd))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------------
# 1. A QUICK run (one measured copy for every test that only reads it)


@pytest.fixture(scope="module")
def lab2_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the repository with a fresh QUICK run of Lab 2 in it, and the run's output. Read only."""
    copy = copy_repo(tmp_path_factory.mktemp("lab2") / "repo")
    run = labkit(copy, "assets", "--lab", LAB2, "--quick", "--force")
    assert run.returncode == 0, str(run)
    assert "Traceback" not in run.output, str(run)
    assert_no_process_left(copy)
    return copy, run.output


@pytest.fixture(scope="module")
def lab2_results(lab2_copy: tuple[Path, str]) -> dict[str, object]:
    copy, _ = lab2_copy
    return dict(json.loads((copy / LAB2_DATA / "results.json").read_text(encoding="utf-8")))


def test_quick_run_is_marked_quick_and_leaves_nothing_running(
    lab2_copy: tuple[Path, str], lab2_results: dict[str, object]
) -> None:
    copy, _ = lab2_copy
    assert lab2_results["quick"] is True
    assert not (copy / QUICK_LAB2 / "data.new").exists()
    assert not (copy / QUICK_LAB2 / "data.old").exists()
    assert_no_process_left(copy)


def test_dump_names_the_main_thread_and_every_worker(lab2_copy: tuple[Path, str], lab2_results: dict) -> None:
    copy, _ = lab2_copy
    dump = lab2_results["dumps"]["dump"]
    names = {thread["thread_name"] for thread in dump["threads"]}
    expected = {"MainThread", *(f"worker-{i}" for i in range(1, 9))}
    assert expected <= names, f"thread names in the dump: {sorted(map(str, names))}"
    for kind in ("text", "json"):
        assert (copy / LAB2_DATA / dump["files"][kind]).is_file()
    text = (copy / LAB2_DATA / dump["files"]["text"]).read_text(encoding="utf-8")
    assert "worker-1" in text and "MainThread" in text, text


def test_top_screen_is_plain_text_without_pid_or_absolute_paths(
    lab2_copy: tuple[Path, str], lab2_results: dict
) -> None:
    copy, output = lab2_copy
    top = lab2_results["tops"]["top"]
    text = (copy / LAB2_DATA / top["files"]["text"]).read_text(encoding="utf-8")
    assert "%Own" in text, text
    assert "\x1b" not in text, "escape sequences left in the top screen"
    assert (copy / LAB2_DATA / top["files"]["svg"]).read_text(encoding="utf-8").lstrip().startswith("<svg")
    pids = set(re.findall(r"\bPID (\d+)\b", output))
    assert pids, f"the run's output names no PID to look for:\n{output}"
    for pid in pids:
        assert not re.search(rf"\b{pid}\b", text), f"the service's PID {pid} is in the top screen:\n{text}"
    assert not re.search(r"\b(?:pid|PID)\b:?\s*\d", text), text
    assert str(copy) not in text, text
    assert not _ABSOLUTE_PATH.search(text), f"an absolute path in the top screen:\n{text}"


@pytest.mark.parametrize("profile", ["default", "idle", "gil"])
def test_profiles_exist_and_count_their_threads_samples(
    lab2_copy: tuple[Path, str], lab2_results: dict, profile: str
) -> None:
    copy, _ = lab2_copy
    entry = lab2_results["profiles"][profile]
    assert entry["method"] == "pid"
    assert entry["threads_filter"] == "^worker-"
    assert 0 < entry["share_samples"] <= entry["samples"], entry
    for name in entry["files"].values():
        assert (copy / LAB2_DATA / name).is_file(), name


@pytest.mark.parametrize("load", ["slow_latency", "fixed_latency"])
def test_latency_loads_report_p95(lab2_results: dict, load: str) -> None:
    p95 = lab2_results["loads"][load]["result"]["summary"]["all"]["p95_ms"]
    assert 0 < p95["min"] <= p95["median"] <= p95["max"], p95


def test_quick_results_pass_check(lab2_copy: tuple[Path, str]) -> None:
    copy, _ = lab2_copy
    run = labkit(copy, "check", "--lab", LAB2, "--quick")
    assert run.returncode == 0, str(run)


def test_published_lab2_files_leak_nothing(lab2_copy: tuple[Path, str]) -> None:
    copy, _ = lab2_copy
    files = privacy.tree(copy / QUICK_LAB2)
    assert any(f.name == "results.json" for f in files) and any(f.suffix == ".svg" for f in files)
    assert privacy.scan(files, root=copy) == []


# ---------------------------------------------------------------------------------------------------
# 2. Ctrl-C at several moments


def _ready_printed(copy: Path) -> Callable[[], bool]:
    ready = re.compile(str(_step(copy, "web")["ready"]))

    def check() -> bool:
        try:
            return bool(ready.search((copy / WORK / "web.log").read_text(encoding="utf-8", errors="replace")))
        except OSError:
            return False

    return check


def _exists(copy: Path, name: str) -> Callable[[], bool]:
    return lambda: (copy / WORK / name).exists()


MOMENTS = {
    # moment: what is going on when the signal goes
    "service_ready": "the service printed its ready line",
    "dump_top_under_load": "py-spy top runs while the background load runs",
    "profiling": "py-spy records the service",
    "latency_load": "the latency load runs",
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_ctrl_c_leaves_no_server_load_or_py_spy(tmp_path: Path, moment: str) -> None:
    copy = copy_repo(tmp_path / "repo")
    before = hash_tree(copy / LAB2_DIR)
    proc = subprocess.Popen(
        labkit_argv(copy, "assets", "--lab", LAB2, "--quick", "--force"),
        cwd=copy,
        env=labkit_env(copy),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen_services: set[int] = set()
    seen_spies: list[tuple[int, str]] = []
    try:
        try:
            if moment == "service_ready":
                wait_for(_ready_printed(copy), timeout=60, what=MOMENTS[moment], proc=proc)
            elif moment == "dump_top_under_load":
                wait_for(_exists(copy, "top.log"), timeout=60, what="py-spy top to start", proc=proc)
            elif moment == "profiling":
                wait_for(_exists(copy, "default.py-spy.log"), timeout=90, what="py-spy record", proc=proc)
            else:
                wait_for(_exists(copy, "slow_latency.log"), timeout=120, what="the latency load", proc=proc)
            seen_services.update(_services(copy))
            loads = [cmd for _, cmd in processes_mentioning(str(copy / LOAD))]
            if moment in ("dump_top_under_load", "profiling"):  # its log is opened before py-spy execs
                what = f"py-spy on the service ({MOMENTS[moment]})"
                seen_spies = wait_for(lambda: _spies_on(seen_services), timeout=10, what=what, proc=proc)
            os.kill(proc.pid, signal.SIGINT)  # the toolkit only: its children run in their own sessions
            output, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert seen_services, f"no service was running at the moment ({MOMENTS[moment]})"
        if moment == "dump_top_under_load":
            assert any("--mix" in cmd for cmd in loads), f"the background load was not running: {loads}"
        if moment == "latency_load":
            assert any("/locked " in cmd for cmd in loads), f"the latency load was not running: {loads}"
        if moment in ("dump_top_under_load", "profiling"):
            # Not vacuous: py-spy was on the service when the signal went.
            assert seen_spies, f"no py-spy on {seen_services} at the moment ({MOMENTS[moment]}):\n{output}"
        assert proc.returncode == 130, f"exit {proc.returncode}:\n{output}"
        assert "Traceback" not in output, output
        seen_services.update(int(p) for p in re.findall(r"\bPID (\d+)\b", output))
        left = processes_mentioning(str(copy))  # counted at once: the toolkit has exited
        spies = _spies_on(seen_services)
        assert not left, f"processes from the copy outlived the toolkit: {left}"
        assert not spies, f"py-spy outlived the toolkit: {spies}"
        assert not [pid for pid, _ in seen_spies if _alive(pid)], f"py-spy outlived the toolkit: {seen_spies}"
        assert not [pid for pid in seen_services if _alive(pid)], "a service outlived the toolkit"
    finally:  # whatever failed above, leave nothing running for the rest of the suite
        for pid, _ in _spies_on(seen_services):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert_no_process_left(copy)
    assert hash_tree(copy / LAB2_DIR) == before, "docs/labs/lab-2 changed after Ctrl-C"
    assert not (copy / LAB2_DIR / "data.new").exists()


# ---------------------------------------------------------------------------------------------------
# 3. The protection removed: the "slow" run measures the fixed service


@pytest.mark.full
def test_lock_claims_fail_when_the_slow_run_uses_the_fixed_service(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    manifest = copy / MANIFEST
    text = manifest.read_text(encoding="utf-8")
    old = 'command: [labs/web_service/service.py, --port, "0"]\n'
    assert text.count(old) == 1, f"{MANIFEST} no longer holds {old!r}; update this test"
    manifest.write_text(text.replace(old, old.replace('"0"]', '"0", --fixed]')), encoding="utf-8")
    assert "--fixed" in _step(copy, "web")["command"]  # type: ignore[operator]
    before = hash_tree(copy / LAB2_DIR)

    run = labkit(copy, "assets", "--lab", LAB2, timeout=900)  # FULL: claims are judged

    assert run.returncode != 0, str(run)
    assert "Traceback" not in run.output, str(run)
    flat = run.flat
    reported = {part.split("'", 1)[0]: part for part in flat.split("claim '")[1:]}  # claim id → its message
    named = [
        claim
        for claim in LOCK_CLAIMS
        if re.search(
            r"expected to hold but (it )?(is )?(does not hold|fails|undecided)", reported.get(claim) or ""
        )
    ]
    assert named, f"no claim about the lock reported as failing or undecided:\n{run}"
    assert hash_tree(copy / LAB2_DIR) == before, "docs/labs/lab-2 changed although the claims failed"
    assert not (copy / LAB2_DIR / "data.new").exists()
    assert_no_process_left(copy)
