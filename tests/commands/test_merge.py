"""`labkit merge`: the publishing Python's cell artifacts into docs/, each lab whole or not at all.

The artifacts are packed by the real `artifacts.pack` from this repository's committed results (read
only); every merge runs the copy's own toolkit on a temporary copy of the repository.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from labkit import artifacts, manifest, store

from tests.helpers import ROOT, copy_repo, hash_tree, labkit

LAB1, LAB2 = Path("docs/labs/lab-1"), Path("docs/labs/lab-2")


def pack(lab_id: str, into: Path, *, code: int = 0, python: str = "3.11", quick: bool = False) -> Path:
    """An artifact of ``lab_id`` as a cell would leave it, from the committed results."""
    lab = manifest.load(Path(f"labs/{lab_id}.yml"), root=ROOT)
    out = into / artifacts.name(lab_id, python)
    artifacts.pack(lab, root=ROOT, out=out, quick=False, code=code, wall_s=1.0, python=python)
    if quick:  # a QUICK cell's artifact: the flag is what the merge reads first
        cell = json.loads((out / artifacts.CELL).read_text())
        (out / artifacts.CELL).write_text(json.dumps({**cell, "quick": True}))
    return out


def published(folder: Path) -> dict[str, str]:
    """The lab's data/ and its pages, by hash (what a merge replaces)."""
    return {k: v for k, v in hash_tree(folder).items() if not k.startswith("data.")}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


def test_a_lab_is_merged_whole_and_a_failed_cell_keeps_the_old(copy: Path, tmp_path: Path) -> None:
    # The copy's Lab 1 differs from its artifact in every way a merge must undo: a file missing, a
    # stray file, a page edited. Lab 2's cell failed; another Python's Lab 2 artifact is not merged.
    (copy / LAB1 / "data" / "slow.svg").unlink()
    (copy / LAB1 / "data" / "stray.txt").write_text("left by an older run\n")
    with (copy / LAB1 / "index.md").open("a") as page:
        page.write("\nAn edit the merge replaces.\n")
    source = tmp_path / "artifacts"
    pack("lab-1", source)
    pack("lab-2", source, code=6)
    pack("lab-2", source, python="3.12")
    lab2 = hash_tree(copy / LAB2)

    run = labkit(
        copy, "merge", "--from", str(source), "--python", "3.11", "--summary", str(tmp_path / "m.md")
    )

    assert run.returncode == 1, str(run)  # a lab kept its previous results: the answer is no
    assert published(copy / LAB1) == published(ROOT / LAB1), "Lab 1 is not the artifact's, whole"
    assert hash_tree(copy / LAB2) == lab2, "the failed cell's lab changed"
    assert not store.leftovers(copy / LAB1) and not store.leftovers(copy / LAB2)
    report = (tmp_path / "m.md").read_text()
    assert "| lab-1 | merged | assets-lab-1-py3.11 |" in report, report
    assert (
        "| lab-2 | kept | assets-lab-2-py3.11 | the cell failed (exit 6: its claims did not come out"
        in report
    )
    assert "✓ lab-1: merged" in run.output and "✗ lab-2: kept" in run.output
    check = labkit(copy, "check", "--lab", "lab-1")
    assert check.returncode == 0, str(check)


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        ("quick", "a QUICK cell is never merged into docs/"),
        ("stale", "stale: measured from other inputs"),
        ("foreign", "files/docs/index.md: not one of lab-1's published files"),
        ("incomplete", "incomplete: docs/labs/lab-1/lab-1.ipynb missing"),
        ("forged", "results do not match the schema"),
        ("leak", "nothing was published; the new data names this machine"),
    ],
)
def test_an_artifact_that_does_not_fit_is_not_merged(
    copy: Path, tmp_path: Path, spoil: str, says: str
) -> None:
    source = tmp_path / "artifacts"
    art = pack("lab-1", source, quick=spoil == "quick")
    files = art / artifacts.FILES
    if spoil == "stale":  # the tree moved on since the cell measured
        with (copy / "labs" / "slow_service" / "service.py").open("a") as program:
            program.write("\n# changed after the cell ran\n")
    elif spoil == "foreign":
        (files / "docs" / "index.md").write_text("a page of another lab\n")
    elif spoil == "incomplete":
        (files / LAB1 / "lab-1.ipynb").unlink()
    elif spoil == "forged":
        results = json.loads((files / LAB1 / "data" / "results.json").read_text())
        results["profiles"] = "hand-written"
        (files / LAB1 / "data" / "results.json").write_text(json.dumps(results))
    elif spoil == "leak":  # a path of the tree it is merged into
        with (files / LAB1 / "data" / "help.txt").open("a") as captured:
            captured.write(f"\n{copy}/labs\n")
    before = hash_tree(copy / "docs")

    run = labkit(copy, "merge", "--from", str(source))

    assert run.returncode == 1, str(run)
    assert says in run.flat, str(run)
    assert hash_tree(copy / "docs", skip=("reports.md",)) == {
        k: v for k, v in before.items() if k != "reports.md"
    }, "docs/ changed although nothing was merged"


def test_an_interrupted_swap_is_repaired_first(copy: Path, tmp_path: Path) -> None:
    shutil.copytree(copy / LAB1 / "data", copy / LAB1 / "data.new")  # a swap killed half-way
    (copy / LAB1 / "index.md.new").write_text("half a page")
    source = tmp_path / "artifacts"
    pack("lab-1", source)

    run = labkit(copy, "merge", "--from", str(source))

    assert "✓ lab-1: merged" in run.output, str(run)
    assert (
        "removed an unfinished data.new/" in run.output and "removed an unfinished index.md.new" in run.output
    )
    assert not store.leftovers(copy / LAB1)
    assert published(copy / LAB1) == published(ROOT / LAB1)


def test_no_artifacts_folder_is_a_located_error(copy: Path, tmp_path: Path) -> None:
    run = labkit(copy, "merge", "--from", str(tmp_path / "nowhere"))
    assert run.returncode == 2 and "nowhere: no such folder of artifacts" in run.output, str(run)
    assert "Traceback" not in run.output


def test_a_cell_whose_manifest_is_refused_still_reports(copy: Path, tmp_path: Path) -> None:
    manifest_path = copy / "labs" / "lab-2.yml"
    manifest_path.write_text(manifest_path.read_text() + "\nno_such_key: 1\n")
    out = tmp_path / "artifacts" / "cell"

    run = labkit(copy, "cell", "--lab", "lab-2", "--out", str(out))

    assert run.returncode == 3, str(run)
    cell = json.loads((out / artifacts.CELL).read_text())
    assert (cell["lab"], cell["result"], cell["why"]) == ("lab-2", "failed", "its manifest was refused")
    merge = labkit(copy, "merge", "--from", str(tmp_path / "artifacts"))
    assert "✗ lab-2: kept (cell): invalid manifest: labs/lab-2.yml:" in merge.output, str(merge)
    assert "ignored" not in merge.output
