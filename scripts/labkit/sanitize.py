"""Make paths and command lines publishable: no absolute local paths, user or host names."""

from __future__ import annotations

import os
import re
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class PathMap:
    """Where the repository, the standard library and installed packages live on this machine."""

    root: Path
    stdlib: tuple[str, ...]
    site: tuple[str, ...]

    @classmethod
    def here(cls, root: Path) -> PathMap:
        paths = sysconfig.get_paths()
        stdlib = {paths["stdlib"], paths["platstdlib"]}
        site = {paths["purelib"], paths["platlib"]}
        return cls(
            root=root.resolve(),
            stdlib=tuple(sorted((os.path.realpath(p) for p in stdlib), key=len, reverse=True)),
            site=tuple(sorted((os.path.realpath(p) for p in site), key=len, reverse=True)),
        )

    def file(self, name: str) -> str:
        """A frame's file as it may be published: repository-relative, or a placeholder prefix."""
        if not os.path.isabs(name):
            return name  # e.g. "<frozen importlib._bootstrap>"
        real = os.path.realpath(name)
        # site-packages first: a virtual environment inside the repository is not "ours".
        for prefix, label in [
            *((p, "<site-packages>") for p in self.site),
            *((p, "<stdlib>") for p in self.stdlib),
        ]:
            if real == prefix or real.startswith(prefix + os.sep):
                return str(PurePosixPath(label, *Path(os.path.relpath(real, prefix)).parts))
        root = str(self.root)
        if real.startswith(root + os.sep):
            return Path(os.path.relpath(real, root)).as_posix()
        return str(PurePosixPath("<other>", Path(name).name))

    def argument(self, arg: str) -> str:
        """One command-line argument: paths are mapped, the interpreter becomes ``python``.

        ``/locked=6,/cpu=2`` is an option value that merely starts like a path.
        """
        if os.path.isabs(arg) and not any(c in arg for c in "=,"):
            if Path(arg).name.startswith("python"):
                return "python"
            if Path(arg).name == "py-spy":
                return "py-spy"
            return self.file(arg)
        return arg

    def command(self, args: Sequence[str]) -> list[str]:
        """A command line: paths mapped; the PID after ``--pid``/``-p`` is ``PID`` (it changes every run)."""
        return [
            "PID" if prev in PID_OPTIONS and arg.isdigit() else self.argument(arg)
            for prev, arg in zip(["", *args[:-1]], args, strict=True)
        ]


PID_OPTIONS = frozenset(["--pid", "-p"])
ABS_PATH = re.compile(r"(?<![\w.~<>/-])/[^\s'\"()\[\]{}<>,;:]+")
# `~/x` as shells and py-spy write a path in the home folder (py-spy dump: "Python v3.11.7 (~/.pyenv/...)").
_TILDE = re.compile(r"(?<![\w.~<>/-])~(?=/)")
_PROCESS = re.compile(r"\b(Process|pid|PID)(:?\s+)(\d+)\b")
_THREAD = re.compile(r"^(\s*Thread )(0x[0-9A-Fa-f]+|\d+)\b", re.MULTILINE)


class Numbering:
    """Stable placeholders: each distinct original value gets the next number, in order of appearance."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, value: object) -> int:
        return self.seen.setdefault(str(value), len(self.seen) + 1)


def pid_label(number: int) -> str:
    return "<pid>" if number == 1 else f"<pid {number}>"


def ids_in(text: str) -> str:
    """PIDs (`Process 3643`, `PID 3643`) become `<pid>`, `<pid 2>`, ...; thread ids 1, 2, ..."""
    pids, threads = Numbering(), Numbering()
    text = _THREAD.sub(lambda m: f"{m.group(1)}{threads(m.group(2))}", text)
    return _PROCESS.sub(lambda m: f"{m.group(1)}{m.group(2)}{pid_label(pids(m.group(3)))}", text)


def paths_in(text: str, paths: PathMap, *, below: str = "/") -> str:
    """Absolute paths (those below ``below``, not itself) inside free text: source files mapped as files,
    anything else as an argument (the interpreter becomes ``python``)."""

    def public(match: re.Match[str]) -> str:
        path = match.group(0)
        if not (below == "/" or path.startswith(below.rstrip("/") + "/")):
            return path
        return paths.file(path) if path.endswith((".py", ".pyx", ".pyi")) else paths.argument(path)

    return ABS_PATH.sub(public, text)


_INTERPRETER = re.compile(r"python(\d+(\.\d+)*)?")


def interpreters_in(text: str) -> str:
    """Every absolute path to a Python executable (``…/bin/python3.11``) becomes ``python``, wherever the
    interpreter lives (a virtual environment, pyenv, a runner's tool cache), so output reads the same on
    any machine, as command lines do (``PathMap.argument``)."""
    return ABS_PATH.sub(lambda m: "python" if _INTERPRETER.fullmatch(Path(m[0]).name) else m[0], text)


def sanitize_text(text: str, *, root: Path) -> str:
    """Command output as it may be published: no repository path, home folder (as `~/` either), /tmp paths
    or PIDs; an interpreter's path is ``python``."""
    home = str(Path.home())
    text = interpreters_in(_TILDE.sub(home, text))
    text = text.replace(str(root.resolve()) + "/", "")
    text = re.sub(r"/tmp/[^\s'\"]*", "<tmp>", _TILDE.sub(home, text))
    if home != "/":
        text = paths_in(text, PathMap.here(root), below=home).replace(home, "<home>")
    return ids_in(text)
