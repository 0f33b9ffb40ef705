"""The grader's children (labkit.sandbox) and what it reads from them: real child processes, short limits."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from labkit import claims, sandbox, sandbox_finder
from labkit.errors import LabError
from labkit.grade_correct import check_correct
from labkit.grade_finder import finder_share, lines_of

ROOT = Path(__file__).resolve().parents[2]
CFG = {"examples": 30, "hint": "the hint"}


def reference(values: list[Any]) -> set[Any]:
    seen: set[Any] = set()
    return {v for v in values if v in seen or seen.add(v)}  # type: ignore[func-returns-value]


def child(
    tmp_path: Path, source: str, *, call_s: float = 5.0, total_s: float = 30.0
) -> sandbox_finder.Finder:
    file = tmp_path / "finder.py"
    file.write_text(source, encoding="utf-8")
    folder = tmp_path / "private"
    folder.mkdir(exist_ok=True)
    return sandbox_finder.Finder(
        file, "find_duplicates", folder=folder, log=tmp_path / "correct.log", call_s=call_s, total_s=total_s
    )


def correct(tmp_path: Path, source: str) -> Any:
    file = tmp_path / "finder.py"
    file.write_text(source, encoding="utf-8")
    folder = tmp_path / "private"
    folder.mkdir(exist_ok=True)
    return check_correct(
        file,
        "find_duplicates",
        reference,
        cfg=CFG,
        quick=False,
        folder=folder,
        work=tmp_path / "work",
        question="correct",
    )


def test_a_child_answers_as_data(tmp_path: Path) -> None:
    finder = child(
        tmp_path, "def find_duplicates(values):\n    return [v for v in set(values) if values.count(v) > 1]\n"
    )
    try:
        finder.start(limit_s=10)
        assert finder.answer([3, "a", 3, "a", 1]) == ("answer", {3, "a"})
        assert finder.answer([]) == ("answer", set())
    finally:
        finder.stop()


def test_patching_the_toolkit_in_the_child_changes_nothing_here(tmp_path: Path) -> None:
    """The issue's probe: every verdict "holds". Here it patches the child's own copy, if any."""
    source = (
        "import sys\nsys.path.insert(0, " + repr(str(ROOT / "scripts")) + ")\n"
        "import labkit.claims\nlabkit.claims.verdict = lambda *a, **k: 'holds'\n"
        "def find_duplicates(values):\n    return []\n"
    )
    verdict = claims.verdict
    check = correct(tmp_path, source)
    assert claims.verdict is verdict
    assert check.verdict == "fails" and "smallest failing input" in check.detail


def test_an_exit_at_import_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    check = correct(tmp_path, "import os\nos._exit(0)\n")
    assert check.verdict == "fails"
    assert "your code exited (code 0) before it reported (while your file was imported)" in check.measured


def test_an_exit_inside_the_function_names_the_input(tmp_path: Path) -> None:
    finder = child(tmp_path, "import os\ndef find_duplicates(values):\n    os._exit(3)\n")
    try:
        finder.start(limit_s=10)
        with pytest.raises(
            sandbox_finder.Gone, match=r"exited \(code 3\) before it reported \(for the input \[1, 1\]\)"
        ):
            finder.answer([1, 1])
        with pytest.raises(sandbox_finder.Gone):  # once gone, every input fails at once
            finder.answer([2])
    finally:
        finder.stop()


def test_a_hang_is_killed_at_the_call_limit(tmp_path: Path) -> None:
    finder = child(tmp_path, "def find_duplicates(values):\n    while True:\n        pass\n", call_s=0.5)
    try:
        finder.start(limit_s=10)
        started = time.monotonic()
        with pytest.raises(
            sandbox_finder.Gone, match=r"no answer for the input \[1\] within the 0.5 s limit"
        ):
            finder.answer([1])
        assert time.monotonic() - started < 5
        assert finder.proc.poll() is not None, "the child was killed"
    finally:
        finder.stop()


def test_the_whole_check_has_a_limit_too(tmp_path: Path) -> None:
    finder = child(
        tmp_path,
        "import time\ndef find_duplicates(values):\n    time.sleep(0.2)\n    return []\n",
        total_s=0.5,
    )
    try:
        finder.start(limit_s=10)
        with pytest.raises(sandbox_finder.Gone, match="limit"):
            for _ in range(20):
                finder.answer([1])
    finally:
        finder.stop()


def test_a_program_is_killed_with_its_group_at_its_limit(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time\n"
        "busy = subprocess.Popen([sys.executable, '-c', 'while True: pass'])\n"
        "open('grandchild', 'w').write(str(busy.pid))\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    ran = sandbox.run([sys.executable, "-c", code], cwd=tmp_path, log=tmp_path / "x.log", limit_s=1.0)
    assert ran.timed_out and time.monotonic() - started < 10
    grandchild = int((tmp_path / "grandchild").read_text())
    time.sleep(0.2)
    state = Path(f"/proc/{grandchild}/stat")
    assert not state.exists() or state.read_text().rsplit(")", 1)[1].split()[0] == "Z", "the grandchild lives"


def test_output_is_cut_to_its_head_and_tail(tmp_path: Path) -> None:
    code = "import sys\nsys.stdout.write('HEAD' + 'x' * 3_000_000 + 'TAIL')\n"
    ran = sandbox.run([sys.executable, "-c", code], cwd=tmp_path, log=tmp_path / "x.log", limit_s=30)
    assert ran.code == 0 and "bytes of output cut" in ran.note
    text = (tmp_path / "x.log").read_text(encoding="utf-8")
    assert text.startswith("HEAD") and text.endswith("TAIL") and "bytes of output cut" in text
    assert len(text) < sandbox.CAP + 200


def test_lines_of_reads_the_syntax_tree(tmp_path: Path) -> None:
    file = tmp_path / "finder.py"
    file.write_text(
        "import functools\n\ndef find_duplicates(v):\n    return v\n\n"
        "def find_duplicates(v):\n    x = 1\n    return v\n"
    )
    assert lines_of(file, "find_duplicates") == (6, 8)  # the last definition
    with pytest.raises(LabError, match="no `def other`"):
        lines_of(file, "other")
    file.unlink()
    os.mkfifo(file)  # the learner's children run before this is read
    with pytest.raises(LabError, match=r"finder\.py: cannot be read"):
        lines_of(file, "find_duplicates")


@pytest.mark.parametrize(
    "rebinding",
    [
        "_the_def = find_duplicates\nfind_duplicates = _dispatch\n",  # probe 1b
        "from os import path as find_duplicates\n",
        "def _swap():\n    global find_duplicates\n    find_duplicates = _dispatch\n_swap()\n",
        "globals()['find_duplicates'] = _dispatch\n",
        "import sys\nsys.modules[__name__].find_duplicates = _dispatch\n",
        "if True:\n    def find_duplicates(values):\n        return _dispatch(values)\n",
    ],
    ids=["assigned", "imported", "global", "globals", "attribute", "nested-def"],
)
def test_a_finder_rebound_after_its_def_is_refused(tmp_path: Path, rebinding: str) -> None:
    """The service calls what the name holds at the end: the judged lines must be that function's."""
    file = tmp_path / "finder.py"
    source = "def _dispatch(values):\n    return []\n\ndef find_duplicates(values):\n    return []\n\n"
    file.write_text(source + rebinding, encoding="utf-8")
    with pytest.raises(LabError, match="find_duplicates must be a plain def"):
        lines_of(file, "find_duplicates")
    file.write_text("import functools\n\n@functools.cache\n" + source.split("\n\n", 1)[1])
    with pytest.raises(LabError, match="without a decorator"):
        lines_of(file, "find_duplicates")


def speedscope(frames: list[tuple[str, str, int]], samples: list[list[int]]) -> dict[str, Any]:
    return {
        "shared": {"frames": [{"name": n, "file": f, "line": line} for n, f, line in frames]},
        "profiles": [{"name": "main", "samples": samples}],
    }


def test_the_finder_is_found_by_file_and_lines_not_by_name(tmp_path: Path) -> None:
    file = tmp_path / "finder.py"
    mine = str(file.resolve())
    frames = [
        ("<module>", "/lab/service.py", 1),
        ("make_batch", mine, 5),  # the learner's function, renamed: still line 5 of its file
        ("find_duplicates", "/lab/finders.py", 5),  # its name elsewhere: not the learner's
        ("make_batch", "/lab/service.py", 30),
    ]
    data = speedscope(frames, [[0, 1]] * 3 + [[0, 2]] * 3 + [[0, 3]] * 4)
    share = finder_share(data, file=file, lines=(3, 9))
    assert share.value == pytest.approx(0.3)
    with pytest.raises(LabError, match="never appeared in 10 samples"):
        finder_share(data, file=file, lines=(10, 20))


def bench_module() -> Any:
    path = ROOT / "labs" / "benchmark" / "bench.py"
    spec = importlib.util.spec_from_file_location("bench_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_timed_call_gets_fresh_values() -> None:
    """An identity cache or a value cache would meet the same input again: it never does."""
    bench = bench_module()
    seen_ids: list[int] = []
    seen_values: list[tuple[int, ...]] = []
    kept: list[list[int]] = []

    def spy(values: list[int]) -> set[int]:
        kept.append(values)  # keep it alive, so that no id is reused
        seen_ids.append(id(values))
        seen_values.append(tuple(values))
        return set(bench.find_duplicates_fast(values))

    bench.measure(n=50, repeats=3, min_time=0.001, seed=1, fast=spy)
    assert len(seen_ids) > 10
    assert len(set(seen_ids)) == len(seen_ids), "a call got a list it had seen before"
    assert len(set(seen_values)) == len(seen_values), "a call got values it had seen before"


def test_the_child_runs_in_a_private_folder(tmp_path: Path) -> None:
    finder = child(tmp_path, "import os\ndef find_duplicates(values):\n    return [os.getcwd()]\n")
    try:
        finder.start(limit_s=10)
        kind, got = finder.answer([])
        assert kind == "answer" and {str(x) for x in got} == {os.path.realpath(tmp_path / "private")}
    finally:
        finder.stop()


def test_whatever_the_child_writes_is_data(tmp_path: Path) -> None:
    """A learner's process that writes its own "answers" into the channel cannot crash the grader."""
    assert sandbox_finder.decode(["i", 3]) == 3 and sandbox_finder.decode(["s", "a"]) == "a"
    for odd in (["i", "3"], ["i", 1e308], ["s", 3], ["x", 1], [1, 2, 3], {"a": 1}, None):
        assert isinstance(sandbox_finder.decode(odd), sandbox_finder.Foreign)
    source = (
        "import gc, socket\n"
        "def find_duplicates(values):\n"
        "    for s in [o for o in gc.get_objects() if isinstance(o, socket.socket)]:\n"
        "        s.sendall(b'[' * 100000 + b'\\n')\n"
        "    return []\n"
    )
    finder = child(tmp_path, source)
    try:
        finder.start(limit_s=10)
        with pytest.raises(sandbox_finder.Gone, match="wrote something else into the grader's channel"):
            finder.answer([1])
    finally:
        finder.stop()


def test_a_launched_program_writes_through_a_capped_fifo(tmp_path: Path) -> None:
    """py-spy's launch form: the program's output never passes through py-spy, and is cut here."""
    code = "import os, sys\nsys.stdout.write('HEAD' + 'x' * 3_000_000 + 'TAIL')\nprint(os.getpid())\n"
    with sandbox.fifo_output(tmp_path / "out", log=tmp_path / "service.log") as (redirect, capture):
        ran = sandbox.run(
            [*redirect, sys.executable, "-c", code], cwd=tmp_path, log=tmp_path / "x.log", limit_s=30
        )
    assert ran.code == 0 and ran.output == "", "nothing came through the launcher's own output"
    assert "bytes of output cut" in capture.write()
    text = (tmp_path / "service.log").read_text(encoding="utf-8")
    assert text.startswith("HEAD") and "TAIL" in text and len(text) < sandbox.CAP + 200
    assert "[labkit: " in text, "one cap for every log: the grader's logs are cut as programs' logs are"


FIFO_BENCH = """
import os, sys
os.mkfifo(sys.argv[sys.argv.index("--json") + 1])
os._exit(0)
"""


def test_a_fifo_in_place_of_a_report_is_refused_not_read(tmp_path: Path) -> None:
    """Probe 5: a FIFO planted where the benchmark's JSON goes; reading it would block for ever."""
    from types import SimpleNamespace

    from labkit.grade_finder import bench

    (tmp_path / "fifo_bench.py").write_text(FIFO_BENCH, encoding="utf-8")
    folder, work = tmp_path / "private", tmp_path / "work"
    folder.mkdir()
    work.mkdir()
    started = time.monotonic()
    got = bench(
        SimpleNamespace(seed=1),  # type: ignore[arg-type]
        root=tmp_path,
        file=tmp_path / "finder.py",
        function="find_duplicates",
        fast={"program": ["fifo_bench.py"]},
        quick=False,
        folder=folder,
        work=work,
        say=lambda _: None,
    )
    assert got.raw is None and got.fast is None and "not a regular file" in got.why
    assert time.monotonic() - started < 30
    with pytest.raises(sandbox.NotRegular):
        sandbox.read_report(folder / "bench.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 101)
    with pytest.raises(sandbox.NotRegular, match="larger than"):
        sandbox.read_report(big, cap=100)


def test_a_full_disk_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    """Probe 6: ENOSPC while the grader writes its logs or its verdict (/dev/full is a real full disk)."""
    from labkit import grade

    end = os.open(os.devnull, os.O_RDONLY)
    capture = sandbox.Capture(fd=end, log=Path("/dev/full"))
    capture.stopping.set()
    assert capture.join(), "the reader kept running at the end of its input, though told to stop"
    os.close(end)
    capture.sink.feed(b"the child's output")
    with pytest.raises(LabError, match=r"^no space left on the device: could not write /dev/full"):
        capture.write()
    out = tmp_path / "out" / "lab-1"
    out.mkdir(parents=True)
    (out / "grade.json").symlink_to("/dev/full")
    result = grade.Grade("lab-1", "exercises/lab-1", False, True, [], 1.0)
    with pytest.raises(LabError, match=r"grade\.json: cannot write it \(No space left on device\)$"):
        grade.write(result, root=tmp_path)


def test_a_writer_that_never_stops_is_read_only_a_little_longer(tmp_path: Path) -> None:
    """A learner's process left writing to the FIFO: told to stop, the reader ends all the same, so the
    descriptor it reads is never closed (and its number reused) under it."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    stop = threading.Event()

    def flood() -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                os.write(write, b"x" * 4096)

    writer = threading.Thread(target=flood, daemon=True)
    writer.start()
    capture = sandbox.Capture(fd=read, log=tmp_path / "out.log")
    joined = False
    try:
        time.sleep(0.3)
        capture.stopping.set()
        joined = capture.join(sandbox.DRAIN + 3)  # DRAIN, and room for a loaded machine
        assert joined, "the reader kept reading a writer that never stops"
        assert capture.cut > 0 or (tmp_path / "out.log").stat().st_size > 0
    finally:
        stop.set()
        if joined:  # a reader still running keeps its descriptor (see fifo_output)
            os.close(read)  # the writer gets EPIPE and ends
            writer.join(5)
            if not writer.is_alive():  # never a descriptor closed under a thread still writing to it
                os.close(write)
        capture.sink.close()


def test_the_private_folders_live_under_the_grade_folder_and_a_killed_grades_are_cleared(
    tmp_path: Path,
) -> None:
    """Probe 9c: a grader killed with -9 left /tmp/labkit-grade-*; the next grade removes its leftover."""
    base = tmp_path / "t"  # .labs/grade/tmp/<id> in a repository; short for the socket's path
    left = base / "tmpkilled" / "locked"
    left.mkdir(parents=True)
    (left / "bench.json").write_text("{}", encoding="utf-8")
    left.chmod(0)  # a child's folder that cannot be entered
    with sandbox.private_folder(base) as folder:
        assert folder.parent == base and oct(folder.stat().st_mode & 0o777) == "0o700"
        assert not (base / "tmpkilled").exists()
    assert not folder.exists()
