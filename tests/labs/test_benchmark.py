"""Mirrors labs/benchmark/bench.py: correctness first, then R timings per finder, none dropped."""

from __future__ import annotations

import json
from pathlib import Path

import bench
import pytest


def test_writes_raw_per_call_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--n", "120", "--repeats", "3", "--seed", "2", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["n"] == 120 and result["repeats"] == 3 and result["same_result"] is True
    for name in ("slow", "fast"):
        assert len(result["times_s"][name]) == 3
        assert all(t > 0 for t in result["times_s"][name])
        assert result["number"][name] >= 1
    printed = capsys.readouterr().out
    assert "both finders agree" in printed and "speedup" in printed


def test_data_is_reproducible_from_the_seed() -> None:
    first = bench.make_data(n=50, max_value=10, seed=4)
    assert first == bench.make_data(n=50, max_value=10, seed=4)
    assert first != bench.make_data(n=50, max_value=10, seed=5)
    assert all(0 <= v <= 10 for v in first)


def test_refuses_to_time_finders_that_disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "find_duplicates_fast", lambda values: set())
    with pytest.raises(SystemExit, match="disagree"):
        bench.run(n=200, max_value=20, repeats=1, seed=1)


def test_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        bench.main(["--repeats", "0"])
    assert stopped.value.code == 2
