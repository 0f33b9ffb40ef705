"""Find what must never be published: this machine's paths, its user and host names."""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path

from labkit.errors import LabError, where

TEXT_SUFFIXES = {".md", ".json", ".txt", ".svg", ".html", ".css", ".js", ".xml", ".yml", ".yaml"}


def patterns(root: Path) -> list[tuple[str, re.Pattern[str]]]:
    """(reason, regex) pairs; user and host names count only as path parts or in user@host."""
    found = [
        ("the repository's absolute path", re.compile(re.escape(str(root.resolve())))),
        ("the home folder", re.compile(re.escape(str(Path.home())) + r"(?=/|\b)")),
        ("a /tmp/ path", re.compile(r"(?<![\w.])/tmp/")),
        ("a home folder path", re.compile(r"(?<![\w.])/(home|Users)/[A-Za-z]")),
        # py-spy dump and shells write the home folder as `~` ("Python v3.11.7 (~/.pyenv/...)").
        ("a home folder path written with ~", re.compile(r"(?<![\w.~<>/-])~/")),
    ]
    names = {getpass.getuser(), socket.gethostname().split(".")[0]}
    for name in sorted(n for n in names if n and len(n) > 1):
        word = re.escape(name)
        # `root` must not match CSS's `:root`, only a path part (`/srv/root/`) or user@host.
        found.append((f"the name {name!r} as a path part", re.compile(rf"/{word}/")))
        found.append((f"the name {name!r} in user@host", re.compile(rf"\b{word}@[\w-]+|[\w-]+@{word}\b")))
    return found


def machine_names() -> list[tuple[str, str]]:
    """(what, name): this machine's user name and host name (its first label)."""
    found = [("user name", getpass.getuser()), ("host name", socket.gethostname().split(".")[0])]
    return [(what, name) for what, name in found if name]


# Account and host names that many machines share and that are words of tool output too ("run as root",
# a JSON key "user"): they identify no one, and as words they would refuse honest output.
GENERIC = frozenset(
    [
        "root",
        "user",
        "admin",
        "administrator",
        "runner",
        "ubuntu",
        "debian",
        "fedora",
        "vagrant",
        "docker",
        "jenkins",
        "guest",
        "build",
        "test",
        "python",
        "node",
        "app",
        "dev",
        "ci",
        "localhost",
        "host",
        "server",
        "worker",
        "container",
        "default",
    ]
)


def bare_names(text: str, *, shown: str, names: list[tuple[str, str]] | None = None) -> list[str]:
    """Where a captured output names this machine's user or host, e.g. `whoami`'s or `hostname`'s line.

    Only program output is read this way, never pages, CSS or stacks (CSS has `:root`). A line that is
    just the name always counts. Elsewhere in a line, a name counts as a whole word (a word being
    letters, digits, `_` and `-`: `user_to_root` and `root-owned` do not count) when it has 3 characters
    or more and is not a name that many machines share (``GENERIC``): two letters such as `vm`, or
    `root`, occur in any text.
    """
    leaks = []
    for what, name in machine_names() if names is None else names:
        word = re.escape(name)
        line_only = len(name) < 3 or name.lower() in GENERIC
        regex = (
            re.compile(rf"^[ \t]*{word}[ \t]*$", re.MULTILINE)
            if line_only
            else re.compile(rf"(?<![\w-]){word}(?![\w-])")
        )
        for match in regex.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            leaks.append(f"{where(shown, line)}: this machine's {what} {name!r} in a captured output")
    return leaks


def captured(data_dir: Path) -> list[Path]:
    """The captured outputs of a lab's data folder, as its results.json names them: the text file of any
    entry (a command's output, a dump, a screen of py-spy top), whichever kind's section it is in."""
    from labkit import registry

    try:
        results = json.loads((data_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = []
    for kind in registry.sections():
        section = results.get(kind.section) if isinstance(results, dict) else None
        entries = section.values() if kind.keyed and isinstance(section, dict) else [section]
        for entry in entries:
            if isinstance(entry, dict):
                files = entry.get("files")
                named = entry.get("file") or (files.get("text") if isinstance(files, dict) else None)
                if isinstance(named, str):
                    names.append(named)
    return sorted(
        {data_dir / name for name in names if (data_dir / name).resolve().is_relative_to(data_dir.resolve())}
    )


def _shown(path: Path, root: Path) -> str:
    return os.path.relpath(path, root) if path.is_relative_to(root) else path.name


def scan(files: Iterable[Path], *, root: Path) -> list[str]:
    """Every leak as 'file:line: reason'; the captured outputs beside a results.json are also read for
    bare user and host names (``bare_names``)."""
    checks = patterns(root)
    leaks = []
    outputs: list[Path] = []
    for path in files:
        if path.name == "results.json":
            outputs += captured(path.parent)
        if path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for reason, regex in checks:
            for match in regex.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                leaks.append(f"{where(_shown(path, root), line)}: {reason}")
    for path in outputs:
        text = path.read_text(encoding="utf-8", errors="replace")
        leaks += bare_names(text, shown=_shown(path, root))
    return leaks


def tree(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def refuse_leaks(folder: Path, *, root: Path, what: str) -> None:
    """Stop a run whose new data (``folder``) names this machine, before anything is published."""
    leaks = scan(tree(folder), root=root)
    if leaks:
        listed = "\n  ".join(leaks)
        raise LabError(f"{what}: nothing was published; the new data names this machine:\n  {listed}")
