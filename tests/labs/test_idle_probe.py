"""The idle probe's count of what py-spy kept, per kind of thread (no py-spy needed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("idle_probe", ROOT / "labs" / "idle_probe" / "idle_probe.py")
assert SPEC is not None and SPEC.loader is not None
probe = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(probe)

RAW = (
    "thread (3646): spinner;Thread._bootstrap (threading.py:1002);Thread.run (threading.py:982);"
    "Spinner.wait (threading.py:5) 49\n"
    "thread (3647): waiter-1;Thread._bootstrap (threading.py:1002);waiter (target.py:9);"
    "Condition.wait (threading.py:327) 3\n"
    "thread (3648): waiter-2;Thread._bootstrap (threading.py:1002);waiter (target.py:9);"
    "Condition.wait (threading.py:327) 4\n"
    "thread (3640): MainThread;<module> (target.py:17) 7\n"
)


def test_counts_each_kind_by_thread_name() -> None:
    assert probe.count_samples(RAW) == {"spinner": 49, "waiter": 7}


def test_frames_named_like_a_kind_do_not_count() -> None:
    # the main thread's frames name the waiter function; only the thread's own name decides
    raw = "thread (3640): MainThread;waiter (target.py:9);spinner_setup (target.py:3) 5\n"
    assert probe.count_samples(raw) == {"spinner": 0, "waiter": 0}


def test_no_samples_count_zero() -> None:
    assert probe.count_samples("") == {"spinner": 0, "waiter": 0}
