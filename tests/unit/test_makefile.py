"""The Makefile's two installs: `make site` sets up only the site's packages; every other target that
uses the virtual environment sets up everything first."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SITE_REQUIREMENTS = ROOT / "requirements-site.txt"

# every target whose recipe runs something from the virtual environment (a pattern target with a lab)
FULL_TARGETS = [
    "venv",
    "site-zensical",
    "lab-1",
    "grade-1",
    "reset-1",
    "assets",
    "soak",
    "matrix",
    "check",
    "notebooks",
    "new-lab",
    "test",
    "test-pythons",
    "lint",
    "budget",
]
SITE_TARGETS = ["site", "serve"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def site_requirements() -> list[str]:
    lines = SITE_REQUIREMENTS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def dry_run(target: str, venv: Path) -> str:
    """What `make TARGET` would run in a clone with no virtual environment yet (nothing is run)."""
    done = subprocess.run(
        ["make", "-n", target, f"VENV={venv}", "LAB=lab-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize("target", SITE_TARGETS + FULL_TARGETS)
def test_every_target_creates_the_venv_before_using_it(target: str, tmp_path: Path) -> None:
    venv = tmp_path / "fresh-venv"
    lines = dry_run(target, venv).splitlines()
    creates = [i for i, line in enumerate(lines) if re.search(r"-m venv ", line)]
    # a use runs something from the venv (`test -x` only asks whether it exists yet)
    uses = [
        i
        for i, line in enumerate(lines)
        if f"{venv}/bin/" in line.replace(f"test -x {venv}/bin/", "") and "-m venv " not in line
    ]
    assert creates and uses, lines
    assert creates[0] < uses[0], lines
    full = any("-e '.[dev]'" in line for line in lines)
    assert full == (target in FULL_TARGETS), lines
    # the site's packages come first in both cases, so a full install keeps what `make site` installed
    site = [i for i, line in enumerate(lines) if "-r requirements-site.txt" in line]
    assert site and site[0] < uses[-1], lines


def test_the_site_target_installs_only_the_site_requirements(tmp_path: Path) -> None:
    out = dry_run("site", tmp_path / "fresh-venv")
    installs = [line for line in out.splitlines() if "pip install" in line]
    assert installs == [line for line in installs if "-r requirements-site.txt" in line], out
    assert "Setting up" in out and "mkdocs build --strict" in out, out


def test_site_requirements_are_the_same_lines_as_in_pyproject() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    requirements = site_requirements()
    assert {Requirement(line).name for line in requirements} == {"mkdocs", "mkdocs-material"}
    for line in requirements:
        assert f'"{line}",' in pyproject, f"{line} is not one of pyproject.toml's dependencies"


def closure(names: list[str]) -> set[str]:
    """The distributions that installing NAMES brings (read from this environment's metadata)."""
    seen: set[str] = set()
    todo = [metadata.distribution(name).metadata["Name"] for name in names]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def load_mkdocs_yml() -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!ENV", lambda loader, node: None)
    config: dict[str, Any] = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    return config


def test_the_site_requirements_bring_every_module_mkdocs_yml_names() -> None:
    config = load_mkdocs_yml()
    assert "hooks" not in config, "a hook's imports must be added to requirements-site.txt"
    brought = closure([Requirement(line).name for line in site_requirements()])
    owners = {
        module: {name.lower().replace("_", "-") for name in names}
        for module, names in metadata.packages_distributions().items()
    }
    for entry in config["markdown_extensions"]:
        name = entry if isinstance(entry, str) else next(iter(entry))
        module = name if "." in name else f"markdown.extensions.{name}"
        top = module.split(".")[0]
        # packages_distributions() can miss a package (seen on Python 3.10): then look at the files
        owner = owners.get(top) or {
            (d.metadata["Name"] or "").lower().replace("_", "-")
            for d in metadata.distributions()
            if any(str(f).startswith(f"{top}/") for f in d.files or [])
        }
        assert owner & brought, f"extension {name} is not in the site's packages"
    points = metadata.entry_points()
    for group, names in [("mkdocs.plugins", config["plugins"]), ("mkdocs.themes", [config["theme"]["name"]])]:
        for name in names:
            name = name if isinstance(name, str) else next(iter(name))
            (point,) = points.select(group=group, name=name)
            assert point.dist is not None and point.dist.metadata["Name"].lower() in brought, (group, name)


def test_the_lists_above_name_every_target_that_uses_the_venv() -> None:
    uses: set[str] = set()
    target = ""
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        rule = re.match(r"^(\S+):", line)  # a stamp's own rule counts as no target's
        if rule:
            target = rule.group(1).replace("%", "1")
            if "$(STAMP)" in line or "$(SITE_STAMP)" in line:
                uses.add(target)
        elif line.startswith("\t") and re.search(r"\$\((VPY|VENV|LABKIT)\)", line):
            uses.add(target)
    assert uses - {"$(SITE_STAMP)", "$(STAMP)"} == set(SITE_TARGETS + FULL_TARGETS)
