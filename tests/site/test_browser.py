"""Every page of the built site in Chromium: it loads cleanly, its widgets work, it is accessible.

Accessibility: axe-core with the WCAG 2.0/2.1/2.2 A and AA tags finds no serious or critical
violation on any page at 1280 and 390 px, in Material's light (`default`) and dark (`slate`)
scheme; the Nu HTML checker finds no error (Material's `autocomplete` on its hidden checkboxes
aside). The flame graphs are standalone SVG documents in frames and are checked on their own.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Frame, Page, Request, Response

from tests.site.conftest import SCHEMES, WIDTHS

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The one Nu error we accept: Material's hidden checkboxes (drawer, search) carry autocomplete="off".
NU_ALLOWED = re.compile(r"Attribute “autocomplete” is only allowed when the input type is")


class Watch:
    """What a page did that it should not: console errors, failed requests, requests to other origins."""

    def __init__(self, page: Page, origin: str) -> None:
        self.origin = origin
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"uncaught exception: {exc}"))
        page.on("requestfailed", self._failed)
        page.on("request", self._request)
        page.on("response", self._response)

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.problems.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    def _failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.url}: {request.failure}")

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}/" != self.origin:
            self.problems.append(f"request to another origin: {request.url}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def take(self) -> list[str]:
        found, self.problems = self.problems, []
        return found


@pytest.fixture(scope="module")
def contexts(browser: Browser) -> Iterator[dict[tuple[str, str], BrowserContext]]:
    """One browser context per (scheme, width); Material picks the scheme from prefers-color-scheme."""
    made = {
        (scheme, width): browser.new_context(
            viewport={"width": WIDTHS[width], "height": 900}, color_scheme=media, is_mobile=False
        )
        for scheme, media in SCHEMES.items()
        for width in WIDTHS
    }
    yield made
    for context in made.values():
        context.close()


def _visit(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    # Bring every lazily loaded frame into view so that its requests are watched too.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_loads_cleanly_and_never_scrolls_sideways(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, pages: list[str], width: str
) -> None:
    page = contexts[("default", width)].new_page()
    watch = Watch(page, site_url)
    problems: list[str] = []
    assert len(pages) >= 6, pages
    for path in pages:
        _visit(page, site_url + path)
        problems += [f"{path}: {p}" for p in watch.take()]
        sideways = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if sideways > 0:
            problems.append(f"{path}: scrolls sideways by {sideways} px at {WIDTHS[width]} px")
    page.close()
    assert not problems, "\n".join(problems)


def _axe(page: Page, axe_source: str) -> list[dict[str, Any]]:
    page.evaluate(axe_source)  # defines window.axe in any document, HTML or SVG
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _describe(path: str, violations: list[dict[str, Any]]) -> list[str]:
    return [
        f"{path}: {v['id']} ({v['impact']}, {len(v['nodes'])}×): "
        + "; ".join(
            n["target"][0] if isinstance(n["target"][0], str) else str(n["target"]) for n in v["nodes"][:3]
        )
        for v in violations
    ]


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_axe_finds_no_serious_violation(
    contexts: dict[tuple[str, str], BrowserContext],
    site_url: str,
    pages: list[str],
    axe_source: str,
    scheme: str,
    width: str,
) -> None:
    page = contexts[(scheme, width)].new_page()
    found: list[str] = []
    for path in pages:
        page.goto(site_url + path, wait_until="load")
        shown = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
        assert shown == scheme, f"{path}: Material shows scheme {shown!r}, not {scheme!r}"
        found += _describe(path, _axe(page, axe_source))
    page.close()
    assert not found, f"{len(found)} serious or critical axe violations:\n" + "\n".join(found)


def test_axe_check_is_not_vacuous(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, axe_source: str
) -> None:
    """The same check reports a page whose text has too little contrast."""
    page = contexts[("default", "desktop")].new_page()
    page.goto(site_url, wait_until="load")
    page.evaluate("document.querySelector('.md-content p').style.color = '#ccc'")
    assert "color-contrast" in {v["id"] for v in _axe(page, axe_source)}
    page.close()


def _nu(vnu: list[str], folder: Path) -> list[str]:
    done = subprocess.run(
        [*vnu, "--format", "json", "--errors-only", "--skip-non-html", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(done.stderr or done.stdout)["messages"]
    return [
        f"{unquote(m.get('url', '')).split(str(folder))[-1]}:{m.get('lastLine')}: {m['message']}"
        for m in messages
        if m["type"] == "error" and not NU_ALLOWED.search(m["message"])
    ]


def test_nu_html_checker_finds_no_error(built_site: Path, vnu: list[str], tmp_path: Path) -> None:
    site = tmp_path / "site"
    # The vendored speedscope app is not ours to fix; every page of ours is checked.
    for html in built_site.rglob("*.html"):
        if not html.relative_to(built_site).as_posix().startswith("speedscope/"):
            target = site / html.relative_to(built_site)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(html.read_bytes())
    errors = _nu(vnu, site)
    assert not errors, f"{len(errors)} Nu HTML checker errors:\n" + "\n".join(errors)


def test_nu_check_is_not_vacuous(built_site: Path, vnu: list[str], tmp_path: Path) -> None:
    """A generated table wrapped in <p>, as Markdown does inside an admonition, is reported."""
    page = (built_site / "index.html").read_text(encoding="utf-8")
    bad = page.replace("</article>", "<p><table><tr><td>x</td></tr></table></p></article>", 1)
    (tmp_path / "index.html").write_text(bad, encoding="utf-8")
    assert any("No “p” element in scope" in e for e in _nu(vnu, tmp_path))


# -- flame graphs ---------------------------------------------------------------------------------


def _flamegraph_frames(page: Page) -> Iterator[Frame]:
    """Every flame graph on the page, loaded and shown: a hidden one's folded block or tab is opened first."""
    for index in range(page.locator("figure.flamegraph iframe").count()):
        iframe = page.locator("figure.flamegraph iframe").nth(index)
        for details in iframe.locator("xpath=ancestor::details[not(@open)]").all():
            details.locator("xpath=./summary").click()  # a folded block: open it as a reader would
        if not iframe.is_visible():
            panel = iframe.locator("xpath=ancestor::div[contains(@class,'tabbed-block')][1]")
            tabs = iframe.locator("xpath=ancestor::div[contains(@class,'tabbed-set')][1]")
            position = panel.evaluate("b => Array.prototype.indexOf.call(b.parentElement.children, b)")
            tabs.locator(".tabbed-labels > label").nth(position).click()
            assert iframe.is_visible(), "clicking the tab did not show its flame graph"
        iframe.scroll_into_view_if_needed()
        frame = iframe.element_handle().content_frame()
        assert frame is not None
        frame.wait_for_selector("g.f")
        yield frame


def _zoom_and_search(page: Page, frame: Frame, *, keyboard: bool = False) -> None:
    root_width = float(frame.locator("g.f rect").first.get_attribute("width") or 0)
    # The first frame narrower than the whole graph: zooming makes it as wide as the root.
    narrow = frame.locator("g.f").filter(has=frame.locator(f"rect:not([width='{root_width:.2f}'])")).first
    start, depth = narrow.get_attribute("data-s"), narrow.get_attribute("data-d")
    narrow = frame.locator(f"g.f[data-s='{start}'][data-d='{depth}']")  # the same frame after the zoom
    if keyboard:
        narrow.focus()
        page.keyboard.press("Enter")
    else:
        narrow.click()
    assert float(narrow.locator("rect").get_attribute("width") or 0) == pytest.approx(root_width, abs=0.05)
    assert "h" not in (frame.locator("#reset").get_attribute("class") or "").split(), "no Reset button"
    term = (narrow.locator("title").text_content() or "").split(" ")[0]
    page.once("dialog", lambda dialog: dialog.accept(re.escape(term)))
    page.keyboard.press("/")
    assert frame.locator("g.f.m").count() >= 1, f"searching {term!r} highlighted nothing"
    assert (frame.locator("#matched").text_content() or "").startswith("Matched: ")
    page.keyboard.press("Escape")
    assert frame.locator("g.f.m").count() == 0


def test_each_flame_graph_loads_zooms_and_searches(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, pages: list[str]
) -> None:
    seen, problems = 0, []
    for path in pages:
        page = contexts[("default", "desktop")].new_page()  # one each: leaving a page aborts its requests
        watch = Watch(page, site_url)
        page.goto(site_url + path, wait_until="load")
        for frame in _flamegraph_frames(page):
            _zoom_and_search(page, frame)
            seen += 1
        problems += [f"{path}: {p}" for p in watch.take()]
        page.close()
    assert seen >= 6, f"only {seen} flame graphs found on the site"
    assert not problems, "\n".join(problems)


def _svgs(built_site: Path) -> list[str]:
    return sorted(
        p.relative_to(built_site).as_posix()
        for p in built_site.glob("labs/*/data/*.svg")
        if '<g class="f' in p.read_text(encoding="utf-8")
    )


def test_flame_graphs_on_their_own_are_accessible(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, built_site: Path, axe_source: str
) -> None:
    """Each flame graph document: a title and a description, frames reachable and operable by keyboard."""
    svgs = _svgs(built_site)
    assert len(svgs) >= 6, svgs
    page = contexts[("default", "desktop")].new_page()
    found: list[str] = []
    for svg in svgs:
        page.goto(site_url + svg, wait_until="load")
        assert (page.locator("svg > title").text_content() or "").strip(), f"{svg}: no <title>"
        assert (page.locator("svg > desc").text_content() or "").strip(), f"{svg}: no <desc>"
        # Tab reaches the frames (after the Search button); Space zooms a frame as Enter does.
        root = float(page.locator("g.f rect").first.get_attribute("width") or 0)
        narrower = "document.activeElement.matches('g.f') && +document.activeElement.querySelector('rect')"
        narrower += f".getAttribute('width') < {root - 0.05}"
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate(narrower):
                break
        assert page.evaluate(narrower), f"{svg}: Tab never reaches a frame narrower than the graph"
        focused = page.locator("g.f:focus")
        page.keyboard.press("Space")
        after = float(focused.locator("rect").get_attribute("width") or 0)
        assert after == pytest.approx(root, abs=0.05), f"{svg}: Space did not zoom"
        page.keyboard.press("Escape")
        _zoom_and_search(page, page.main_frame, keyboard=True)
        found += _describe(svg, _axe(page, axe_source))
    page.close()
    assert not found, "\n".join(found)


def _luminance(rgb: tuple[int, ...]) -> float:
    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_flame_graph_labels_have_enough_contrast(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, built_site: Path
) -> None:
    """Every frame's label against its own fill, as drawn (4.5:1, WCAG AA for small text)."""
    page = contexts[("default", "desktop")].new_page()
    low = []
    for svg in _svgs(built_site):
        page.goto(site_url + svg, wait_until="load")
        pairs = page.evaluate(
            """() => Array.from(document.querySelectorAll('g.f')).map(g => [
                 getComputedStyle(g.querySelector('text')).fill,
                 getComputedStyle(g.querySelector('rect')).fill,
                 g.querySelector('text').textContent])"""
        )
        assert pairs, svg
        for ink, fill, label in pairs:
            a, b = (_luminance(tuple(int(x) for x in re.findall(r"\d+", c)[:3])) for c in (ink, fill))
            ratio = (max(a, b) + 0.05) / (min(a, b) + 0.05)
            if label and ratio < 4.5:
                low.append(f"{svg}: {label!r}: {ink} on {fill}: {ratio:.2f}")
    page.close()
    assert not low, f"{len(low)} labels below 4.5:1:\n" + "\n".join(low[:20])


# -- links, downloads, tabs -----------------------------------------------------------------------


def test_every_download_link_returns_its_file(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, pages: list[str], built_site: Path
) -> None:
    page = contexts[("default", "desktop")].new_page()
    checked = 0
    for path in pages:
        page.goto(site_url + path, wait_until="load")
        hrefs = page.eval_on_selector_all(
            "article a[download], article a[href*='data/']:not(.speedscope)",
            "links => links.map(a => a.href)",
        )
        for href in sorted(set(hrefs)):
            response = page.request.get(href)
            assert response.ok, f"{path}: {href}: HTTP {response.status}"
            local = built_site / urlsplit(href).path.lstrip("/")
            assert response.body() == local.read_bytes(), f"{path}: {href} is not the file in the site"
            checked += 1
    page.close()
    assert checked >= 6, f"only {checked} download links found"


def test_tabs_switch(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, pages: list[str]
) -> None:
    page = contexts[("default", "phone")].new_page()
    switched = 0
    for path in pages:
        page.goto(site_url + path, wait_until="load")
        for index in range(page.locator(".tabbed-set").count()):
            tabs = page.locator(".tabbed-set").nth(index)
            labels, blocks = (
                tabs.locator(".tabbed-labels > label"),
                tabs.locator(".tabbed-content > .tabbed-block"),
            )
            assert labels.count() == blocks.count() >= 2
            labels.last.click()
            assert blocks.last.is_visible() and not blocks.first.is_visible(), f"{path}: tab set {index}"
            labels.first.click()
            assert blocks.first.is_visible() and not blocks.last.is_visible(), f"{path}: tab set {index}"
            switched += 1
    page.close()
    assert switched >= 3


# -- speedscope, offline --------------------------------------------------------------------------


def test_open_in_speedscope_shows_the_profile_offline(
    contexts: dict[tuple[str, str], BrowserContext], site_url: str, pages: list[str], built_site: Path
) -> None:
    """Every recording has a link to the vendored speedscope; one opened shows it, all from this origin."""
    page = contexts[("default", "desktop")].new_page()
    links: dict[str, str] = {}  # the link's address → the page it is on
    for path in pages:
        page.goto(site_url + path, wait_until="load")
        for href in page.eval_on_selector_all("a.speedscope", "links => links.map(a => a.href)"):
            links.setdefault(href, path)
    profiles = {}
    for href in links:
        app, _, fragment = href.partition("#")
        assert app == site_url + "speedscope/index.html", href
        params = dict(part.split("=", 1) for part in fragment.split("&"))
        profiles[urljoin(app, unquote(params["profileURL"]))] = href
    recordings = {
        site_url + p.relative_to(built_site).as_posix()
        for p in built_site.glob("labs/*/data/*.speedscope.json")
    }
    assert recordings, "no recording in the built site"
    assert recordings <= set(profiles), (
        f"recordings with no 'Open in speedscope' link: {recordings - set(profiles)}"
    )
    # Open one link as a reader does, and watch every request speedscope makes.
    href = profiles[min(recordings)]
    page.close()
    page = contexts[("default", "desktop")].new_page()
    watch = Watch(page, site_url)
    page.goto(href, wait_until="load")
    page.wait_for_function("document.title.endsWith(' - speedscope')", timeout=20_000)
    title = unquote(dict(p.split("=", 1) for p in href.partition("#")[2].split("&"))["title"])
    assert page.title() == f"{title} - speedscope", "speedscope did not load the recording"
    page.wait_for_load_state("networkidle")
    assert page.locator("canvas").count() >= 1, "speedscope drew nothing"
    assert not page.get_by_text("Something went wrong").count()
    assert not watch.take()
    page.close()
