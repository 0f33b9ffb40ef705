"""Find what must never be published: this machine's paths, its user and host names."""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path

TEXT_SUFFIXES = {".md", ".json", ".txt", ".svg", ".html", ".css", ".js", ".xml", ".yml", ".yaml"}


def patterns(root: Path) -> list[tuple[str, re.Pattern[str]]]:
    """(reason, regex) pairs; user and host names count only as path parts or in user@host."""
    found = [
        ("the repository's absolute path", re.compile(re.escape(str(root.resolve())))),
        ("the home folder", re.compile(re.escape(str(Path.home())) + r"(?=/|\b)")),
        ("a /tmp/ path", re.compile(r"(?<![\w.])/tmp/")),
        ("a home folder path", re.compile(r"(?<![\w.])/(home|Users)/[A-Za-z]")),
    ]
    names = {getpass.getuser(), socket.gethostname().split(".")[0]}
    for name in sorted(n for n in names if n and len(n) > 1):
        word = re.escape(name)
        # `root` must not match CSS's `:root`, only a path part (`/srv/root/`) or user@host.
        found.append((f"the name {name!r} as a path part", re.compile(rf"/{word}/")))
        found.append((f"the name {name!r} in user@host", re.compile(rf"\b{word}@[\w-]+|[\w-]+@{word}\b")))
    return found


def scan(files: Iterable[Path], *, root: Path) -> list[str]:
    """Every leak as 'file:line: reason'."""
    checks = patterns(root)
    leaks = []
    for path in files:
        if path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for reason, regex in checks:
            for match in regex.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                shown = os.path.relpath(path, root) if path.is_relative_to(root) else path.name
                leaks.append(f"{shown}:{line}: {reason}")
    return leaks


def tree(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())
