"""labkit.overhead: ratios recomputed from raw windows, the rotation, batch counting, and one real run."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from labkit import overhead, pyspy
from labkit.errors import LabError
from labkit.kinds.overhead.run import measure

from tests.helpers import ROOT, need


def window(number: int, mode: str, batches: int, wall_s: float = 1.0) -> dict[str, Any]:
    return {
        "round": number,
        "mode": mode,
        "wall_s": wall_s,
        "batches": batches,
        "throughput": batches / wall_s,
    }


def live_children() -> set[int]:
    """PIDs of this process's children that are not zombies (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == os.getpid() and state != "Z":
            found.add(int(entry.name))
    return found


def test_rotation_starts_each_round_one_mode_later() -> None:
    assert overhead.rotation(4) == [
        ["none", "default", "nonblocking"],
        ["default", "nonblocking", "none"],
        ["nonblocking", "none", "default"],
        ["none", "default", "nonblocking"],
    ]
    assert overhead.rotation(0) == []


def test_summarise_ratios_per_round_with_min_median_max() -> None:
    windows = [
        *(window(0, m, b) for m, b in (("none", 100), ("default", 90), ("nonblocking", 100))),
        *(window(1, m, b) for m, b in (("default", 80), ("nonblocking", 100), ("none", 100))),
        # round 2 has other wall times: throughput, not the batch count, is compared
        window(2, "nonblocking", 150, 1.5),
        window(2, "none", 200, 2.0),
        window(2, "default", 95, 1.0),
    ]
    ratios = overhead.summarise(windows)
    assert ratios["default"] == {"values": [0.9, 0.8, 0.95], "min": 0.8, "median": 0.9, "max": 0.95}
    assert ratios["nonblocking"]["values"] == [1.0, 1.0, 1.0]
    assert ratios["default_vs_nonblocking"]["values"] == [0.9, 0.8, 0.95]


def test_summarise_orders_by_round_not_by_window_order() -> None:
    windows = [window(1, "none", 100), window(1, "default", 50), window(1, "nonblocking", 100)]
    windows += [window(0, "none", 100), window(0, "default", 70), window(0, "nonblocking", 100)]
    assert overhead.summarise(windows)["default"]["values"] == [0.7, 0.5]


def test_summarise_median_of_an_even_count() -> None:
    windows = [
        window(r, m, 100 if m != "default" else b) for r, b in enumerate((90, 80)) for m in overhead.MODES
    ]
    assert overhead.summarise(windows)["default"]["median"] == pytest.approx(0.85)


def test_summarise_refuses_a_missing_mode_or_an_idle_baseline() -> None:
    with pytest.raises(LabError, match="lacks"):
        overhead.summarise([window(0, "none", 100), window(0, "default", 90)])
    with pytest.raises(LabError, match="no batch"):
        overhead.summarise([window(0, "none", 0), window(0, "default", 9), window(0, "nonblocking", 9)])


def test_count_batches_drops_a_cut_first_line_and_an_unfinished_last_line(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    text = b"fixed service running\nbatch 1: 5 in 0.004 s\nbatch 2: 5 in 0.004 s\nbatch 3: 5 in 0.0"
    log.write_bytes(text)
    assert overhead.count_batches(log, 0, len(text)) == 2
    second = text.index(b"batch 2")
    assert overhead.count_batches(log, second, len(text)) == 1  # starts on a line: kept
    assert overhead.count_batches(log, second + 3, len(text)) == 0  # starts mid-line: dropped
    assert overhead.count_batches(log, 0, second) == 1
    assert overhead.count_batches(log, 0, 0) == 0


def test_a_target_that_does_no_work_is_an_error_and_is_stopped(tmp_path: Path) -> None:
    before = live_children()
    idle = [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"]
    with pytest.raises(LabError, match="no batch"):
        measure(
            argv=idle, ready="ready", exe="/nonexistent/py-spy", cwd=tmp_path, work=tmp_path / "work",
            rate=100, window_s=1, rounds=1, say=lambda _: None,
        )  # fmt: skip
    assert live_children() <= before


def test_real_measurement_on_the_fixed_service(tmp_path: Path) -> None:
    exe = ROOT / ".venv" / "bin" / "py-spy"
    need(os.access(exe, os.X_OK), f"{exe} is missing: run `make venv`")
    before = live_children()
    said: list[str] = []
    argv = [sys.executable, str(ROOT / "labs/slow_service/service.py"), "--fixed", "--seed", "1"]
    try:
        result = measure(
            argv=argv, ready="batch 1:", exe=str(exe), cwd=ROOT, work=tmp_path,
            rate=100, window_s=1, rounds=1, say=said.append,
        )  # fmt: skip
    except pyspy.AttachRefused as refused:
        need(False, f"py-spy may not attach by PID here: {refused}")
        raise
    assert live_children() <= before
    assert result["order"] == [["none", "default", "nonblocking"]]
    assert [w["mode"] for w in result["windows"]] == ["none", "default", "nonblocking"]
    assert all(w["batches"] > 0 and w["throughput"] > 0 and w["wall_s"] > 0 for w in result["windows"])
    assert len(said) == 3
    assert result["ratios"] == overhead.summarise(result["windows"])
    assert all(len(r["values"]) == 1 for r in result["ratios"].values())
    if sys.platform == "linux":  # the default mode stops the target for each sample; --nonblocking does not
        switches = {w["mode"]: w["voluntary_switches"] for w in result["windows"]}
        assert switches["default"] >= 50
        assert switches["nonblocking"] < switches["default"] // 5
        # py-spy's own count of samples: duration × rate − 1 instants, one thread sampled at each
        samples = {w["mode"]: w["samples"] for w in result["windows"]}
        assert samples == {"none": None, "default": 99, "nonblocking": 99}
        stops = overhead.stops_per_sample(result["windows"])
        assert stops is not None
        assert stops["default"]["median"] == round(switches["default"] / 99, 4)


def test_stops_are_divided_by_the_samples_py_spy_took(tmp_path: Path) -> None:
    windows = [
        {"mode": "default", "voluntary_switches": 102, "samples": 99, "wall_s": 0.87},
        {"mode": "nonblocking", "voluntary_switches": 0, "samples": 99, "wall_s": 1.07},
    ]
    stops = overhead.stops_per_sample(windows)
    assert stops is not None
    assert stops["default"]["values"] == [round(102 / 99, 4)]  # not 102 / (100 Hz × 0.87 s)
    assert stops["nonblocking"]["values"] == [0.0]
    raw = tmp_path / "overhead.raw"
    raw.write_text("main (a.py:1);work (a.py:5) 60\nmain (a.py:1);other (a.py:9) 39\n")
    assert overhead.raw_samples(raw) == 99


def test_a_window_without_samples_is_an_error() -> None:
    windows = [
        {"mode": "default", "voluntary_switches": 5, "samples": 0, "wall_s": 1.0},
        {"mode": "nonblocking", "voluntary_switches": 0, "samples": 99, "wall_s": 1.0},
    ]
    with pytest.raises(LabError, match="no samples"):
        overhead.stops_per_sample(windows)
