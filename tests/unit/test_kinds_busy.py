"""The busy kind (per-worker busy shares of two recordings) and the process frames of --subprocesses
recordings, as the toolkit publishes them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from labkit import stacks
from labkit.blocks import Context
from labkit.errors import LabError
from labkit.kinds import busy
from labkit.sanitize import PathMap

ROOT = Path("/srv/checkout")


def tree(counts: dict[str, int], *, pid0: int = 4100) -> dict[str, Any]:
    """A speedscope file as py-spy --subprocesses writes it: one profile per thread, named after its
    process, and process frames (with PIDs and command lines) at the root of every stack."""
    frames: list[dict[str, Any]] = [
        {"name": f'process {pid0}:"/bin/sh labs/job_pool/serve.sh"', "file": "", "line": 0},
        {"name": f'process {pid0 + 1}:"{ROOT}/.venv/bin/python jobs.py"', "file": "", "line": 0},
        {"name": "checksum", "file": f"{ROOT}/labs/job_pool/jobs.py", "line": 41},
    ]
    profiles = [
        {"type": "sampled", "name": f'Process {pid0 + 1} Thread {pid0 + 1} "dispatcher"', "unit": "seconds",
         "startValue": 0, "endValue": 1, "samples": [[0, 1]], "weights": [1]},
    ]  # fmt: skip
    for n, (name, count) in enumerate(counts.items()):
        pid = pid0 + 2 + n
        frames.append({"name": f'process {pid}:"{ROOT}/.venv/bin/python jobs.py"', "file": "", "line": 0})
        stack = [0, 1, len(frames) - 1, 2]
        profiles.append(
            {"type": "sampled", "name": f'Process {pid} Thread {pid} "{name}"', "unit": "seconds",
             "startValue": 0, "endValue": 1, "samples": [stack] * count, "weights": [1] * count}
        )  # fmt: skip
    return {"shared": {"frames": frames}, "profiles": profiles}


def clean(data: dict[str, Any]) -> dict[str, Any]:
    return stacks.sanitize(data, paths=PathMap(root=ROOT, site=(), stdlib=()))


def test_process_frames_are_published_by_name_without_pids_or_local_paths() -> None:
    published = json.dumps(clean(tree({"worker-0": 3, "worker-1": 1}, pid0=4100)))
    names = [f["name"] for f in clean(tree({"worker-0": 3}))["shared"]["frames"]]
    assert (
        'process:"<other>/sh labs/job_pool/serve.sh"' in names
    )  # the wrapper: py-spy sampled no thread of it
    assert 'process dispatcher:"python jobs.py"' in names  # py-spy's form, the PID replaced
    assert 'process worker-0:"python jobs.py"' in names
    assert "4101" not in published and str(ROOT) not in published


def test_on_macos_hex_thread_ids_still_hide_the_pids() -> None:
    """py-spy writes a pthread id in hex on macOS (`Thread 0x1A2B`, src/stack_trace.rs format_threadid): the
    processes must still be found, and their PIDs replaced, though no thread id equals its PID there."""
    data = tree({"worker-0": 3}, pid0=4100)
    for profile in data["profiles"]:
        profile["name"] = profile["name"].replace(" Thread 410", " Thread 0x7000A10")
    published = json.dumps(clean(data))
    assert "4101" not in published and "4102" not in published
    names = [f["name"] for f in clean(data)["shared"]["frames"]]
    assert 'process #1:"python jobs.py"' in names and 'process #2:"python jobs.py"' in names


def test_a_process_whose_main_thread_has_no_name_of_its_own_gets_its_rank() -> None:
    data = tree({"MainThread": 2})
    names = [f["name"] for f in clean(data)["shared"]["frames"]]
    assert 'process #2:"python jobs.py"' in names  # #1 is the dispatcher, the older PID


def write(folder: Path, before: dict[str, int], after: dict[str, int]) -> dict[str, Any]:
    for side, counts in (("before", before), ("after", after)):
        (folder / f"{side}.json").write_text(json.dumps(clean(tree(counts))), encoding="utf-8")
    return {
        "title": "t",
        "threads_filter": "^worker-",
        "instants": {"before": 10, "after": 10},
        "files": {"before": "before.json", "after": "after.json", "svg": "busy.svg"},
    }


def test_busy_shares_count_the_chosen_threads_over_the_sampling_instants(tmp_path: Path) -> None:
    entry = write(tmp_path, {"worker-0": 9, "worker-1": 1}, {"worker-0": 5, "worker-1": 4, "worker-2": 4})
    derived = busy.derive(entry, tmp_path)
    workers = {w["name"]: w for w in derived["workers"]}
    assert workers["worker-0"]["before"] == 0.9 and workers["worker-0"]["before_samples"] == 9
    assert workers["worker-2"]["before"] == 0.0  # never sampled before: busy 0, still listed
    before, after = derived["before_spread"], derived["after_spread"]
    assert (before["busiest"], before["busiest_of_samples"]) == ("worker-0", 0.9)
    assert (before["least"], before["evenness"]) == ("worker-2", 0.0)
    assert (after["busiest"], after["least"], after["evenness"]) == ("worker-0", "worker-1", 0.8)
    assert "dispatcher" not in workers  # not a worker thread
    assert derived["svg"].lstrip().startswith("<?xml")


def test_no_matching_thread_or_no_instants_is_an_error(tmp_path: Path) -> None:
    entry = write(tmp_path, {"worker-0": 1}, {"worker-0": 1})
    with pytest.raises(LabError, match="no thread of either recording"):
        busy.derive({**entry, "threads_filter": "^nobody$"}, tmp_path)
    with pytest.raises(LabError, match="sampling instants"):
        busy.derive({**entry, "instants": {"before": 0, "after": 10}}, tmp_path)


def test_the_table_gives_each_worker_its_samples_and_busy_share_on_both_sides(tmp_path: Path) -> None:
    """One cell per column: the samples and the busy share, before and after (a row once had 3 cells of 5)."""
    entry = write(tmp_path, {"worker-0": 9, "worker-1": 1}, {"worker-0": 5, "worker-1": 4})
    entry = {**entry, **busy.derive(entry, tmp_path)}
    results: Any = {"busy_shares": {"busy": entry}}  # an outside kind's section: not in Results
    ctx = Context(results=results, data_href="data", data_dir=tmp_path)
    html = "\n".join(busy.busy_chart(ctx, "busy"))
    head = re.search(r"<thead>(.*)</thead>", html)
    assert head and head.group(1).count("<th>") == 5
    rows = re.findall(r"<tr>(<td>.*?)</tr>", html)
    assert [re.findall(r"<td>(.*?)</td>", row)[1:] for row in rows] == [
        ["9", "90.0%", "5", "50.0%"],
        ["1", "10.0%", "4", "40.0%"],
    ]


def test_with_computing_a_blocked_workers_samples_do_not_count(tmp_path: Path) -> None:
    """Where py-spy cannot tell an idle thread (ARM Linux), a worker blocked in Queue.get is sampled at
    every instant; only the samples in the computing function say it was busy."""
    entry = write(tmp_path, {"worker-0": 4}, {"worker-0": 4})
    data = json.loads((tmp_path / "before.json").read_text(encoding="utf-8"))
    frames = data["shared"]["frames"]
    frames.append({"name": "Queue.get", "file": "<stdlib>/multiprocessing/queues.py", "line": 103})
    worker = data["profiles"][1]
    worker["samples"] += [[*worker["samples"][0][:-1], len(frames) - 1]] * 6  # blocked, yet sampled
    worker["weights"] += [1] * 6
    (tmp_path / "before.json").write_text(json.dumps(data), encoding="utf-8")
    every = busy.derive(entry, tmp_path)["workers"][0]
    assert every["before_samples"] == 10
    computing = busy.derive({**entry, "computing": "checksum"}, tmp_path)["workers"][0]
    assert (computing["before_samples"], computing["before"]) == (4, 0.4)


def test_the_charts_caption_names_every_worker_tied_for_busiest_or_least_busy(tmp_path: Path) -> None:
    """The caption's words match the table: a tie names both workers, not one picked by name."""
    entry = write(
        tmp_path, {"worker-0": 9, "worker-1": 1, "worker-2": 1}, {"worker-0": 5, "worker-1": 5, "worker-2": 4}
    )
    entry = {**entry, **busy.derive(entry, tmp_path)}
    results: Any = {"busy_shares": {"busy": entry}}
    caption = re.search(
        r"<figcaption>(.*?)</figcaption>",
        "\n".join(busy.busy_chart(Context(results=results, data_href="data", data_dir=tmp_path), "busy")),
        re.S,
    )
    assert caption
    assert "Before: busiest worker-0 (90.0%), least busy worker-1 and worker-2 (10.0%)" in caption.group(1)
    assert "After: busiest worker-0 and worker-1 (50.0%), least busy worker-2 (40.0%)" in caption.group(1)
