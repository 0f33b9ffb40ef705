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


NS = {"s": "http://www.w3.org/2000/svg"}


def drawn(svg: str) -> dict[str, ET.Element]:
    """Each frame's <rect> by its label."""
    root = ET.fromstring(svg.split("\n", 1)[1])
    out = {}
    for g in root.iterfind(".//s:g[@class]", NS):
        if "f" in g.get("class", "").split():
            title, rect = g.find("s:title", NS), g.find("s:rect", NS)
            assert title is not None and title.text and rect is not None
            out[title.text.split(" \u2014")[0]] = rect
    return out


def legend(svg: str) -> list[tuple[str, str]]:
    """The legend's (swatch colour, words), from the bottom of the picture."""
    root = ET.fromstring(svg.split("\n", 1)[1])
    keys = [g for g in root.iterfind(".//s:g[@class='key']", NS) if g.find("s:rect", NS) is not None]
    return [
        (g.find("s:rect", NS).get("fill", ""), g.find("s:text", NS).text or "")  # type: ignore[union-attr]
        for g in keys
        if "dashed" in (g.find("s:text", NS).text or "") or "share" in (g.find("s:text", NS).text or "")
    ]


def test_colours_say_the_direction_and_one_sided_frames_have_their_own_colours() -> None:
    svg = flamegraph.render_diff_svg(before=BEFORE, after=AFTER, title="t")
    fills = drawn(svg)
    slow, fast = fills["slow (a.py:5)"], fills["fast (a.py:7)"]
    assert "stroke-dasharray" in slow.attrib and "stroke-dasharray" in fast.attrib
    assert "stroke-dasharray" not in fills["make (a.py:9)"].attrib
    assert fills["main (a.py:1)"].get("fill") == flamegraph.GREY  # unchanged: grey
    # found only before, found only after, grown: three different colours, none of them grey
    assert slow.get("fill") == flamegraph.ONLY_BEFORE and fast.get("fill") == flamegraph.ONLY_AFTER
    grown = fills["make (a.py:9)"].get("fill", "")
    assert len({slow.get("fill"), fast.get("fill"), grown, flamegraph.GREY}) == 4
    red, _green, blue = map(int, re.findall(r"\d+", grown))
    assert red > blue  # grew: orange, not blue


def test_every_legend_colour_is_the_colour_of_some_frame() -> None:
    shrunk = {**BEFORE, ("main (a.py:1)", "keep (a.py:3)"): 50}  # keep: 33% before, 25% after
    after = {**AFTER, ("main (a.py:1)", "keep (a.py:3)"): 33}
    for one, two in ((BEFORE, AFTER), (shrunk, after), (AFTER, BEFORE)):
        svg = flamegraph.render_diff_svg(before=one, after=two, title="t")
        frame_fills = {rect.get("fill") for rect in drawn(svg).values()}
        entries = legend(svg)
        assert entries, "no legend"
        for fill, words in entries:
            assert fill in frame_fills, f"legend colour {fill} ({words}) is used by no frame"
    words = " ".join(w for _f, w in legend(flamegraph.render_diff_svg(before=shrunk, after=after, title="t")))
    assert "found only before" in words and "found only after" in words and "smaller share" in words


def test_the_main_result_comes_first_with_full_names_and_signed_changes() -> None:
    long_name = "find_duplicates_slow_with_a_name_far_too_long_for_its_frame (labs/a_folder/finders.py:5)"
    before = {("main (a.py:1)", long_name): 90, ("main (a.py:1)", "make (a.py:9)"): 10}
    after = {("main (a.py:1)", "fast (a.py:7)"): 20, ("main (a.py:1)", "make (a.py:9)"): 80}
    svg = flamegraph.render_diff_svg(before=before, after=after, title="t", width=400)
    root = ET.fromstring(svg.split("\n", 1)[1])
    lines = [g.find("s:text", NS) for g in root.iterfind(".//s:g[@class='key']", NS)]
    texts = [t.text or "" for t in lines if t is not None]
    head = " ".join(texts[: texts.index(next(t for t in texts if "dashed" in t))])
    squeezed = "".join(head.split())  # a name longer than a line is wrapped over lines, never cut
    assert "".join(f"\u221290.0 points: {long_name}, 90.0% \u2192 0.0%, only before".split()) in squeezed
    assert ".." not in head
    assert "+70.0 points: make (a.py:9), 10.0% \u2192 80.0%" in head
    assert "+20.0 points: fast (a.py:7), 0.0% \u2192 20.0%, only after" in head
    # the headline sits above the frames
    first_frame = min(float(r.get("y", "0")) for r in drawn(svg).values())
    assert all(float(t.get("y", "0")) < first_frame for t in lines[:3] if t is not None)


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


def test_a_subtree_found_in_one_recording_only_is_named_once_by_its_first_frame() -> None:
    after = {
        ("main (a.py:1)", "fast (a.py:7)", "inner (a.py:8)"): 20,
        ("main (a.py:1)", "make (a.py:9)", "new (b.py:2)"): 30,
        ("main (a.py:1)", "make (a.py:9)"): 50,
    }
    svg = flamegraph.render_diff_svg(before=BEFORE, after=after, title="t")
    root = ET.fromstring(svg.split("\n", 1)[1])
    head = [t.text or "" for t in root.iterfind(".//s:g[@class='key']/s:text", NS)]
    head = head[: next(i for i, t in enumerate(head) if "dashed" in t)]
    named = [t.split(": ", 1)[1].split(",")[0] for t in head[1:]]
    assert named == ["slow (a.py:5)", "make (a.py:9)", "new (b.py:2)", "fast (a.py:7)"]  # never inner


def test_a_caller_and_its_callee_with_the_same_change_get_one_line() -> None:
    before = {("main (a.py:1)", "slow (a.py:5)"): 100}
    after = {
        ("main (a.py:1)", "make (a.py:9)", "inner (a.py:10)"): 80,
        ("main (a.py:1)", "fast (a.py:7)"): 20,
    }
    svg = flamegraph.render_diff_svg(before=before, after=after, title="t")
    root = ET.fromstring(svg.split("\n", 1)[1])
    head = [t.text or "" for t in root.iterfind(".//s:g[@class='key']/s:text", NS)]
    head = head[: next(i for i, t in enumerate(head) if "dashed" in t)]
    named = [t.split(": ", 1)[1].split(",")[0] for t in head[1:]]
    assert named == ["slow (a.py:5)", "inner (a.py:10)", "fast (a.py:7)"]  # make: the same +80 as inner
