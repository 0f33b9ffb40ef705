"""Each kind owns its step options: a key its kind does not take is refused, located; the manifest's
schema and the instructors' reference are made from the kinds; `register` refuses a clash."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from labkit import kinds, manifest, pages, steptypes
from labkit.errors import ManifestError
from labkit.records import JSONObject

ROOT = Path(__file__).resolve().parents[2]

LAB = """\
format_version: 1
id: lab-7
title: A test lab
page: docs/labs/lab-7/index.md
programs: [labs/prog]
steps:
  - id: slow
    kind: profile
    command: [labs/prog/main.py]
    ready: running
    window: 30
    extract: {n: '\\d+'}
    before: zzz
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "labs" / "prog").mkdir(parents=True)
    (tmp_path / "labs" / "prog" / "main.py").write_text("def main():\n    pass\n")
    (tmp_path / "docs" / "labs" / "lab-7").mkdir(parents=True)
    (tmp_path / "docs" / "labs" / "lab-7" / "index.md").write_text("# Lab 7\n")
    return tmp_path


def load(root: Path, text: str) -> manifest.Lab:
    (root / "labs" / "lab-7.yml").write_text(text)
    return manifest.load(Path("labs/lab-7.yml"), root=root)


def test_a_key_the_kind_does_not_take_is_refused_with_its_line_and_the_keys_it_takes(root: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load(root, LAB)
    message = str(caught.value)
    assert (
        "labs/lab-7.yml:11:5: steps/0: a profile step does not take 'window', 'extract', 'before'" in message
    )
    taken = message.split("; it takes ", 1)[1]
    assert taken.startswith("id, kind, title, needs, command, quick_command, ready, target, rate")
    assert "window" not in taken and "extract" not in taken
    assert "Traceback" not in message and "\n" not in message.split("invalid manifest:\n", 1)[1]


def test_the_same_keys_load_on_the_kinds_that_take_them(root: Path) -> None:
    text = LAB.split("    window")[0] + (
        "  - id: ov\n    kind: overhead\n    command: [labs/prog/main.py]\n    ready: run\n    window: 3\n"
        "  - id: out\n    kind: command\n    command: [labs/prog/main.py]\n    extract: {n: '\\d+'}\n"
    )
    lab = load(root, text)
    slow, ov, out = lab.steps
    assert type(ov.options).__name__ == "Options" and ov.options.window == 3  # type: ignore[attr-defined]
    assert out.extract == {"n": "\\d+"}
    assert slow.window == 1 and slow.extract == {}  # what generic code reads of an option a kind lacks
    assert not hasattr(slow.options, "window")


def test_committed_labs_load_unchanged() -> None:
    for lab_id in ("lab-1", "lab-2"):
        lab = manifest.load(Path(f"labs/{lab_id}.yml"), root=ROOT)
        assert lab.warnings == []
        for step in lab.steps:
            assert isinstance(step.options, kinds.get(step.kind).options)


def test_the_step_schema_is_assembled_from_the_kinds() -> None:
    step = manifest.schema()["$defs"]["step"]
    by_kind = {part["if"]["properties"]["kind"]["const"]: part["then"] for part in step["allOf"]}
    assert list(by_kind) == list(kinds.REGISTRY)
    for name, then in by_kind.items():
        assert then["additionalProperties"] is False
        assert list(then["properties"]) == manifest.step_keys(name)


@dataclass(frozen=True)
class ColourOptions(steptypes.Program):
    KEYS: ClassVar[JSONObject] = {"colour": {"enum": ["red", "blue"]}}
    colour: str = "red"


def test_an_outside_kind_declares_its_own_options(root: Path) -> None:
    kind = kinds.Kind(name="paint", section=None, options=ColourOptions)
    kinds.register(kind)
    try:
        head = LAB.split("  - id: slow")[0]
        lab = load(
            root, head + "  - id: p\n    kind: paint\n    command: [labs/prog/main.py]\n    colour: blue\n"
        )
        assert lab.steps[0].options == ColourOptions(command=["labs/prog/main.py"], colour="blue")
        with pytest.raises(ManifestError, match=r"lab-7.yml:9:13: steps/0/colour: 'green' is not one of"):
            load(root, head + "  - id: p\n    kind: paint\n    colour: green\n")
        with pytest.raises(ManifestError, match=r"a paint step does not take 'window'; it takes id, kind, "):
            load(root, head + "  - id: p\n    kind: paint\n    window: 3\n")
    finally:
        kinds.REGISTRY.pop("paint")


def test_the_reference_lists_each_kinds_keys_as_the_kinds_declare_them() -> None:
    page = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    start, end = manifest.KEYS_TABLE
    shown = page.split(start, 1)[1].split(end, 1)[0].strip().splitlines()
    assert shown == manifest.keys_table(), (
        "docs/reference.md: paste manifest.keys_table() between its markers"
    )


@pytest.fixture
def registry() -> Iterator[None]:
    saved = dict(kinds.REGISTRY)
    yield
    kinds.REGISTRY.clear()
    kinds.REGISTRY.update(saved)


def test_register_refuses_a_section_or_a_block_that_is_taken(registry: None) -> None:
    profile = kinds.get("profile")
    with pytest.raises(ValueError, match="'profile' is registered already"):
        kinds.register(dataclasses.replace(profile))
    with pytest.raises(ValueError, match="section 'profiles' is taken by 'profile'"):
        kinds.register(kinds.Kind(name="other", section="profiles"))
    with pytest.raises(ValueError, match="block 'flamegraph' is taken by 'profile'"):
        kinds.register(kinds.Kind(name="other", section="others", blocks=dict(profile.blocks)))
    for generic in pages.GENERIC_BLOCKS:
        with pytest.raises(ValueError, match=f"block {generic!r} would shadow the generic block"):
            kinds.register(kinds.Kind(name="other", section="others", blocks={generic: lambda c, a: []}))
    assert "other" not in kinds.REGISTRY
    kinds.register(profile)  # the same kind again: a module imported twice


def test_the_registry_knows_every_generic_block() -> None:
    assert set(pages.GENERIC_BLOCKS) == kinds.GENERIC_BLOCKS
