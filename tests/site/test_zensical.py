"""The same mkdocs.yml built by MkDocs (Material) and by Zensical says the same thing on every page.

Both sites are built from a temporary copy of mkdocs.yml and docs/ (Zensical keeps a page cache in the
project's .cache/, and its output folder must lie inside the project). For every page, the article (the
page's own content, without Material's or Zensical's navigation, header, footer and search) is reduced to
its visible text, whitespace normalised, and to the targets of its links and embedded files resolved
against the page's URL; both must be equal, and every target must exist in both builds.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from labkit import privacy

from tests.helpers import ROOT, labkit_env, need

BUILDERS = ("mkdocs", "zensical")
# Elements inside the article that are not its content: the permalink anchors that `toc: permalink`
# adds after every heading (MkDocs and Zensical both draw them, as "¶"), scripts and styles.
CHROME_CLASSES = {"headerlink"}
HIDDEN_TAGS = {"script", "style", "template"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
LINK_ATTRIBUTES = ("href", "src", "data")
# Elements that a browser shows apart from their neighbours: a space at their edges keeps
# `<td>a</td><td>b</td>` from reading as "ab".
BLOCKS = {"p", "div", "li", "td", "th", "tr", "caption", "figcaption", "figure", "pre", "br", "hr", "table"}
BLOCKS |= {"h1", "h2", "h3", "h4", "h5", "h6", "details", "summary", "blockquote", "dd", "dt", "label"}


def directory_urls() -> bool:
    """mkdocs.yml's `use_directory_urls` (MkDocs's default, true, when it is not set)."""
    found = re.search(
        r"^use_directory_urls:\s*(\w+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M
    )
    return found is None or found.group(1).lower() == "true"


def pages() -> list[str]:
    """Every page the site has, as built: docs/a/b.md → a/b.html, or a/b/index.html with directory URLs."""
    built = []
    for source in sorted((ROOT / "docs").rglob("*.md")):
        page = source.relative_to(ROOT / "docs").with_suffix("")
        if directory_urls() and page.name != "index":
            page = page / "index"
        built.append(page.with_suffix(".html").as_posix())
    return [*built, "404.html"]


@dataclass
class Article:
    """What one page's article shows: its text, and the raw link and embed targets in it."""

    text: str = ""
    targets: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # every id on the whole page, for fragment links
    found: bool = False


class _ArticleParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.article = Article()
        self._open: list[tuple[str, bool]] = []  # the elements open inside the article: (tag, hidden)
        self._hidden = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if values.get("id"):
            self.article.ids.add(values["id"])
        classes = set(values.get("class", "").split())
        if not self._open:
            if tag == "article" and "md-content__inner" in classes and not self.article.found:
                self.article.found = True
                self._open.append((tag, False))
            return
        if tag in BLOCKS:
            self._text.append(" ")
        hidden = tag in HIDDEN_TAGS or bool(classes & CHROME_CLASSES)
        if not hidden and not self._hidden:
            self.article.targets += [values[a] for a in LINK_ATTRIBUTES if a in values]
        if tag in VOID:
            return
        self._open.append((tag, hidden))
        self._hidden += hidden

    def handle_endtag(self, tag: str) -> None:
        if not self._open or tag in VOID:
            return
        if tag in BLOCKS:
            self._text.append(" ")
        while self._open:  # close what the end tag closes (HTML lets some end tags be left out)
            opened, hidden = self._open.pop()
            self._hidden -= hidden
            if opened == tag:
                break
        if not self._open:
            self.article.text = " ".join("".join(self._text).split())

    def handle_data(self, data: str) -> None:
        if self._open and not self._hidden:
            self._text.append(data)


def article(html: str) -> Article:
    parser = _ArticleParser()
    parser.feed(html)
    parser.close()
    return parser.article


def resolve(page: str, target: str) -> tuple[str, str] | None:
    """A link target as (site path, fragment), resolved against the page; None for other origins."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    path = (
        posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(parts.path)))
        if parts.path
        else page
    )
    if parts.path.endswith("/") or path == ".":
        path = posixpath.join(path, "index.html").removeprefix("./")
    return path, unquote(parts.fragment)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both builds of a copy of mkdocs.yml, docs/ and overrides/: builder → its site folder."""
    commands = {
        name: shutil.which(
            name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        )
        for name in BUILDERS
    }
    need(
        commands["zensical"] is not None,
        "Zensical is not installed (it needs Python 3.11+; `make venv` installs it)",
    )
    assert commands["mkdocs"], "MkDocs is a dependency of the project, yet it is not installed"
    project = tmp_path_factory.mktemp("zensical") / "project"
    shutil.copytree(
        ROOT / "docs", project / "docs", ignore=shutil.ignore_patterns("data.new", "data.old", "*.md.new")
    )
    shutil.copytree(ROOT / "overrides", project / "overrides")  # mkdocs.yml's theme.custom_dir
    shutil.copy2(ROOT / "mkdocs.yml", project / "mkdocs.yml")
    built = {}
    for name in BUILDERS:
        site = project / f"site-{name}"
        done = subprocess.run(
            [str(commands[name]), "build", "--strict"],
            cwd=project,
            env=labkit_env(project, {"LABS_SITE_DIR": site.name}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{name} build failed:\n{done.stdout}\n{done.stderr}"
        assert (site / "index.html").is_file(), f"{name} wrote no index.html into {site.name}/: {done.stderr}"
        built[name] = site
    return built


def read(site: Path, page: str) -> Article:
    path = site / page
    assert path.is_file(), f"{site.name} has no {page}"
    return article(path.read_text(encoding="utf-8"))


def test_both_builds_have_every_page_and_no_other(sites: dict[str, Path]) -> None:
    built = {
        name: sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
        for name, site in sites.items()
    }
    app = "speedscope/index.html"  # the vendored speedscope app: copied as it is by both, not a page
    assert all(app in found for found in built.values())
    built = {name: [p for p in found if p != app] for name, found in built.items()}
    assert built["mkdocs"] == built["zensical"] == sorted(pages())


@pytest.mark.parametrize("page", pages())
def test_page_text_is_the_same(sites: dict[str, Path], page: str) -> None:
    mkdocs, zensical = (read(sites[name], page) for name in BUILDERS)
    assert mkdocs.found and zensical.found, (
        f"{page}: no <article class=md-content__inner> in one of the builds"
    )
    assert len(mkdocs.text) > 10, f"{page}: MkDocs's article is (nearly) empty: {mkdocs.text!r}"
    if mkdocs.text != zensical.text:
        at = next(
            i
            for i, (a, b) in enumerate(zip(mkdocs.text + "\0", zensical.text + "\0", strict=False))
            if a != b
        )
        pytest.fail(
            f"{page}: the text differs from character {at} on:\n"
            f"  MkDocs:   …{mkdocs.text[max(0, at - 60) : at + 120]!r}\n"
            f"  Zensical: …{zensical.text[max(0, at - 60) : at + 120]!r}"
        )


@pytest.mark.parametrize("page", pages())
def test_page_links_lead_to_the_same_files_and_those_exist(sites: dict[str, Path], page: str) -> None:
    resolved = {}
    for name in BUILDERS:
        found = read(sites[name], page)
        targets = [resolve(page, t) for t in found.targets]
        resolved[name] = [t for t in targets if t is not None]
        for path, fragment in resolved[name]:
            assert (sites[name] / path).is_file(), f"{name}: {page} links to {path}, which is not in the site"
            if fragment and not path.startswith("speedscope/"):  # speedscope's fragment is its app's state
                ids = read(sites[name], path).ids if path != page else found.ids
                assert fragment in ids, f"{name}: {page} links to {path}#{fragment}, which has no such id"
    assert resolved["mkdocs"] == resolved["zensical"]


def test_the_zensical_site_leaks_nothing(sites: dict[str, Path]) -> None:
    files = privacy.tree(sites["zensical"])
    assert any(f.name == "results.json" for f in files), "the labs' data is not in Zensical's site"
    assert privacy.scan(files, root=sites["zensical"].parent) == []


# The comparison itself, on small pages: it sees the article and only the article.

PAGE = """<html><body><header class="md-header">Site name</header><nav>Home Labs</nav>
<article class="md-content__inner md-typeset"><h1 id="t">Title<a class="headerlink" href="#t">¶</a></h1>
<p>The fix is <!-- value: x -->1,575×<!-- /value -->
faster.</p><p>See <a href="data/a.svg">the graph</a> and <a href="#t">the top</a>.<br>
<img src="../img/b.png" alt=""></p><script>var x = 1;</script></article>
<footer>Made with a generator</footer></body></html>"""


def test_extraction_keeps_the_article_and_drops_the_chrome() -> None:
    got = article(PAGE)
    assert got.found
    assert got.text == "Title The fix is 1,575× faster. See the graph and the top."
    assert got.targets == ["data/a.svg", "#t", "../img/b.png"]
    assert article(PAGE.replace("1,575×", "1,576×")).text != got.text
    assert article(PAGE.replace("Made with a generator", "Made with another")).text == got.text


def test_links_resolve_against_the_page() -> None:
    assert resolve("labs/lab-1/fact-check.html", "data/slow.svg") == ("labs/lab-1/data/slow.svg", "")
    assert resolve("labs/lab-1/fact-check.html", "../lab-2/index.html#top") == (
        "labs/lab-2/index.html",
        "top",
    )
    assert resolve("labs/lab-1/fact-check.html", "#rule") == ("labs/lab-1/fact-check.html", "rule")
    assert resolve("labs/lab-1/index.html", "../../") == ("index.html", "")
    assert resolve("index.html", "https://example.org/") is None
    # With directory URLs, MkDocs would serve the fact check at labs/lab-1/fact-check/ and leave its raw
    # HTML link `data/slow.svg` as it is; that would resolve one folder too deep, and the test above fails.
    assert resolve("labs/lab-1/fact-check/index.html", "data/slow.svg") == (
        "labs/lab-1/fact-check/data/slow.svg",
        "",
    )
