"""The drain of a program's output must not wake up for every line the program prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from labkit import caplog

# A program that prints 1,000 short lines, flushed one by one, over about half a second.
PRINTER = "import time\nfor i in range(1000):\n    print(f'batch {i}', flush=True)\n    time.sleep(0.0005)\n"


class Counting(caplog.CappedLog):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.feeds = 0

    def feed(self, data: bytes) -> None:
        self.feeds += 1
        super().feed(data)


def drained(tmp_path: Path) -> Counting:
    proc = subprocess.Popen([sys.executable, "-c", PRINTER], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    log = Counting(tmp_path / "out.log")
    thread = caplog.drain(proc.stdout, log)
    proc.wait(timeout=60)
    thread.join(timeout=60)
    return log


def test_the_drain_reads_in_batches_so_a_chatty_program_is_not_woken_per_line(tmp_path: Path) -> None:
    log = drained(tmp_path)
    assert log.path.read_text().splitlines() == [f"batch {i}" for i in range(1000)]
    # one read per pause at most (the program runs about half a second): far fewer than its 1,000 lines
    assert log.feeds < 60, log.feeds


def test_without_the_pause_every_line_is_a_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The protection disabled: the same program costs the drain (and itself) a wake-up per line."""
    monkeypatch.setattr(caplog, "PAUSE_S", 0.0)
    log = drained(tmp_path)
    assert log.feeds > 100, log.feeds
