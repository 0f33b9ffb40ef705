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
        return [self.argument(a) for a in args]


def sanitize_text(text: str, *, root: Path) -> str:
    """Command output as it may be published: no repository path, home folder or /tmp paths."""
    text = text.replace(str(root.resolve()) + "/", "").replace(str(Path.home()), "~")
    return re.sub(r"/tmp/[^\s'\"]*", "<tmp>", text)
