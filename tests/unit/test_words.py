"""Verdicts, dates and step names in the words a reader sees (labkit.words)."""

from __future__ import annotations

from pathlib import Path

import pytest
from labkit import manifest, words

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("got", "expect", "shown"),
    [
        ("holds", "holds", "✓ confirmed"),
        ("fails", "fails", "✓ refuted, as this page says"),
        ("cited", "holds", "cited"),
        ("cited", "fails", "cited: refuted, as this page says"),
        ("fails", "holds", "✗ mismatch: does not hold (this page says it holds)"),
        ("holds", "fails", "✗ mismatch: holds (this page says it does not hold)"),
        ("undecided", "holds", "✗ mismatch: undecided (this page says it holds)"),
    ],
)
def test_a_verdict_reads_as_what_it_means(got: str, expect: str, shown: str) -> None:
    assert words.verdict(got, expect) == shown


def test_an_expected_refutation_never_reads_as_a_failure() -> None:
    assert "does not hold" not in words.verdict("fails", "fails")
    assert not words.verdict("fails", "fails").startswith("✗")


def test_the_tally_counts_cited_claims_and_says_how_many() -> None:
    claims = [
        {"verdict": "holds", "expect": "holds"},
        {"verdict": "fails", "expect": "fails"},
        {"verdict": "cited", "expect": "holds"},
        {"verdict": "cited", "expect": "fails"},
        {"verdict": "undecided", "expect": "holds"},
    ]
    tally = words.tally(claims)
    assert (tally.agree, tally.total, tally.cited) == (4, 5, 2)
    assert str(tally) == "4 of 5 as its pages say (2 cited)"
    assert str(words.tally(claims[:2])) == "2 of 2 as its pages say"


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("2026-12-02T14:27:09Z", "2 December 2026, 14:27 UTC"),
        ("2026-01-09T03:05:00+02:00", "9 January 2026, 01:05 UTC"),
        ("not a time", "not a time"),
    ],
)
def test_dates_read_as_a_person_writes_them(stamp: str, shown: str) -> None:
    assert words.date(stamp) == shown


def test_steps_are_named_by_their_titles_and_a_stop_step_by_what_it_stops() -> None:
    lab = manifest.load(Path("labs/lab-2.yml"), root=ROOT)
    stops = [s for s in lab.steps if s.kind == "stop" and not s.title]
    assert stops, "lab-2 has untitled stop steps"
    for step in lab.steps:
        title = words.step_title(lab.steps, step.id)
        assert title != step.id and "_" not in title.split(":")[0], title
    stopped = words.step_title(lab.steps, stops[0].id)
    assert stopped.startswith("Stop ")
    assert words.step_title(lab.steps, "no_such_step") == "no_such_step"
