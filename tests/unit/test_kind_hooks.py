"""The kinds' hooks that keep section names in their packages: claims' intervals, zero when unsampled,
headlines. A kind defined here only is asked by claims, values and the report as the built-in ones are."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from labkit import claims, kinds, report, values


def _interval(
    results: Mapping[str, Any], path: str, _defined: Callable[[str], bool]
) -> kinds.Interval | None:
    """The toy's counts are judged on a spread of one either side, at 90%."""
    if not path.endswith(".lines"):
        return None
    found = values.lookup(results, path)
    return found, found - 1, found + 1, 0.9


TOY = kinds.Kind(
    name="hooked",
    section="hooks",
    interval=_interval,
    unsampled=lambda path: ("gone", 0) if path.endswith(".items.gone.count") else None,
    headline=lambda _step, entry: kinds.Headline(entry["lines"], "lines", "toy.svg"),
)


@pytest.fixture
def toy() -> Iterator[kinds.Kind[Any]]:
    kinds.register(TOY)
    yield TOY
    kinds.REGISTRY.pop(TOY.name)


RESULTS: dict[str, Any] = {
    "hooks": {"echo": {"lines": 12, "items": [{"name": "kept", "count": 3}], "ci_level": 0.5}}
}


def test_claims_take_a_value_s_interval_from_its_kind(toy: kinds.Kind[Any]) -> None:
    m = claims.measure(RESULTS, "hooks.echo.lines", defined=lambda _: True)
    assert (m.value, m.low, m.high, m.level) == (12, 11, 13, 0.9)
    assert claims.verdict(m, ">=", 12.5) == "undecided"  # judged on the interval the kind gave
    # a path the kind has no rule for: the generic one (an exact value)
    assert claims.measure(RESULTS, "hooks.echo.items.kept.count", defined=lambda _: True).low is None


def test_values_count_zero_where_the_kind_says_so(toy: kinds.Kind[Any]) -> None:
    results: Any = {**RESULTS, "provenance": {}, "generated_at": "2026-01-01"}
    declared = {"gone_count": {"path": "hooks.echo.items.gone.count", "format": "count"}}
    results["provenance"] = {"python": "3", "py_spy": None, "os": "x", "cpu_model": "y", "cpu_count": 1}
    found = values.evaluate(results, declared, defined=lambda name: name == "gone")
    assert found["gone_count"]["value"] == 0
    with pytest.raises(values.LabError, match="no such function"):
        values.evaluate(results, declared, defined=lambda _: False)
    other = {"other": {"path": "hooks.echo.items.other.count", "format": "count"}}
    with pytest.raises(values.LabError, match="matched nothing"):
        values.evaluate(results, other, defined=lambda _: True)


def test_the_report_counts_what_the_kind_sums_a_run_up_by(toy: kinds.Kind[Any]) -> None:
    lab: Any = SimpleNamespace(steps=[])  # no step titles: the report names the step by its id
    assert list(kinds.headlines(RESULTS)) == [("echo", kinds.Headline(12, "lines", "toy.svg"))]
    assert report.samples(lab, RESULTS) == ["echo: 12 lines"]
