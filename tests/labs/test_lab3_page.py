"""Lab 3's page and manifest against its committed data, its programs and its grader's rules: sentences
that a review found untrue of the data (or of the code they describe) stay true."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from labkit import claims
from labkit.grade_checks import judged
from labkit.kinds import benchmark as benchmark_kind
from labkit.stacks import read_collapsed

from tests.helpers import ROOT
from tests.labs.test_native_service import FOLDER, distances, load

PAGE = (ROOT / "docs/labs/lab-3/index.md").read_text(encoding="utf-8")
MANIFEST = yaml.safe_load((ROOT / "labs/lab-3.yml").read_text(encoding="utf-8"))
DATA = ROOT / "docs/labs/lab-3/data"
ADDRESS = re.compile(r"^0x[0-9a-f]+$")


def step(title: str) -> str:
    """The page's section whose heading starts with ``title``, up to the next heading of its level."""
    found = re.search(rf"^## {re.escape(title)}.*?(?=^## |\Z)", PAGE, flags=re.M | re.S)
    assert found, f"no section {title!r} on the page"
    return found.group(0)


def prose(text: str) -> str:
    """The text with generated blocks, markers and line breaks taken out (what a reader reads)."""
    text = re.sub(r"<!-- begin: .*?<!-- end: [^>]*-->", "", text, flags=re.S)
    return " ".join(re.sub(r"<!--.*?-->", "", text, flags=re.S).split())


def stacks(name: str) -> list[tuple[list[str], int]]:
    """A recording's collapsed stacks as (function names, outermost first) and their counts."""
    text = (DATA / f"{name}.collapsed.txt").read_text(encoding="utf-8")
    named = read_collapsed(text).items()
    return [([re.sub(r" \([^)]*\)$", "", f) for f in frames], n) for frames, n in named]


def test_the_fix_is_said_to_get_the_distances_another_way_not_by_the_same_arithmetic() -> None:
    rng = np.random.default_rng(5)
    queries, items = rng.random((9, 64)), rng.random((40, 64))
    slow, fast = distances.distances_broadcast(queries, items), distances.distances_matmul(queries, items)
    assert np.allclose(slow, fast, rtol=1e-9, atol=1e-9) and not np.array_equal(
        slow, fast
    )  # rounding differs
    said = prose(step("Step 3")) + " " + MANIFEST["exercise"]["unchanged"]
    assert "same distances another way" in prose(step("Step 3"))
    assert not re.search(r"same (multiplications|arithmetic)", said)


def test_step_3_says_to_open_its_new_file_and_speedscopes_direction() -> None:
    text = prose(step("Step 3"))
    files = re.findall(r"py-spy record .*?-o (\S+)", PAGE)
    assert files[:2] == ["python-view.json", "native-view.json"]
    assert "write to a new file" in text and "Open `native-view.json` in speedscope" in text
    assert "above it in speedscope, below it in the graph below" in text  # the address frame's place
    assert "above the distance line" not in text  # the page's graph is upright, speedscope's hangs down


def test_the_one_thread_of_openblas_is_taught_where_the_benchmark_runs() -> None:
    assert "OpenBLAS" not in prose(step("Step 1"))
    assert "`labs/native_service/distances.py`, which the service and the benchmark import first" in prose(
        step("Step 5")
    )
    for program in ("search.py", "bench_distances.py"):
        assert "\nfrom distances import (" in (FOLDER / program).read_text(encoding="utf-8")


def test_step_6_says_where_dgemm_may_stand_not_where_it_stood_in_one_recording() -> None:
    """Where OpenBLAS's routines stand depends on how far py-spy's walk of the C stack got in a run, and no
    claim decides it: the page gives both cases and states neither as what our recording showed."""
    with_dgemm = [(frames, n) for frames, n in stacks("fixed_native") if any("gemm" in f for f in frames)]
    assert with_dgemm, "the fixed service's recording has OpenBLAS's routines"
    text = prose(step("Step 6"))
    assert "In our recording" not in text
    assert "tower of their own starting at `<module>`" in text and "tip of the main tower" in text


def test_every_address_frame_that_ends_a_visible_share_of_stacks_is_explained() -> None:
    """An address frame outermost, or innermost under a caller the page names (here NumPy's buffer copy)."""
    recorded = stacks("native_view")
    total = sum(n for _, n in recorded)
    ending: dict[str, int] = {}
    for frames, n in recorded:
        if len(frames) > 1 and ADDRESS.match(frames[-1]) and not ADDRESS.match(frames[-2]):
            ending[frames[-2]] = ending.get(frames[-2], 0) + n
    text = prose(step("Where --native works"))
    assert "outermost in the stack" in text
    visible = [caller for caller, n in ending.items() if n / total >= 0.02]
    assert visible, "the native view has address frames at the end of some stacks"
    for caller in visible:
        assert f"(`{caller}`)" in text, f"address frames called by {caller} are not explained"


def test_the_native_gone_hint_says_what_its_rule_tests() -> None:
    cfg = MANIFEST["exercise"]["checks"]["native_gone"]
    below_half = claims.Measured(0.45, 0.40, 0.52, 0.95)  # under half, but its interval reaches 50%
    check = judged("native_gone", "q", below_half, "<", cfg["than"], kind="share", hint=cfg["hint"])
    assert check.verdict != "confirmed"
    hint = " ".join(cfg["hint"].split())
    assert "at least half" not in hint and "95% interval reaches 50%" in hint


def test_step_7s_takeaway_rests_on_py_spys_source_not_on_a_number() -> None:
    takeaway = re.search(r"\*\*Takeaway:\*\*.*?(?=\n\n)", step("Step 7"), flags=re.S)
    assert takeaway
    assert "<!-- cite: src/native_stack_trace.rs | merging the two stack" in takeaway.group(0)
    uncited = re.sub(r"<!-- cite:.*?<!-- /cite -->", "", takeaway.group(0), flags=re.S)  # "0.4.3"
    assert "<!-- value:" not in uncited and not re.search(r"\d", prose(uncited))
    assert "we draw no verdict" in prose(step("Step 7")).lower()


def test_the_sources_say_which_linux_wheels_have_the_unwind_feature() -> None:
    for claim in MANIFEST["claims"]:
        source = " ".join(str(claim.get("source", "")).split())
        if "Linux" in source and "--features unwind" in source:
            assert "(all but i686)" in source, claim["id"]


def test_the_provenance_names_one_benchmark_size_once() -> None:
    results = json.loads((DATA / "results.json").read_text(encoding="utf-8"))
    [[_, row]] = benchmark_kind.provenance("bench", results["benchmark"])
    bench = results["benchmark"]
    slow, fast = bench["number"]["slow"], bench["number"]["fast"]
    assert row == (
        f"n = {bench['n']}, {bench['repeats']} repeats; {slow} calls per timing for the slow version, "
        f"{fast} for the fast one"
    )
    assert f"<td>{row}</td>" in PAGE


def test_symbols_prints_a_line_per_library_and_numpys_version_then_one_json_line() -> None:
    symbols = load("symbols")
    said = "prints a line per library and NumPy's version, then one JSON line"
    assert said in " ".join((symbols.__doc__ or "").split())
    done = subprocess.run(
        [sys.executable, str(FOLDER / "symbols.py")], capture_output=True, text=True, timeout=60
    )
    *lines, last = done.stdout.strip().splitlines()
    found = json.loads(last)
    assert [line.split(":")[0] for line in lines] == [*found, "numpy"]
    assert (
        lines[-1] == f"numpy: version {found['numpy']['version']}" and found["numpy"]["version"][0].isdigit()
    )


def test_with_distances_the_benchmark_checks_sums_to_the_graders_tolerance(tmp_path: Path) -> None:
    """As bench_distances' docstring says: off by 1e-7 fails its own check (1e-9), not the grader's."""
    bench = load("bench_distances")
    off = tmp_path / "off.py"
    off.write_text(
        f"import sys; sys.path.insert(0, {str(FOLDER)!r})\nfrom distances import distances_matmul\n"
        "def distances(q, c):\n    return distances_matmul(q, c) + 1e-7\n"
    )
    rng = np.random.default_rng(2)
    queries, items = rng.random((5, 64)), rng.random((30, 64))
    assert not bench.agree(
        distances.distances_broadcast(queries, items), distances.distances_matmul(queries, items) + 1e-7
    )
    argv = [sys.executable, str(FOLDER / "bench_distances.py"), "--repeats", "1", "--min-time", "0.001"]
    done = subprocess.run(
        [*argv, "--distances", f"{off}:distances"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    doc = " ".join((bench.__doc__ or "").split())
    assert (
        "with ``--distances``, the same nearest items and each query's sum of distances to the grader's"
        in doc
    )
