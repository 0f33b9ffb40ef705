"""Mirrors labs/benchmark/bench.py: correctness first, then R timings per finder, none dropped."""

from __future__ import annotations

import json
from pathlib import Path

import bench
import pytest


def test_writes_raw_per_call_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    args = ["--n", "120", "--repeats", "3", "--min-time", "0.001", "--seed", "2", "--json", str(out)]
    assert bench.main(args) == 0
    result = json.loads(out.read_text())
    assert result["repeats"] == 3 and result["min_time_s"] == 0.001
    (point,) = result["points"]
    assert point["n"] == 120 and point["max_value"] == 60 and point["same_result"] is True
    for name in ("slow", "fast"):
        assert len(point["times_s"][name]) == 3
        assert all(t > 0 for t in point["times_s"][name])
        assert point["number"][name] >= 1
    printed = capsys.readouterr().out
    assert "both finders agree" in printed and "speedup" in printed


def test_times_every_size_in_order(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--sizes", "80,20,40", "--repeats", "2", "--min-time", "0.001", "--json", str(out)]
    assert bench.main(args) == 0
    points = json.loads(out.read_text())["points"]
    assert [p["n"] for p in points] == [20, 40, 80]
    assert all(len(p["times_s"]["slow"]) == 2 for p in points)


def test_calls_per_timing_follows_autoranges_rule() -> None:
    calls: list[int] = []

    def timer(inputs: list[list[int]]) -> float:  # each call "lasts" a millisecond
        calls.append(len(inputs))
        return len(inputs) * 0.001

    inputs = bench.Inputs(n=10, seed=1)
    assert bench.calls_per_timing(timer, inputs, min_time=0.015) == 20
    assert calls == [1, 2, 5, 10, 20]
    assert bench.calls_per_timing(timer, inputs, min_time=0.015, first=0.02) == 1
    assert calls == [1, 2, 5, 10, 20], "a long enough first call needs no more probing"


def test_data_is_reproducible_from_the_seed() -> None:
    first = bench.make_data(n=50, seed=4)
    assert first == bench.make_data(n=50, seed=4)
    assert first != bench.make_data(n=50, seed=5)
    assert all(0 <= v <= 25 for v in first)


def test_refuses_to_time_finders_that_disagree() -> None:
    with pytest.raises(SystemExit, match="disagree"):
        bench.run(sizes=[200], repeats=1, min_time=0.001, seed=1, fast=lambda values: set())


def test_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        bench.main(["--repeats", "0"])
    assert stopped.value.code == 2
