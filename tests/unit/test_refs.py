"""labkit.refs: line and name markers written from the source, and references typed by hand found."""

from __future__ import annotations

import html.parser
from pathlib import Path

import markdown
import pytest
import yaml
from labkit import pages, prose, refs
from labkit.blocks import Context
from labkit.errors import LabError
from labkit.manifest import Lab

from tests.helpers import ROOT

PROGRAM = "labs/prog/finders.py"
SOURCE = '''"""A program."""


def find_slow(values):
    seen = []
    for v in values:
        if v not in seen | set():
            seen.append(v)
    return seen


class Finder:
    def run(self):
        return 1
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "labs/prog").mkdir(parents=True)
    (tmp_path / PROGRAM).write_text(SOURCE, encoding="utf-8")
    (tmp_path / "docs/labs/lab-9/data").mkdir(parents=True)
    (tmp_path / "secret.py").write_text("x = 1\n", encoding="utf-8")
    return tmp_path


def _ctx(root: Path) -> Context:
    results = {"values": {}, "environment": {"python": "3.11.7", "py_spy": "0.4.3"}, "lab": "lab-9"}
    return Context(results=results, data_href="data", data_dir=root / "docs/labs/lab-9/data")  # type: ignore[arg-type]


def _render(root: Path, text: str) -> tuple[str, list[pages.Difference]]:
    return pages.render(text, _ctx(root), page="docs/labs/lab-9/index.md")


def test_a_line_marker_is_written_with_the_number_of_its_line_and_a_text_may_hold_a_bar(root: Path) -> None:
    text = f"See finders.py:<!-- line: {PROGRAM} |   if v not in seen | set():  -->1<!-- /line -->."
    new, diffs = _render(root, text)
    assert new == f"See finders.py:<!-- line: {PROGRAM} |   if v not in seen | set():  -->7<!-- /line -->."
    assert [(d.line, d.marker, d.expected, d.found) for d in diffs] == [(1, f"line {PROGRAM}", "7", "1")]
    assert _render(root, new) == (new, [])  # written: nothing differs any more


def test_a_name_marker_is_written_as_inline_code_when_the_file_defines_it(root: Path) -> None:
    new, diffs = _render(root, f"The <!-- name: {PROGRAM} | Finder -->Finder<!-- /name --> class.")
    assert new == f"The <!-- name: {PROGRAM} | Finder -->`Finder`<!-- /name --> class."
    assert len(diffs) == 1
    assert _render(root, f"And <!-- name: {PROGRAM} | run -->`run`<!-- /name -->.")[1] == []


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (f"<!-- line: {PROGRAM} | return 2 -->1<!-- /line -->", f"{PROGRAM} has no line 'return 2'"),
        (f"<!-- line: {PROGRAM} |  -->1<!-- /line -->", "needs `PATH | LINE`"),
        ("<!-- line: ../outside.py | x = 1 -->1<!-- /line -->", "leaves the repository"),
        ("<!-- line: /etc/passwd | root -->1<!-- /line -->", "not a repository-relative path"),
        (f"<!-- name: {PROGRAM} | find_fast -->`find_fast`<!-- /name -->", "defines no function or class"),
        (f"<!-- name: {PROGRAM} | <module> -->`x`<!-- /name -->", "'<module>' is not a Python name"),
        (f"<!-- line: {PROGRAM} | print(`x`) -->1<!-- /line -->", "cannot hold a backtick"),
        (f"<!-- line: {PROGRAM} | return seen", "is half a marker"),
    ],
)
def test_a_marker_that_cannot_be_written_is_a_located_error(root: Path, marker: str, message: str) -> None:
    text = f"Intro.\n\nText {marker} more.\n"
    with pytest.raises(LabError) as error:
        _render(root, text)
    assert str(error.value).startswith("docs/labs/lab-9/index.md:3: "), error.value
    assert message in str(error.value)


def test_an_ambiguous_line_names_every_place(root: Path) -> None:
    (root / PROGRAM).write_text(SOURCE + "\n\ndef again():\n    return seen\n", encoding="utf-8")
    with pytest.raises(LabError, match=r"index.md:1: .* has 2 lines 'return seen' \(lines 9, 18\)"):
        _render(root, f"Text <!-- line: {PROGRAM} | return seen -->9<!-- /line -->.")


def test_a_marker_that_starts_a_line_or_stands_in_a_heading_is_refused(root: Path) -> None:
    marker = f"<!-- name: {PROGRAM} | Finder -->`Finder`<!-- /name -->"
    with pytest.raises(LabError, match=r"index.md:1: .*heading"):
        _render(root, f"## The {marker} class")
    with pytest.raises(LabError, match=r"index.md:1: .*starts with a marker"):
        _render(root, f"{marker} is a class.")


def test_other_comments_are_not_markers(root: Path) -> None:
    text = "A <!-- name of the thing --> and <!-- line up --> and <!-- cite later -->."
    assert _render(root, text) == (text, [])


def test_a_closing_marker_alone_is_refused(root: Path) -> None:
    with pytest.raises(LabError, match="is half a marker"):
        _render(root, "Text 12<!-- /line --> more.")


def test_markers_in_a_code_block_are_left_as_they_are(root: Path) -> None:
    text = f"```\nText <!-- line: {PROGRAM} | nothing -->1<!-- /line -->\n```"
    assert _render(root, text) == (text, [])


def _extensions() -> tuple[list[str], dict[str, object]]:
    """The site's Markdown extensions, as mkdocs.yml lists them."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # mkdocs' own tags (!ENV)
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    listed = config["markdown_extensions"]
    names = [e if isinstance(e, str) else next(iter(e)) for e in listed]
    return names, {k: v for e in listed if isinstance(e, dict) for k, v in e.items()}


EXTENSIONS, CONFIGS = _extensions()


class _Text(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.comments: list[str] = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def test_hostile_text_in_markers_stays_inside_its_comment_in_the_built_html(root: Path) -> None:
    (root / PROGRAM).write_text(
        SOURCE + "\n\ndef f():\n    return a | b  # <module> [x](y) *a* __b__\n", "utf-8"
    )
    line = "return a | b  # <module> [x](y) *a* __b__"
    cite = "src/main.rs | a | b <module> [x](y) *a* __b__"
    page = (
        f"Line <!-- line: {PROGRAM} | {line} -->1<!-- /line --> of "
        f"<!-- name: {PROGRAM} | find_slow -->x<!-- /name --> and `code`, "
        f"<!-- cite: {cite} -->x<!-- /cite --> end."
    )
    written, _ = _render(root, page)
    parser = _Text()
    parser.feed(markdown.markdown(written, extensions=EXTENSIONS, extension_configs=CONFIGS))
    shown = "".join(parser.text)
    number = (SOURCE + "\n\ndef f():\n").count("\n") + 1
    assert shown == (
        f"Line {number} of find_slow and code, "
        "(py-spy 0.4.3, src/main.rs: “a | b <module> [x](y) *a* __b__”) end."
    ), shown
    # Every marker is still one whole comment (Markdown may rewrite a link inside one; it stays hidden).
    heads = [c.strip().split(" | ")[0] for c in parser.comments]
    assert heads == [f"line: {PROGRAM}", "/line", f"name: {PROGRAM}", "/name", "cite: src/main.rs", "/cite"]


# --- references typed by hand ----------------------------------------------------------------------------


def _lab(root: Path) -> Lab:
    return Lab(
        id="lab-9", title="t", page=Path("docs/labs/lab-9/index.md"), programs=[Path("labs/prog")],
        steps=[], values={}, claims=[], seed=None, source=Path("labs/lab-9.yml"), raw={},
    )  # fmt: skip


def _loose(root: Path, text: str) -> list[str]:
    return refs.loose(_lab(root), texts={"p.md": text}, root=root, kinds=pages.regions)


@pytest.mark.parametrize(
    "text",
    [
        "Step 2 of 5, with Python 3.12 and py-spy 0.4.3.",
        "The second line 2 of the output says so.",  # no program named in the paragraph
        "A pipeline 3 and timelines 4 near finders.py.",
        "```\nfinders.py:7 and `find_slow` in line 7 of finders.py\n```",
        f"Bound: finders.py:<!-- line: {PROGRAM} | seen = [] -->5<!-- /line -->, "
        f"<!-- name: {PROGRAM} | find_slow -->`find_slow`<!-- /name -->.",
        "<!-- a comment: finders.py:7, `find_slow` -->",
        "`range`, `print` and `__init__` are not the program's own.",
        "other.py:12 is not a program of the lab.",
    ],
)
def test_text_that_is_not_a_reference_by_hand_passes(root: Path, text: str) -> None:
    assert _loose(root, text) == []


def test_references_typed_by_hand_are_found_with_their_fix(root: Path) -> None:
    text = (
        "Intro.\n\n"
        "The loop at finders.py:7 is slow.\n\n"
        "In `find_slow`, line 7 and\nlines 5-6 matter.\n\n"
        f"Even bound, <!-- name: {PROGRAM} | find_slow -->`find_slow`<!-- /name --> line 8 is typed.\n\n"
        "`labs/prog/finders.py:7` too.\n"
    )
    found = _loose(root, text)
    assert found[0] == (
        f"p.md:3: 'finders.py:7' types a line number by hand: write "
        f"finders.py:<!-- line: {PROGRAM} | TEXT OF THE LINE -->7<!-- /line -->"
    )
    assert found[1] == (
        f"p.md:5: `find_slow` names a function of {PROGRAM} by hand: write "
        f"<!-- name: {PROGRAM} | find_slow -->`find_slow`<!-- /name -->"
    )
    assert found[2].startswith(
        f"p.md:5: 'line 7' types a line number of {PROGRAM} by hand: write line "
        f"<!-- line: {PROGRAM} | if v not in seen | set(): -->7<!-- /line -->"
    )
    assert found[3].startswith(f"p.md:6: 'lines 5-6' types a line number of {PROGRAM}")
    assert found[4].startswith("p.md:8: 'line 8' types")
    assert found[5].startswith("p.md:10: 'labs/prog/finders.py:7' types a line number by hand")
    assert len(found) == 6


def test_a_claim_sentence_reads_through_name_and_line_markers() -> None:
    page = (
        f"Here <!-- name: {PROGRAM} | find_slow -->`find_slow`<!-- /name --> spends most time on "
        f"line <!-- line: {PROGRAM} | seen = [] -->5<!-- /line -->."
    )
    assert pages.states(page, "find_slow spends most time on line 5")
    assert not pages.states(page, "find_slow spends little time")


def test_numbers_in_markers_are_not_typed_numbers() -> None:
    page = "See <!-- cite: README.md | 100 samples per second -->(py-spy 0.4.3, …)<!-- /cite --> here."
    assert list(prose.numbers(page, bound=[], values={"v": {"value": "0.4.3", "text": "0.4.3"}})) == []
    assert [f.text for f in prose.numbers("See 100 samples here.", bound=[], values={})] == ["100 samples"]


def test_a_reference_by_hand_in_a_heading_is_to_be_reworded(root: Path) -> None:
    assert _loose(root, "Intro.\n\n## Inside `find_slow`\n") == [
        f"p.md:3: `find_slow` names a function of {PROGRAM} by hand: a heading cannot hold a marker "
        "(it changes the anchor); reword it"
    ]
