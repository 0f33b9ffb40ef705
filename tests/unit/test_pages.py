"""labkit.pages: markers in pages, the blocks written between them, and how Markdown renders them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import markdown
import pytest
from labkit import blocks, formats, pages
from labkit.errors import LabError
from labkit.kinds import benchmark as benchmark_kind
from labkit.kinds import profile as profile_kind

EXTENSIONS = [
    "tables",
    "md_in_html",
    "admonition",
    "pymdownx.superfences",
    "pymdownx.tabbed",
    "pymdownx.blocks.html",
]
EXTENSION_CONFIGS = {"pymdownx.tabbed": {"alternate_style": True}}

NASTY = [  # function names and files that HTML or Markdown would otherwise eat
    ("<module>", "labs/app/main.py", 1.0, 1.0),
    ("make_batch.<locals>.<listcomp>", "labs/app/main.py", 0.4, 0.6),
    ("__init__", "labs/app/__init__.py", 0.3, 0.5),
    ("a|b", "labs/a|b.py", 0.2, 0.2),
    ("*x*", "labs/app/main.py", 0.1, 0.1),
]


def tiny_results() -> dict[str, Any]:
    functions = [
        {
            "name": n,
            "file": f,
            "self_samples": round(100 * s),
            "total_samples": round(100 * t),
            "self_share": s,
            "total_share": t,
            "line_frames": 1,
        }
        for n, f, s, t in NASTY
    ]
    return {
        "profiles": {"p": {"samples": 1234, "functions": functions}},
        "values": {
            "speedup_median": {"value": 1575.4, "format": "speedup", "text": "1,575×"},
            "share": {"value": 0.978, "format": "share", "text": "97.8%"},
            "who": {"value": "<module>", "format": "text", "text": formats.render("<module>", "text")},
        },
    }


def ctx(results: dict[str, Any] | None = None) -> pages.Context:
    return pages.Context(results=results or tiny_results(), data_href="data", data_dir=Path("unused"))


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)


def test_value_markers_are_replaced_and_differences_reported() -> None:
    page = (
        "Intro.\n"
        "\n"
        "The fix is <!-- value: speedup_median -->12×<!-- /value --> faster, "
        "and <!-- value: share -->97.8%<!-- /value --> of samples.\n"
    )
    out, diffs = pages.render(page, ctx(), page="p.md")
    assert out.splitlines()[2] == (
        "The fix is <!-- value: speedup_median -->1,575×<!-- /value --> faster, "
        "and <!-- value: share -->97.8%<!-- /value --> of samples."
    )
    assert diffs == [pages.Difference(line=3, marker="value speedup_median", expected="1,575×", found="12×")]
    again, none = pages.render(out, ctx(), page="p.md")
    assert again == out
    assert none == []


def test_value_text_is_escaped_in_the_page_and_in_html() -> None:
    out, _ = pages.render("Most time is in <!-- value: who -->?<!-- /value -->.\n", ctx(), page="p.md")
    assert "<!-- value: who -->&lt;module&gt;<!-- /value -->" in out
    html = to_html(out)
    assert "&lt;module&gt;" in html
    assert "<module>" not in html.replace("<!-- value: who -->", "")


ADMONITION_PAGE = """\
# Title

!!! note "Top frames"

    Text before.

    <!-- begin: frame-table p -->
    stale
    <!-- end: frame-table p -->

    Text after.

The end.
"""


def test_block_inside_admonition_keeps_its_indentation() -> None:
    out, diffs = pages.render(ADMONITION_PAGE, ctx(), page="p.md")
    lines = out.split("\n")
    begin = lines.index("    <!-- begin: frame-table p -->")
    end = lines.index("    <!-- end: frame-table p -->")
    body = lines[begin + 1 : end]
    assert body[0] == "" and body[-1] == "", "blank lines around the body"
    assert body[1:4] == ["    /// html | div.generated", "        markdown: html", ""], "kept as HTML"
    assert body[-3:-1] == ["", "    ///"]
    assert all(row.startswith("    <") for row in body[4:-3])
    assert body[4] == "    <table>"
    assert [d.marker for d in diffs] == ["frame-table p"]
    assert diffs[0].line == begin + 1
    assert diffs[0].found == "    stale"
    # Regenerating a regenerated page changes nothing.
    again, none = pages.render(out, ctx(), page="p.md")
    assert (again, none) == (out, [])
    # The table renders inside the admonition, not as a code block after it.
    html = to_html(out)
    admonition = re.search(r'<div class="admonition note">.*?</table>', html, re.S)
    assert admonition, html
    assert "<pre>" not in html
    assert "The end." in html.split("</div>")[-1]
    # Not a paragraph: Markdown would wrap indented HTML in <p>, invalid around a table (Nu checker).
    assert not re.search(r"<p>\s*<table", html), html


def test_wrapping_is_what_keeps_a_contained_block_out_of_a_paragraph(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "CONTAINED_OPEN", ())
    monkeypatch.setattr(pages, "CONTAINED_CLOSE", "")
    out, _ = pages.render(ADMONITION_PAGE, ctx(), page="p.md")
    assert re.search(r"<p>\s*<table", to_html(out))


TAB_PAGE = """\
=== "Slow"

    <!-- begin: frame-table p -->
    <!-- end: frame-table p -->

=== "Fixed"

    Nothing.
"""


def test_block_inside_tab_renders_as_a_table() -> None:
    out, _ = pages.render(TAB_PAGE, ctx(), page="p.md")
    assert "\n\n    <table>\n" in out
    html = to_html(out)
    assert re.search(r'class="tabbed-block">.*?<table>.*?</table>.*?</div>', html, re.S), html
    assert "<pre>" not in html
    assert not re.search(r"<p>\s*<table", html), html


@pytest.mark.parametrize("page", [ADMONITION_PAGE, TAB_PAGE], ids=["admonition", "tab"])
def test_names_in_a_block_inside_a_container_stay_literal(page: str) -> None:
    out, _ = pages.render(page, ctx(), page="p.md")
    html = to_html(out)
    assert "<strong>" not in html and "<em>" not in html
    assert re.search(r"<code>(__init__|&#95;&#95;init&#95;&#95;)</code>", html), html


def test_frame_table_escapes_names_for_html_and_markdown() -> None:
    rows = profile_kind.frame_table(ctx(), "p")
    table = "\n".join(rows)
    assert "<code>&lt;module&gt;</code>" in table
    assert "<code>make&#95;batch.&lt;locals&gt;.&lt;listcomp&gt;</code>" in table
    assert "<code>&#95;&#95;init&#95;&#95;</code>" in table
    assert "<td><code>a&#124;b</code></td>" in table
    assert "1,234 samples" in table
    assert "<td>97.8%</td>" not in table  # shares come from the data: 100.0% for <module>
    assert "<td>100.0%</td>" in table

    page = "Before.\n\n<!-- begin: frame-table p -->\n<!-- end: frame-table p -->\n\nAfter.\n"
    out, _ = pages.render(page, ctx(), page="p.md")
    # Markdown specials travel as numeric entities, which a browser shows as the characters.
    html = to_html(out).replace("&#95;", "_").replace("&#124;", "|").replace("&#42;", "*")
    assert "<code>&lt;module&gt;</code>" in html
    assert "<code>make_batch.&lt;locals&gt;.&lt;listcomp&gt;</code>" in html
    assert "<code>__init__</code>" in html
    assert "<strong>" not in html and "<em>" not in html
    assert "<td><code>a|b</code></td>" in html
    assert "<td><code>labs/a|b.py</code></td>" in html
    assert "<td><code>*x*</code></td>" in html
    # One row per function, four cells each: the | did not split a cell.
    body_rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1], re.S)
    assert len(body_rows) == len(NASTY)
    assert all(row.count("<td>") == 4 for row in body_rows)


def test_frame_table_shows_at_most_ten_functions() -> None:
    results = tiny_results()
    one = results["profiles"]["p"]["functions"][0]
    results["profiles"]["p"]["functions"] = [dict(one, name=f"f{i}") for i in range(15)]
    rows = profile_kind.frame_table(ctx(results), "p")
    assert sum(row.startswith("<tr><td>") for row in rows) == 10


def test_unknown_profile_in_a_block() -> None:
    page = "<!-- begin: frame-table nostep -->\n<!-- end: frame-table nostep -->\n"
    with pytest.raises(LabError, match=r"^p\.md:1: no profile step named 'nostep'"):
        pages.render(page, ctx(), page="p.md")


def test_block_markers_inside_a_code_fence_are_left_alone() -> None:
    page = "```markdown\n<!-- begin: frame-table p -->\n<!-- end: frame-table p -->\n```\n"
    out, diffs = pages.render(page, ctx(), page="p.md")
    assert (out, diffs) == (page, [])


@pytest.mark.parametrize(
    ("page", "where", "message"),
    [
        ("Intro.\n\n## Faster by <!-- value: speedup_median -->x<!-- /value -->\n", "p.md:3", "heading"),
        ("    ### Indented <!-- value: share -->x<!-- /value -->\n", "p.md:1", "heading"),
        (
            "Intro.\n\n```text\nspeed <!-- value: speedup_median -->x<!-- /value -->\n```\n",
            "p.md:4",
            "code block",
        ),
        ("Intro.\n\n~~~\n<!-- value: share -->x<!-- /value -->\n~~~\n", "p.md:4", "code block"),
        ("Intro.\n<!-- value: speedup_median -->x<!-- /value --> faster.\n", "p.md:2", "starts with a value"),
        ("Intro.\n\n    <!-- value: share -->x<!-- /value --> here\n", "p.md:3", "starts with a value"),
        ("A\nB\nIt is <!-- value: nope -->x<!-- /value --> fast.\n", "p.md:3", "value 'nope'.*known values"),
        ("Intro.\n\n<!-- begin: frame-table p -->\ntable\n", "p.md:3", "no matching line"),
        (
            "!!! note\n\n    <!-- begin: frame-table p -->\n<!-- end: frame-table p -->\n",
            "p.md:3",
            "same indentation",
        ),
        (
            "Intro.\n\n<!-- begin: pie-chart p -->\n<!-- end: pie-chart p -->\n",
            "p.md:3",
            "unknown block 'pie-chart'",
        ),
    ],
    ids=[
        "heading",
        "indented-heading",
        "fence",
        "tilde-fence",
        "line-start",
        "indented-line-start",
        "unknown-value",
        "begin-without-end",
        "end-at-other-indent",
        "unknown-kind",
    ],
)
def test_marker_errors_name_page_and_line(page: str, where: str, message: str) -> None:
    with pytest.raises(LabError) as caught:
        pages.render(page, ctx(), page="p.md")
    text = str(caught.value)
    assert text.startswith(where + ":"), text
    assert re.search(message, text), text


def test_benchmark_table(results: dict[str, Any]) -> None:
    rows = benchmark_kind.benchmark_table(ctx(results), None)
    table = "\n".join(rows)
    bench = results["benchmark"]
    assert f"<td>{formats.speedup(bench['speedup']['median'])}</td>" in table
    assert f"<td>{formats.seconds(bench['slow_s']['min'])}</td>" in table
    results["benchmark"] = None
    with pytest.raises(LabError, match="no benchmark step"):
        benchmark_kind.benchmark_table(ctx(results), None)


def test_provenance_table(results: dict[str, Any]) -> None:
    table = "\n".join(pages.provenance(ctx(results), None))
    assert results["inputs_sha256"][:16] in table
    assert "attached by PID" in table
    assert "/" + "root" not in table and "/home/" not in table


def test_data_href() -> None:
    assert pages.data_href(Path("docs/labs/lab-1/index.md"), Path("docs/labs/lab-1/data")) == "data"
    # Pages are built as name.html (mkdocs.yml): a page's links are relative to its Markdown file.
    assert pages.data_href(Path("docs/labs/lab-1/fact-check.md"), Path("docs/labs/lab-1/data")) == "data"


def test_site_href() -> None:
    assert pages.site_href(Path("docs/labs/lab-1/index.md")) == "../.."
    assert pages.site_href(Path("docs/labs/lab-1/fact-check.md")) == "../.."
    assert pages.site_href(Path("docs/index.md")) == "."
    with pytest.raises(LabError, match="under docs/"):
        pages.site_href(Path("elsewhere/page.md"))


def test_speedscope_link_opens_the_recording_from_the_site_root() -> None:
    context = pages.Context(
        results=tiny_results(),
        data_href="data",
        data_dir=Path("unused"),
        site_href="../..",
        data_path="labs/lab-1/data",
    )
    links = blocks.viewer_links(context, svg="slow.svg", speedscope="slow.speedscope.json", title="A & b=c")
    assert (
        'href="../../speedscope/index.html#profileURL=../labs/lab-1/data/slow.speedscope.json'
        '&amp;title=A%20%26%20b%3Dc"' in links
    )
    assert '<a href="data/slow.speedscope.json" download>' in links
    assert 'class="flamegraph-narrow"' in links


def test_provenance_shows_the_time_as_a_person_reads_it(results: dict[str, Any]) -> None:
    results["generated_at"] = "2026-12-02T14:27:09Z"
    table = "\n".join(pages.provenance(ctx(results), None))
    assert "<td>2 December 2026, 14:27 UTC</td>" in table
    assert "2026-12-02T" not in table


def test_the_claims_table_puts_the_verdict_first_in_words(results: dict[str, Any]) -> None:
    base = {"page": "p.md", "evidence": "measured", "rule": "≥ 90%", "shown": "99%", "source": "", "link": ""}
    results["claims"] = [
        {**base, "text": "a", "verdict": "holds", "expect": "holds"},
        {**base, "text": "b", "verdict": "fails", "expect": "fails"},
        {**base, "text": "c", "verdict": "cited", "expect": "holds", "evidence": "cited", "source": "README"},
        {**base, "text": "d", "verdict": "fails", "expect": "holds"},
    ]
    context = dataclasses.replace(ctx(results), page="p.md")
    html = "\n".join(pages.claims_table(context, None))
    assert "<thead><tr><th>Verdict</th>" in html  # the first column: on a phone it is on screen
    cells = re.findall(r"<tr><td><strong>(.*?)</strong></td><td>(\w)</td>", html)
    assert cells == [
        ("✓ confirmed", "a"),
        ("✓ refuted, as this page says", "b"),
        ("cited", "c"),
        ("✗ mismatch: does not hold (this page says it holds)", "d"),
    ]
    assert "does not hold as expected" not in html


def test_the_claims_tables_caption_names_intervals_only_where_a_claim_is_judged_on_one(
    results: dict[str, Any],
) -> None:
    base = {"page": "p.md", "evidence": "measured", "rule": "> 50%", "shown": "60%", "source": "", "link": ""}
    claim = {**base, "text": "a", "verdict": "holds", "expect": "holds", "interval": None}
    context = dataclasses.replace(ctx(results), page="p.md")
    results["claims"] = [claim]
    assert "confidence interval" not in "\n".join(pages.claims_table(context, None))  # exact counts
    results["claims"] = [claim, {**claim, "text": "b", "interval": [0.55, 0.66]}]
    assert "whole confidence interval" in "\n".join(pages.claims_table(context, None))
