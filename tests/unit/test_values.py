"""labkit.values: dotted paths into results.json, and the flat values map."""

from __future__ import annotations

from typing import Any

import pytest
from labkit import values
from labkit.errors import LabError


def test_lookup_follows_dotted_paths(results: dict[str, Any]) -> None:
    assert values.lookup(results, "provenance.cpu_count") == results["provenance"]["cpu_count"]
    assert values.lookup(results, "benchmark.speedup.median") == results["benchmark"]["speedup"]["median"]
    assert values.lookup(results, "profiles.slow.rate_hz") == 100


def test_lookup_picks_named_list_items(results: dict[str, Any]) -> None:
    finder = values.lookup(results, "profiles.slow.functions.find_duplicates_slow")
    assert finder["file"] == "labs/slow_service/finders.py"
    assert (
        values.lookup(results, "profiles.slow.functions.find_duplicates_slow.total_share")
        == finder["total_share"]
    )
    assert (
        values.lookup(results, "profiles.slow.threads.thread 1.samples")
        == results["profiles"]["slow"]["samples"]
    )


def test_lookup_missing_and_ambiguous(results: dict[str, Any]) -> None:
    with pytest.raises(values.Missing, match="'never_called' matched nothing"):
        values.lookup(results, "profiles.slow.functions.never_called.self_share")
    with pytest.raises(LabError, match="no 'nope' here") as caught:
        values.lookup(results, "profiles.slow.nope")
    assert not isinstance(caught.value, values.Missing)
    functions = results["profiles"]["slow"]["functions"]
    (finder,) = [f for f in functions if f["name"] == "find_duplicates_slow"]
    functions.append(dict(finder, file="elsewhere.py"))
    with pytest.raises(LabError, match="matched 2 items") as caught:
        values.lookup(results, "profiles.slow.functions.find_duplicates_slow.self_share")
    assert not isinstance(caught.value, values.Missing)


STANDARD = [
    "python_version",
    "py_spy_version",
    "os_name",
    "cpu_model",
    "cpu_count",
    "measured_date",
    "slow_samples",
    "slow_wall",
    "slow_rate",
    "slow_effective_rate",
    "slow_method",
    "fixed_samples",
    "bench_n",
    "bench_repeats",
    "same_result",
    "slow_number",
    "fast_number",
    "slow_min",
    "slow_median",
    "slow_max",
    "fast_min",
    "fast_median",
    "fast_max",
    "speedup_median",
    "speedup_min",
    "speedup_max",
]


def test_standard_values(results: dict[str, Any]) -> None:
    out = values.standard(results)
    for name in STANDARD:
        assert name in out, name
        assert set(out[name]) == {"value", "format", "text"}
    bench = results["benchmark"]
    assert out["speedup_median"]["value"] == bench["speedup"]["median"]
    assert out["speedup_median"]["format"] == "speedup"
    assert out["speedup_median"]["text"].endswith("×")
    assert out["slow_rate"]["text"] == "100 Hz"
    assert out["slow_method"]["text"] == "attached by PID"
    assert out["measured_date"]["value"] == results["generated_at"][:10]
    assert out["same_result"]["text"] == "yes"


def test_standard_values_without_benchmark(results: dict[str, Any]) -> None:
    results["benchmark"] = None
    out = values.standard(results)
    assert "speedup_median" not in out
    assert "slow_samples" in out


def test_evaluate_reproduces_committed_values(results: dict[str, Any]) -> None:
    declared = {
        "slow_finder_total": {
            "path": "profiles.slow.functions.find_duplicates_slow.total_share",
            "format": "share",
        },
    }
    out = values.evaluate(results, declared, defined=lambda f: True)
    assert out["slow_finder_total"] == results["values"]["slow_finder_total"]
    assert out["speedup_median"] == results["values"]["speedup_median"]
    assert list(out) == sorted(out)


def test_unsampled_function_that_exists_counts_zero(results: dict[str, Any]) -> None:
    declared = {
        "idle_share": {"path": "profiles.slow.functions.find_duplicates_fast.total_share", "format": "share"},
        "idle_self": {"path": "profiles.slow.functions.find_duplicates_fast.self_samples", "format": "count"},
    }
    asked: list[str] = []

    def defined(name: str) -> bool:
        asked.append(name)
        return True

    out = values.evaluate(results, declared, defined=defined)
    assert out["idle_share"] == {"value": 0.0, "format": "share", "text": "0.0%"}
    assert out["idle_self"] == {"value": 0, "format": "count", "text": "0"}
    assert asked == ["find_duplicates_fast", "find_duplicates_fast"]


def test_misspelt_function_is_an_error(results: dict[str, Any]) -> None:
    declared = {
        "oops": {"path": "profiles.slow.functions.find_duplicats_slow.total_share", "format": "share"}
    }
    with pytest.raises(LabError, match=r"value 'oops'.*find_duplicats_slow.*no such function"):
        values.evaluate(results, declared, defined=lambda f: False)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"path": "profiles.slow.functionz.main.total_share", "format": "share"}, "no 'functionz' here"),
        ({"path": "profiles.nostep.functions.main.total_share", "format": "share"}, "no 'nostep' here"),
        (
            {"path": "profiles.slow.functions.nothere.line_frames", "format": "count"},
            "nothere.*matched nothing",
        ),
        ({"path": "profiles.slow.samples", "format": "percent"}, "unknown format 'percent'"),
    ],
)
def test_bad_declared_values(results: dict[str, Any], spec: dict[str, str], message: str) -> None:
    with pytest.raises(LabError, match=message):
        values.evaluate(results, {"v": spec}, defined=lambda f: True)


def test_declared_value_may_not_shadow_a_standard_one(results: dict[str, Any]) -> None:
    declared = {"speedup_median": {"path": "benchmark.speedup.median", "format": "speedup"}}
    with pytest.raises(LabError, match="also a standard value"):
        values.evaluate(results, declared, defined=lambda f: True)


def _without_benchmark(results: dict[str, Any], *, ran: bool) -> None:
    """Lab 1's results as a lab would give them with no benchmark (``ran``: it has one, skipped here)."""
    results["benchmark"] = None
    if not ran:
        steps = results["provenance"]["steps"]
        results["provenance"]["steps"] = [s for s in steps if s["kind"] != "benchmark"]


def test_a_path_into_a_section_the_lab_has_no_step_for_is_an_error(results: dict[str, Any]) -> None:
    """Issue 26, item 16: `benchmark.speedup.median` in a lab without a benchmark published "not measured"."""
    _without_benchmark(results, ran=False)
    declared = {"fix_speedup": {"path": "benchmark.speedup.median", "format": "speedup"}}
    with pytest.raises(
        LabError,
        match=r"^labs/lab-1\.yml: value 'fix_speedup': value path 'benchmark\.speedup\.median': .*"
        r"the lab has no benchmark step \(its steps are of the kinds command, overhead, profile\)$",
    ):
        values.evaluate(results, declared, defined=lambda f: True)


def test_a_path_into_a_step_skipped_here_is_not_measured(results: dict[str, Any]) -> None:
    """A step that the lab has but that did not run here (attaching refused) is shown as not measured."""
    _without_benchmark(results, ran=True)
    declared = {"fix_speedup": {"path": "benchmark.speedup.median", "format": "speedup"}}
    out = values.evaluate(results, declared, defined=lambda f: True)
    assert out["fix_speedup"] == {"value": None, "format": "speedup", "text": "not measured"}


def test_missing_section_is_the_one_rule_for_manifests_and_results() -> None:
    assert values.missing_section("benchmark.speedup.median", ["profile", "compare"]) == (
        "the lab has no benchmark step (its steps are of the kinds compare, profile)"
    )
    assert values.missing_section("benchmark.speedup.median", ["benchmark"]) == ""
    assert values.missing_section("profiles.slow.samples", ["profile"]) == ""
    assert values.missing_section("provenance.cpu_count", []) == ""  # not a step's section
