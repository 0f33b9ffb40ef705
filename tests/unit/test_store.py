"""labkit.store: the cache key of a lab, the atomic swap and the repair of an interrupted one."""

from __future__ import annotations

from pathlib import Path

import pytest
from labkit import manifest, store
from labkit.manifest import Lab

MANIFEST = """\
format_version: 1
id: lab-5
title: Store test
page: docs/labs/lab-5/index.md
programs: [labs/prog]
steps:
  - {id: run, kind: profile, command: [labs/prog/main.py], method: launch, rate: 100}
values:
  x: {path: profiles.run.samples, format: count}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A plain copy, no git: every file of the program folder counts."""
    prog = tmp_path / "labs" / "prog"
    prog.mkdir(parents=True)
    (prog / "main.py").write_text("def main():\n    pass\n", encoding="utf-8")
    (tmp_path / "labs" / "lab-5.yml").write_text(MANIFEST, encoding="utf-8")
    (tmp_path / "docs" / "labs" / "lab-5").mkdir(parents=True)  # a manifest's page must exist
    (tmp_path / "docs" / "labs" / "lab-5" / "index.md").write_text("# Lab 5\n", encoding="utf-8")
    return tmp_path


def load(root: Path) -> Lab:
    return manifest.load(root / "labs" / "lab-5.yml", root=root)


def test_inputs_sha256_is_stable(root: Path) -> None:
    first = store.inputs_sha256(load(root), root=root, quick=False)
    assert len(first) == 64 and int(first, 16) >= 0
    assert store.inputs_sha256(load(root), root=root, quick=False) == first


def test_inputs_sha256_follows_program_files(root: Path) -> None:
    before = store.inputs_sha256(load(root), root=root, quick=False)
    (root / "labs" / "prog" / "main.py").write_text("def main():\n    return 1\n", encoding="utf-8")
    changed = store.inputs_sha256(load(root), root=root, quick=False)
    assert changed != before
    (root / "labs" / "prog" / "extra.txt").write_text("data\n", encoding="utf-8")
    assert store.inputs_sha256(load(root), root=root, quick=False) != changed


def test_inputs_sha256_follows_steps_and_quick(root: Path) -> None:
    lab = load(root)
    full = store.inputs_sha256(lab, root=root, quick=False)
    assert store.inputs_sha256(lab, root=root, quick=True) != full
    path = root / "labs" / "lab-5.yml"
    path.write_text(MANIFEST.replace("rate: 100", "rate: 250"), encoding="utf-8")
    assert store.inputs_sha256(load(root), root=root, quick=False) != full


def test_inputs_sha256_ignores_values_and_pycache(root: Path) -> None:
    full = store.inputs_sha256(load(root), root=root, quick=False)
    path = root / "labs" / "lab-5.yml"
    path.write_text(MANIFEST.replace("format: count", "format: text"), encoding="utf-8")
    assert store.inputs_sha256(load(root), root=root, quick=False) == full
    cache = root / "labs" / "prog" / "__pycache__"
    cache.mkdir()
    (cache / "main.cpython-311.pyc").write_bytes(b"\x00compiled")
    (cache / "notes.txt").write_text("anything", encoding="utf-8")
    (root / "labs" / "prog" / "stray.pyc").write_bytes(b"\x00")
    assert store.inputs_sha256(load(root), root=root, quick=False) == full


def make_dir(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def contents(path: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(path.iterdir())}


def test_swap_in_replaces_data_and_page(tmp_path: Path) -> None:
    lab = tmp_path / "docs" / "labs" / "lab-5"
    data = make_dir(lab / "data", {"results.json": "old", "gone.svg": "old"})
    staged = make_dir(lab / "data.new", {"results.json": "new"})
    page = lab / "index.md"
    page.write_text("old page", encoding="utf-8")
    other = lab / "fact-check.md"
    other.write_text("old fact-check", encoding="utf-8")
    store.swap_in(data_dir=data, staged=staged, pages={page: "new page", other: "new fact-check"})
    assert contents(data) == {"results.json": "new"}
    assert page.read_text(encoding="utf-8") == "new page"
    assert other.read_text(encoding="utf-8") == "new fact-check"
    assert sorted(p.name for p in lab.iterdir()) == ["data", "fact-check.md", "index.md"]


def test_swap_in_first_run_and_without_page(tmp_path: Path) -> None:
    data = tmp_path / "data"
    staged = make_dir(tmp_path / "data.new", {"results.json": "first"})
    store.swap_in(data_dir=data, staged=staged)
    assert contents(data) == {"results.json": "first"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_swap_in_rejects_other_staging_folders(tmp_path: Path) -> None:
    data = make_dir(tmp_path / "data", {"results.json": "old"})
    staged = make_dir(tmp_path / "staging", {"results.json": "new"})
    with pytest.raises(ValueError, match=r"data\.new"):
        store.swap_in(data_dir=data, staged=staged)
    assert contents(data) == {"results.json": "old"}
    assert contents(staged) == {"results.json": "new"}


def test_repair_rolls_back_when_data_is_missing(tmp_path: Path) -> None:
    make_dir(tmp_path / "data.old", {"results.json": "old"})
    said = store.repair(tmp_path / "data")
    assert said is not None and "restored data/" in said
    assert contents(tmp_path / "data") == {"results.json": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_repair_cleans_up_when_new_data_is_in_place(tmp_path: Path) -> None:
    make_dir(tmp_path / "data.old", {"results.json": "old"})
    make_dir(tmp_path / "data", {"results.json": "new"})
    said = store.repair(tmp_path / "data")
    assert said is not None and "removed data.old/" in said
    assert contents(tmp_path / "data") == {"results.json": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_repair_removes_unfinished_staging(tmp_path: Path) -> None:
    make_dir(tmp_path / "data", {"results.json": "current"})
    make_dir(tmp_path / "data.new", {"results.json": "half"})
    said = store.repair(tmp_path / "data")
    assert said == "removed an unfinished data.new/"
    assert contents(tmp_path / "data") == {"results.json": "current"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_repair_both_leftovers(tmp_path: Path) -> None:
    make_dir(tmp_path / "data.old", {"results.json": "old"})
    make_dir(tmp_path / "data.new", {"results.json": "half"})
    said = store.repair(tmp_path / "data")
    assert said is not None and "restored" in said and "data.new" in said
    assert contents(tmp_path / "data") == {"results.json": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_repair_of_a_clean_folder_does_nothing(tmp_path: Path) -> None:
    make_dir(tmp_path / "data", {"results.json": "current"})
    assert store.repair(tmp_path / "data") is None
    assert contents(tmp_path / "data") == {"results.json": "current"}
