"""labkit.manifest.load: a valid manifest, and malformed ones whose errors name file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from labkit import manifest
from labkit.errors import LabError

GOOD = """\
id: lab-7
title: A test lab
page: docs/labs/lab-7/index.md
seed: 3
programs:
  - labs/prog
steps:
  - id: slow
    kind: profile
    command: [labs/prog/main.py, --seed, "{seed}"]
    ready: "running"
    rate: 100
    duration: 5
    quick_duration: 2
  - id: bench
    kind: benchmark
    command: [labs/prog/bench.py]
    quick_command: [labs/prog/bench.py, --quick]
values:
  main_total: {path: profiles.slow.functions.main.total_share, format: share}
format_version: 1
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "labs" / "prog").mkdir(parents=True)
    (tmp_path / "labs" / "prog" / "main.py").write_text(
        "def main():\n    pass\n\n\nasync def helper():\n    pass\n", encoding="utf-8"
    )
    (tmp_path / "docs" / "labs" / "lab-7").mkdir(parents=True)
    (tmp_path / "docs" / "labs" / "lab-7" / "index.md").write_text("# Lab 7\n", encoding="utf-8")
    return tmp_path


def write(root: Path, text: str, name: str = "lab-7.yml") -> Path:
    path = root / "labs" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_manifest(root: Path) -> None:
    lab = manifest.load(write(root, GOOD), root=root)
    assert lab.id == "lab-7"
    assert lab.source == Path("labs/lab-7.yml")
    assert lab.data_dir == Path("docs/labs/lab-7/data")
    assert [s.id for s in lab.steps] == ["slow", "bench"]
    slow, bench = lab.steps
    assert slow.method == "pid" and slow.rate == 100
    assert slow.argv(quick=False, seed=3) == ["labs/prog/main.py", "--seed", "3"]
    assert slow.seconds(quick=False) == 5 and slow.seconds(quick=True) == 2
    assert bench.argv(quick=True, seed=3) == ["labs/prog/bench.py", "--quick"]
    assert bench.argv(quick=False, seed=3) == ["labs/prog/bench.py"]
    assert lab.values["main_total"]["format"] == "share"
    assert lab.defines("main", root=root)
    assert lab.defines("helper", root=root)
    assert not lab.defines("mai", root=root)
    assert not lab.defines("nothing", root=root)


def test_relative_path_is_accepted(root: Path) -> None:
    write(root, GOOD)
    assert manifest.load(Path("labs/lab-7.yml"), root=root).id == "lab-7"


def test_steps_fingerprint_ignores_values(root: Path) -> None:
    a = manifest.load(write(root, GOOD), root=root)
    b = manifest.load(write(root, GOOD.replace("format: share", "format: text")), root=root)
    c = manifest.load(write(root, GOOD.replace("rate: 100", "rate: 200")), root=root)
    assert manifest.steps_fingerprint(a) == manifest.steps_fingerprint(b)
    assert manifest.steps_fingerprint(a) != manifest.steps_fingerprint(c)


def test_discover_orders_labs_by_number(tmp_path: Path) -> None:
    (tmp_path / "labs").mkdir()
    for n in (10, 2, 1):
        (tmp_path / "labs" / f"lab-{n}.yml").write_text("", encoding="utf-8")
    (tmp_path / "labs" / "notes.yml").write_text("", encoding="utf-8")
    assert [p.name for p in manifest.discover(tmp_path)] == ["lab-1.yml", "lab-2.yml", "lab-10.yml"]


def test_committed_lab1_manifest_loads() -> None:
    repo = Path(__file__).resolve().parents[2]
    lab = manifest.load(repo / "labs" / "lab-1.yml", root=repo)
    assert lab.id == "lab-1"
    assert {s.kind for s in lab.steps} == {"profile", "benchmark", "overhead", "command", "compare"}
    assert all(s.adaptive is None or s.adaptive["pilot"] < s.adaptive["max"] for s in lab.steps)
    ids = [c["id"] for c in lab.claims]
    assert len(ids) == len(set(ids)) and ids
    assert {c["expect"] for c in lab.claims} == {"holds", "fails"}  # the fact-check page refutes some
    for page in lab.pages:
        assert (repo / page).is_file(), page


def edit(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


CASES = [
    # (id, manifest text, file name, expected "file:line" (and column), message pattern)
    (
        "unknown-top-level-key",
        GOOD + "colour: red\n",
        "lab-7.yml",
        "labs/lab-7.yml:22:1",
        r"'colour' was unexpected",
    ),
    (
        "unknown-step-key",
        edit("    rate: 100\n", "    rate: 100\n    colour: red\n"),
        "lab-7.yml",
        "labs/lab-7.yml:13:5",
        r"steps/0: a profile step does not take 'colour'; it takes id, kind, title, needs, command",
    ),
    (
        "wrong-type",
        edit("rate: 100", 'rate: "fast"'),
        "lab-7.yml",
        "labs/lab-7.yml:12:11",
        r"steps/0/rate: 'fast' is not of type 'integer'",
    ),
    (
        "rate-out-of-range",
        edit("rate: 100", "rate: 0"),
        "lab-7.yml",
        "labs/lab-7.yml:12:11",
        r"steps/0/rate: 0 is less than the minimum of 1",
    ),
    (
        "missing-steps",
        GOOD.split("steps:")[0],
        "lab-7.yml",
        "labs/lab-7.yml:1:1",
        r"\(top level\): 'steps' is a required property",
    ),
    (
        "bad-kind",
        edit("kind: benchmark", "kind: benchmarks"),
        "lab-7.yml",
        "labs/lab-7.yml:16:11",
        r"steps/1/kind: 'benchmarks' is not one of \['profile', 'benchmark', 'command', 'overhead'",
    ),
    (
        "bad-method",
        edit("    rate: 100\n", "    method: attach\n    rate: 100\n"),
        "lab-7.yml",
        "labs/lab-7.yml:12:13",
        r"steps/0/method: 'attach' is not one of",
    ),
    (
        "empty-command",
        edit("command: [labs/prog/bench.py]", "command: []"),
        "lab-7.yml",
        "labs/lab-7.yml:17:14",
        r"steps/1/command: \[\] should be non-empty",
    ),
    (
        "bad-step-id",
        edit("id: bench", "id: Bench-1"),
        "lab-7.yml",
        "labs/lab-7.yml:15:9",
        r"steps/1/id: 'Bench-1' does not match",
    ),
    (
        "value-without-format",
        edit(", format: share}", "}"),
        "lab-7.yml",
        "labs/lab-7.yml:20:15",
        r"values/main_total: 'format' is a required property",
    ),
    (
        "duplicate-step-id",
        edit("id: bench", "id: slow"),
        "lab-7.yml",
        "labs/lab-7.yml:15",
        r"step id 'slow' is used twice",
    ),
    (
        "pid-step-without-ready",
        edit('    ready: "running"\n', ""),
        "lab-7.yml",
        "labs/lab-7.yml:8",
        r"step 'slow'.* attaches by PID, so it needs 'ready'",
    ),
    (
        "missing-program-folder",
        edit("  - labs/prog\n", "  - labs/prog\n  - labs/gone\n"),
        "lab-7.yml",
        "labs/lab-7.yml:7",
        r"program folder 'labs/gone' does not exist",
    ),
    (
        "id-not-file-name",
        "# a comment first\n" + GOOD,
        "lab-8.yml",
        "labs/lab-8.yml:2",
        r"id 'lab-7' must match the file name \('lab-8'\)",
    ),
    (
        "unknown-value-key",
        edit("format: share}", "format: share, colour: red}"),
        "lab-7.yml",
        "labs/lab-7.yml:20:79",
        r"values/main_total: .*'colour' was unexpected",
    ),
    (
        "invalid-yaml",
        edit("    rate: 100\n", "    rate: [100\n"),
        "lab-7.yml",
        "labs/lab-7.yml:13:13",
        r"not valid YAML \((did not find )?expected ',' or ']'",
    ),
    (
        "bad-indentation",
        edit("    kind: benchmark\n", "     kind: benchmark\n"),
        "lab-7.yml",
        "labs/lab-7.yml:16:10",
        r"not valid YAML \(mapping values",
    ),
    ("not-a-mapping", "- just\n- a list\n", "lab-7.yml", "labs/lab-7.yml:1", r"expected a mapping"),
    ("empty-file", "", "lab-7.yml", "labs/lab-7.yml:1", r"expected a mapping"),
]


@pytest.mark.parametrize(
    ("text", "name", "where", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_manifest_names_file_and_line(
    root: Path, text: str, name: str, where: str, message: str
) -> None:
    with pytest.raises(LabError) as caught:
        manifest.load(write(root, text, name), root=root)
    shown = str(caught.value)
    assert re.search(rf"(^|\n){re.escape(where)}(:|\b)", shown), shown
    assert re.search(message, shown), shown


def test_two_benchmark_steps(root: Path) -> None:
    text = GOOD.replace("values:", "  - id: bench2\n    kind: benchmark\n    command: [x]\nvalues:")
    with pytest.raises(LabError, match=r"labs/lab-7\.yml: at most one benchmark step"):
        manifest.load(write(root, text), root=root)


def test_every_schema_error_is_reported(root: Path) -> None:
    text = edit("rate: 100", 'rate: "fast"').replace("kind: benchmark", "kind: nope")
    with pytest.raises(LabError) as caught:
        manifest.load(write(root, text), root=root)
    shown = str(caught.value)
    assert "labs/lab-7.yml:12:11: steps/0/rate" in shown
    assert "labs/lab-7.yml:16:11: steps/1/kind" in shown


def test_missing_file(root: Path) -> None:
    with pytest.raises(LabError, match=r"labs/lab-9\.yml: cannot read the manifest"):
        manifest.load(root / "labs" / "lab-9.yml", root=root)
