"""labkit.flamegraph.render_diff_svg and the compare kind: two recordings in one picture, numbers in text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from labkit import diffgraph as flamegraph

BEFORE = {("main (a.py:1)", "slow (a.py:5)"): 90, ("main (a.py:1)", "make (a.py:9)"): 10}
AFTER = {("main (a.py:1)", "fast (a.py:7)"): 20, ("main (a.py:1)", "make (a.py:9)"): 80}


def titles(svg: str) -> dict[str, str]:
    found = re.findall(r"<title>([^<]*) &#8212; ([^<]*)</title>", svg)
    return {label: rest for label, rest in found}


def test_every_frame_of_either_recording_is_drawn_with_both_shares_in_its_title() -> None:
    svg = flamegraph.render_diff_svg(before=BEFORE, after=AFTER, title="t", names=("slow", "fixed"))
    ET.fromstring(svg.split("\n", 1)[1])  # well-formed XML after the declaration
    seen = titles(svg)
    assert seen["slow (a.py:5)"] == "slow 90.0%, fixed 0.0%, change -90.0 points (only slow)"
    assert seen["fast (a.py:7)"] == "slow 0.0%, fixed 20.0%, change +20.0 points (only fixed)"
    assert seen["make (a.py:9)"] == "slow 10.0%, fixed 80.0%, change +70.0 points"
    assert seen["main (a.py:1)"] == "slow 100.0%, fixed 100.0%, change +0.0 points"


def test_colours_say_the_direction_and_one_sided_frames_are_dashed() -> None:
    svg = flamegraph.render_diff_svg(before=BEFORE, after=AFTER, title="t")
    frames = re.findall(r'<g class="f"[^>]*><title>([^<]*)</title><rect ([^>]*)/>', svg)
    fills = {label.split(" &#8212;")[0]: attrs for label, attrs in frames}
    assert "stroke-dasharray" in fills["slow (a.py:5)"] and "stroke-dasharray" in fills["fast (a.py:7)"]
    assert "stroke-dasharray" not in fills["make (a.py:9)"]
    assert 'fill="rgb(200,200,200)"' in fills["main (a.py:1)"]  # unchanged: grey
    red, _green, blue = map(
        int, re.search(r"fill=\"rgb\((\d+),(\d+),(\d+)\)\"", fills["make (a.py:9)"]).groups()
    )
    assert red > blue  # grew: orange, not blue
    assert "smaller share after than before" in svg and "in one recording only" in svg  # the legend


def test_width_is_the_mean_of_the_two_shares_and_the_picture_is_deterministic() -> None:
    svg = flamegraph.render_diff_svg(before=BEFORE, after=AFTER, title="t")
    found = re.findall(r'data-n="([0-9.]+)" data-d="\d+"><title>(\w+)', svg)
    sizes = {label: size for size, label in found}
    assert float(sizes["make"]) == 450_000  # (10% + 80%) / 2 of a million
    assert float(sizes["slow"]) == 450_000 and float(sizes["fast"]) == 100_000
    assert svg == flamegraph.render_diff_svg(before=BEFORE, after=AFTER, title="t")


def test_function_stacks_merge_the_lines_of_a_function() -> None:
    merged = flamegraph.function_stacks({("f (a.py:1)", "g (a.py:5)"): 2, ("f (a.py:2)", "g (a.py:6)"): 3})
    assert merged == {("f (a.py)", "g (a.py)"): 5}
