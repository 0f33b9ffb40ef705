"""Claims decide what is published: a real py-spy run of a test lab whose hot function is elsewhere.

The test lab (tests/fixtures/hot_elsewhere/) is installed as lab-9 into a temporary
copy of the repository. Its claim says helper_a holds at least 80% of the samples;
the program spends them in helper_b. A full run must refuse to publish; an honest
rewrite (the page says the statement does not hold, the claim expects `fails`)
publishes and passes `check`. A claim within noise of its threshold, with no
second look allowed, is `undecided` and is never published as holding.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import QUICK, ROOT, assert_no_process_left, copy_repo, hash_tree, labkit

FIXTURE = ROOT / "tests" / "fixtures" / "hot_elsewhere"
LAB9 = "lab-9"
LAB9_DIR = Path("docs/labs/lab-9")
LAB9_PAGE = LAB9_DIR / "index.md"
SENTENCE = "helper_a is on the stack in at least 80% of the samples"
CLAIM = "helper_a_dominates"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} no longer holds {old!r}; update this test"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def lab9(tmp_path: Path) -> Iterator[Path]:
    """A copy of the repository with the test lab installed as lab-9 (no results yet)."""
    copy = copy_repo(tmp_path / "repo")
    (copy / "labs" / "hot_elsewhere").mkdir()
    shutil.copy2(FIXTURE / "service.py", copy / "labs" / "hot_elsewhere" / "service.py")
    shutil.copy2(FIXTURE / "lab-9.yml", copy / "labs" / "lab-9.yml")
    (copy / LAB9_DIR).mkdir(parents=True)
    shutil.copy2(FIXTURE / "index.md", copy / LAB9_PAGE)
    yield copy
    assert_no_process_left(copy)


def assert_nothing_published(copy: Path, page_before: str) -> None:
    assert not (copy / LAB9_DIR / "data").exists(), "results were swapped in"
    assert not (copy / LAB9_DIR / "data.new").exists()
    assert not (copy / LAB9_DIR / "data.old").exists()
    assert (copy / LAB9_PAGE).read_text(encoding="utf-8") == page_before


def test_a_claim_on_the_wrong_function_blocks_the_run_until_the_page_is_honest(lab9: Path) -> None:
    page_before = (lab9 / LAB9_PAGE).read_text(encoding="utf-8")
    lab1_before = hash_tree(lab9 / "docs" / "labs" / "lab-1")

    run = labkit(lab9, "assets", "--lab", LAB9)  # the full configuration: claims are judged
    assert run.returncode != 0, str(run)
    flat = run.flat
    assert f"'{CLAIM}'" in flat, str(run)  # the claim's id
    assert SENTENCE in flat, str(run)  # its sentence
    assert str(LAB9_PAGE) in flat, str(run)  # the page it is written on
    assert re.search(r"expected to hold but (it |is )?(fails|does not hold)", flat), str(run)
    measured = re.search(r"measured (\d+\.\d)% \((\d+(?:\.\d)?)% CI (\d+\.\d)–(\d+\.\d)%\)", flat)
    assert measured, f"no measured value with its interval in the message:\n{run}"
    share, _, low, high = (float(g) for g in measured.groups())
    assert low <= share <= high < 80, str(run)  # the measured value: well below the claim's 80%
    assert "≥ 80.0%" in flat, str(run)  # the rule
    assert "Traceback" not in run.output, str(run)
    assert_nothing_published(lab9, page_before)
    assert hash_tree(lab9 / "docs" / "labs" / "lab-1") == lab1_before
    assert_no_process_left(lab9)

    # The honest rewrite: the page says the statement does not hold; the claim expects that.
    edit(lab9 / "labs" / "lab-9.yml", "    expect: holds\n", "    expect: fails\n")
    edit(lab9 / LAB9_PAGE, f"We say that\n{SENTENCE}.", f"It is not true that\n{SENTENCE}.")
    run = labkit(lab9, "assets", "--lab", LAB9)
    assert run.returncode == 0, str(run)
    results = json.loads((lab9 / LAB9_DIR / "data" / "results.json").read_text(encoding="utf-8"))
    assert results["quick"] is False
    (claim,) = results["claims"]
    assert (claim["id"], claim["verdict"], claim["expect"]) == (CLAIM, "fails", "fails")
    low, high = claim["interval"]
    assert 0 <= low <= claim["value"] <= high < 0.8
    functions = {f["name"]: f for f in results["profiles"]["hot"]["functions"]}
    assert functions["helper_b"]["total_share"] > functions["helper_a"]["total_share"]
    page = (lab9 / LAB9_PAGE).read_text(encoding="utf-8")
    assert "✓ refuted, as this page says" in page  # the claims block shows the verdict in words
    assert "It is not true that" in page
    check = labkit(lab9, "check", "--lab", LAB9)
    assert check.returncode == 0, str(check)

    # A claim that cannot fail is a defect; a claim that no longer fails is caught by check too.
    edit(lab9 / "labs" / "lab-9.yml", "    than: 0.8\n", "    than: 0.01\n")
    check = labkit(lab9, "check", "--lab", LAB9)
    assert check.returncode != 0, str(check)
    assert f"'{CLAIM}'" in check.flat and "expected to fail" in check.flat, str(check)


def test_quick_runs_report_mismatched_claims_without_blocking(lab9: Path) -> None:
    """QUICK results are never published; their small n cannot bear a claim, so check only notes it."""
    run = labkit(lab9, "assets", "--lab", LAB9, "--quick")
    assert run.returncode == 0, str(run)
    assert not (lab9 / LAB9_DIR / "data").exists()  # never in docs/
    results = json.loads((lab9 / QUICK / LAB9_DIR / "data" / "results.json").read_text(encoding="utf-8"))
    assert results["quick"] is True
    assert results["claims"][0]["verdict"] == "fails"
    check = labkit(lab9, "check", "--lab", LAB9, "--quick")
    assert check.returncode == 0, str(check)
    assert "QUICK result, not judged" in check.flat and f"'{CLAIM}'" in check.flat, str(check)
    check = labkit(lab9, "check", "--lab", LAB9)  # docs/ holds no result of lab-9: nothing was published
    assert check.returncode != 0 and "missing" in check.flat, str(check)


def test_a_claim_within_noise_is_undecided_and_not_published_as_holding(lab9: Path) -> None:
    """Long 50/50 phases: the autocorrelated samples leave "helper_a ≥ 50%" undecided; no second look."""
    manifest = lab9 / "labs" / "lab-9.yml"
    edit(manifest, "--mode, elsewhere]", "--mode, even]")
    edit(manifest, "adaptive: {pilot: 1, max: 3}", "adaptive: {pilot: 2, max: 2}")
    edit(manifest, "    than: 0.8\n", "    than: 0.5\n")
    edit(manifest, f"text: {SENTENCE}", "text: helper_a is on the stack in at least half of the samples")
    edit(lab9 / LAB9_PAGE, SENTENCE, "helper_a is on the stack in at least half of the samples")
    page_before = (lab9 / LAB9_PAGE).read_text(encoding="utf-8")

    run = labkit(lab9, "assets", "--lab", LAB9)
    assert run.returncode != 0, str(run)
    flat = run.flat
    assert f"'{CLAIM}'" in flat and "undecided" in flat, str(run)
    assert "helper_a is on the stack in at least half of the samples" in flat, str(run)
    assert str(LAB9_PAGE) in flat, str(run)
    assert "look 2" not in flat, f"max = pilot allows no second look:\n{run}"
    measured = re.search(r"measured (\d+\.\d)% \(\d+(?:\.\d)?% CI (\d+\.\d)–(\d+\.\d)%\)", flat)
    assert measured, str(run)
    _, low, high = (float(g) for g in measured.groups())
    assert low < 50 < high, str(run)
    assert "Traceback" not in run.output, str(run)
    assert_nothing_published(lab9, page_before)


def test_a_failing_claim_with_square_brackets_is_named_word_for_word(lab9: Path) -> None:
    bracketed = "helper_a [not helper_b] is on the stack in at least 80% of the samples"
    edit(lab9 / "labs" / "lab-9.yml", f"text: {SENTENCE}", f"text: {bracketed}")
    edit(lab9 / LAB9_PAGE, SENTENCE, bracketed)
    run = labkit(lab9, "assets", "--lab", LAB9)
    assert run.returncode != 0, str(run)
    assert "Traceback" not in run.output, str(run)
    assert bracketed in run.flat, str(run)
