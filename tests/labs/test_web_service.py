"""Mirrors labs/web_service/service.py: real processes on 127.0.0.1, always stopped afterwards."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import ROOT

SERVICE = ROOT / "labs" / "web_service" / "service.py"
READY = re.compile(r"web service \((slow|fixed)\) listening on http://127\.0\.0\.1:(\d+) with (\d+) workers")


def load_service_module() -> ModuleType:
    """Import the service under its own name (Lab 1 has a ``service`` module too)."""
    spec = importlib.util.spec_from_file_location("lab_web_service", SERVICE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lab_web_service"] = module
    spec.loader.exec_module(module)
    return module


web = load_service_module()


class Running:
    """A service process whose output goes to a log file (never an undrained pipe)."""

    def __init__(self, log: Path, *args: str) -> None:
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(SERVICE), "--port", "0", *args],
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 15
        while True:
            found = READY.search(log.read_text())
            if found:
                self.variant, self.port, self.workers = found[1], int(found[2]), int(found[3])
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the service did not start:\n{log.read_text()}")
            time.sleep(0.05)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.handle.close()
        return self.process.returncode


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Running]]:
    folder = tmp_path_factory.mktemp("web_service")
    started: dict[str, Running] = {}
    try:
        started["slow"] = Running(folder / "slow.log")
        started["fixed"] = Running(folder / "fixed.log", "--fixed")
        yield started
    finally:
        for running in started.values():
            running.stop()


def test_ready_line_names_the_variant_the_port_and_the_workers(services: dict[str, Running]) -> None:
    for variant, running in services.items():
        assert running.variant == variant
        assert running.port > 0
        assert running.workers == 8
        assert running.log.read_text().count("\n") == 1, "one line, and no access log"


@pytest.mark.parametrize("variant", ["slow", "fixed"])
@pytest.mark.parametrize("path", ["/health", "/cpu", "/locked"])
def test_endpoints_answer_json(services: dict[str, Running], variant: str, path: str) -> None:
    status, body = services[variant].get(path)
    assert status == 200
    assert json.loads(body)["endpoint"] == path.strip("/")


def test_slow_and_fixed_give_the_same_answers(services: dict[str, Running]) -> None:
    for path in ("/health", "/cpu", "/locked", "/cpu?x=1"):
        assert services["slow"].get(path) == services["fixed"].get(path)


def test_unknown_path_is_404(services: dict[str, Running]) -> None:
    status, body = services["slow"].get("/nope")
    assert status == 404
    assert json.loads(body) == {"endpoint": "not found", "result": "/nope"}


def test_no_access_log_after_requests(services: dict[str, Running]) -> None:
    for _ in range(3):
        services["fixed"].get("/health")
    assert services["fixed"].log.read_text().count("\n") == 1


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stops_cleanly_on_a_signal_even_with_requests_in_flight(tmp_path: Path, signum: int) -> None:
    running = Running(tmp_path / "service.log")
    try:
        callers = [threading.Thread(target=running.get, args=("/locked",), daemon=True) for _ in range(4)]
        for caller in callers:
            caller.start()
        time.sleep(0.03)
    finally:
        code = running.stop(signum)
    assert code == 0
    assert "web service (slow) stopped" in running.log.read_text()
    assert "Traceback" not in running.log.read_text()


def test_busy_port_is_a_clear_error(services: dict[str, Running]) -> None:
    done = subprocess.run(
        [sys.executable, str(SERVICE), "--port", str(services["slow"].port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "cannot listen on 127.0.0.1" in done.stderr


@pytest.mark.parametrize("args", [["--port", "-1"], ["--port", "70000"], ["--workers", "0"]])
def test_rejects_bad_arguments(args: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        web.parse_args(args)
    assert stopped.value.code == 2


# --- in-process: the pool, the thread names, the lock -------------------------------------------------


@pytest.fixture
def in_process() -> Iterator[Any]:
    server = web.WorkerPoolServer(0, workers=3)
    accept = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    accept.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        accept.join(timeout=5)


def test_listens_on_loopback_only(in_process: Any) -> None:
    assert in_process.server_address[0] == "127.0.0.1"


def test_requests_are_served_by_the_named_worker_pool(
    in_process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real = web.cpu_work

    def recording(iterations: int) -> int:
        seen.append(threading.current_thread().name)
        return int(real(iterations))

    monkeypatch.setattr(web, "cpu_work", recording)
    port = in_process.port
    for _ in range(6):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/cpu", timeout=10) as response:
            assert response.status == 200
    assert seen and set(seen) <= {"worker-1", "worker-2", "worker-3"}
    names = {thread.name for thread in threading.enumerate()}
    assert {"worker-1", "worker-2", "worker-3"} <= names
    assert not any("process_request_thread" in name for name in names)


@pytest.mark.parametrize(
    ("update", "held"), [("update_shared_state", True), ("update_shared_state_fixed", False)]
)
def test_only_the_slow_version_writes_while_holding_the_lock(
    monkeypatch: pytest.MonkeyPatch, update: str, held: bool
) -> None:
    state = web.SharedState()
    lock_held: list[bool] = []
    monkeypatch.setattr(web, "write_record", lambda value: lock_held.append(state.lock.locked()))
    getattr(web, update)(state, 7)
    assert lock_held == [held]
    assert (state.count, state.total) == (1, 7)


@pytest.mark.parametrize("update", ["update_shared_state", "update_shared_state_fixed"])
def test_shared_state_stays_exact_under_concurrency(monkeypatch: pytest.MonkeyPatch, update: str) -> None:
    monkeypatch.setattr(web, "RECORD_SECONDS", 0.0005)
    state = web.SharedState()

    def many() -> None:
        for value in range(25):
            getattr(web, update)(state, value)

    threads = [threading.Thread(target=many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert state.count == 8 * 25
    assert state.total == 8 * sum(range(25))


def test_cpu_work_is_deterministic_arithmetic() -> None:
    total = 0
    for i in range(10):
        total = (total * 31 + i * i) % 1_000_003
    assert web.cpu_work(10) == total
    assert web.cpu_work(0) == 0
    assert web.cpu_work(2_000) == web.cpu_work(2_000)


# --- what a profiler sees --------------------------------------------------------------------------------


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("py-spy is missing (CI=true: it must be installed)")
        pytest.skip("py-spy is not installed")
    return found


def test_py_spy_dump_shows_main_thread_and_named_workers(services: dict[str, Running]) -> None:
    running = services["slow"]
    done = subprocess.run(
        [py_spy(), "dump", "--pid", str(running.process.pid), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0 and "ermission" in done.stderr:
        pytest.skip(f"py-spy may not attach here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    names = {thread["thread_name"] for thread in json.loads(done.stdout)}
    assert names == {"MainThread"} | {f"worker-{n}" for n in range(1, 9)}
