"""labkit.sanitize.PathMap: file names and command lines made publishable."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

import pytest
from labkit import privacy
from labkit.sanitize import PathMap, sanitize_text


@pytest.fixture
def paths(tmp_path: Path) -> PathMap:
    base = tmp_path.resolve()
    stdlib = base / "py" / "lib" / "python3.11"
    return PathMap(root=base / "repo", stdlib=(str(stdlib),), site=(str(stdlib / "site-packages"),))


def test_file(paths: PathMap) -> None:
    root = paths.root
    stdlib = paths.stdlib[0]
    assert paths.file(f"{root}/labs/slow_service/service.py") == "labs/slow_service/service.py"
    assert paths.file(f"{stdlib}/random.py") == "<stdlib>/random.py"
    assert paths.file(f"{stdlib}/json/decoder.py") == "<stdlib>/json/decoder.py"
    assert paths.file(f"{stdlib}/site-packages/yaml/nodes.py") == "<site-packages>/yaml/nodes.py"
    assert paths.file("<frozen importlib._bootstrap>") == "<frozen importlib._bootstrap>"
    assert paths.file("labs/x.py") == "labs/x.py"
    assert paths.file("/opt/elsewhere/thing.py") == "<other>/thing.py"
    # A sibling folder whose name merely starts with the repository's is not inside it.
    assert paths.file(f"{root}2/x.py") == "<other>/x.py"


def test_virtualenv_inside_repository_counts_as_site_packages(tmp_path: Path) -> None:
    root = tmp_path.resolve() / "repo"
    site = root / ".venv" / "lib" / "python3.11" / "site-packages"
    paths = PathMap(root=root, stdlib=(), site=(str(site),))
    assert paths.file(f"{site}/jsonschema/validators.py") == "<site-packages>/jsonschema/validators.py"


def test_command(paths: PathMap) -> None:
    root = paths.root
    args = [
        f"{root}/.venv/bin/py-spy",
        "record",
        "--output",
        f"{root}/.labs/work/lab-1/slow.json",
        "--",
        "/usr/local/bin/python3.11",
        f"{root}/labs/slow_service/service.py",
        "--seed",
        "1",
    ]
    assert paths.command(args) == [
        "py-spy",
        "record",
        "--output",
        ".labs/work/lab-1/slow.json",
        "--",
        "python",
        "labs/slow_service/service.py",
        "--seed",
        "1",
    ]
    assert paths.argument(sys.executable) == "python"
    assert paths.argument("--rate") == "--rate"


def test_here_knows_this_interpreter(tmp_path: Path) -> None:
    here = PathMap.here(tmp_path)
    random_py = str(Path(sysconfig.get_paths()["stdlib"]) / "random.py")
    assert here.file(random_py) == "<stdlib>/random.py"
    assert here.root == tmp_path.resolve()
    # longest prefix first, so the most specific folder wins
    assert list(here.stdlib) == sorted(here.stdlib, key=len, reverse=True)


def test_pids_in_a_command_line(paths: PathMap) -> None:
    """A PID changes with every run and says which process ran where: published as `PID`."""
    assert paths.command(["py-spy", "dump", "--subprocesses", "--pid", "3643"]) == [
        "py-spy",
        "dump",
        "--subprocesses",
        "--pid",
        "PID",
    ]
    assert paths.command(["py-spy", "top", "-p", "12"]) == ["py-spy", "top", "-p", "PID"]
    assert paths.command(["jobs.py", "--rounds", "3"]) == ["jobs.py", "--rounds", "3"]


def test_sanitize_text_drops_the_home_folder_in_every_form_and_pids(tmp_path: Path) -> None:
    """py-spy dump's text: `~/...` and the home folder written out, PIDs and thread ids (finding of Lab 4)."""
    home = Path.home()
    dump = (
        "Process 3643: ../../.venv/bin/python jobs.py\n"
        "Python v3.11.7 (~/.pyenv/versions/3.11.7/bin/python3.11)\n"
        'Thread 3643 (idle): "dispatcher"\n'
        "    main (jobs.py:206)\n"
        "Process 3650: python jobs.py\n"
        "Parent Process 3643\n"
        f"Python v3.11.7 ({home}/.pyenv/versions/3.11.7/bin/python3.11)\n"
        'Thread 3650 (active): "worker-0"\n'
        f"    fetch ({home}/lib/jobs.py:12)\n"
        f"cwd {home}\n"
    )
    text = sanitize_text(dump, root=tmp_path / "repo")
    assert text.splitlines() == [
        "Process <pid>: ../../.venv/bin/python jobs.py",
        "Python v3.11.7 (python)",
        'Thread 1 (idle): "dispatcher"',
        "    main (jobs.py:206)",
        "Process <pid 2>: python jobs.py",
        "Parent Process <pid>",
        "Python v3.11.7 (python)",
        'Thread 2 (active): "worker-0"',
        "    fetch (<other>/jobs.py:12)",
        "cwd <home>",
    ]
    assert privacy.scan([_write(tmp_path / "dump.txt", text)], root=tmp_path / "repo") == []


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_interpreter_outside_the_home_folder_is_python_in_captured_output(tmp_path: Path) -> None:
    """A matrix cell runs another HOME than the one its Python lives in (pyenv under the real home, a
    runner's tool cache): py-spy dump's interpreter paths must still read `python`, and a directory
    named like an interpreter (a standard library) keeps its path."""
    text = (
        "Process 15179: /root/.pyenv/versions/3.11.7/bin/python jobs.py\n"
        "Python v3.10.14 (/opt/hostedtoolcache/Python/3.10.14/x64/bin/python3.10)\n"
        "    get (/usr/lib/python3.11/queue.py:171)\n"
    )
    out = sanitize_text(text, root=tmp_path / "repo")
    assert out.splitlines()[:2] == ["Process <pid>: python jobs.py", "Python v3.10.14 (python)"]
    assert "/usr/lib/python3.11/queue.py" in out
