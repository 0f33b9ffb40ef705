"""labkit.pythons: interpreter discovery with fake interpreters (shell scripts) and a controlled env."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from labkit import pythons

from tests.helpers import ROOT

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"  # the running interpreter is always a candidate
# A version the running interpreter is not (the tests run on 3.10–3.13): a stand-in left out must not be
# mistaken for the running interpreter, which the discovery always finds.
ELSEWHERE = "3.13" if HERE != "3.13" else "3.12"


def fake(path: Path, version: str, *, impl: str = "cpython", free_threaded: int = 0, code: int = 0) -> Path:
    """A stand-in interpreter: answers the discovery's question the way a real one would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "{version} {impl} {free_threaded} $0"\nexit {code}\n', encoding="utf-8")
    path.chmod(0o755)
    return path


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Nothing to find: PATH is one empty folder, HOME an empty one, no PYENV_ROOT (fakes use /bin/sh)."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "home").mkdir()
    return {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path / "home")}


def test_nothing_configured_finds_only_this_python(env: dict[str, str]) -> None:
    found = pythons.discover(env=env)
    assert list(found.pythons) == [HERE]
    assert found.looked == [
        "LABKIT_PYTHONS (not set)",
        "PATH",
        "pyenv (not installed)",
        "uv (not installed)",
        "this Python",
    ]


def test_home_alone_is_never_searched(env: dict[str, str]) -> None:
    """A ~/.pyenv without pyenv on PATH and without PYENV_ROOT is not looked at."""
    fake(Path(env["HOME"]) / ".pyenv" / "versions" / f"{ELSEWHERE}.1" / "bin" / "python3", ELSEWHERE)
    assert ELSEWHERE not in pythons.discover(env=env).pythons


def test_labkit_pythons_lists_interpreters(env: dict[str, str], tmp_path: Path) -> None:
    a = fake(tmp_path / "x" / "py12", "3.12")
    b = fake(tmp_path / "y" / "py13", "3.13")
    missing = tmp_path / "nowhere" / "python3.14"
    listed = os.pathsep.join([str(a), "", str(missing), str(b)])
    found = pythons.discover(env={**env, pythons.ENV: listed})
    assert found.pythons["3.12"] == str(a) and found.pythons["3.13"] == str(b)
    assert "3.14" not in found.pythons
    assert found.looked[0] == pythons.ENV
    assert found.versions() == sorted(found.versions(), key=pythons.key)


def test_path_names_python3_x(env: dict[str, str], tmp_path: Path) -> None:
    fake(tmp_path / "bin" / "python3.12", "3.12")
    fake(tmp_path / "bin" / "python3.9", "3.9")  # not looked up: the labs need 3.10+
    found = pythons.discover(env=env)
    assert found.pythons["3.12"] == str(tmp_path / "bin" / "python3.12")
    assert "3.9" not in found.pythons


def test_first_source_wins_per_minor_version(env: dict[str, str], tmp_path: Path) -> None:
    listed = fake(tmp_path / "listed" / "python", "3.12")
    fake(tmp_path / "bin" / "python3.12", "3.12")
    found = pythons.discover(env={**env, pythons.ENV: str(listed)})
    assert found.pythons["3.12"] == str(listed)


def test_pyenv_root_from_the_environment(env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "pyenv"
    fake(root / "versions" / "3.13.0" / "bin" / "python3", "3.13")
    fake(root / "versions" / "3.8.18" / "bin" / "python3", "3.8")  # too old: left out
    found = pythons.discover(env={**env, "PYENV_ROOT": str(root)})
    assert found.pythons["3.13"] == str(root / "versions" / "3.13.0" / "bin" / "python3")
    assert "3.8" not in found.pythons
    assert "pyenv ($PYENV_ROOT)" in found.looked


def test_pyenv_root_from_pyenv_itself(env: dict[str, str], tmp_path: Path) -> None:
    """With pyenv on PATH, its own answer to `pyenv root` says where to look (HOME is not guessed)."""
    root = tmp_path / "elsewhere"
    fake(root / "versions" / "3.12.4" / "bin" / "python3", "3.12")
    script(tmp_path / "bin" / "pyenv", f'[ "$1" = root ] && echo "{root}"')
    found = pythons.discover(env=env)
    assert found.pythons["3.12"] == str(root / "versions" / "3.12.4" / "bin" / "python3")
    assert "pyenv (`pyenv root`)" in found.looked


def test_uv_lists_its_interpreters_offline(env: dict[str, str], tmp_path: Path) -> None:
    managed = fake(tmp_path / "uv" / "cpython-3.14.0-linux-x86_64-gnu" / "bin" / "python3", "3.14")
    listing = json.dumps([{"version": "3.14.0", "path": str(managed)}, {"version": "3.13.0", "path": None}])
    seen = tmp_path / "uv-args"
    script(
        tmp_path / "bin" / "uv",
        f'echo "$* offline=$UV_OFFLINE downloads=$UV_PYTHON_DOWNLOADS" >> "{seen}"\n'
        f"[ \"$2\" = list ] && echo '{listing}'",
    )
    found = pythons.discover(env=env)
    assert found.pythons["3.14"] == str(managed)
    said = seen.read_text()
    assert "python list --only-installed --output-format json" in said
    assert "offline=1 downloads=never" in said


def test_uv_without_json_listing_falls_back_to_its_folder(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "uvdir"
    fake(folder / "cpython-3.13.2-linux-x86_64-gnu" / "bin" / "python3", "3.13")
    script(tmp_path / "bin" / "uv", f'[ "$2" = dir ] && echo "{folder}" || exit 2')
    assert "3.13" in pythons.discover(env=env).pythons


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"impl": "pypy"}, "not CPython"),
        ({"free_threaded": 1}, "free-threaded: py-spy cannot read it"),
        ({"code": 1}, "it failed"),
    ],
)
def test_unusable_interpreters_are_left_out(
    env: dict[str, str], tmp_path: Path, kwargs: dict[str, object], why: str
) -> None:
    bad = fake(tmp_path / "bad" / "python", ELSEWHERE, **kwargs)  # type: ignore[arg-type]
    assert ELSEWHERE not in pythons.discover(env={**env, pythons.ENV: str(bad)}).pythons, why


def test_garbage_answers_are_left_out(env: dict[str, str], tmp_path: Path) -> None:
    bad = script(tmp_path / "bad" / "python", "echo 'Python 3.12.1'")
    assert pythons.ask(str(bad)) is None
    assert pythons.ask(str(tmp_path / "missing")) is None


def test_the_real_running_interpreter_answers() -> None:
    answer = pythons.ask(sys.executable)
    assert answer is not None and answer[0] == HERE


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("3.12", ">=3.12", True),
        ("3.13", ">=3.12", True),
        ("3.11", ">=3.12", False),
        ("3.10", ">=3.9", True),
        ("3.12", "3.12", True),
        ("3.13", "3.12", False),
    ],
)
def test_satisfies(version: str, spec: str, ok: bool) -> None:
    assert pythons.satisfies(version, spec) is ok


def test_describe() -> None:
    assert pythons.describe(">=3.12") == "a CPython 3.12 or newer"
    assert pythons.describe("3.11") == "a CPython 3.11"


def _probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("old_py_spy_probe", ROOT / "labs/facts/old_py_spy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_probe_says_clearly_when_no_new_python_is_found(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The probe uses the same discovery; with no 3.12+ it answers null and says why (the preflight stops
    the run before that)."""
    probe = _probe()
    monkeypatch.setattr(probe, "old_py_spy", lambda: tmp_path / "py-spy")
    monkeypatch.setattr(probe, "can_read", lambda spy, python: (True, ""))
    found = pythons.Found({"3.11": "/x/python3.11"}, looked=["LABKIT_PYTHONS (not set)", "PATH"])
    monkeypatch.setattr(probe.pythons, "discover", lambda: found)
    assert probe.main() == 0
    out, err = capsys.readouterr()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["reads_all"] is None
    assert "no CPython 3.12 or newer" in report["problem"] and "LABKIT_PYTHONS" in report["problem"]
    assert "3.11" in err
