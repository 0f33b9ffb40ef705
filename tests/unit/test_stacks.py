"""labkit.stacks: parse, sanitise and derive collapsed stacks and per-function shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labkit import stacks
from labkit.errors import LabError
from labkit.sanitize import PathMap

DATA = Path(__file__).with_name("data")


@pytest.fixture
def fake(tmp_path: Path) -> tuple[PathMap, Path, Path, Path]:
    """A PathMap over made-up folders: (map, repository, stdlib, site-packages)."""
    base = tmp_path.resolve()
    repo, stdlib = base / "repo", base / "py" / "lib" / "python3.11"
    site = stdlib / "site-packages"
    return PathMap(root=repo, stdlib=(str(stdlib),), site=(str(site),)), repo, stdlib, site


def raw_recording(repo: Path, stdlib: Path, site: Path) -> dict[str, Any]:
    """A speedscope dict as py-spy writes it: absolute paths, null keys, thread ids in names."""
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "activeProfileIndex": None,
        "exporter": "py-spy@0.4.3",
        "name": "py-spy profile",
        "shared": {
            "frames": [
                {"name": "<module>", "file": f"{repo}/labs/app/main.py", "line": 10, "col": None},  # 0
                {"name": "work", "file": f"{repo}/labs/app/main.py", "line": 5, "col": None},  # 1
                {"name": "work", "file": f"{repo}/labs/app/main.py", "line": 6, "col": None},  # 2
                {"name": "Random.randint", "file": f"{stdlib}/random.py", "line": 362, "col": None},  # 3
                {"name": "helper", "file": f"{site}/pkg/mod.py", "line": 1, "col": None},  # 4
                {
                    "name": "_find_and_load",
                    "file": "<frozen importlib._bootstrap>",
                    "line": 1,
                    "col": None,
                },  # 5
            ]
        },
        "profiles": [
            {
                "type": "sampled",
                "name": 'Thread 7283 "MainThread"',
                "unit": "seconds",
                "startValue": 0.0,
                "endValue": 0.05,
                "samples": [[0, 1, 3], [0, 2], [0, 2], [0, 1, 4], [0, 5]],
                "weights": [0.01] * 5,
            },
            {
                "type": "sampled",
                "name": 'Thread 7299 "worker"',
                "unit": "seconds",
                "startValue": 0.0,
                "endValue": 0.01,
                "samples": [[0, 1, 2]],
                "weights": [0.01],
            },
        ],
    }


def contains_none(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(contains_none(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_none(v) for v in value)
    return False


def test_sanitize_makes_paths_publishable(fake: tuple[PathMap, Path, Path, Path]) -> None:
    paths, repo, stdlib, site = fake
    clean = stacks.sanitize(raw_recording(repo, stdlib, site), paths=paths)
    files = [f["file"] for f in clean["shared"]["frames"]]
    assert files == [
        "labs/app/main.py",
        "labs/app/main.py",
        "labs/app/main.py",
        "<stdlib>/random.py",
        "<site-packages>/pkg/mod.py",
        "<frozen importlib._bootstrap>",
    ]
    assert not any(f.startswith("/") for f in files)
    assert str(repo) not in json.dumps(clean)


def test_sanitize_drops_every_null(fake: tuple[PathMap, Path, Path, Path]) -> None:
    paths, repo, stdlib, site = fake
    raw = raw_recording(repo, stdlib, site)
    raw["profiles"][0]["extra"] = {"deep": [{"x": None, "y": 1}]}
    clean = stacks.sanitize(raw, paths=paths)
    assert not contains_none(clean)
    assert "activeProfileIndex" not in clean
    assert all("col" not in f for f in clean["shared"]["frames"])
    assert clean["profiles"][0]["extra"] == {"deep": [{"y": 1}]}
    # The input is not changed in place.
    assert raw["activeProfileIndex"] is None
    assert raw["shared"]["frames"][0]["file"].startswith(str(repo))


def test_sanitize_renames_threads_without_their_ids(fake: tuple[PathMap, Path, Path, Path]) -> None:
    paths, repo, stdlib, site = fake
    clean = stacks.sanitize(raw_recording(repo, stdlib, site), paths=paths)
    names = [p["name"] for p in clean["profiles"]]
    assert names == ["thread 1 (MainThread)", "thread 2 (worker)"]
    assert not any(digits in json.dumps(names) for digits in ("7283", "7299"))


def test_sanitize_thread_without_quoted_name(fake: tuple[PathMap, Path, Path, Path]) -> None:
    paths, repo, stdlib, site = fake
    raw = raw_recording(repo, stdlib, site)
    raw["profiles"][0]["name"] = "Thread 4242"
    clean = stacks.sanitize(raw, paths=paths)
    assert clean["profiles"][0]["name"] == "thread 1"


def synthetic(frames: list[tuple[str, str, int]], samples: list[list[int]]) -> stacks.Recording:
    return stacks.parse(
        {
            "shared": {"frames": [{"name": n, "file": f, "line": ln} for n, f, ln in frames]},
            "profiles": [{"name": "thread 1", "samples": samples}],
        }
    )


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in rows}


def test_functions_merge_lines_of_one_function(fake: tuple[PathMap, Path, Path, Path]) -> None:
    paths, repo, stdlib, site = fake
    rec = stacks.parse(stacks.sanitize(raw_recording(repo, stdlib, site), paths=paths))
    assert rec.sample_count == 6
    rows = by_name(stacks.functions(rec))
    # work appears on lines 5 and 6: one function, two line frames.
    work = rows["work"]
    assert work["file"] == "labs/app/main.py"
    assert work["line_frames"] == 2
    assert work["self_samples"] == 3  # [0,2], [0,2], [0,1,2]
    assert work["total_samples"] == 5  # every sample but the frozen import one
    assert work["self_share"] == pytest.approx(3 / 6, abs=1e-6)
    assert work["total_share"] == pytest.approx(5 / 6, abs=1e-6)
    assert rows["<module>"]["total_samples"] == 6
    assert rows["<module>"]["self_samples"] == 0
    assert rows["<module>"]["total_share"] == 1.0
    assert rows["Random.randint"]["file"] == "<stdlib>/random.py"
    assert rows["Random.randint"]["self_samples"] == 1
    assert rows["_find_and_load"]["file"] == "<frozen importlib._bootstrap>"
    # Self samples add up to all samples: every sample ends in exactly one frame.
    assert sum(r["self_samples"] for r in rows.values()) == 6
    # Sorted by total samples, most first.
    totals = [r["total_samples"] for r in stacks.functions(rec)]
    assert totals == sorted(totals, reverse=True)


def test_recursive_function_counts_once_per_sample() -> None:
    rec = synthetic(
        [("main", "m.py", 1), ("fib", "m.py", 5), ("fib", "m.py", 6)],
        [[0, 1, 2, 1, 2], [0, 1, 1, 1], [0]],
    )
    rows = by_name(stacks.functions(rec))
    assert rows["fib"]["total_samples"] == 2
    assert rows["fib"]["total_share"] == pytest.approx(2 / 3, abs=1e-6)
    assert rows["fib"]["self_samples"] == 2
    assert rows["fib"]["line_frames"] == 2
    assert rows["main"]["total_samples"] == 3
    assert rows["main"]["self_samples"] == 1
    assert all(r["total_share"] <= 1.0 for r in rows.values())


def test_same_name_in_two_files_is_two_functions() -> None:
    rec = synthetic([("run", "a.py", 1), ("run", "b.py", 1)], [[0], [1], [1]])
    rows = stacks.functions(rec)
    assert [(r["name"], r["file"], r["self_samples"]) for r in rows] == [
        ("run", "b.py", 2),
        ("run", "a.py", 1),
    ]


def test_collapsed_text_is_sorted_and_counted() -> None:
    rec = synthetic(
        [("a", "x.py", 1), ("b", "x.py", 2), ("c", "y.py", 3)], [[0, 2], [0, 1], [0, 1], [0, 1], [0]]
    )
    counts = stacks.collapsed(rec)
    assert counts == {
        ("a (x.py:1)", "b (x.py:2)"): 3,
        ("a (x.py:1)", "c (y.py:3)"): 1,
        ("a (x.py:1)",): 1,
    }
    text = stacks.collapsed_text(counts)
    assert text == "a (x.py:1) 1\na (x.py:1);b (x.py:2) 3\na (x.py:1);c (y.py:3) 1\n"
    lines = text.splitlines()
    assert lines == sorted(lines)
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) == rec.sample_count


def test_frames_without_line_or_file() -> None:
    rec = stacks.parse(
        {
            "shared": {"frames": [{"name": "f"}, {"name": "g", "file": "g.py", "line": None}]},
            "profiles": [{"samples": [[0, 1]]}],
        }
    )
    assert rec.frames[0] == stacks.Frame("f", "?", 0)
    assert rec.frames[1] == stacks.Frame("g", "g.py", 0)


@pytest.mark.parametrize(
    "data",
    [
        {
            "shared": {"frames": [{"name": "a", "file": "a.py", "line": 1}]},
            "profiles": [{"samples": [[0, 1]]}],
        },
        {"shared": {"frames": [{"name": "a", "file": "a.py", "line": 1}]}, "profiles": [{"samples": [[-1]]}]},
        {"shared": {"frames": [{"file": "a.py", "line": 1}]}, "profiles": [{"samples": [[0]]}]},
        {"shared": {"frames": []}, "profiles": [{"name": "no samples key"}]},
        {"shared": {"frames": [{"name": "a", "line": "x"}]}, "profiles": [{"samples": [[0]]}]},
        {"profiles": []},
    ],
    ids=[
        "missing-frame",
        "negative-index",
        "frame-without-name",
        "profile-without-samples",
        "bad-line",
        "no-shared",
    ],
)
def test_malformed_data_raises_laberror(data: dict[str, Any]) -> None:
    with pytest.raises(LabError, match="malformed"):
        stacks.parse(data)


def test_load_rejects_what_is_not_speedscope(tmp_path: Path) -> None:
    bad = tmp_path / "x.speedscope.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(LabError, match=r"x\.speedscope\.json: not a readable speedscope file"):
        stacks.load(bad)
    bad.write_text('{"profiles": []}', encoding="utf-8")
    with pytest.raises(LabError, match="not a speedscope file"):
        stacks.load(bad)
    with pytest.raises(LabError, match="not a readable"):
        stacks.load(tmp_path / "missing.json")


def test_recorded_excerpt() -> None:
    """Twelve real samples of Lab 1's fixed service (py-spy 0.4.3), already sanitised."""
    data = stacks.load(DATA / "fixed_excerpt.speedscope.json")
    rec = stacks.parse(data)
    assert rec.sample_count == 12
    rows = by_name(stacks.functions(rec))
    expected = {  # name: (file, self, total, line frames), counted by hand from the file
        "<module>": ("labs/slow_service/service.py", 0, 12, 1),
        "process_batch": ("labs/slow_service/service.py", 0, 12, 2),
        "make_batch": ("labs/slow_service/service.py", 0, 9, 1),
        "make_batch.<locals>.<listcomp>": ("labs/slow_service/service.py", 0, 9, 1),
        "Random.randint": ("<stdlib>/random.py", 4, 9, 1),
        "Random.randrange": ("<stdlib>/random.py", 5, 5, 3),
        "find_duplicates_fast": ("labs/slow_service/finders.py", 3, 3, 2),
    }
    for name, (file, self_n, total_n, lines) in expected.items():
        row = rows[name]
        assert (row["file"], row["self_samples"], row["total_samples"], row["line_frames"]) == (
            file,
            self_n,
            total_n,
            lines,
        ), name
        assert row["self_share"] == round(self_n / 12, 6)
        assert row["total_share"] == round(total_n / 12, 6)
    assert stacks.thread_samples(rec) == [{"name": "thread 1", "samples": 12}]
    # Already sanitised data passes through sanitize unchanged (apart from the thread name rule).
    paths = PathMap(root=Path("/nonexistent/repo"), stdlib=(), site=())
    assert stacks.sanitize(data, paths=paths) == data


frame_lists = st.lists(
    st.tuples(
        st.sampled_from(["f", "g", "h", "<module>"]), st.sampled_from(["a.py", "b.py"]), st.integers(1, 4)
    ),
    min_size=1,
    max_size=8,
    unique=True,
)


@settings(deadline=None, max_examples=60)
@given(data=st.data(), frames=frame_lists)
def test_function_share_invariants(data: st.DataObject, frames: list[tuple[str, str, int]]) -> None:
    samples = data.draw(
        st.lists(st.lists(st.integers(0, len(frames) - 1), min_size=1, max_size=6), min_size=1, max_size=30)
    )
    rec = synthetic(frames, samples)
    rows = stacks.functions(rec)
    n = len(samples)
    assert sum(r["self_samples"] for r in rows) == n
    for r in rows:
        assert 0 <= r["self_samples"] <= r["total_samples"] <= n
        assert 0.0 <= r["self_share"] <= r["total_share"] <= 1.0
        distinct_lines = {ln for name, file, ln in frames if (name, file) == (r["name"], r["file"])}
        assert 1 <= r["line_frames"] <= len(distinct_lines)
        # total = samples whose stack contains the function at least once
        key = (r["name"], r["file"])
        assert r["total_samples"] == sum(any(frames[i][:2] == key for i in s) for s in samples)
    assert sum(stacks.collapsed(rec).values()) == n


def test_frames_are_labelled_as_py_spy_labels_them() -> None:
    """py-spy's flame graphs (src/flamegraph.rs) leave out a line it does not know and the brackets of a
    frame with no file (a process frame): no ' (:0)' on a process, no ':0' on a native function."""
    rec = synthetic(
        [('process worker-0:"python jobs.py"', "", 0), ("dgemm_kernel", "libblas.so", 0), ("run", "a.py", 7)],
        [[0, 1], [0, 2]],
    )
    assert stacks.collapsed(rec) == {
        ('process worker-0:"python jobs.py"', "dgemm_kernel (libblas.so)"): 1,
        ('process worker-0:"python jobs.py"', "run (a.py:7)"): 1,
    }
