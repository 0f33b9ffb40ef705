"""labkit.claims: verdicts decided on intervals, the evaluation of a lab's claims, the second look,
claims that a page does not state, and the validation of claims in a manifest."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from labkit import claims, manifest, stacks, stats
from labkit.claims import Measured
from labkit.errors import LabError

# --- verdict: the whole interval must be on the right side -------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "op", "than", "expected"),
    [
        # >= : holds when even the low end reaches the threshold
        (0.92, 0.97, ">=", 0.90, "holds"),
        (0.90, 0.97, ">=", 0.90, "holds"),  # the low end exactly at the threshold is "at least"
        (0.80, 0.88, ">=", 0.90, "fails"),
        (0.86, 0.94, ">=", 0.90, "undecided"),
        # > : the low end must be strictly above; at the threshold nothing is decided yet
        (0.51, 0.60, ">", 0.50, "holds"),
        (0.50, 0.60, ">", 0.50, "undecided"),
        (0.40, 0.50, ">", 0.50, "fails"),
        (0.45, 0.55, ">", 0.50, "undecided"),
        # <= and <, the mirror images
        (0.01, 0.02, "<=", 0.02, "holds"),
        (0.03, 0.05, "<=", 0.02, "fails"),
        (0.01, 0.03, "<=", 0.02, "undecided"),
        (0.01, 0.019, "<", 0.02, "holds"),
        (0.01, 0.02, "<", 0.02, "undecided"),
        (0.02, 0.05, "<", 0.02, "fails"),
        (0.015, 0.025, "<", 0.02, "undecided"),
    ],
)
def test_verdict_on_an_interval(low: float, high: float, op: str, than: float, expected: str) -> None:
    m = Measured((low + high) / 2, low, high, 0.95)
    assert claims.verdict(m, op, than) == expected


def test_verdict_uses_the_interval_not_the_point_estimate() -> None:
    # The estimate is above the threshold, the interval is not: not "holds".
    assert claims.verdict(Measured(0.93, 0.85, 0.97, 0.95), ">=", 0.9) == "undecided"
    # The estimate is below, the interval straddles: not "fails" either.
    assert claims.verdict(Measured(0.88, 0.83, 0.95, 0.95), ">=", 0.9) == "undecided"


def test_verdict_on_an_exact_value() -> None:
    # Counts, extracted numbers and booleans have no interval: decided on the value itself.
    assert claims.verdict(Measured(3), ">", 1) == "holds"
    assert claims.verdict(Measured(1), ">", 1) == "fails"
    assert claims.verdict(Measured(1), "==", 1) == "holds"
    assert claims.verdict(Measured(4), "==", 1) == "fails"
    assert claims.verdict(Measured(100), "!=", 50) == "holds"
    assert claims.verdict(Measured(True), "==", False) == "fails"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (97.0, 103.0, "holds"),  # inside 95..105
        (95.0, 105.0, "holds"),  # touching the bounds is inside
        (80.0, 90.0, "fails"),  # wholly below
        (106.0, 110.0, "fails"),  # wholly above
        (93.0, 99.0, "undecided"),  # straddles the lower bound
        (101.0, 107.0, "undecided"),  # straddles the upper bound
    ],
)
def test_verdict_within_a_tolerance(low: float, high: float, expected: str) -> None:
    m = Measured((low + high) / 2, low, high, 0.95)
    assert claims.verdict(m, "within", 100, tolerance=0.05) == expected


def test_within_needs_a_tolerance() -> None:
    with pytest.raises(LabError, match="tolerance"):
        claims.verdict(Measured(1.0, 0.9, 1.1), "within", 1.0)


@pytest.mark.parametrize(
    ("a", "b", "op", "expected"),
    [
        ((0.60, 0.55, 0.65), (0.30, 0.25, 0.35), ">", "holds"),  # apart, a above b
        ((0.30, 0.25, 0.35), (0.60, 0.55, 0.65), ">", "fails"),  # apart, a below b
        ((0.50, 0.40, 0.60), (0.45, 0.35, 0.55), ">", "undecided"),  # overlapping intervals
        ((0.50, 0.40, 0.60), (0.45, 0.35, 0.55), "<", "undecided"),
        ((0.30, 0.25, 0.35), (0.60, 0.55, 0.65), "<", "holds"),
        ((0.30, 0.25, 0.35), (0.60, 0.55, 0.65), "<=", "holds"),
        ((0.60, 0.55, 0.65), (0.30, 0.25, 0.35), ">=", "holds"),
        ((0.60, 0.55, 0.65), (0.30, 0.25, 0.35), "<=", "fails"),
    ],
)
def test_verdict_between_two_measurements(
    a: tuple[float, float, float], b: tuple[float, float, float], op: str, expected: str
) -> None:
    """Comparing two measured shares: only intervals that do not overlap decide."""
    assert claims.verdict(Measured(*a, 0.95), op, "x", other=Measured(*b, 0.95)) == expected


def test_two_measurements_cannot_be_compared_for_equality() -> None:
    with pytest.raises(LabError, match="cannot compare two measurements"):
        claims.verdict(Measured(0.5, 0.4, 0.6), "==", "x", other=Measured(0.5, 0.4, 0.6))


def test_too_few_samples_leave_a_claim_undecided_and_it_is_not_reported_as_holding() -> None:
    """93% of 20 samples looks like "at least 90%", but 20 samples cannot say so."""
    low, high = stats.wilson(0.93, 20, confidence=0.95)
    assert low < 0.9 < 0.93 < high
    m = Measured(0.93, low, high, 0.95)
    assert claims.verdict(m, ">=", 0.9) == "undecided"
    ledger = [
        {"id": "few", "text": "t", "page": "p.md", "expect": "holds", "verdict": "undecided"},
        {"id": "ok", "text": "t", "page": "p.md", "expect": "holds", "verdict": "holds"},
    ]
    assert [c["id"] for c in claims.mismatches(ledger)] == ["few"]
    # The same share over 2,000 samples decides it.
    low, high = stats.wilson(0.93, 2000, confidence=0.95)
    assert claims.verdict(Measured(0.93, low, high, 0.95), ">=", 0.9) == "holds"


def test_too_few_samples_of_a_real_recording_are_undecided() -> None:
    """Through the whole chain: a 20-sample recording, its functions' intervals, the claim."""
    frames = [{"name": "busy", "file": "x.py", "line": 1}, {"name": "helper_a", "file": "x.py", "line": 5}]
    samples = [[0, 1]] * 19 + [[0]]  # helper_a in 19 of 20 samples: 95%
    rec = stacks.parse({"shared": {"frames": frames}, "profiles": [{"name": "thread 1", "samples": samples}]})
    fns = stacks.functions(rec, confidence=0.95)
    results = {"profiles": {"hot": {"samples": 20, "wall_s": 0.2, "ci_level": 0.95, "functions": fns}}}
    spec = claim("few", "profiles.hot.functions.helper_a.total_share", ">=", 0.9)
    (entry,) = claims.evaluate(results, [spec], default_page="p.md", defined=lambda _: True)
    assert entry["value"] == pytest.approx(0.95)
    assert entry["verdict"] == "undecided"
    assert claims.mismatches([entry]) == [entry]
    assert "undecided" in claims.describe(entry)


def test_mismatches_and_describe() -> None:
    ledger = [
        {"id": "a", "expect": "holds", "verdict": "holds"},
        {"id": "b", "expect": "holds", "verdict": "fails"},
        {"id": "c", "expect": "fails", "verdict": "fails"},  # a refuted article statement: as expected
        {"id": "d", "expect": "fails", "verdict": "holds"},
        {"id": "e", "expect": "fails", "verdict": "undecided"},  # undecided equals neither
        {"id": "f", "expect": "fails", "verdict": "cited"},  # a documented fact: no run decides it
    ]
    assert [c["id"] for c in claims.mismatches(ledger)] == ["b", "d", "e"]
    shown = claims.describe(
        {
            "id": "hot_a",
            "text": "helper_a holds most samples",
            "page": "docs/labs/lab-9/index.md",
            "expect": "holds",
            "verdict": "fails",
            "shown": "5.0% (95% CI 2.0–9.0%)",
            "rule": "≥ 80.0%",
        }
    )
    for part in ("docs/labs/lab-9/index.md", "'hot_a'", "helper_a holds most samples", "5.0%", "≥ 80.0%"):
        assert part in shown, shown


# --- evaluate: a small results.json ------------------------------------------------------------------


def function(name: str, total: float, total_ci: list[float], self_: float = 0.0) -> dict[str, Any]:
    return {
        "name": name,
        "file": "labs/x/service.py",
        "self_share": self_,
        "total_share": total,
        "self_ci": [max(0.0, self_ - 0.02), min(1.0, self_ + 0.02)],
        "total_ci": total_ci,
        "line_frames": 2,
    }


RESULTS: dict[str, Any] = {
    "quick": False,
    "profiles": {
        "hot": {
            "samples": 400,
            "wall_s": 4.0,
            "ci_level": 0.95,
            "effective_rate_hz": 99.0,
            "effective_rate_ci": [96.0, 102.0],
            "functions": [
                function("busy", 0.97, [0.95, 0.985], 0.05),
                function("helper_b", 0.86, [0.82, 0.89], 0.86),
                function("helper_a", 0.06, [0.04, 0.09], 0.06),
            ],
        }
    },
    "benchmark": {"speedup": {"min": 900.0, "median": 1500.0, "max": 2100.0}},
    "overhead": None,
    "commands": {"help": {"extracted": {"default_rate": 100}, "result": {"attached": True}}},
}


def claim(cid: str, value: str, op: str, than: Any, **more: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "text": f"sentence {cid}",
        "value": value,
        "op": op,
        "than": than,
        "expect": "holds",
        "evidence": "measured",
        **more,
    }


def evaluate(*specs: dict[str, Any], defined: Any = None) -> dict[str, dict[str, Any]]:
    results = copy.deepcopy(RESULTS)
    out = claims.evaluate(
        results, list(specs), default_page="docs/labs/lab-9/index.md", defined=defined or (lambda _: False)
    )
    assert results == RESULTS  # evaluating never changes the results
    return {c["id"]: c for c in out}


def test_a_share_is_judged_on_its_functions_interval() -> None:
    got = evaluate(
        claim("b_big", "profiles.hot.functions.helper_b.total_share", ">=", 0.8),
        claim("b_huge", "profiles.hot.functions.helper_b.total_share", ">=", 0.85),  # 0.86, CI from 0.82
        claim("a_big", "profiles.hot.functions.helper_a.total_share", ">=", 0.8),
    )
    assert got["b_big"]["verdict"] == "holds"
    assert got["b_big"]["value"] == 0.86
    assert got["b_big"]["interval"] == [0.82, 0.89]
    assert got["b_big"]["level"] == 0.95
    assert got["b_big"]["shown"] == "86.0% (95% CI 82.0–89.0%)"
    assert got["b_big"]["rule"] == "≥ 80.0%"
    assert got["b_big"]["page"] == "docs/labs/lab-9/index.md"
    assert got["b_huge"]["verdict"] == "undecided"
    assert got["a_big"]["verdict"] == "fails"


def test_a_self_share_uses_the_self_interval() -> None:
    got = evaluate(claim("self", "profiles.hot.functions.busy.self_share", "<", 0.1))
    assert got["self"]["interval"] == pytest.approx([0.03, 0.07])
    assert got["self"]["verdict"] == "holds"


def test_comparing_two_shares_of_one_profile() -> None:
    got = evaluate(
        claim(
            "b_over_a",
            "profiles.hot.functions.helper_b.total_share",
            ">",
            "profiles.hot.functions.helper_a.total_share",
        ),
        claim(
            "a_over_b",
            "profiles.hot.functions.helper_a.total_share",
            ">",
            "profiles.hot.functions.helper_b.total_share",
        ),
    )
    assert got["b_over_a"]["verdict"] == "holds"
    assert got["a_over_b"]["verdict"] == "fails"
    assert "86.0%" in got["a_over_b"]["rule"]  # the rule shows what it was compared with


def test_a_speedup_uses_the_conservative_end() -> None:
    """A median of 1,500× does not make "at least 1,000×" hold while the slowest pairing gives 900×."""
    got = evaluate(
        claim("k1000", "benchmark.speedup", ">=", 1000),
        claim("k800", "benchmark.speedup", ">=", 800),
        claim("k3000", "benchmark.speedup", ">=", 3000),
        claim("under_5000", "benchmark.speedup", "<", 5000),
    )
    assert got["k1000"]["value"] == 1500.0 and got["k1000"]["interval"] == [900.0, 2100.0]
    assert got["k1000"]["level"] is None  # a min..max spread, not a confidence interval
    assert got["k1000"]["verdict"] == "undecided"
    assert got["k800"]["verdict"] == "holds"
    assert got["k3000"]["verdict"] == "fails"
    assert got["under_5000"]["verdict"] == "holds"
    assert got["k800"]["shown"] == "1,500× (min–max 900×–2,100×)"


def test_an_unsampled_but_defined_function_has_share_zero_with_an_upper_bound() -> None:
    spec = claim("c_rare", "profiles.hot.functions.helper_c.total_share", "<", 0.05)
    got = evaluate(spec, defined=lambda name: name == "helper_c")["c_rare"]
    assert got["value"] == 0.0
    low, high = got["interval"]
    assert low == 0.0
    assert high == pytest.approx(stats.wilson(0.0, 400, confidence=0.95)[1])
    assert 0 < high < 0.05  # never a zero-width interval: 400 samples cannot rule out a rare function
    assert got["verdict"] == "holds"
    # ... and "helper_c holds at least 1%" is not decided by its absence from 400 samples
    spec = claim("c_some", "profiles.hot.functions.helper_c.total_share", ">=", 0.005)
    assert evaluate(spec, defined=lambda name: name == "helper_c")["c_some"]["verdict"] == "undecided"


def test_a_function_that_is_neither_sampled_nor_defined_is_an_error() -> None:
    spec = claim("typo", "profiles.hot.functions.helpr_a.total_share", ">=", 0.5)
    with pytest.raises(LabError, match=r"claim 'typo'.*helpr_a"):
        evaluate(spec)


def test_a_claim_on_a_step_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(LabError, match=r"claim 'nostep'.*'cold'"):
        evaluate(claim("nostep", "profiles.cold.functions.busy.total_share", ">=", 0.5))


def test_a_cited_claim_is_cited() -> None:
    spec = {
        "id": "macos",
        "text": "on macOS py-spy needs root",
        "expect": "holds",
        "evidence": "cited",
        "source": "py-spy README",
    }
    got = evaluate(spec)["macos"]
    assert got["verdict"] == "cited"
    assert got["source"] == "py-spy README"
    assert claims.mismatches([got]) == []


def test_a_missing_measurement_is_undecided_never_holding() -> None:
    """Overhead could not be measured here (attaching refused): its claims are not decided."""
    for expect in ("holds", "fails"):
        spec = claim("stops", "overhead.stops_per_sample.default", "<=", 0.1, expect=expect, format="text")
        got = evaluate(spec)["stops"]
        assert got["verdict"] == "undecided"
        assert "not measured" in got["shown"]
        assert claims.mismatches([got]) == [got]


def test_command_output_and_rates() -> None:
    got = evaluate(
        claim("rate", "commands.help.extracted.default_rate", "==", 100, evidence="command"),
        claim("sudo", "commands.help.result.attached", "==", False, evidence="command", format="text"),
        claim("eff", "profiles.hot.effective_rate_hz", "within", 100, tolerance=0.05),
        claim("eff_tight", "profiles.hot.effective_rate_hz", "within", 100, tolerance=0.01),
    )
    assert got["rate"]["verdict"] == "holds" and got["rate"]["interval"] is None
    assert got["sudo"]["verdict"] == "fails"
    assert got["eff"]["verdict"] == "holds" and got["eff"]["interval"] == [96.0, 102.0]
    assert got["eff"]["rule"] == "within 5% of 100 Hz"
    assert got["eff_tight"]["verdict"] == "undecided"


def test_a_path_to_a_section_is_an_error() -> None:
    with pytest.raises(LabError, match=r"claim 'whole'.*not a value"):
        evaluate(claim("whole", "commands.help", "==", 1))


# --- plan_second_look: how long the second look should be --------------------------------------------


def pilot(share: float, *, n: int = 200, wall: float = 2.0, level: float = 0.975) -> dict[str, Any]:
    low, high = stats.wilson(share, n, confidence=level)
    return {
        "samples": n,
        "wall_s": wall,
        "ci_level": level,
        "functions": [
            {
                "name": "helper_a",
                "file": "labs/x/service.py",
                "self_share": share,
                "total_share": share,
                "self_ci": [low, high],
                "total_ci": [low, high],
                "line_frames": 1,
            }
        ],
    }


A_AT_LEAST_90 = claim("a90", "profiles.hot.functions.helper_a.total_share", ">=", 0.9)


def plan(share: float, specs: list[dict[str, Any]] | None = None, **kw: Any) -> tuple[int, str]:
    return claims.plan_second_look(
        "profiles",
        "hot",
        pilot(share, **kw),
        [A_AT_LEAST_90] if specs is None else specs,
        defined=lambda _: True,
    )


def test_no_second_look_when_the_pilot_decides_everything() -> None:
    seconds, why = plan(0.99)
    assert seconds == 0
    assert "decided every claim" in why and "200" in why
    assert plan(0.5)[0] == 0  # decided the other way: failing is decided too


def test_the_closer_to_the_threshold_the_longer_the_second_look() -> None:
    looks = [plan(share)[0] for share in (0.94, 0.93, 0.92, 0.91)]
    assert all(s > 0 for s in looks), looks
    assert looks == sorted(looks) and len(set(looks)) == len(looks), looks
    _, why = plan(0.92)
    assert "a90" in why and "undecided" in why


def test_the_second_look_follows_the_pilots_rate() -> None:
    """The same pilot taken in twice the time (half the rate) needs about twice the seconds."""
    fast, slow = plan(0.93, wall=2.0)[0], plan(0.93, wall=4.0)[0]
    assert slow == pytest.approx(2 * fast, abs=1)


def test_an_estimate_at_the_threshold_asks_for_more_than_any_maximum() -> None:
    seconds, _ = plan(0.9)
    assert seconds >= 10**5  # the runner caps it at the step's maximum; the claim stays undecided


def test_claims_on_other_profiles_and_cited_claims_are_ignored() -> None:
    others = [
        claim("elsewhere", "profiles.cold.functions.helper_a.total_share", ">=", 0.9),
        claim("bench", "benchmark.speedup", ">=", 1000),
        {"id": "doc", "text": "t", "expect": "holds", "evidence": "cited", "source": "a book"},
    ]
    assert plan(0.91, others)[0] == 0
    assert plan(0.91, [*others, A_AT_LEAST_90])[0] == plan(0.91)[0]


def test_several_undecided_claims_take_the_longest_look() -> None:
    near = claim("a92", "profiles.hot.functions.helper_a.total_share", ">=", 0.92)
    assert plan(0.935, [A_AT_LEAST_90, near])[0] == max(
        plan(0.935, [A_AT_LEAST_90])[0], plan(0.935, [near])[0]
    )


# --- unstated: the page must say what the claim says -------------------------------------------------

SENTENCE = "helper_a is on the stack in at least 80% of the samples"


def unstated(page_text: str, sentence: str = SENTENCE) -> list[str]:
    ledger = [{"id": "hot_a", "text": sentence, "page": "docs/labs/lab-9/index.md"}]
    return claims.unstated(ledger, {"docs/labs/lab-9/index.md": page_text})


def test_a_claim_stated_in_the_prose_is_fine() -> None:
    assert unstated(f"# Lab 9\n\nWe found that {SENTENCE}.\n") == []


def test_whitespace_and_line_breaks_do_not_matter() -> None:
    split = "We found that helper_a is on the stack\nin at least  80% of\n   the samples.\n"
    assert unstated(f"# Lab 9\n\n{split}") == []


def test_a_claim_missing_from_the_page_is_reported() -> None:
    (problem,) = unstated("# Lab 9\n\nhelper_b is on the stack in most samples.\n")
    assert "docs/labs/lab-9/index.md" in problem and "'hot_a'" in problem and SENTENCE in problem
    # a changed word is a different sentence
    assert unstated(f"# Lab 9\n\n{SENTENCE.replace('80%', '70%')}\n")


def test_a_claim_only_inside_a_generated_block_is_not_stated() -> None:
    page = (
        "# Lab 9\n\nSome prose.\n\n<!-- begin: claims -->\n\n"
        f"<table><tr><td>{SENTENCE}</td></tr></table>\n\n<!-- end: claims -->\n\nMore prose.\n"
    )
    assert len(unstated(page)) == 1
    assert unstated(page.replace("Some prose.", f"Some prose: {SENTENCE}.")) == []


def test_a_claim_on_a_page_that_was_not_read_is_reported() -> None:
    ledger = [{"id": "x", "text": SENTENCE, "page": "docs/labs/lab-9/other.md"}]
    assert len(claims.unstated(ledger, {"docs/labs/lab-9/index.md": SENTENCE})) == 1


# --- claims in a manifest: validated with file and line -----------------------------------------------

MANIFEST = """\
id: lab-7
title: A test lab
page: docs/labs/lab-7/index.md
programs:
  - labs/prog
steps:
  - id: hot
    kind: profile
    command: [labs/prog/main.py]
    method: launch
claims:
  - id: a_most
    text: helper_a holds most samples
    value: profiles.hot.functions.helper_a.total_share
    op: ">="
    than: 0.5
    expect: holds
    evidence: measured
  - id: doc
    page: docs/labs/lab-7/facts.md
    text: it needs root on macOS
    expect: holds
    evidence: cited
    source: the README
format_version: 1
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "labs" / "prog").mkdir(parents=True)
    (tmp_path / "labs" / "prog" / "main.py").write_text("def helper_a():\n    pass\n", encoding="utf-8")
    (tmp_path / "docs" / "labs" / "lab-7").mkdir(parents=True)
    (tmp_path / "docs" / "labs" / "lab-7" / "facts.md").write_text("# Facts\n", encoding="utf-8")
    (tmp_path / "docs" / "labs" / "lab-7" / "index.md").write_text("# Lab 7\n", encoding="utf-8")
    return tmp_path


def load(root: Path, text: str) -> manifest.Lab:
    path = root / "labs" / "lab-7.yml"
    path.write_text(text, encoding="utf-8")
    return manifest.load(path, root=root)


def edit(old: str, new: str) -> str:
    assert MANIFEST.count(old) == 1, old
    return MANIFEST.replace(old, new)


def test_a_manifest_with_claims_loads(root: Path) -> None:
    lab = load(root, MANIFEST)
    assert [c["id"] for c in lab.claims] == ["a_most", "doc"]
    assert lab.pages == [Path("docs/labs/lab-7/index.md"), Path("docs/labs/lab-7/facts.md")]


CLAIM_CASES = [
    # (id, manifest text, "file:line", message pattern)
    (
        "cited-without-source",
        edit("    source: the README\n", ""),
        "labs/lab-7.yml:19",
        r"claims/1: 'source' is a required property",
    ),
    (
        "measured-without-op",
        edit('    op: ">="\n', ""),
        "labs/lab-7.yml:12",
        r"claims/0: 'op' is a required property",
    ),
    (
        "measured-without-value",
        edit("    value: profiles.hot.functions.helper_a.total_share\n", ""),
        "labs/lab-7.yml:12",
        r"claims/0: 'value' is a required property",
    ),
    (
        "unknown-op",
        edit('op: ">="', 'op: "=>"'),
        "labs/lab-7.yml:15",
        r"claims/0/op: '=>' is not one of",
    ),
    (
        "unknown-expectation",
        edit("expect: holds\n    evidence: measured", "expect: true\n    evidence: measured"),
        "labs/lab-7.yml:17",
        r"claims/0/expect: True is not one of \['holds', 'fails'\]",
    ),
    (
        "unknown-evidence",
        edit("evidence: measured", "evidence: hearsay"),
        "labs/lab-7.yml:18",
        r"claims/0/evidence: 'hearsay' is not one of",
    ),
    (
        "unknown-claim-key",
        edit("    evidence: measured\n", "    evidence: measured\n    colour: red\n"),
        "labs/lab-7.yml:19",
        r"claims/0: .*'colour' was unexpected",
    ),
    (
        "duplicate-claim-id",
        edit("  - id: doc\n", "  - id: a_most\n"),
        "labs/lab-7.yml:19",
        r"claim id 'a_most' is used twice",
    ),
    (
        "claim-page-missing",
        edit("page: docs/labs/lab-7/facts.md", "page: docs/labs/lab-7/gone.md"),
        "labs/lab-7.yml:20",
        r"claim 'doc' names page 'docs/labs/lab-7/gone.md', which does not exist",
    ),
]


@pytest.mark.parametrize(
    ("text", "where", "message"), [c[1:] for c in CLAIM_CASES], ids=[c[0] for c in CLAIM_CASES]
)
def test_malformed_claims_name_file_and_line(root: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(LabError) as caught:
        load(root, text)
    shown = str(caught.value)
    assert re.search(rf"(^|\n){re.escape(where)}(:|\b)", shown), shown
    assert re.search(message, shown), shown


# --- exact counts compared with another measured path ------------------------------------------------


def test_exact_counts_compare_with_another_path() -> None:
    results = {"profiles": {"idle": {"threads_every_instant": 9, "thread_count": 9, "ci_level": 0.95}}}
    m = claims.measure(results, "profiles.idle.threads_every_instant", defined=lambda _: True)
    other = claims.measure(results, "profiles.idle.thread_count", defined=lambda _: True)
    assert claims.verdict(m, "==", "profiles.idle.thread_count", other=other) == "holds"
    fewer = claims.Measured(8)
    assert claims.verdict(fewer, "==", "profiles.idle.thread_count", other=other) == "fails"
