"""Tests on every supported Python: `nox -s unit` (3.10–3.13), `nox -s integration` (one Python).

The interpreters are found the way the toolkit finds them (`scripts/labkit/pythons.py`: LABKIT_PYTHONS,
PATH, pyenv, uv), never by a path written here: each one found is linked as `python3.X` into
`.nox/pythons/`, which goes first on the PATH that nox searches. A supported version that is not found
is skipped with its reason, except under CI=true, where it fails (the project's rule for missing tools).

The environments are made and filled by uv (installed with nox by `.[dev]`) through uv's cache, or, where
uv is missing, by virtualenv and pip through pip's cache (the user's, or $PIP_CACHE_DIR: the one that
`make venv` fills); either way a second run downloads nothing. Locally nox also reuses the environments
themselves (`.nox/`, removed by `make clean`); under CI=true it makes them afresh.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import nox

ROOT = Path(__file__).resolve().parent
SUPPORTED = ["3.10", "3.11", "3.12", "3.13"]
# The integration tests (real labs, real py-spy, both site builds) run on one Python: the one the
# published results are measured with (.github/workflows/assets.yml publishes 3.11's run).
INTEGRATION = "3.11"
ON_CI = os.environ.get("CI", "").lower() == "true"


def _left_out() -> set[str]:
    """Versions left out of `unit` (LABKIT_NOX_EXCEPT, space-separated; `make test-pythons EXCEPT=3.11`).

    .ci/run leaves out the .venv's own Python, whose unit tests `make test` runs anyway. A word that is
    no version is an error (a typo would quietly leave nothing out); a version we do not support is
    named and ignored; leaving every version out is an error, not a run of nothing.
    """
    words = os.environ.get("LABKIT_NOX_EXCEPT", "").split()
    if bad := [w for w in words if not re.fullmatch(r"[0-9]+\.[0-9]+", w)]:
        sys.exit(f"noxfile: LABKIT_NOX_EXCEPT={' '.join(words)!r}: {bad[0]!r} is not a version X.Y")
    if unknown := [w for w in words if w not in SUPPORTED]:
        left = ", ".join(unknown)
        print(f"noxfile: {left} is not a supported version, so it leaves nothing out", file=sys.stderr)
    if set(SUPPORTED) <= set(words):
        every = ", ".join(SUPPORTED)
        sys.exit(f"noxfile: LABKIT_NOX_EXCEPT leaves no unit session: it names every version ({every})")
    return set(words)


EXCEPT = _left_out()

nox.options.sessions = ["unit"]
nox.options.error_on_missing_interpreters = ON_CI
nox.options.download_python = "never"  # only interpreters this machine has
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "no" if ON_CI else "yes"


def _pythons_module() -> ModuleType:
    """labkit.pythons without importing the labkit package (it needs the project's dependencies)."""
    spec = importlib.util.spec_from_file_location("labkit_pythons", ROOT / "scripts/labkit/pythons.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _put_found_pythons_on_path() -> None:
    pythons = _pythons_module()
    found = pythons.discover()
    links = ROOT / ".nox" / "pythons"
    links.mkdir(parents=True, exist_ok=True)
    for stale in links.iterdir():
        stale.unlink()
    for version in SUPPORTED:
        if version in found.pythons:
            (links / f"python{version}").symlink_to(found.pythons[version])
        elif version not in EXCEPT or version == INTEGRATION:  # a session still needs it
            print(
                f"noxfile: no CPython {version} on this machine (looked in: {', '.join(found.looked)}); "
                f"its sessions {'fail (CI=true)' if ON_CI else 'are skipped'}",
                file=sys.stderr,
            )
    os.environ["PATH"] = os.pathsep.join([str(links), os.environ.get("PATH", "")])


_put_found_pythons_on_path()


@nox.session(python=[v for v in SUPPORTED if v not in EXCEPT])
def unit(session: nox.Session) -> None:
    """The unit tests (tests/unit) on every supported Python (but those LABKIT_NOX_EXCEPT names)."""
    session.install(".[test]")
    session.run("python", "-m", "pytest", "tests/unit", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=INTEGRATION)
def integration(session: nox.Session) -> None:
    """Everything but the unit tests (the labs run for real; several minutes).

    They need what `.ci/run` installs first: the Debian packages it names and speedscope's schema (npm).
    """
    session.install(".[dev]")
    session.run(
        "python", "-m", "pytest", "tests", "--ignore=tests/unit", "-p", "no:cacheprovider", *session.posargs
    )
