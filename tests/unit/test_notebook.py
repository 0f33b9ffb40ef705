"""labkit.notebook: a lab's notebook generated from its manifest and page (pure, no kernel)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from labkit import manifest, notebook, pages, prose

from tests.helpers import ROOT

LABS = [p.stem for p in manifest.discover(ROOT)]


def _lab(lab_id: str) -> manifest.Lab:
    return manifest.load(Path("labs") / f"{lab_id}.yml", root=ROOT)


def _built(lab_id: str) -> nbformat.NotebookNode:
    lab = _lab(lab_id)
    return notebook.build(lab, (ROOT / lab.page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("lab_id", LABS)
def test_valid_nbformat_4_without_outputs(lab_id: str) -> None:
    nb = _built(lab_id)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert "generated" in nb.cells[0].source and "Do not edit it by hand" in nb.cells[0].source


@pytest.mark.parametrize("lab_id", LABS)
def test_deterministic_bytes_and_committed_file_is_current(lab_id: str) -> None:
    lab = _lab(lab_id)
    first, second = notebook.render(lab, root=ROOT), notebook.render(lab, root=ROOT)
    assert first == second
    assert (ROOT / notebook.path_of(lab)).read_text(encoding="utf-8") == first
    assert notebook.stale(lab, root=ROOT) is None
    assert str(ROOT) not in first and "/tmp/" not in first  # nothing local in a published file


@pytest.mark.parametrize("lab_id", LABS)
def test_prose_and_steps_in_page_order(lab_id: str) -> None:
    lab = _lab(lab_id)
    text = (ROOT / lab.page).read_text(encoding="utf-8")
    headings = [
        line for line, kind in zip(text.split("\n"), pages.regions(text), strict=True)
        if kind == "prose" and re.match(r"#{1,6} ", line)
    ]  # fmt: skip
    md = "\n".join(c.source for c in _built(lab_id).cells if c.cell_type == "markdown")
    positions = [md.find(h) for h in headings]
    assert -1 not in positions and positions == sorted(positions)
    code = "\n".join(c.source for c in _built(lab_id).cells if c.cell_type == "code")
    runs = re.findall(r'lab\.run\("(\w+)"\)', code)
    ids = [s.id for s in lab.steps]
    assert runs == [i for i in ids if i in runs], "steps run in manifest order, each once"
    assert runs == [s.id for s in notebook.included(lab, text)]


@pytest.mark.parametrize("lab_id", LABS)
def test_no_published_number_in_markdown(lab_id: str) -> None:
    lab = _lab(lab_id)
    results = json.loads((ROOT / lab.data_dir / "results.json").read_text(encoding="utf-8"))
    md = "\n\n".join(c.source for c in _built(lab_id).cells if c.cell_type == "markdown")
    for marker in ("<!-- value", "<!-- begin", "<!-- end", "<table", "<figure", "<iframe"):
        assert marker not in md
    figures = [f.text for f in lab.figures if f.page in ("", lab.page.as_posix())]
    claims = [c["text"] for c in lab.claims if c.get("page", lab.page.as_posix()) == lab.page.as_posix()]
    leaked = list(prose.numbers(md, bound=[*claims, *figures], values=results["values"]))
    assert leaked == []
    for name in re.findall(r"<!-- value: (\w+) -->", (ROOT / lab.page).read_text(encoding="utf-8")):
        assert f"`⟨{name}⟩`" in md


def test_markdown_of_containers_values_and_anchors() -> None:
    lines = [
        "See [the step](#step-2-run-it).",
        "",
        '!!! warning "The article says: fast"',
        "",
        "    It took <!-- value: slow_wall -->2.02 s<!-- /value -->.",
        "",
        '=== "Linux"',
        "",
        "    ```bash",
        "    py-spy record --pid PID",
        "    ```",
        "",
        "After.",
    ]
    out = notebook.markdown(lines, anchors={"step-2-run-it": "Step-2:-Run-it"})
    assert out.split("\n") == [
        "See [the step](#Step-2:-Run-it).",
        "",
        "> **The article says: fast**",
        ">",
        "> It took `⟨slow_wall⟩`.",
        "",
        "**Linux**",
        "",
        "```bash",
        "py-spy record --pid PID",
        "```",
        "",
        "After.",
    ]


def test_a_block_inside_a_tab_becomes_code_cells_after_its_steps() -> None:
    lab = _lab("lab-2")
    text = "\n".join(
        [
            "# T", "", "Prose.", "", '=== "Default"', "", "    <!-- begin: flamegraph default -->", "    x",
            "    <!-- end: flamegraph default -->", "", "End.", "",
        ]
    )  # fmt: skip
    cells = notebook.build(lab, text).cells
    sources = [c.source for c in cells]
    show = sources.index('lab.show("flamegraph", "default")')
    runs = [s for s in sources[:show] if "lab.run(" in s]
    # the service and its load (other steps need them), the profiles the block and the claims read; the steps
    # that this page neither reads nor needs are left to `make lab-2`
    assert [re.search(r'run\("(\w+)"', s)[1] for s in runs] == ["web", "traffic", "idle", "default"]  # type: ignore[index]
    assert sources[-1] == "lab.close()"


def test_stale_when_the_page_changes(tmp_path: Path) -> None:
    lab = _lab("lab-1")
    for rel in (lab.page, notebook.path_of(lab)):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    assert notebook.stale(lab, root=tmp_path) is None
    page = tmp_path / lab.page
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    problem = notebook.stale(lab, root=tmp_path)
    assert problem and "stale" in problem and "lab-1.ipynb" in problem
    (tmp_path / notebook.path_of(lab)).unlink()
    assert "missing" in (notebook.stale(lab, root=tmp_path) or "")
