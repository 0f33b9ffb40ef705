"""Word budgets (issue 24): the counter on small pages, the command, and the budgets of the built site."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from labkit import budget

from tests.helpers import ROOT


def _article(body: str) -> str:
    return f"<html><body><nav>Menu items</nav><article>{body}</article><footer>Next</footer></body></html>"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("<p>one two three</p>", 3),
        ("<p>shown</p><pre><code>print('hidden code')</code></pre>", 1),
        ("<details><summary>How we know</summary><p>four hidden words here</p></details>", 3),
        ("<details open><summary>Open</summary><p>shown too</p></details>", 3),
        # A closed block inside an open one: its summary shows, its body does not.
        ("<details open><summary>a</summary><details><summary>b c</summary><p>x</p></details></details>", 3),
        # Inside a closed block, even an inner summary is hidden.
        ("<details><summary>a</summary><details><summary>b</summary><p>x</p></details></details>", 1),
        ("<h2>Title<a class='headerlink' href='#t'>¶</a></h2>", 1),
        ("<p>a — b → c</p>", 3),
        ("<p><code>find</code>, <code>sort</code>and</p>", 2),
        ("<table><tr><td>left</td><td>right</td></tr></table>", 2),
        ("<p>a<br>b</p><script>var x = 1;</script><style>p{}</style>", 2),
        ("<p hidden>not shown</p><svg><title>tooltip</title><text>label</text></svg>", 1),
        ("<p>stray</span> end tag</p>", 3),
    ],
)
def test_counts_the_words_a_reader_sees_by_default(body: str, words: int) -> None:
    assert budget.words_shown(_article(body)) == words


def test_only_the_article_counts_and_a_page_without_one_is_not_a_page() -> None:
    assert budget.words_shown(_article("")) == 0
    assert budget.words_shown("<html><body><p>speedscope app</p></body></html>") is None


@pytest.mark.parametrize(
    ("path", "kind", "words"),
    [
        ("index.html", "home page", 500),
        ("labs/lab-1/index.html", "lab page", 2200),
        ("labs/lab-12/index.html", "lab page", 2200),
        ("labs/lab-1/fact-check.html", "fact check", 1200),
        ("labs/lab-1/fact-check/index.html", "fact check", 1200),  # with directory URLs
        ("instructors.html", "instructors' guide", 2500),
        ("instructors/index.html", "instructors' guide", 2500),
    ],
)
def test_budgets_by_page(path: str, kind: str, words: int) -> None:
    assert budget.budget_for(path) == budget.Budget(kind, words)


@pytest.mark.parametrize("path", ["reference.html", "reports.html", "404.html", "labs/lab-1/evidence.html"])
def test_other_pages_have_no_budget(path: str) -> None:
    assert budget.budget_for(path) is None


def _site(folder: Path, home_words: int) -> Path:
    (folder / "speedscope").mkdir(parents=True)
    (folder / "speedscope" / "index.html").write_text("<html><body>app</body></html>", encoding="utf-8")
    (folder / "index.html").write_text(_article("<p>" + "word " * home_words + "</p>"), encoding="utf-8")
    (folder / "reports.html").write_text(_article("<p>" + "row " * 900 + "</p>"), encoding="utf-8")
    return folder


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labkit", "--root", str(ROOT), "budget", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_reports_every_page_and_fails_on_one_over_budget(tmp_path: Path) -> None:
    within = _command("--site", str(_site(tmp_path / "within", 500)))
    assert within.returncode == 0, within.stdout + within.stderr
    assert "    500      500  index.html  (home page)" in within.stdout
    assert "    900        -  reports.html" in within.stdout
    assert "speedscope" not in within.stdout
    over = _command("--site", str(_site(tmp_path / "over", 501)))
    assert over.returncode == 1, over.stdout + over.stderr
    assert "index.html  (home page)  OVER by 1" in over.stdout


def test_the_command_needs_a_built_site(tmp_path: Path) -> None:
    done = _command("--site", str(tmp_path / "nothing"))
    assert done.returncode == 2
    assert "build the site first (make site)" in done.stderr


def test_the_built_pages_are_within_their_budgets(built_site: Path) -> None:
    """Every committed page with a budget: home, each lab page and fact check, the instructors' guide."""
    found = {page.path: page for page in budget.pages(built_site)}
    docs = ROOT / "docs"
    expected = {"index.html", "instructors.html"}
    expected |= {f"labs/{p.parent.name}/index.html" for p in docs.glob("labs/lab-*/index.md")}
    expected |= {f"labs/{p.parent.name}/fact-check.html" for p in docs.glob("labs/lab-*/fact-check.md")}
    assert expected <= {path for path, page in found.items() if page.budget}, sorted(found)
    over = [line for line in budget.table(list(found.values())) if "OVER" in line]
    assert not over, "pages over their word budget:\n" + "\n".join(over)
