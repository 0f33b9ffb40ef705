"""The speedscope build vendored under docs/speedscope/ is the npm package's, whole, with its licence."""

from __future__ import annotations

import re

from tests.helpers import ROOT, need

VENDORED = ROOT / "docs" / "speedscope"
PACKAGE = ROOT / ".labs" / "npm" / "node_modules" / "speedscope"


def test_vendored_speedscope_keeps_its_licence_and_version() -> None:
    assert (VENDORED / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert "Jamie Wong" in (VENDORED / "LICENSE").read_text(encoding="utf-8")
    assert (VENDORED / "release.txt").read_text(encoding="utf-8").startswith("speedscope@")
    assert (VENDORED / "index.html").is_file()


def test_vendored_speedscope_is_the_npm_package_unchanged() -> None:
    need(PACKAGE.is_dir(), "the speedscope npm package is missing: npm install --prefix .labs/npm speedscope")
    release = PACKAGE / "dist" / "release"
    # `make speedscope` renames the Markdown licence to .txt, so that the site publishes it as it is
    shipped = {p.name.removesuffix(".md") + (".txt" if p.suffix == ".md" else ""): p.read_bytes()
               for p in release.iterdir() if p.is_file()}  # fmt: skip
    shipped["LICENSE"] = (PACKAGE / "LICENSE").read_bytes()
    # left out by `make speedscope`: the JFR importer, whose WebAssembly names its builder's home folder
    shipped = {name: data for name, data in shipped.items() if not name.startswith("jfrview_bg-")}
    vendored = {p.name: p.read_bytes() for p in VENDORED.iterdir() if p.is_file()}
    assert sorted(vendored) == sorted(shipped), "run `make speedscope` to refresh docs/speedscope/"
    changed = [name for name in shipped if vendored[name] != shipped[name]]
    assert not changed, f"vendored files differ from the package: {changed} (run `make speedscope`)"


def test_vendored_speedscope_names_no_home_folder() -> None:
    named = [
        p.name for p in VENDORED.iterdir() if p.is_file() and re.search(rb"/(home|Users)/\w", p.read_bytes())
    ]
    assert not named, f"published files that name a home folder: {named}"
