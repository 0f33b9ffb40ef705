"""Unit tests for labkit.flamegraph.render_svg (static output only; no browser needed)."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from labkit.flamegraph import render_svg  # importable via tests/conftest.py

NS = {"s": "http://www.w3.org/2000/svg"}
MODULE = "<module> (labs/slow_service/service.py:78)"
SLOW = "find_duplicates_slow (labs/slow_service/finders.py:23)"


def frames(svg: str) -> dict[str, ET.Element]:
    """Map each frame's label (its <title> up to the em dash) to its <g> element."""
    out = {}
    for g in ET.fromstring(svg).iterfind(".//s:g", NS):
        if "f" not in g.get("class", "").split():
            continue
        title = g.find("s:title", NS)
        assert title is not None and title.text is not None
        out[title.text.rsplit(" \u2014 ", 1)[0]] = g
    return out


def rect(g: ET.Element) -> ET.Element:
    r = g.find("s:rect", NS)
    assert r is not None
    return r


def width(g: ET.Element) -> float:
    return float(rect(g).get("width", "nan"))


def test_parses_as_xml_with_svg_root() -> None:
    root = ET.fromstring(render_svg(stacks={("a", "b"): 3, ("a", "c"): 1}, title="t"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("s:script", NS) is not None


def test_widths_are_proportional_and_children_sit_under_parent() -> None:
    svg = render_svg(stacks={("a", "b"): 3, ("a", "c"): 1}, title="t", width=1000)
    f = frames(svg)
    assert set(f) == {"all", "a", "b", "c"}
    assert width(f["b"]) == pytest.approx(3 * width(f["c"]))
    assert width(f["a"]) == pytest.approx(width(f["b"]) + width(f["c"]))
    assert width(f["all"]) == pytest.approx(width(f["a"]))
    # Root at the bottom: deeper frames have smaller y.
    ys = {k: float(rect(g).get("y", "nan")) for k, g in f.items()}
    assert ys["all"] > ys["a"] > ys["b"] == ys["c"]
    # Children are laid out alphabetically inside their parent's span.
    xs = {k: float(rect(g).get("x", "nan")) for k, g in f.items()}
    assert xs["a"] == xs["b"] < xs["c"]
    assert xs["c"] + width(f["c"]) == pytest.approx(xs["a"] + width(f["a"]))
    assert f["b"].get("data-d") == "2" and f["a"].get("data-d") == "1"


def test_identical_prefixes_merge() -> None:
    stacks = {("m", "x", "y"): 2, ("m", "x", "z"): 5, ("m", "w"): 1}
    svg = render_svg(stacks=stacks, title="t")
    titles = [t.text for t in ET.fromstring(svg).iterfind(".//s:g[@class='f']/s:title", NS)]
    assert sum(1 for t in titles if t and t.startswith("x \u2014")) == 1
    assert "x \u2014 7 samples (87.5%)" in titles
    assert "m \u2014 8 samples (100.0%)" in titles
    assert "all \u2014 8 samples (100.0%)" in titles
    assert "w \u2014 1 sample (12.5%)" in titles


def test_deterministic_regardless_of_insertion_order() -> None:
    a = {(MODULE, SLOW): 5, (MODULE, "b (x.py:1)"): 2, (MODULE,): 1}
    b = dict(reversed(list(a.items())))
    first = render_svg(stacks=a, title="t", subtitle="s")
    assert first == render_svg(stacks=a, title="t", subtitle="s")
    assert first == render_svg(stacks=b, title="t", subtitle="s")


def test_same_function_same_colour_across_graphs() -> None:
    before = render_svg(stacks={(MODULE, SLOW): 90, (MODULE, "other (o.py:1)"): 10}, title="before")
    # Different line number, different callers and counts: colour follows the function name only.
    after_label = "find_duplicates_slow (labs/slow_service/finders.py:99)"
    after = render_svg(stacks={("main (m.py:3)", after_label): 4}, title="after")
    fill_before = rect(frames(before)[SLOW]).get("fill")
    fill_after = rect(frames(after)[after_label]).get("fill")
    assert fill_before == fill_after
    assert fill_before != rect(frames(before)["other (o.py:1)"]).get("fill")


def test_colours_are_warm() -> None:
    labels = [f"func_{i} (f.py:{i})" for i in range(40)]
    svg = render_svg(stacks={(lab,): 1 for lab in labels}, title="t")
    for lab in labels:
        m = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", rect(frames(svg)[lab]).get("fill", ""))
        assert m is not None
        r, g, b = map(int, m.groups())
        assert r >= 200 and b <= 60 and g <= 235


def test_escaping_of_awkward_labels() -> None:
    weird = ["<module> (a.py:1)", "<listcomp> (a.py:2)", "a|b (x.py:3)", "x & y \"q\" 'z' (k.py:4)"]
    svg = render_svg(stacks={tuple(weird): 2}, title="<T> & co", subtitle='"sub" <s>')
    assert "<module>" not in svg and "<listcomp>" not in svg
    f = frames(svg)  # round-trips through the XML parser
    for lab in weird:
        assert lab in f
    root = ET.fromstring(svg)
    assert root.findtext("s:title", namespaces=NS) == "<T> & co"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "<module> (a.py:1)" in texts
    assert svg.isascii()


def test_no_network_references() -> None:
    svg = render_svg(stacks={(MODULE, SLOW): 3}, title="t")
    urls = re.findall(r"https?://[^\s\"'<>]*", svg)
    assert urls and set(urls) <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "<script" in svg and " src=" not in svg and "href" not in svg


def test_accessible_title_and_desc() -> None:
    root = ET.fromstring(render_svg(stacks={("a",): 7}, title="My graph", subtitle="lab 1, before"))
    assert root.get("role") != "img", "an image hides its frames, which are controls"
    ids = (root.get("aria-labelledby") or "").split()
    by_id = {el.get("id"): el for el in root.iter() if el.get("id")}
    assert [by_id[i].tag.split("}")[1] for i in ids] == ["title", "desc"]
    assert by_id[ids[0]].text == "My graph"
    desc = by_id[ids[1]].text or ""
    assert "lab 1, before" in desc and "7 samples" in desc


@pytest.mark.parametrize("stacks", [{}, {("a",): 0}, {("a",): 0, ("b",): 0}])
def test_empty_input_raises(stacks: dict[tuple[str, ...], int]) -> None:
    with pytest.raises(ValueError, match="empty flame graph"):
        render_svg(stacks=stacks, title="t")


def test_negative_count_raises() -> None:
    with pytest.raises(ValueError, match="negative"):
        render_svg(stacks={("a",): -1, ("b",): 3}, title="t")


def test_long_label_truncated_in_text_but_whole_in_title() -> None:
    long_label = "very_long_function_name_" * 6 + " (labs/deep/module.py:1)"
    svg = render_svg(stacks={(long_label,): 1, ("short (s.py:1)",): 9}, title="t", width=600)
    g = frames(svg)[long_label]  # the <title> key holds the full label
    shown = g.findtext("s:text", namespaces=NS) or ""
    assert shown.endswith("..")
    assert long_label.startswith(shown[:-2])
    assert len(shown) < len(long_label)
    assert len(shown) * 7 <= width(g)  # fits the frame at ~7px per monospace glyph


def test_tiny_frames_are_omitted_with_a_comment() -> None:
    svg = render_svg(stacks={("big",): 5000, ("tiny", "child"): 1}, title="t")
    f = frames(svg)
    assert "big" in f and "tiny" not in f and "child" not in f
    assert "<!-- 2 frames narrower than 0.1% of the width omitted -->" in svg


def _contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def test_every_label_contrasts_with_its_frame_and_every_frame_is_a_control() -> None:
    """Labels are black or white, whichever reads better on the frame's colour: at least 4.5:1."""
    from labkit.flamegraph import _luminance

    labels = [f"func_{i} (f.py:{i})" for i in range(300)]
    svg = render_svg(stacks={(lab,): 1 for lab in labels}, title="t", width=40000)
    drawn = frames(svg)
    inks = set()
    for g in drawn.values():
        ink = 1.0 if "w" in g.get("class", "").split() else 0.0
        inks.add(ink)
        assert _contrast(ink, _luminance(rect(g).get("fill", ""))) >= 4.5, rect(g).get("fill")
        assert g.get("tabindex") == "0" and g.get("role") == "button"
    assert inks == {0.0, 1.0}, "300 colours and never a dark one: the ink rule is not exercised"


# Every C0 control character, DEL, a C1 one and the Unicode line separator: a function's name is whatever
# its program sets (co_name may hold any of them).
HOSTILE = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\u2028\u2029"


@pytest.mark.parametrize("graph", ["flame", "diff"])
def test_control_characters_in_a_name_are_written_as_visible_escapes(graph: str, tmp_path: Path) -> None:
    from labkit import store
    from labkit.diffgraph import render_diff_svg
    from labkit.formats import visible

    name = f"evil{HOSTILE}end (labs/x.py:1)"
    stacks = {(MODULE, name): 3, (MODULE,): 1}
    if graph == "flame":
        svg = render_svg(stacks=stacks, title=f"t{HOSTILE}")
    else:
        svg = render_diff_svg(before=stacks, after={(MODULE,): 2, (MODULE, name): 1}, title="t")
    # The only control character is the newline between the document's lines: none from the name.
    assert {c for c in svg if unicodedata.category(c) in ("Cc", "Zl", "Zp")} <= {"\n"}
    assert visible(name) in frames(svg)  # the name, escapes shown, is the frame's label
    if graph == "diff":  # the lines above the frames name it too: its controls shown, not made spaces
        keys = ET.fromstring(svg).iterfind(".//s:g[@class='key']/s:text", NS)
        assert "\\t\\n\\x0b\\x0c\\r" in "".join(t.text or "" for t in keys)
    assert svg.isascii()
    path = tmp_path / "g.svg"
    store.write_text(path, svg)
    assert path.read_text(encoding="utf-8") == svg  # survives even a reader with universal newlines
    assert store.same_text(path, svg)


def test_a_derived_file_with_a_carriage_return_reads_back_as_written(tmp_path: Path) -> None:
    """The writer and `make check` agree on a file's text: a CR is neither translated nor read as \\n."""
    from labkit import store

    path = tmp_path / "f.txt"
    for text in ("a\rb\n", "a\r\nb\n", "a\nb"):
        store.write_text(path, text)
        assert path.read_bytes() == text.encode()
        assert store.same_text(path, text)
    assert not store.same_text(path, "a\r\nb")
    assert not store.same_text(tmp_path / "missing.txt", "")
