"""A lab whose program names its functions with line breaks, `;`, rich markup and escape sequences, and a
command whose output names this machine: measured, checked and run by the learner, in a copy (issue 26,
items 13, 14, 15 and 19; a CR in a name, the second probe's item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from labkit import stacks

from tests.helpers import assert_no_process_left, copy_repo, labkit, scaffold

PROGRAM = '''\
"""Busy in one of two functions whose names a hostile program chose."""

import os
import sys
import time


def _renamed(function, name):
    code = function.__code__
    function.__code__ = code.replace(**{k: name for k in ("co_name", "co_qualname") if hasattr(code, k)})
    return function


def spin_a():
    end = time.perf_counter() + 0.05
    while time.perf_counter() < end:
        pass


def spin_b():
    end = time.perf_counter() + 0.05
    while time.perf_counter() < end:
        pass


A = _renamed(spin_a, "evil\\r\\n<!-- /value -->a;b\\x7f\\u2028")
B = _renamed(spin_b, "[/bold]x\\x1b]0;pwned\\x07 \\x1b[2Kt\\tab 123")

if __name__ == "__main__":
    work = B if "--after" in sys.argv else A
    print(f"running as PID {os.getpid()}", flush=True)
    while True:
        work()
'''
STEP = """\
  - id: {id}
    kind: profile
    title: {title}
    command: [labs/lab_9/service.py{extra}]
    ready: "running as PID"
    method: pid
    rate: 100
    duration: 1
"""
MANIFEST = (
    'format_version: 1\nid: lab-9\ntitle: "Hostile names"\npage: docs/labs/lab-9/index.md\nseed: 1\n'
    "programs: [labs/lab_9]\nsteps:\n"
    + STEP.format(id="before", title="Before", extra="")
    + STEP.format(id="after", title="After", extra=", --after")
    + "  - id: change\n    kind: compare\n    title: The change\n    before: before\n    after: after\n"
)
PAGE = """\
# Lab 9: Hostile names

The function that gained the most is <!-- value: change_largest_increase -->…<!-- /value --> here.
The one that lost the most is <!-- value: change_largest_decrease -->…<!-- /value --> there.

<!-- begin: frame-table before -->

<!-- end: frame-table before -->

<!-- begin: diff-flamegraph change -->

<!-- end: diff-flamegraph change -->
"""
INCREASE = "[/bold]x\x1b]0;pwned\x07 \x1b[2Kt\tab 123"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy with lab-9, whose functions have hostile names, measured."""
    copy = copy_repo(tmp_path_factory.mktemp("hostile") / "repo")
    assert scaffold(copy, "--lab", "lab-9", "--title", "Hostile names").returncode == 0
    (copy / "labs/lab_9/service.py").write_text(PROGRAM, encoding="utf-8")
    (copy / "labs/lab-9.yml").write_text(MANIFEST, encoding="utf-8")
    (copy / "docs/labs/lab-9/index.md").write_text(PAGE, encoding="utf-8")
    run = labkit(copy, "assets", "--lab", "lab-9")
    assert_no_process_left(copy)
    assert run.returncode == 0, str(run)
    return copy


def test_a_hostile_value_stays_on_its_line_and_check_sees_a_hand_edit(hostile: Path) -> None:
    page = hostile / "docs/labs/lab-9/index.md"
    text = page.read_text(encoding="utf-8")
    (line,) = [line for line in text.split("\n") if "value: change_largest_increase" in line]
    assert line.endswith("<!-- /value --> here.")
    (lost,) = [line for line in text.split("\n") if "value: change_largest_decrease" in line]
    assert lost.endswith("<!-- /value --> there.")
    assert "evil\\\\r\\\\n&lt;\\!-- /value --&gt;a;b\\\\x7f\\\\u2028" in lost
    assert text.count("<!-- /value -->") == 2, "a name closed a marker"
    assert "[/bold]x\\\\x1b]0;pwned\\\\x07 \\\\x1b[2Kt\\\\tab 123" in line.replace("\\[", "[").replace(
        "\\]", "]"
    )
    results = json.loads((hostile / "docs/labs/lab-9/data/results.json").read_text(encoding="utf-8"))
    assert results["compares"]["change"]["largest_increase"] == INCREASE
    assert labkit(hostile, "check", "--lab", "lab-9").returncode == 0

    shown = results["values"]["change_largest_increase"]["text"]
    page.write_text(text.replace(f"-->{shown}<!--", "-->hand-edited<!--"), encoding="utf-8")
    try:
        check = labkit(hostile, "check", "--lab", "lab-9")
    finally:
        page.write_text(text, encoding="utf-8")
    assert check.returncode != 0
    assert "docs/labs/lab-9/index.md:3: value change_largest_increase shows 'hand-edited'" in check.output


def test_the_collapsed_stacks_read_back_as_recorded(hostile: Path) -> None:
    data = hostile / "docs/labs/lab-9/data"
    recording = stacks.parse(json.loads((data / "before.speedscope.json").read_text(encoding="utf-8")))
    text = (data / "before.collapsed.txt").read_text(encoding="utf-8")
    counted = stacks.collapsed(recording)
    assert any("evil\r\n<!-- /value -->a;b\x7f\u2028" in frame for stack in counted for frame in stack)
    assert len(text.splitlines()) == len(counted)
    assert stacks.read_collapsed(text) == counted
    for svg in data.glob("*.svg"):  # a raw CR would be read back as LF by `make check`
        assert not {c for c in svg.read_bytes().decode() if c in "\r\x7f\u2028" or ord(c) < 0x0A}, svg.name


def test_the_learners_run_prints_hostile_names_as_text(hostile: Path) -> None:
    run = labkit(hostile, "learn", "lab-9")
    assert_no_process_left(hostile)
    assert run.returncode == 0, str(run)
    assert "MarkupError" not in run.output and "Traceback" not in run.output
    assert "\x1b" not in run.output and "\x07" not in run.output, "raw escape sequences reached the terminal"
    assert "[/bold]x\\x1b]0;pwned\\x07" in run.output


def test_a_command_output_naming_this_machine_is_not_published(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    assert scaffold(copy, "--lab", "lab-8", "--title", "Who").returncode == 0
    (copy / "labs/lab_8/who.py").write_text(
        "import getpass\nprint('running as')\nprint(getpass.getuser())\n", encoding="utf-8"
    )
    (copy / "labs/lab-8.yml").write_text(
        'format_version: 1\nid: lab-8\ntitle: "Who"\npage: docs/labs/lab-8/index.md\nprograms: [labs/lab_8]\n'
        "steps:\n  - id: who\n    kind: command\n    title: Who runs it\n    command: [labs/lab_8/who.py]\n",
        encoding="utf-8",
    )
    (copy / "docs/labs/lab-8/index.md").write_text("# Lab 8: Who\n\nNothing measured.\n", encoding="utf-8")
    run = labkit(copy, "assets", "--lab", "lab-8")
    assert run.returncode != 0
    assert "docs/labs/lab-8/data/who.txt:2: this machine's user name" in run.output, str(run)
    assert not (copy / "docs/labs/lab-8/data").exists()


def test_a_dump_naming_this_machine_is_refused_before_the_swap(tmp_path: Path) -> None:
    """py-spy's dump shows thread names as the program chose them: one named user@host must stop the run
    before anything reaches docs/ (not only at the next `make check`)."""
    copy = copy_repo(tmp_path / "repo")
    assert scaffold(copy, "--lab", "lab-6", "--title", "Named threads").returncode == 0
    (copy / "labs/lab_6/svc.py").write_text(
        "import getpass, socket, threading, time\n"
        "name = f'{getpass.getuser()}@{socket.gethostname()}'\n"
        "threading.Thread(target=time.sleep, args=(60,), name=name, daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n",
        encoding="utf-8",
    )
    (copy / "labs/lab-6.yml").write_text(
        'format_version: 1\nid: lab-6\ntitle: "Named threads"\npage: docs/labs/lab-6/index.md\n'
        "programs: [labs/lab_6]\nsteps:\n"
        "  - {id: svc, kind: service, title: A service, command: [labs/lab_6/svc.py], ready: ready}\n"
        "  - {id: dump, kind: dump, title: Its threads, target: svc}\n"
        "  - {id: stop, kind: stop, title: Stop it, stop: [svc]}\n",
        encoding="utf-8",
    )
    page = "# Lab 6: Named threads\n\nNothing measured.\n"
    (copy / "docs/labs/lab-6/index.md").write_text(page, encoding="utf-8")
    run = labkit(copy, "assets", "--lab", "lab-6")
    assert_no_process_left(copy)
    assert run.returncode != 0, str(run)
    assert "nothing was published; the new data names this machine" in run.output, str(run)
    assert "dump.txt" in run.output and "@" in run.output
    assert not (copy / "docs/labs/lab-6/data").exists()
