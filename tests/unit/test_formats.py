"""labkit.formats: every number's page text, and its escaping for HTML and Markdown."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labkit import formats


@pytest.mark.parametrize(
    ("x", "text"),
    [(1575.4, "1,575×"), (12.34, "12.3×"), (1.0, "1.0×"), (100.0, "100×"), (123456.7, "123,457×")],
)
def test_speedup(x: float, text: str) -> None:
    assert formats.speedup(x) == text


@pytest.mark.parametrize(("x", "text"), [(0.978, "97.8%"), (1.0, "100.0%"), (0.0, "0.0%"), (0.02010, "2.0%")])
def test_share(x: float, text: str) -> None:
    assert formats.share(x) == text


def test_interval() -> None:
    assert formats.interval(0.969, 0.985) == "95% CI 96.9–98.5%"


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (5.08, "5.08 s"),
        (5.0812, "5.08 s"),
        (0.00321, "3.21 ms"),
        (0.000560, "560 µs"),
        (12e-9, "12.0 ns"),
        (123.4, "123 s"),
        (1.0, "1.00 s"),
        (0.0214, "21.4 ms"),
    ],
)
def test_seconds(x: float, text: str) -> None:
    assert formats.seconds(x) == text


def significant_digits(text: str) -> int:
    number = text.split(" ")[0]
    return len(number.replace(".", "").lstrip("0"))


@settings(deadline=None, max_examples=300)
@given(st.floats(min_value=1e-9, max_value=999.0, allow_nan=False, allow_infinity=False))
def test_seconds_has_three_significant_figures_and_a_unit(x: float) -> None:
    text = formats.seconds(x)
    assert re.fullmatch(r"\d+(\.\d+)? (s|ms|µs|ns)", text), text
    assert significant_digits(text) == 3, text
    value, unit = text.split(" ")
    scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]
    assert 1.0 <= float(value) < 1000.0, text
    assert math.isclose(float(value) * scale, x, rel_tol=0.006), (x, text)


@pytest.mark.parametrize(("x", "text"), [(1234, "1,234"), (7, "7"), (1234567.4, "1,234,567"), (0, "0")])
def test_count(x: float, text: str) -> None:
    assert formats.count(x) == text


def test_rate() -> None:
    assert formats.rate(100) == "100 Hz"
    assert formats.rate(99.5) == "99.5 Hz"
    assert formats.rate(103.684) == "103.7 Hz"
    assert formats.rate(1000) == "1,000 Hz"


def test_text() -> None:
    assert formats.text(True) == "yes"
    assert formats.text(False) == "no"
    assert formats.text("3.11.7") == "3.11.7"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<module>", "&lt;module&gt;"),
        ("make_batch.<locals>.<listcomp>", "make\\_batch.&lt;locals&gt;.&lt;listcomp&gt;"),
        ("__init__", "\\_\\_init\\_\\_"),
        ("a|b", "a\\|b"),
        ("*x*", "\\*x\\*"),
        ("a & b", "a &amp; b"),
        ("[link](x)", "\\[link\\](x)"),
        ("`code`", "\\`code\\`"),
        ("plain text 1.5", "plain text 1.5"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert formats.escape(raw) == escaped


def test_render_formats_then_escapes() -> None:
    assert formats.render(1575.4, "speedup") == "1,575×"
    assert formats.render("<module>", "text") == "&lt;module&gt;"
    with pytest.raises(ValueError, match="unknown format 'percent'"):
        formats.render(0.5, "percent")


@pytest.mark.parametrize(
    ("share", "largest", "phrase"),
    [
        (1.0, True, "all"),
        (0.9996, True, "most"),  # shown as 100.0%, but one sample in 2,500 is elsewhere: not "all"
        (0.978, True, "most"),
        (0.501, False, "most"),
        (0.5004, True, "the largest share"),  # shown as 50.0%: not a majority on the page
        (0.5, True, "the largest share"),
        (0.342, True, "the largest share"),
        (0.342, False, "a minority"),
    ],
)
def test_share_phrase_says_all_most_or_the_largest_share(share: float, largest: bool, phrase: str) -> None:
    assert formats.share_phrase(share, largest=largest) == phrase


@given(st.floats(min_value=0, max_value=1), st.booleans())
def test_share_phrase_never_most_for_a_minority(share: float, largest: bool) -> None:
    said = formats.share_phrase(share, largest=largest)
    assert (said in ("most", "all")) == (float(formats.share(share).rstrip("%")) > 50.0)
    assert (said == "all") == (share == 1.0)
