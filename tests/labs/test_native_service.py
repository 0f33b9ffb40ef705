"""Mirrors labs/native_service/ (Lab 3): both distance functions agree, the service and the benchmark
run as real processes and write what the toolkit reads."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from labkit import benchmark

from tests.helpers import ROOT

FOLDER = ROOT / "labs" / "native_service"


def load(name: str) -> ModuleType:
    sys.path.insert(0, str(FOLDER))
    try:
        spec = importlib.util.spec_from_file_location(f"lab3_{name}", FOLDER / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(FOLDER))


distances = load("distances")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_broadcast_and_matmul_agree(seed: int) -> None:
    rng = np.random.default_rng(seed)
    queries, items = rng.random((7, 5)), rng.random((11, 5))
    slow = distances.distances_broadcast(queries, items)
    fast = distances.distances_matmul(queries, items)
    assert slow.shape == fast.shape == (7, 11)
    assert np.allclose(slow, fast, rtol=1e-9, atol=1e-9)
    expected = [[float(np.linalg.norm(q - c)) for c in items] for q in queries]
    assert np.allclose(slow, expected)


def test_a_query_equal_to_an_item_gets_zero_not_nan() -> None:
    rng = np.random.default_rng(3)
    items = rng.random((20, 64)) * 1e3  # large values: without the clip, rounding leaves tiny negatives
    fast = distances.distances_matmul(items.copy(), items)
    assert not np.isnan(fast).any()
    assert np.allclose(np.diag(fast), 0.0, atol=1e-3)
    assert list(distances.nearest(distances.distances_matmul, items.copy(), items)) == list(range(20))


def test_load_distances_names_what_is_wrong(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("def distances(q, c):\n    return q @ c.T\n")
    assert distances.load_distances(f"{mine}:distances")(np.ones((1, 2)), np.ones((1, 2)))[0, 0] == 2.0
    with pytest.raises(ValueError, match="no function 'other'"):
        distances.load_distances(f"{mine}:other")
    with pytest.raises(ValueError, match="no such file"):
        distances.load_distances(f"{tmp_path / 'absent.py'}:distances")
    with pytest.raises(ValueError, match=r"FILE\.py:FUNCTION"):
        distances.load_distances("mine.py")


@pytest.mark.parametrize("fixed", [False, True])
def test_the_service_prints_its_pid_and_one_line_per_batch(fixed: bool) -> None:
    argv = [sys.executable, str(FOLDER / "search.py"), "--seed", "1", "--batches", "3"]
    argv += ["--fixed"] if fixed else []
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{'fixed' if fixed else 'slow'} service running as PID ")
    assert [line.split(":")[0] for line in lines[1:]] == ["batch 1", "batch 2", "batch 3"]


@pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2, reason="threads in /proc, 2+ cores")
@pytest.mark.parametrize("program", ["search.py", "bench_distances.py"])
def test_openblas_starts_no_thread_of_its_own(program: str, tmp_path: Path) -> None:
    """Pinned before NumPy loads OpenBLAS: a process of one thread (else one per extra core)."""
    code = (
        f"import sys; sys.path.insert(0, {str(FOLDER)!r}); sys.argv = [{program!r}]; "
        f"import runpy; mod = runpy.run_path({str(FOLDER / program)!r}, run_name='lab3'); "
        "import os; print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])"
    )
    pinned = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # this process set them
    env = {k: v for k, v in os.environ.items() if k not in pinned}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env
    )
    assert done.stdout.split() == ["1", "1"], done.stderr


def test_the_benchmark_writes_what_the_toolkit_reads(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    argv = [sys.executable, str(FOLDER / "bench_distances.py"), "--repeats", "3", "--min-time", "0.005"]
    done = subprocess.run([*argv, "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    raw = json.loads(out.read_text())
    assert raw["same_result"] is True and raw["repeats"] == 3
    assert all(len(raw["times_s"][name]) == 3 for name in ("slow", "fast"))
    summary = benchmark.summarise(raw)
    assert summary["same_result"] and summary["speedup"]["min"] > 0
    assert "both functions agree" in done.stdout


def test_the_benchmark_refuses_to_time_a_wrong_function(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.py"
    wrong.write_text("def distances(q, c):\n    return (q @ c.T)\n")
    argv = [sys.executable, str(FOLDER / "bench_distances.py"), "--repeats", "1", "--min-time", "0.001"]
    done = subprocess.run(
        [*argv, "--distances", f"{wrong}:distances", "--json", str(tmp_path / "b.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "disagree" in done.stderr
    assert not (tmp_path / "b.json").exists()


def test_symbols_reads_the_section_headers_of_the_loaded_libraries(tmp_path: Path) -> None:
    symbols = load("symbols")
    assert symbols.sections(Path(sys.executable).resolve()) != [], "the interpreter is an ELF file"
    text = tmp_path / "not-elf.so"
    text.write_text("not an ELF file")
    assert symbols.sections(text) == []
    done = subprocess.run(
        [sys.executable, str(FOLDER / "symbols.py")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(found) == {"libc", "numpy"}
    assert found["numpy"]["symtab"] is True  # NumPy's wheels keep the names that Lab 3's page shows
    assert found["libc"]["dynsym"] is True and found["libc"]["file"].startswith("libc.so")


def test_the_benchmark_labels_a_learners_function_as_theirs_not_as_the_matrix_product() -> None:
    """`--distances FILE:FUNCTION` times the learner's function: its row must not say `matmul`."""
    bench = load("bench_distances")
    times = {"slow": [2e-3, 3e-3], "fast": [1e-4, 2e-4]}
    assert "matmul:" in bench.describe({"times_s": times})
    theirs = bench.describe({"times_s": times, "distances": "exercises/lab-3/distances.py:distances"})
    assert "yours:" in theirs and "matmul" not in theirs
