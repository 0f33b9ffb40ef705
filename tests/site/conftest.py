"""The built site in a real browser: a real MkDocs build, served on loopback, driven by Debian's Chromium.

Playwright (pytest-playwright) drives /usr/bin/chromium; it never downloads a browser of its own.
axe-core and the Nu HTML checker come from npm (`.ci/run` installs them into .labs/npm/).
A test that cannot run here skips with its reason, and fails instead under CI=true.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, need

CHROMIUM = Path("/usr/bin/chromium")
NPM = ROOT / ".labs" / "npm" / "node_modules"
AXE = NPM / "axe-core" / "axe.min.js"
VNU = NPM / "vnu-jar" / "build" / "dist" / "vnu.jar"
# Headless Chromium on a machine whose only network is loopback: no background connections at all.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = {"desktop": 1280, "phone": 390}
# The repository the site is built from, as the Pages workflow passes it (.github/workflows/pages.yml):
# the browser tests see the site as it is published, with its repository link.
REPO = {
    "LABS_REPO_URL": "https://github.com/example-org/profiling-labs",
    "LABS_REPO_NAME": "example-org/profiling-labs",
}
SCHEMES = {"default": "light", "slate": "dark"}  # Material's scheme → the media query that selects it


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def build(site: Path, env: dict[str, str]) -> Path:
    """`mkdocs build --strict` of the committed pages into `site`, with `env` added to the environment."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    clean = {k: v for k, v in os.environ.items() if k not in REPO}
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"mkdocs build failed:\n{done.stdout}\n{done.stderr}"
    return site


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """A built site served by a plain http.server on 127.0.0.1 and a free port: its address."""
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed pages built as the Pages workflow builds them (with the repository's address)."""
    return build(tmp_path_factory.mktemp("site"), REPO)


@pytest.fixture(scope="session")
def local_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed pages built as on a clone, without a repository address in the environment."""
    return build(tmp_path_factory.mktemp("local-site"), {})


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site served on loopback."""
    with serve(built_site) as url:
        yield url


@pytest.fixture(scope="session")
def pages(built_site: Path) -> list[str]:
    """Every page of the built site, as a path relative to its root (directory URLs end in /)."""
    found = []
    for html in sorted(built_site.rglob("*.html")):
        rel = html.relative_to(built_site).as_posix()
        if rel.startswith("speedscope/"):
            continue  # the vendored speedscope app, tested on its own
        found.append(rel.removesuffix("index.html"))
    return found


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options: Debian's Chromium, never a downloaded browser."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def axe_source() -> str:
    need(AXE.exists(), "axe-core is missing: npm install --prefix .labs/npm axe-core (see .ci/run)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def vnu() -> list[str]:
    java = shutil.which("java")
    need(java is not None, "java is missing (the Nu HTML checker needs it): apt-get install default-jre")
    need(VNU.exists(), "the Nu HTML checker is missing: npm install --prefix .labs/npm vnu-jar (see .ci/run)")
    return [str(java), "-jar", str(VNU)]


# pytest-playwright keeps its driver and browser for the whole session. Under `make test` (pytest-xdist)
# a worker also runs the toolkit in-process in other files, and the toolkit, a child subreaper, kills
# every child of its process when it cleans up (labkit.reaper.sweep): the driver included. So each test
# file here starts its own driver and browser, and stops them when it ends (files run whole on one worker).
@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser_type(playwright: Any, browser_name: str) -> Any:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: Any) -> Any:
    return lambda **kwargs: browser_type.launch(**{**browser_type_launch_args, **kwargs})


@pytest.fixture(scope="module")
def browser(launch_browser: Any) -> Iterator[Any]:
    launched = launch_browser()
    yield launched
    launched.close()
