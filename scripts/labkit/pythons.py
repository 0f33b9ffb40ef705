"""Find the CPython interpreters of this machine, one per minor version.

One home for the search, so that a fact probe (which runs them) and the
preflight (which says, before anything runs, that one is missing) can never
disagree. Only what is explicitly configured counts: ``LABKIT_PYTHONS``, PATH,
pyenv's root as ``$PYENV_ROOT`` or ``pyenv root`` says, uv's interpreters, and
the running Python. HOME alone is never searched.

The standard library only: probes import this module without the toolkit's
dependencies being needed.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

ENV = "LABKIT_PYTHONS"
MINORS = range(10, 15)  # python3.X names looked up on PATH: py-spy 0.4 reads up to 3.14
OLDEST = (3, 10)  # the labs need 3.10+: older interpreters are left out
SOURCES = (ENV, "PATH", "pyenv", "uv", "this Python")
# Version, implementation, free-threaded or not, and the real executable (a pyenv shim is not one).
_ASK = (
    "import sys, sysconfig; print('%d.%d' % sys.version_info[:2], sys.implementation.name, "
    "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))), sys.executable)"
)
_TIMEOUT_S = 10


@dataclass(frozen=True)
class Found:
    """Interpreters by minor version ("3.12" → path), and where the search looked."""

    pythons: dict[str, str]
    looked: list[str] = field(default_factory=list)

    def versions(self) -> list[str]:
        return sorted(self.pythons, key=key)


def key(version: str) -> tuple[int, ...]:
    """ "3.12" → (3, 12), for sorting and comparing."""
    return tuple(int(part) for part in version.split("."))


def ask(path: str) -> tuple[str, str] | None:
    """Run a candidate: its minor version and real path, if it is a regular (GIL) CPython 3."""
    try:
        done = subprocess.run(
            [path, "-c", _ASK], capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    fields = done.stdout.strip().split(" ", 3)
    if done.returncode != 0 or len(fields) != 4:
        return None
    version, implementation, free_threaded, executable = fields
    if not re.fullmatch(r"3\.\d+", version) or implementation != "cpython" or free_threaded != "0":
        return None
    return version, executable or path


def _run(argv: list[str], *, env: Mapping[str, str]) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False, env=dict(env)
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def _pyenv_root(env: Mapping[str, str]) -> str | None:
    """$PYENV_ROOT, else what `pyenv root` prints when pyenv is on PATH (never a guess from HOME)."""
    if env.get("PYENV_ROOT"):
        return env["PYENV_ROOT"]
    pyenv = shutil.which("pyenv", path=env.get("PATH", ""))
    return (_run([pyenv, "root"], env=env).strip() or None) if pyenv else None


def _uv(env: Mapping[str, str]) -> list[str]:
    """uv's installed interpreters; offline, and never downloading one."""
    uv = shutil.which("uv", path=env.get("PATH", ""))
    if not uv:
        return []
    quiet = {**env, "UV_OFFLINE": "1", "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    listed = _run([uv, "python", "list", "--only-installed", "--output-format", "json"], env=quiet)
    try:
        entries = json.loads(listed) if listed.strip() else []
    except json.JSONDecodeError:
        entries = []
    paths = [e["path"] for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str)]
    if paths:
        return paths
    folder = _run([uv, "python", "dir"], env=quiet).strip()  # older uv: no JSON listing
    return sorted(glob.glob(os.path.join(folder, "cpython-3.*", "bin", "python3"))) if folder else []


def candidates(*, env: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(source, path) in the order of preference; nothing is run here except `pyenv root` and uv."""
    for path in env.get(ENV, "").split(os.pathsep):
        if path.strip():
            yield ENV, path.strip()
    for minor in MINORS:
        found = shutil.which(f"python3.{minor}", path=env.get("PATH", ""))
        if found:
            yield "PATH", found
    root = _pyenv_root(env)
    if root:
        for path in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3")), reverse=True):
            yield "pyenv", path
    for path in _uv(env):
        yield "uv", path
    yield "this Python", sys.executable


def _hint(path: str) -> str | None:
    """The minor version a path's name promises (python3.12, versions/3.12.1/), to skip a known one."""
    match = re.search(r"(?:python|versions/|cpython-)(3\.\d+)", path)
    return match.group(1) if match else None


def discover(*, env: Mapping[str, str] | None = None) -> Found:
    """Every usable interpreter, one per minor version (the first source that has it wins)."""
    env = os.environ if env is None else env
    pythons: dict[str, str] = {}
    tried: set[str] = set()
    for source, path in candidates(env=env):
        hint = _hint(path)
        too_old = hint is not None and key(hint) < OLDEST
        if path in tried or too_old or (hint in pythons and source != ENV):
            continue
        tried.add(path)
        answer = ask(path)
        if answer and key(answer[0]) >= OLDEST:
            pythons.setdefault(answer[0], answer[1])
    return Found(dict(sorted(pythons.items(), key=lambda kv: key(kv[0]))), looked=_looked(env))


def _looked(env: Mapping[str, str]) -> list[str]:
    """Where the search looked, as a reader can check it."""
    path = env.get("PATH", "")
    pyenv = (
        "pyenv ($PYENV_ROOT)"
        if env.get("PYENV_ROOT")
        else "pyenv (`pyenv root`)"
        if shutil.which("pyenv", path=path)
        else "pyenv (not installed)"
    )
    uv = "uv" if shutil.which("uv", path=path) else "uv (not installed)"
    given = ENV if env.get(ENV, "").strip() else f"{ENV} (not set)"
    return [given, "PATH", pyenv, uv, "this Python"]


def satisfies(version: str, spec: str) -> bool:
    """Whether a minor version meets a need: "3.12" exactly that one, ">=3.12" that or newer."""
    if spec.startswith(">="):
        return key(version) >= key(spec[2:])
    return key(version) == key(spec)


def describe(spec: str) -> str:
    """A need in words: ">=3.12" → "a CPython 3.12 or newer"."""
    return f"a CPython {spec[2:]} or newer" if spec.startswith(">=") else f"a CPython {spec}"


def main() -> int:
    """`python -m labkit.pythons`: what this machine has (the preflight's view)."""
    found = discover()
    for version, path in found.pythons.items():
        print(f"{version}  {path}")
    print(f"(looked in: {', '.join(found.looked)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
