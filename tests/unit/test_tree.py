"""The committed tree itself: no half-finished merge reaches a page or a module."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^(<{7} |={7}$|>{7} )", re.MULTILINE)


def test_no_tracked_file_holds_merge_conflict_markers() -> None:
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    found = []
    for name in filter(None, tracked):
        path = ROOT / name
        if path.suffix not in {".md", ".py", ".yml", ".yaml", ".json", ".toml", ".css", ".txt", ""}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        found += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}" for m in MARKER.finditer(text)]
    assert not found, f"merge conflict markers left in: {', '.join(found)}"


def test_repository_copies_skip_everything_git_ignores() -> None:
    """A copy for a test must not drag along a venv or a cache: the CI machine has .nox with four venvs."""
    from tests.helpers import IGNORED

    ignored = [
        line.strip().strip("/")
        for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    missing = [entry for entry in ignored if entry not in IGNORED]
    assert not missing, f"add {missing} to tests/helpers.py IGNORED"
