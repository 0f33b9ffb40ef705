"""Nothing local is published: the data and pages of a real (QUICK) run, and a site built from them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from labkit import privacy

from tests.helpers import DATA, QUICK, copy_repo, labkit_env

# Resources a page would load from elsewhere. Plain <a href> links are not loads and are allowed.
FOREIGN = [
    ("src", re.compile(r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//""", re.I)),
    ("<link href>", re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//""", re.I)),
    ("url()", re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I)),
    ("@import", re.compile(r"""@import\s+(?:url\(\s*)?["']?\s*(?:https?:)?//""", re.I)),
]
WEB_SUFFIXES = {".html", ".css", ".js", ".svg"}


def test_published_files_leak_nothing(measured_copy: Path) -> None:
    files = privacy.tree(measured_copy / QUICK / "docs")  # what the QUICK run would have published
    assert any(f.suffix == ".json" for f in files) and any(f.suffix == ".svg" for f in files)
    assert privacy.scan(files, root=measured_copy) == []


def test_scan_finds_a_planted_leak(measured_copy: Path, tmp_path: Path) -> None:
    """The scan is not vacuous: this copy's own path, planted in a file, is found."""
    planted = tmp_path / "planted.json"
    planted.write_text(f'{{"file": "{measured_copy}/labs/slow_service/service.py"}}\n', encoding="utf-8")
    assert privacy.scan([planted], root=measured_copy)


@pytest.fixture(scope="module")
def built_site(measured_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    # The site as it would be had the QUICK run published: its mirror laid over docs/ in another copy.
    source = copy_repo(tmp_path_factory.mktemp("published") / "repo", source=measured_copy)
    shutil.rmtree(source / DATA)
    shutil.copytree(measured_copy / QUICK / "docs", source / "docs", dirs_exist_ok=True)
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "-d", str(site)],
        cwd=source,
        env=labkit_env(source),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "labs/lab-1/index.html").is_file()
    return site


def test_built_site_leaks_nothing(built_site: Path, measured_copy: Path) -> None:
    files = privacy.tree(built_site)
    assert any(f.name == "results.json" for f in files), "the lab's data is not in the built site"
    assert privacy.scan(files, root=measured_copy) == []


def test_built_site_loads_nothing_from_other_origins(built_site: Path) -> None:
    found = []
    for path in privacy.tree(built_site):
        if path.suffix not in WEB_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for what, regex in FOREIGN:
            for match in regex.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                context = text[match.start() : match.end() + 60]
                found.append(f"{path.relative_to(built_site)}:{line}: {what}: {context!r}")
    assert not found, "the site loads resources from other origins:\n" + "\n".join(found[:20])


def test_foreign_origin_scan_is_not_vacuous() -> None:
    samples = [
        '<script src="https://cdn.example.org/x.js"></script>',
        "<link rel=stylesheet href='//fonts.example.com/css'>",
        "body { background: url(https://example.org/a.png) }",
        '@import "https://example.org/b.css";',
    ]
    for sample in samples:
        assert any(regex.search(sample) for _, regex in FOREIGN), sample
    assert not any(regex.search('<a href="https://example.org/">a link</a>') for _, regex in FOREIGN)
