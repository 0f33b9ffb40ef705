"""Mirrors labs/load/load.py: loopback only, bounded in requests and time, percentiles that are right."""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import ROOT

LOAD = ROOT / "labs" / "load" / "load.py"
SERVICE = ROOT / "labs" / "web_service" / "service.py"
READY = re.compile(r"listening on http://127\.0\.0\.1:(\d+) with")


def load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lab_load", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lab_load"] = module
    spec.loader.exec_module(module)
    return module


load = load_module()


# --- percentiles -------------------------------------------------------------------------------------------


def test_percentile_by_hand() -> None:
    values = [40.0, 10.0, 30.0, 20.0]  # unsorted on purpose
    assert load.percentile(values, 0) == 10.0
    assert load.percentile(values, 100) == 40.0
    assert load.percentile(values, 50) == 25.0  # halfway between 20 and 30
    assert load.percentile(values, 95) == pytest.approx(38.5)  # rank 2.85: 30 + 0.85 * 10
    assert load.percentile([7.0], 99) == 7.0
    assert load.percentile([], 50) is None
    assert load.percentile(list(map(float, range(1, 101))), 99) == pytest.approx(99.01)


@pytest.mark.parametrize("p", [-1, 100.5])
def test_percentile_rejects_out_of_range(p: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.100"):
        load.percentile([1.0, 2.0], p)


@settings(deadline=None, max_examples=200)
@given(
    st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=300),
    st.floats(min_value=0, max_value=100),
)
def test_percentile_matches_numpy(values: list[float], p: float) -> None:
    assert load.percentile(values, p) == pytest.approx(float(np.percentile(values, p)), rel=1e-9, abs=1e-9)


@settings(deadline=None, max_examples=100)
@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=2, max_size=200))
def test_percentile_matches_statistics_inclusive(values: list[float]) -> None:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    for p in (50, 95, 99):
        assert load.percentile(values, p) == pytest.approx(cuts[p - 1], rel=1e-9, abs=1e-9)


def test_spread_ignores_missing_values() -> None:
    assert load.spread([3.0, None, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0}
    assert load.spread([None]) == {"min": None, "median": None, "max": None}


# --- targets and options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/locked", ("127.0.0.1", 8000, "/locked")),
        ("http://localhost:9/cpu?x=1", ("127.0.0.1", 9, "/cpu?x=1")),
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000, "/")),
    ],
)
def test_accepts_loopback(url: str, expected: tuple[str, int, str]) -> None:
    assert load.loopback_target(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "http://10.0.0.1:8000/",
        "http://0.0.0.0:8000/",
        "http://[::1]:8000/",
        "https://127.0.0.1:8000/",
        "http://127.0.0.1.example.com/",
        "http://127.0.0.1:notaport/",
        "127.0.0.1:8000",
    ],
)
def test_refuses_anything_but_loopback_before_sending(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("no request may be sent")

    monkeypatch.setattr(load, "run", never)
    with pytest.raises(SystemExit) as stopped:
        load.main(["--url", url, "--requests", "1"])
    assert stopped.value.code == 2
    assert re.search(r"127\.0\.0\.1 only|only http://|bad port", capsys.readouterr().err)


def test_parse_mix() -> None:
    assert load.parse_mix("/locked=6,/cpu=2") == [("/locked", 6), ("/cpu", 2)]
    assert load.parse_mix(" /health=1 ") == [("/health", 1)]


@pytest.mark.parametrize("text", ["locked=6", "/locked", "/locked=0", "/locked=x", "/a=1,/a=2", ""])
def test_parse_mix_rejects(text: str) -> None:
    with pytest.raises(load.LoadError):
        load.parse_mix(text)


@pytest.mark.parametrize(
    "args",
    [
        ["--requests", "0"],
        ["--repeats", "0"],
        ["--max-seconds", "0"],
        ["--concurrency", "0"],
        ["--concurrency", "2", "--mix", "/cpu=1"],
    ],
)
def test_rejects_bad_options(args: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        load.parse_args(["--url", "http://127.0.0.1:1/", *args])
    assert stopped.value.code == 2


# --- against the real service -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The slow web service on a free port; its output goes to a log file."""
    log = tmp_path_factory.mktemp("load") / "service.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, str(SERVICE), "--port", "0"], stdout=handle, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 15
            while not (found := READY.search(log.read_text())):
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            yield int(found[1])
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def run_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, str(LOAD), *args, "--json", str(out)], capture_output=True, text=True, timeout=120
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    return done.returncode, report, done.stdout + done.stderr


def test_request_budget_and_report_shape(service: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{service}/health"
    code, report, printed = run_json(
        tmp_path, "--url", url, "--concurrency", "3", "--requests", "40", "--repeats", "2"
    )
    assert code == 0, printed
    assert report["schema"] == "profiling-labs/load/1"
    assert report["target"] == {"host": "127.0.0.1", "port": service}
    assert report["mix"] == [{"path": "/health", "clients": 3}]
    assert report["config"]["requests"] == 40 and report["config"]["repeats"] == 2
    assert len(report["repeats"]) == 2
    for number, repeat in enumerate(report["repeats"], start=1):
        assert repeat["repeat"] == number
        assert repeat["requests"] == 40 and repeat["errors"] == 0
        assert repeat["stopped_by"] == "requests"
        assert len(repeat["latencies_ms"]) == 40
        assert repeat["throughput_rps"] == pytest.approx(40 / repeat["wall_s"])
        for name, p in (("p50", 50), ("p95", 95), ("p99", 99)):
            assert repeat["latency_ms"][name] == pytest.approx(
                load.percentile(repeat["latencies_ms"], p), abs=1e-3
            )
        assert list(repeat["paths"]) == ["/health"]
    summary = report["summary"]["all"]
    for name in ("throughput_rps", "p50_ms", "p95_ms", "p99_ms", "wall_s", "requests", "errors"):
        assert set(summary[name]) == {"min", "median", "max"}
        assert summary[name]["min"] <= summary[name]["median"] <= summary[name]["max"]
    p95s = [r["latency_ms"]["p95"] for r in report["repeats"]]
    assert summary["p95_ms"] == {"min": min(p95s), "median": statistics.median(p95s), "max": max(p95s)}
    assert "repeat 1/2" in printed and "repeat 2/2" in printed and "p95" in printed


def test_time_budget_stops_a_large_request_budget(service: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{service}/locked"
    started = time.monotonic()
    code, report, printed = run_json(
        tmp_path,
        "--url",
        url,
        "--concurrency",
        "3",
        "--requests",
        "1000000",
        "--max-seconds",
        "0.5",
        "--timeout",
        "5",
        "--repeats",
        "1",
    )
    assert code == 0, printed
    (repeat,) = report["repeats"]
    assert repeat["stopped_by"] == "time"
    assert 0 < repeat["requests"] < 1_000_000
    # Bounded: clients start no request after the deadline; one in flight may finish (timeout 5 s).
    assert repeat["wall_s"] < 0.5 + 5
    assert time.monotonic() - started < 60


def test_mix_reports_each_path(service: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{service}"
    code, report, printed = run_json(
        tmp_path, "--url", url, "--mix", "/locked=2,/cpu=1", "--requests", "30", "--repeats", "1"
    )
    assert code == 0, printed
    (repeat,) = report["repeats"]
    assert list(repeat["paths"]) == ["/locked", "/cpu"]
    assert sum(p["requests"] for p in repeat["paths"].values()) == repeat["requests"] == 30
    assert set(report["summary"]["paths"]) == {"/locked", "/cpu"}
    assert "/locked (2 clients)" in printed and "/cpu    (1 clients)" in printed


def test_errors_are_counted_and_no_success_fails(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, report, printed = run_json(
        tmp_path, "--url", f"http://127.0.0.1:{port}/", "--requests", "5", "--repeats", "1"
    )
    assert code == 1
    (repeat,) = report["repeats"]
    assert repeat["requests"] == 0 and repeat["errors"] == 5
    assert repeat["error_kinds"] == {"ConnectionRefusedError": 5}
    assert repeat["latency_ms"] == {"p50": None, "p95": None, "p99": None}
    assert "no request succeeded" in printed


def test_http_errors_count_as_errors(service: int, tmp_path: Path) -> None:
    code, report, _ = run_json(
        tmp_path, "--url", f"http://127.0.0.1:{service}/nope", "--requests", "4", "--repeats", "1"
    )
    assert code == 1
    assert report["repeats"][0]["error_kinds"] == {"HTTP 404": 4}
