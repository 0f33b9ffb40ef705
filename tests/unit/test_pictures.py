"""What a reader sees of the pictures and the blocks: no internal step id, legend colours that exist,
chart text that can be read, and a dark scheme without white panels."""

from __future__ import annotations

import copy
import html
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import yaml
from labkit import blocks, kinds, pages, plots
from labkit.flamegraph import _luminance, render_svg

from tests.helpers import ROOT

LABS = ("lab-1", "lab-2")
NS = "{http://www.w3.org/2000/svg}"


def visible(markup: str) -> str:
    """The text a reader sees of HTML or SVG: without tags, attributes (links, file names) or comments."""
    markup = re.sub(r"<!--.*?-->", " ", markup, flags=re.S)
    markup = re.sub(r"<script.*?</script>|<style.*?</style>", " ", markup, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", markup))


def renamed(results: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The results with every step id of a keyed section replaced, and the steps that entries name."""
    out = copy.deepcopy(results)
    for kind in kinds.sections():
        section = out.get(kind.section or "")
        if not kind.keyed or not isinstance(section, dict):
            continue
        out[kind.section or ""] = {names.get(step, step): entry for step, entry in section.items()}
        for entry in out[kind.section or ""].values():
            for side in ("before", "after"):
                if isinstance(entry.get(side), str):
                    entry[side] = names.get(entry[side], entry[side])
    return out


@pytest.mark.parametrize("lab", LABS)
def test_no_step_id_reaches_a_reader_through_a_block_a_caption_or_a_picture(lab: str) -> None:
    """Every step renamed to a token no sentence could hold: the blocks, the provenance rows and the
    pictures of every kind must not show it (they name steps by their titles)."""
    data_dir = ROOT / "docs" / "labs" / lab / "data"
    results = json.loads((data_dir / "results.json").read_text(encoding="utf-8"))
    steps = [
        s["id"] for s in yaml.safe_load((ROOT / "labs" / f"{lab}.yml").read_text(encoding="utf-8"))["steps"]
    ]
    names = {step: f"zqxstep{index}zqx" for index, step in enumerate(steps)}
    results = renamed(results, names)
    ctx = blocks.Context(results=results, data_href="data", data_dir=data_dir)
    shown: list[str] = []
    for kind, step, entry in kinds.entries(results):
        for block in kind.blocks.values():
            shown.append(visible("\n".join(block(ctx, step if kind.keyed else None))))
        if kind.provenance is not None:
            shown.append(visible(str(kind.provenance(step, entry))))
        if kind.artifacts is not None:
            for name, text in kind.artifacts(step, entry, data_dir).items():
                if name.endswith(".svg"):
                    shown.append(visible(text))
    assert shown
    leaked = sorted({m for text in shown for m in re.findall(r"zqxstep\d+zqx", text)})
    assert not leaked, "step ids shown to readers: " + ", ".join(
        step for step, token in names.items() if token in leaked
    )


@pytest.mark.parametrize("lab", LABS)
def test_the_published_blocks_and_pictures_show_no_step_id_that_is_not_a_word_of_its_title(lab: str) -> None:
    """The committed pages and pictures as a reader sees them: an id such as ``slow_latency`` never
    appears, unless it is a word of the step's own title (``slow`` in "Profile the slow service")."""
    manifest = yaml.safe_load((ROOT / "labs" / f"{lab}.yml").read_text(encoding="utf-8"))
    texts = []
    for page in (ROOT / "docs" / "labs" / lab).glob("*.md"):
        for region in re.findall(
            r"<!-- begin: .*? -->(.*?)<!-- end: ", page.read_text(encoding="utf-8"), re.S
        ):
            texts.append(visible(region))
    texts += [
        visible(p.read_text(encoding="utf-8")) for p in (ROOT / "docs" / "labs" / lab / "data").glob("*.svg")
    ]
    for step in manifest["steps"]:
        title_words = re.findall(r"\w+", (step.get("title") or "").lower())
        if any(word.startswith(step["id"].lower()) for word in title_words):
            continue  # "slow" in "Profile the slow service", "bench" in "Benchmark …"
        if "_" not in step["id"] and not any(ch.isdigit() for ch in step["id"]):
            continue  # an ordinary word ("dump", "help") may be said; an identifier may not
        for text in texts:
            assert not re.search(rf"(?<![\w/.]){re.escape(step['id'])}(?![\w/.])", text), step["id"]


def test_plot_text_is_at_least_11_points_and_the_background_is_transparent() -> None:
    with plots.figure() as fig:
        ax = fig.subplots()
        ax.plot([1, 2], [1, 2], label="a line")
        ax.set_title("t")
        ax.set_xlabel("x")
        ax.legend()
        svg = plots.svg(fig)
    sizes = [float(s) for s in re.findall(r"font(?:-size)?:\s*(?:[^;\"]*?\s)?([\d.]+)px", svg)]
    assert sizes and min(sizes) >= plots.FONT_PT >= 11
    root = ET.fromstring(svg)
    background = root.find(f".//{NS}g[@id='patch_1']/{NS}path")
    assert background is not None and "fill: none" in background.get("style", "")


def test_the_stylesheet_keeps_plot_text_legible_on_a_phone_and_darkens_pictures_on_the_slate_scheme() -> None:
    css = (ROOT / "docs" / "stylesheets" / "extra.css").read_text(encoding="utf-8")
    width = float(re.search(r"\.plot-scroll img \{[^}]*min-width: (\d+)px", css).group(1))  # type: ignore[union-attr]
    # a 7.5 in figure is 540 pt = 720 CSS px wide; its 11 pt text is 11 × 4/3 px at that width
    assert plots.FONT_PT * 4 / 3 * width / 720 >= 11
    assert re.search(
        r'\[data-md-color-scheme="slate"\] \.md-typeset figure\.plot img \{\s*filter: invert', css
    )
    assert re.search(r'\[data-md-color-scheme="slate"\] \.md-typeset figure\.flamegraph iframe \{', css)


def _contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def test_a_flame_graph_has_a_dark_scheme_whose_text_contrasts() -> None:
    svg = render_svg(stacks={("a", "b"): 3}, title="t")
    dark = re.search(r"@media \(prefers-color-scheme:dark\)\{(.*?\})\}", svg, re.S)
    assert dark, "no dark scheme"
    rules = {k.strip(): v for k, v in re.findall(r"([^{}]+)\{fill:(#[0-9a-f]{6})\}", dark.group(1))}
    hexes = {k: "rgb({},{},{})".format(*(int(v[i : i + 2], 16) for i in (1, 3, 5))) for k, v in rules.items()}
    background = _luminance(hexes["#bg"])
    for selector in ("text", "#subtitle", ".btn"):
        assert _contrast(_luminance(hexes[selector]), background) >= 4.5, selector


def test_pages_module_is_the_one_that_renders_blocks() -> None:
    """The blocks tested above are the ones pages render (no second path that could still show ids)."""
    assert set(pages.blocks()) >= {name for kind in kinds.REGISTRY.values() for name in kind.blocks}
