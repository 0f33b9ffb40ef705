"""labkit.live: the sanitiser on recorded py-spy output, then real `py-spy dump` and `py-spy top`."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labkit import live, privacy, processes, pyspy
from labkit.errors import LabError
from labkit.kinds.dump import summarise_dump_json
from labkit.sanitize import PathMap

from tests.helpers import ROOT, need

PATHS = PathMap(
    root=Path("/srv/repo"), stdlib=("/opt/py/lib/python3.11",), site=("/srv/repo/.venv/lib/site",)
)
ABSOLUTE = re.compile(r"(?<![\w.>])/(?:tmp|home|root|work|srv|opt|usr|Users|var)/")

# Recorded with py-spy 0.4.3 (paths changed to PATHS' fake ones).
DUMP_TEXT = """\
Process 25716: /srv/repo/.venv/bin/python /srv/repo/labs/busy/prog.py --n 3
Python v3.11.7 (/opt/py/bin/python3.11)

Thread 25716 (active+gil): "MainThread"
    spin (prog.py:8)
    <module> (prog.py:13)
Thread 0x7F2A1C3FF640 (idle): "worker"
    nap (/srv/repo/labs/busy/prog.py:4)
    Thread.run (threading.py:982)
"""
DUMP_JSON = [
    {
        "pid": 25716,
        "thread_id": 140462365759168,
        "thread_name": "worker",
        "os_thread_id": 25718,
        "active": False,
        "owns_gil": False,
        "frames": [
            {"name": "nap", "filename": "/srv/repo/labs/busy/prog.py", "module": None, "line": 4},
            {"name": "Thread.run", "filename": "/opt/py/lib/python3.11/threading.py", "line": 982},
        ],
        "process_info": None,
    },
    {
        "pid": 25716,
        "thread_id": 140462377642880,
        "thread_name": "MainThread",
        "os_thread_id": 25716,
        "active": True,
        "owns_gil": True,
        "frames": [{"name": "spin", "filename": "/tmp/x/prog.py", "short_filename": "prog.py", "line": 7}],
        "process_info": {"pid": 25716, "command_line": "/srv/repo/.venv/bin/python /tmp/x/prog.py"},
    },
]
_HEAD = (
    "\r\x1b[2K\x1b[7m  %Own \x1b[0m\x1b[7m  %Total\x1b[0m\x1b[1m\x1b[7m  OwnTime\x1b[0m\x1b[7m  TotalTime"
    "\x1b[0m\x1b[7m  Function (filename)          \x1b[0m\r\n"
)


def _screen(samples: int, footer: bool = True) -> str:
    return (
        "\x1b[H\r\x1b[2KCollecting samples from '\x1b[32m/srv/repo/.venv/bin/python prog.py\x1b[0m' "
        f"(python v3.11.7)\r\n\r\x1b[2KTotal Samples \x1b[1m{samples}\x1b[0m\r\n\r\x1b[2K\r\n"
        + _HEAD
        + f"\r\x1b[2K100.00% 100.00%    {samples / 100:.2f}s     1.00s   spin (prog.py)\r\n"
        + "\r\x1b[2K\r\n" * 5
        + (
            "\r\x1b[2KPress \x1b[1m\x1b[7mControl-C\x1b[0m to quit, or \x1b[1m\x1b[7m?\x1b[0m for help.\r\n"
            if footer
            else ""
        )
    )


# ---- the sanitiser, on recorded snippets -------------------------------------------------------


def test_dump_text_loses_pids_thread_ids_and_paths() -> None:
    text = live.sanitise_text(DUMP_TEXT, PATHS)
    assert text.splitlines()[:2] == [
        "Process <pid>: python labs/busy/prog.py --n 3",
        "Python v3.11.7 (python)",
    ]
    assert 'Thread 1 (active+gil): "MainThread"' in text
    assert 'Thread 2 (idle): "worker"' in text
    assert "nap (labs/busy/prog.py:4)" in text
    assert "25716" not in text and "7F2A" not in text and not ABSOLUTE.search(text)


def test_dump_json_loses_ids_and_paths_and_summarises() -> None:
    data = live.sanitise_json(DUMP_JSON, PATHS)
    text = json.dumps(data)
    assert "25716" not in text and "25718" not in text and "1404623" not in text
    assert not ABSOLUTE.search(text)
    assert [(t["pid"], t["thread_id"], t["os_thread_id"]) for t in data] == [("<pid>", 1, 1), ("<pid>", 2, 2)]
    assert data[0]["frames"][1]["filename"] == "<stdlib>/threading.py"
    assert data[1]["process_info"]["command_line"] == "python <other>/prog.py"
    assert summarise_dump_json(text) == [
        {
            "thread_name": "worker",
            "active": False,
            "owns_gil": False,
            "frames": 2,
            "top": "nap (labs/busy/prog.py:4)",
        },
        {
            "thread_name": "MainThread",
            "active": True,
            "owns_gil": True,
            "frames": 1,
            "top": "spin (<other>/prog.py:7)",
        },
    ]


def test_summary_of_a_thread_without_frames() -> None:
    assert summarise_dump_json('[{"thread_name": "t", "active": false, "frames": []}]') == [
        {"thread_name": "t", "active": False, "owns_gil": False, "frames": 0, "top": None}
    ]


def test_top_keeps_the_last_complete_screen_as_plain_text() -> None:
    stream = "\r\n" * 40 + _screen(100) + _screen(200) + _screen(300, footer=False)[:150]  # cut mid-redraw
    screen = live.plain_screen(stream)
    assert screen is not None
    assert "Total Samples 200" in screen and "\x1b" not in screen and "\r" not in screen
    assert re.search(r"^\s+%Own\s+%Total\s+OwnTime\s+TotalTime\s+Function \(filename\)$", screen, re.M)
    assert "\n\n\n" not in screen and screen.endswith("Press Control-C to quit, or ? for help.\n")
    assert live.sanitise_text(screen, PATHS).startswith("Collecting samples from 'python prog.py'")
    # a last screen with its footer is complete; a stream with no screen at all gives None
    assert "Total Samples 300" in (live.plain_screen(_screen(200) + _screen(300)) or "")
    assert live.plain_screen("\r\n" * 40 + _screen(300, footer=False)[:150]) is None


# ---- real py-spy against a real busy program -------------------------------------------------

PROGRAM = """\
import threading, time

def nap():
    while True:
        time.sleep(0.5)

def spin():
    total = 0
    for i in range(20000):
        total += i
    return total

threading.Thread(target=nap, name="worker", daemon=True).start()
print("ready", flush=True)
while True:
    spin()
"""


def live_children() -> set[int]:
    """PIDs of this process's children that are not zombies (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except OSError:
            continue
        if int(ppid) == os.getpid() and state != "Z":
            found.add(int(entry.name))
    return found


@pytest.fixture(scope="module")
def exe() -> str:
    try:
        return pyspy.find()
    except LabError as exc:
        need(False, str(exc))
        raise


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    folder = tmp_path_factory.mktemp("busy")
    (folder / "prog.py").write_text(PROGRAM)
    log = folder / "prog.log"
    proc = processes.start([sys.executable, str(folder / "prog.py")], log=log, cwd=folder)
    try:
        processes.wait_ready(proc, log=log, pattern="ready", timeout=20)
        time.sleep(0.2)
        yield proc.pid, folder
    finally:
        processes.stop(proc)


@pytest.fixture
def paths() -> PathMap:
    return PathMap.here(ROOT)


def publishable(text: str, pid: int, folder: Path) -> None:
    assert not re.search(rf"\b{pid}\b", text), "the PID was published"
    assert str(folder) not in text and sys.executable not in text
    assert not ABSOLUTE.search(text), text
    leaks = [reason for reason, regex in privacy.patterns(ROOT) if regex.search(text)]
    assert not leaks, leaks


def attach(call: object) -> None:
    if isinstance(call, pyspy.AttachRefused):
        need(False, f"py-spy may not attach here: {call}")


def test_dump_text_names_both_threads(
    exe: str, busy: tuple[int, Path], paths: PathMap, tmp_path: Path
) -> None:
    pid, folder = busy
    before = live_children()
    try:
        text = live.dump(exe=exe, pid=pid, cwd=folder, log=tmp_path / "dump.log", paths=paths, as_json=False)
    except pyspy.AttachRefused as exc:
        attach(exc)
        raise
    assert text.startswith("Process <pid>: python ")
    assert re.search(r'^Thread 1 \(active\S*\): "MainThread"$', text, re.M)
    assert re.search(r'^Thread 2 \(\w[\w+]*\): "worker"$', text, re.M)
    assert "spin (prog.py:" in text
    publishable(text, pid, folder)
    assert "MainThread" in (tmp_path / "dump.log").read_text()  # py-spy's own output went to the log
    assert live_children() == before


def test_dump_json_summary(exe: str, busy: tuple[int, Path], paths: PathMap, tmp_path: Path) -> None:
    pid, folder = busy
    before = live_children()
    summaries = []
    for _ in range(3):  # py-spy's idle test is a heuristic: the sleeper is idle in (nearly) every dump
        try:
            text = live.dump(
                exe=exe, pid=pid, cwd=folder, log=tmp_path / "dump.log", paths=paths, as_json=True
            )
        except pyspy.AttachRefused as exc:
            attach(exc)
            raise
        publishable(text, pid, folder)
        summary = {t["thread_name"]: t for t in summarise_dump_json(text)}
        assert set(summary) == {"MainThread", "worker"}
        assert summary["MainThread"]["active"] is True and summary["MainThread"]["top"].startswith("spin (")
        assert summary["worker"]["frames"] >= 1
        summaries.append(summary)
    assert any(s["worker"]["active"] is False for s in summaries)
    assert live_children() == before


def test_top_screen(exe: str, busy: tuple[int, Path], paths: PathMap, tmp_path: Path) -> None:
    pid, folder = busy
    before = live_children()
    try:
        screen = live.top(exe=exe, pid=pid, seconds=2.5, cwd=folder, log=tmp_path / "top.log", paths=paths)
    except pyspy.AttachRefused as exc:
        attach(exc)
        raise
    assert re.search(r"^\s+%Own\s+%Total\s+OwnTime\s+TotalTime\s+Function \(filename\)$", screen, re.M), (
        screen
    )
    assert re.search(r"^\s*[\d.]+%\s+[\d.]+%\s+\S+s\s+\S+s\s+spin \(prog\.py\)$", screen, re.M), screen
    assert "Collecting samples from 'python " in screen
    assert "\x1b" not in screen and "\r" not in screen
    publishable(screen, pid, folder)
    assert b"\x1b[H" in (tmp_path / "top.log").read_bytes()
    assert live_children() == before


def test_failures_leave_nothing_behind(
    exe: str, busy: tuple[int, Path], paths: PathMap, tmp_path: Path
) -> None:
    _, folder = busy
    before = live_children()
    gone = 2**22 + 12345  # above the usual pid_max: no such process
    with pytest.raises(LabError, match="py-spy dump") as dumped:
        live.dump(exe=exe, pid=gone, cwd=folder, log=tmp_path / "d.log", paths=paths, as_json=True)
    assert not isinstance(dumped.value, pyspy.AttachRefused)
    assert "Stack backtrace" not in str(dumped.value)
    with pytest.raises(LabError, match="py-spy top"):
        live.top(exe=exe, pid=gone, seconds=5, cwd=folder, log=tmp_path / "t.log", paths=paths)
    assert live_children() == before


def test_top_interrupted_leaves_nothing_behind(
    exe: str, busy: tuple[int, Path], paths: PathMap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, folder = busy
    before = live_children()
    real_read = live._read
    calls = []

    def read_then_interrupt(*args: Any) -> int | None:
        calls.append(1)
        if len(calls) == 5:
            assert live_children() - before, "py-spy top should be running by now"
            raise KeyboardInterrupt
        return real_read(*args)

    monkeypatch.setattr(live, "_read", read_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        live.top(exe=exe, pid=pid, seconds=30, cwd=folder, log=tmp_path / "top.log", paths=paths)
    assert live_children() == before
