"""Named groups of functions (a profile step's `groups:`), claims on them, and the overhead step set
against --native: the parts of the toolkit that Lab 3 added."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from labkit import claims, overhead, pyspy, stacks
from labkit.errors import LabError
from labkit.kinds.overhead.run import measure
from labkit.kinds.profile import derive

from tests.helpers import ROOT, need


def recording() -> stacks.Recording:
    """One thread, ten samples: a Python line over NumPy-like loops whose names carry a CPU suffix."""
    names = ["<module>", "distances", "DOUBLE_subtract_X86_V3", "DOUBLE_square", "0x7f00dead", "dgemm_kernel"]
    frames = tuple(stacks.Frame(name, "x.py", 1) for name in names)
    samples = (
        *[(4, 0, 1, 2)] * 5,  # subtract, innermost, under an address-only root
        *[(0, 1, 3)] * 2,  # square, innermost
        *[(0, 1, 3, 5)] * 1,  # square, then a BLAS routine innermost
        *[(0, 1)] * 2,  # the Python line itself
    )
    return stacks.Recording(frames=frames, threads=(stacks.Thread("Thread 1 (MainThread)", samples),))


def test_groups_count_any_matching_frame_for_total_and_the_innermost_for_self() -> None:
    patterns = {"elementwise": "^DOUBLE_(subtract|square)", "blas": "^dgemm", "unnamed": "^0x[0-9a-f]+$"}
    got = {g["name"]: g for g in stacks.groups(recording(), patterns)}
    assert [got[n]["total_samples"] for n in patterns] == [8, 1, 5]
    assert [got[n]["self_samples"] for n in patterns] == [7, 1, 0]
    assert got["elementwise"]["total_share"] == 0.8 and got["elementwise"]["self_share"] == 0.7
    assert got["elementwise"]["pattern"] == patterns["elementwise"]
    low, high = got["elementwise"]["total_ci"]
    assert low < 0.8 < high  # an interval, never zero width
    assert got["unnamed"]["self_ci"][0] == 0.0 < got["unnamed"]["self_ci"][1]


def test_a_suffix_chosen_for_another_cpu_falls_in_the_same_group() -> None:
    rec = recording()
    other_cpu = stacks.Recording(
        frames=tuple(
            stacks.Frame(f.name.replace("_X86_V3", "_AVX512_SKX"), f.file, f.line) for f in rec.frames
        ),
        threads=rec.threads,
    )
    pattern = {"elementwise": "^DOUBLE_(subtract|square)"}
    assert stacks.groups(other_cpu, pattern) == stacks.groups(rec, pattern)


def test_derive_adds_groups_only_when_a_step_names_them() -> None:
    frames = [{"name": "main", "file": "a.py", "line": 1}, {"name": "DOUBLE_add", "file": "", "line": 0}]
    thread = {"type": "sampled", "name": "Thread 1 (MainThread)", "samples": [[0, 1], [0]], "weights": [1, 1]}
    speedscope = {"shared": {"frames": frames}, "profiles": [thread]}
    plain = derive(step_id="s", title="t", speedscope=speedscope, level=0.95, svg=False)
    assert "groups" not in plain
    grouped = derive(
        step_id="s", title="t", speedscope=speedscope, level=0.95, svg=False, groups={"loops": "^DOUBLE_"}
    )
    assert grouped["groups"][0]["total_samples"] == 1 and grouped["groups"][0]["total_share"] == 0.5


RESULTS: dict[str, Any] = {
    "quick": False,
    "profiles": {
        "native": {
            "samples": 300,
            "ci_level": 0.95,
            "functions": [],
            "groups": [
                {"name": "loops", "pattern": "^DOUBLE_", "self_samples": 240, "total_samples": 255,
                 "self_share": 0.8, "total_share": 0.85, "self_ci": [0.74, 0.85],
                 "total_ci": [0.80, 0.89]},
            ],
        }
    },
}  # fmt: skip


def judge(value: str, op: str, than: Any) -> dict[str, Any]:
    spec = {
        "id": "c",
        "text": "s",
        "value": value,
        "op": op,
        "than": than,
        "expect": "holds",
        "evidence": "measured",
    }
    (out,) = claims.evaluate(copy.deepcopy(RESULTS), [spec], default_page="p.md", defined=lambda _: False)
    return dict(out)


def test_a_groups_share_is_judged_on_its_interval_not_its_point() -> None:
    assert judge("profiles.native.groups.loops.total_share", ">", 0.5)["verdict"] == "holds"
    assert judge("profiles.native.groups.loops.total_share", ">", 0.5)["interval"] == [0.80, 0.89]
    # 0.85 is above 0.82, but the interval reaches down to 0.80: not decided
    assert judge("profiles.native.groups.loops.total_share", ">", 0.82)["verdict"] == "undecided"
    assert judge("profiles.native.groups.loops.self_share", ">=", 0.75)["verdict"] == "undecided"


def native_windows() -> list[dict[str, Any]]:
    return [
        {"round": r, "mode": m, "wall_s": 1.0, "batches": b, "samples": s, "not_runnable": p}
        for r, rows in enumerate(
            [
                [("none", 50, None, 0.0), ("default", 48, 99, 0.02), ("native", 45, 99, 0.06)],
                [("default", 40, 80, 0.01), ("native", 40, 90, 0.05), ("none", 50, None, 0.0)],
            ]
        )
        for m, b, s, p in rows
    ]


def test_native_is_set_against_the_default_in_the_rotation_ratios_rates_and_pauses() -> None:
    assert overhead.rotation(2, "native") == [["none", "default", "native"], ["default", "native", "none"]]
    windows = native_windows()
    ratios = overhead.summarise(windows)
    assert set(ratios) == {"default", "native", "default_vs_native"}
    assert ratios["native"]["values"] == [0.9, 0.8]
    assert overhead.sample_rates(windows)["native"]["values"] == [99.0, 90.0]
    paused = overhead.paused_share(windows)
    assert paused is not None and paused["native"]["values"] == [0.06, 0.05]
    assert paused["default"]["max"] == 0.02
    without_proc = [{**w, "not_runnable": None} for w in windows]
    assert overhead.paused_share(without_proc) is None


def test_old_windows_read_as_nonblocking_and_two_second_modes_are_refused() -> None:
    old = [{**w, "mode": "nonblocking" if w["mode"] == "native" else w["mode"]} for w in native_windows()]
    assert set(overhead.summarise(old)) == {"default", "nonblocking", "default_vs_nonblocking"}
    with pytest.raises(LabError, match="two second modes"):
        overhead.summarise([*native_windows(), *old])
    with pytest.raises(LabError, match="no mode 'gil'"):
        overhead.rotation(1, "gil")


@pytest.mark.skipif(sys.platform != "linux", reason="--native and /proc: Linux")
def test_real_native_windows_on_lab_3s_service(tmp_path: Path) -> None:
    """py-spy really runs with --native in the native windows (its output names NumPy's C loops)."""
    exe = ROOT / ".venv" / "bin" / "py-spy"
    need(os.access(exe, os.X_OK), f"{exe} is missing: run `make venv`")
    argv = [sys.executable, str(ROOT / "labs/native_service/search.py"), "--seed", "1"]
    try:
        result = measure(
            argv=argv, ready="batch 1:", exe=str(exe), cwd=ROOT, work=tmp_path,
            rate=100, window_s=1, rounds=1, say=lambda _: None, against="native",
        )  # fmt: skip
    except pyspy.AttachRefused as refused:
        need(False, f"py-spy may not attach by PID here: {refused}")
        raise
    assert [w["mode"] for w in result["windows"]] == ["none", "default", "native"]
    assert set(result["ratios"]) == {"default", "native", "default_vs_native"}
    raw = (tmp_path / "overhead.raw").read_text()  # the last window's recording: the native one
    assert "DOUBLE_" in raw
