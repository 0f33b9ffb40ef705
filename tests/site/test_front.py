"""The front door and the way through the site (issue 24), in Chromium.

The home page's first screen, on a laptop and on a phone, holds what the site is, a picture made by a
lab, the link to start Lab 1 and the commands to get going, with the address of the repository the
site was built from, and a build that knows no repository names none. Every page links to the
previous and the next one, and the labs are listed in the navigation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page

from tests.site.conftest import REPO, serve

# A laptop's and a phone's first screen (CSS pixels): smaller than the 900 px the other tests use.
SCREENS = {"desktop": (1280, 720), "phone": (390, 844)}
CLONE = "git clone REPOSITORY_URL profiling-labs"


def _nav_order(built_site: Path) -> list[str]:
    """The site's pages in navigation order, from the home page's primary navigation."""
    html = (built_site / "index.html").read_text(encoding="utf-8")
    nav = html[html.index('class="md-nav md-nav--primary"') :]
    found: list[str] = []
    for href in re.findall(r'<a href="([^"#]+)" class="md-nav__link', nav):
        page = "index.html" if href in ("", ".", "./", "index.html") else href.removeprefix("./")
        if page not in found:
            found.append(page)
    return found


def _on_screen(page: Page, element: Locator, what: str) -> None:
    assert element.count() == 1, f"{what}: {element.count()} found"
    assert element.is_visible(), f"{what} is hidden"
    box = element.bounding_box()
    assert box is not None, what
    width, height = page.viewport_size["width"], page.viewport_size["height"]  # type: ignore[index]
    inside = box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width
    assert inside and box["y"] + box["height"] <= height, f"{what} is not all on the first screen: {box}"


@pytest.fixture
def screen(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = SCREENS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("screen", list(SCREENS), indirect=True)
def test_the_home_pages_first_screen_holds_the_way_in(screen: Page, site_url: str) -> None:
    screen.goto(site_url, wait_until="load")
    article = screen.locator("article")
    _on_screen(screen, article.locator("h1"), "the title")
    _on_screen(screen, article.locator("h1 + p"), "the sentence that says what the site is")
    _on_screen(screen, article.locator("img.front-picture"), "Lab 1's flame graph")
    start = article.get_by_role("link", name="Start Lab 1")
    _on_screen(screen, start, "the link to start Lab 1")
    assert start.get_attribute("href") == "labs/lab-1/index.html"
    commands = article.locator("div.clone-commands pre")
    _on_screen(screen, commands, "the commands to get going")
    # Read whole: the block does not scroll sideways, and it names the repository the site is built from.
    code = commands.locator("code")
    assert code.evaluate("c => c.scrollWidth <= c.clientWidth"), "the clone command is cut off"
    lines = (code.text_content() or "").strip().splitlines()
    assert lines == [f"git clone {REPO['LABS_REPO_URL']} profiling-labs", "cd profiling-labs", "make lab-1"]
    assert not screen.locator("#clone-note").is_visible(), "the note on the address shows beside the address"


def test_a_build_without_a_repository_names_no_address(browser: Browser, local_site: Path) -> None:
    html = (local_site / "index.html").read_text(encoding="utf-8")
    assert "md-source" not in html, "a repository link without a repository address"
    assert REPO["LABS_REPO_URL"] not in html
    page = browser.new_page()
    with serve(local_site) as url:
        page.goto(url, wait_until="load")
        code = page.locator("article div.clone-commands pre code").text_content() or ""
        assert code.splitlines()[0] == CLONE
        assert page.locator("#clone-note").is_visible(), "nothing says what REPOSITORY_URL stands for"
    page.close()


def test_every_page_links_to_the_previous_and_the_next(
    built_site: Path, site_url: str, browser: Browser
) -> None:
    order = _nav_order(built_site)
    labs = [p for p in order if re.fullmatch(r"labs/lab-\d+/index\.html", p)]
    assert labs and order[0] == "index.html", order
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    missing = []
    for index, path in enumerate(order):
        page.goto(site_url + path, wait_until="load")
        for direction, neighbour in (("prev", index - 1), ("next", index + 1)):
            link = page.locator(f"footer a.md-footer__link--{direction}")
            if not 0 <= neighbour < len(order):
                continue
            if link.count() != 1 or not link.is_visible():
                missing.append(f"{path}: no visible {direction} link")
                continue
            target = page.evaluate("a => new URL(a.href).pathname", link.element_handle())
            if target != "/" + order[neighbour] and not (target == "/" and order[neighbour] == "index.html"):
                missing.append(f"{path}: {direction} goes to {target}, not {order[neighbour]}")
    context.close()
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("path", ["index.html", "labs/lab-2/index.html", "reference.html"])
def test_the_labs_are_listed_in_the_navigation(
    built_site: Path, site_url: str, browser: Browser, path: str
) -> None:
    labs = sorted(p.parent.name for p in built_site.glob("labs/lab-*/index.html"))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(site_url + path, wait_until="load")
    listed = [
        link.evaluate("a => new URL(a.href).pathname")
        for link in page.locator("nav.md-nav--primary a.md-nav__link[href]").all()
        if link.is_visible()
        and link.evaluate("a => getComputedStyle(a).visibility") == "visible"
        and (link.bounding_box() or {"height": 0})["height"] > 0
    ]
    shown = {lab for lab in labs if f"/labs/{lab}/index.html" in listed}
    context.close()
    assert shown == set(labs), f"{path}: labs not shown in the navigation: {set(labs) - shown}"
