"""A derived file whose text holds a carriage return is written and checked byte for byte: `make check`
once read it with universal newlines (CR became LF) and reported it as differing from its raw data, for
ever, since re-measuring wrote the same text again (issue 26's second probe, item 8)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from labkit import check, kinds, manifest, publish, stepcontext, store
from labkit.manifest import Step

_SAID = "a name\rwith a CR\r\nand CRLF\n"


def _run(ctx: stepcontext.Context, step: Step) -> dict[str, Any]:
    """Keep what the program printed, bytes as they are, and a derived copy (the kind's artifact)."""
    done = subprocess.run(step.command, capture_output=True, check=True, cwd=ctx.opts.root)
    ctx.opts.out.mkdir(parents=True, exist_ok=True)
    (ctx.opts.out / f"{step.id}.raw").write_bytes(done.stdout)
    store.write_text(ctx.opts.out / f"{step.id}.copy", _derived(step.id, ctx.opts.out))
    return {"raw": f"{step.id}.raw", "copy": f"{step.id}.copy"}


def _derived(step: str, data_dir: Path) -> str:
    return "derived: " + (data_dir / f"{step}.raw").read_bytes().decode()


run = _run  # this module is the kind's runner

KIND = kinds.Kind(
    name="crtoy",
    section="crtoys",
    runner=__name__,
    artifacts=lambda step, entry, data_dir: {entry["copy"]: _derived(step, data_dir)},
    schema={"type": "object", "required": ["raw", "copy"]},
)

MANIFEST = """\
format_version: 1
id: lab-5
title: A toy lab
page: docs/labs/lab-5/index.md
programs: [labs/toy]
steps:
  - id: echo
    kind: crtoy
    command: [python3, labs/toy/say.py]
"""


@pytest.fixture
def kind() -> Any:
    kinds.register(KIND)
    yield KIND
    kinds.REGISTRY.pop(KIND.name)


def test_a_derived_file_with_a_carriage_return_checks_clean(kind: Any, tmp_path: Path) -> None:
    (tmp_path / "labs" / "toy").mkdir(parents=True)
    (tmp_path / "labs" / "toy" / "say.py").write_text(
        f"import sys\nsys.stdout.buffer.write({_SAID.encode()!r})\n"
    )
    (tmp_path / "labs" / "lab-5.yml").write_text(MANIFEST)
    (tmp_path / "docs" / "labs" / "lab-5").mkdir(parents=True)
    (tmp_path / "docs" / "labs" / "lab-5" / "index.md").write_text("# Toy\n")
    lab = manifest.load(Path("labs/lab-5.yml"), root=tmp_path)
    publish.assets(lab, root=tmp_path, force=False, quick=False, method=None, say=lambda _: None)
    copy = tmp_path / "docs" / "labs" / "lab-5" / "data" / "echo.copy"
    assert copy.read_bytes() == ("derived: " + _SAID).encode()
    problems, _ = check.check_lab(lab, root=tmp_path)
    assert problems == []
    copy.write_bytes(copy.read_bytes().replace(b"\r", b"\n"))  # what universal newlines would have read
    problems, _ = check.check_lab(lab, root=tmp_path)
    assert any("echo.copy differs from what its raw data give" in p for p in problems), problems
