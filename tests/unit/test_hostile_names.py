"""Names a program chooses (functions, files, threads, output) are data: they cannot break a page's
value markers, the collapsed stacks, or the terminal (issue 26, items 13 to 15)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labkit import formats, pages, stacks, terminal
from labkit.errors import LabError
from labkit.kinds import compare as compare_kind
from labkit.kinds import profile as profile_kind
from rich.console import Console

HOSTILE = [
    "evil\n<!-- /value -->x",
    "a;b",
    "line\r\nbreak",
    "tab\there",
    "f 123",
    "[/bold]x",
    "[red]x[/red]",
    "\x1b]0;pwned\x07title",
    "\x1b[2Kerased\x1b[31mred",
    "<!-- value: other -->",
    "-->",
    "a|b",
    "sep\u2028arated",
    "\x85next",
]
PAGE = "The name is <!-- value: who -->old<!-- /value --> here.\nNext line.\n"


def _ctx(text: str) -> pages.Context:
    values = {"who": {"value": text, "format": "text", "text": text}}
    return pages.Context(results={"values": values}, data_href="data", data_dir=Path("unused"))


def _written(name: str) -> tuple[str, str]:
    """The page with a value written from ``name`` as `assets` writes it, and that value's text."""
    text = formats.render(name, "text")
    out, _ = pages.render(PAGE, _ctx(text), page="p.md")
    return out, text


@settings(deadline=None, max_examples=300)
@given(st.text())
@pytest.mark.parametrize("extra", HOSTILE)
def test_any_name_round_trips_through_its_value_marker(extra: str, name: str) -> None:
    """Written → read back by the marker reader → what `make check` recomputes, for any string."""
    out, text = _written(extra + name)
    assert "\n" not in text and "\r" not in text and "<!--" not in text and "-->" not in text
    assert out.split("\n")[1:] == PAGE.split("\n")[1:], "the value added or removed a line"
    found = [(m["name"], m["text"]) for m in pages.VALUE.finditer(out)]
    assert found == [("who", text)]
    assert pages.render(out, _ctx(text), page="p.md") == (out, []), "check would report a difference"


@pytest.mark.parametrize("name", HOSTILE)
def test_check_still_sees_a_hand_edited_value_after_a_hostile_name(name: str) -> None:
    out, text = _written(name)
    edited = out.replace(f"-->{text}<!--", "-->1,000×<!--")
    assert edited != out
    _, diffs = pages.render(edited, _ctx(text), page="p.md")
    assert [(d.line, d.marker, d.expected) for d in diffs] == [(1, "value who", text)]


def test_a_compare_value_with_a_newline_stays_on_its_line() -> None:
    """The compare step's largest change, named by the program, is written by formats.render."""
    entry: dict[str, Any] = {"largest_increase": "evil\n<!-- /value -->", "largest_decrease": "x"}
    value, fmt = compare_kind.values("change", entry)["change_largest_increase"]
    text = formats.render(value, fmt)
    assert text == "evil\\\\n&lt;\\!-- /value --&gt;"  # Markdown shows `\\n` as \n and `\\!` as !
    html = _markdown(_written(value)[0])
    assert "-->evil\\n&lt;!-- /value --&gt;<!-- /value --> here.\nNext line.</p>" in html


def _markdown(text: str) -> str:
    import markdown

    return markdown.markdown(text)


@pytest.mark.parametrize(
    "page",
    [
        "Broken <!-- value: who -->evil\n<!-- /value --> here.\n",  # what an unescaped newline left
        "Half <!-- value: who -->open, never closed.\n",
        "A stray close <!-- /value --> here.\n",
    ],
)
def test_a_value_marker_that_does_not_close_on_its_line_is_an_error(page: str) -> None:
    with pytest.raises(LabError, match=r"^p\.md:1: a value marker that does not close on its own line"):
        pages.render(page, _ctx("x"), page="p.md")


def test_a_marker_in_a_code_block_may_be_half_shown() -> None:
    page = "```md\nwrite <!-- value: NAME --> then the text\n```\n"
    assert pages.render(page, _ctx("x"), page="p.md") == (page, [])


@pytest.mark.parametrize("text", ["a\nb", "x<!-- /value -->", "--> y", "<b>"])
def test_text_that_would_break_its_marker_is_never_written(text: str) -> None:
    """A value's text that formats.render would never make (a hand-edited results.json) is refused."""
    with pytest.raises(LabError, match=r"^p\.md:1: value 'who' is .* would break its marker"):
        pages.render(PAGE, _ctx(text), page="p.md")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x1b[31m", "\\x1b[31m"),
        ("\x07\x7f\x85", "\\x07\\x7f\\x85"),
        ("l\u2028p\u2029", "l\\u2028p\\u2029"),
        ("\u202etxt", "\\u202etxt"),
        ("plain <module> café", "plain <module> café"),
    ],
)
def test_visible(raw: str, shown: str) -> None:
    assert formats.visible(raw) == shown


def test_html_text_keeps_a_table_cell_on_one_line() -> None:
    assert formats.html_text("a\n\nb|c") == "a&#92;n&#92;nb&#124;c"  # shows a\n\nb|c


# --- collapsed stacks (item 14) ---------------------------------------------------------------------------

NAMES = st.text(alphabet=st.sampled_from(list("ab ;%\n\r\t\x1b\u2028\x85|()1234567890:")), max_size=8)


def _recording(stacks_of_names: list[list[tuple[str, str, int]]]) -> stacks.Recording:
    frames: list[stacks.Frame] = []
    samples = []
    for stack in stacks_of_names:
        sample = []
        for name, file, line in stack:
            frame = stacks.Frame(name=name, file=file, line=line)
            if frame not in frames:
                frames.append(frame)
            sample.append(frames.index(frame))
        samples.append(tuple(sample))
    return stacks.Recording(frames=tuple(frames), threads=(stacks.Thread(name="t", samples=tuple(samples)),))


@settings(deadline=None, max_examples=300)
@given(
    st.lists(
        st.lists(st.tuples(NAMES | st.text(max_size=5), NAMES, st.integers(0, 99)), min_size=1, max_size=4),
        min_size=1,
        max_size=6,
    )
)
def test_collapsed_stacks_parse_back_to_the_same_stacks(
    stacks_of_names: list[list[tuple[str, str, int]]],
) -> None:
    counted = stacks.collapsed(_recording(stacks_of_names))
    text = stacks.collapsed_text(counted)
    lines = text.splitlines()  # every line break Python knows, \r, \x85 and \u2028 included
    assert len(lines) == len(counted), "a name split a stack"
    for line, (stack, count) in zip(lines, sorted(counted.items()), strict=True):
        assert re.fullmatch(r"[^\t]* \d+", line)
        frames, _, number = line.rpartition(" ")
        assert int(number) == count
        assert len(frames.split(";")) == len(stack), "a name added a frame"
    assert stacks.read_collapsed(text) == counted


def test_collapsed_stacks_of_hostile_names() -> None:
    recording = _recording(
        [[("main", "app.py", 1), (name, "app.py", 2)] for name in ["a;b", "x\ny", "c\rd", "t\tab", "f 123"]]
    )
    text = stacks.collapsed_text(stacks.collapsed(recording))
    assert text.split("\n") == [
        "main (app.py:1);a%3Bb (app.py:2) 1",
        "main (app.py:1);c%0Dd (app.py:2) 1",
        "main (app.py:1);f 123 (app.py:2) 1",
        "main (app.py:1);t%09ab (app.py:2) 1",
        "main (app.py:1);x%0Ay (app.py:2) 1",
        "",
    ]
    assert stacks.read_collapsed(text) == stacks.collapsed(recording)


def test_ordinary_labels_are_written_as_they_are() -> None:
    label = "make_batch.<locals>.<listcomp> (<stdlib>/random.py:12)"
    assert stacks.frame_text(label) == label


# --- the terminal (item 15) -------------------------------------------------------------------------------


def _profile(names: list[str]) -> dict[str, Any]:
    functions = [
        {"name": n, "file": f"labs/{n}.py", "self_share": 0.5 / (i + 1), "total_share": 0.6 / (i + 1)}
        for i, n in enumerate(names)
    ]
    return {"title": "[/bold]title\x1b]0;t\x07", "samples": 100, "method": "pid", "functions": functions}


def _printed(renderable: Any, *, console: type[Console] = Console, colours: bool = False) -> str:
    out = io.StringIO()
    shown = console(
        file=out,
        force_terminal=True,
        color_system="standard" if colours else None,
        width=200,
        highlight=False,
    )
    shown.print(renderable)
    return out.getvalue()


def test_the_learners_profile_table_prints_hostile_names_as_text() -> None:
    """`Table.add_row(name)` read `[/bold]x` as markup (MarkupError) and let escape sequences through."""
    table = profile_kind.summary("slow", _profile([HOSTILE[i] for i in (5, 7, 8, 6, 0, 2)]))  # six shown
    out = _printed(table)
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "[/bold]x" in out and "\\x1b]0;pwned\\x07title" in out and "\\x1b[2Kerased" in out
    assert "[/bold]title" in out


def test_the_terminal_console_shows_control_characters_of_anything_it_prints() -> None:
    message = "the program said: \x1b]0;pwned\x07 \x1b[2K\rgone\nsecond line"
    for renderable in (terminal.text(message, style="red"), message):
        out = _printed(renderable, console=terminal.Console, colours=True)
        # rich itself drops BEL and CR from a plain string; ESC it keeps, which the console shows.
        assert "\\x1b]0;pwned" in out and "\\x1b[2K" in out
        assert "\x1b]" not in out and "\x1b[2K" not in out and "\x07" not in out and "\r" not in out
        assert "second line" in out.split("\n")[1], "a message keeps its line breaks"
    styled = _printed(terminal.text("ok", style="red"), console=terminal.Console, colours=True)
    assert "\x1b[31mok" in styled, "rich's own styles still reach the terminal"


def test_terminal_text_is_never_markup() -> None:
    assert _printed(terminal.cell("[/bold]x\n")).strip() == "[/bold]x\\n"


def test_a_hostile_value_in_a_markdown_table_stays_in_its_cell() -> None:
    import markdown

    page = "| what | name |\n|---|---|\n| hot | <!-- value: who -->…<!-- /value --> |\n"
    name = "a|b\n| c | d"
    out, _ = pages.render(page, _ctx(formats.render(name, "text")), page="p.md")
    html = markdown.markdown(out, extensions=["tables"])
    cells = re.findall(r"<td>(.*?)</td>", html, re.S)
    assert len(cells) == 2, html
    assert re.sub(r"<!--.*?-->", "", cells[1]) == "a|b\\n| c | d"


def test_the_top_screens_picture_shows_control_characters_and_stays_valid_xml() -> None:
    """py-spy top's screen holds the program's function names; rich's SVG export kept them raw."""
    import xml.etree.ElementTree as ET

    from labkit.kinds.top.run import terminal_svg

    svg = terminal_svg("  %Own   Function\n 50.0%  evil\x01\x0e\x1b(labs/x.py)\n", title="py-spy top")
    ET.fromstring(svg)
    assert "evil\\x01\\x0e\\x1b(labs/x.py)" in svg.replace("&#160;", " ")


def test_a_location_on_line_100_is_not_drawn_as_an_emoji() -> None:
    """rich reads ":100:" as an emoji code; an error's file:line must print as written."""
    import io

    from labkit import terminal

    sink = io.StringIO()
    terminal.Console(file=sink, highlight=False).print("docs/labs/lab-1/fact-check.md:100: a problem")
    assert "fact-check.md:100: a problem" in sink.getvalue()
