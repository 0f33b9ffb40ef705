"""One helper names a place in a message (errors.where): no module builds "file:line:" by hand."""

from __future__ import annotations

import re
from pathlib import Path

from labkit.errors import where

LABKIT = Path(__file__).resolve().parents[2] / "scripts" / "labkit"
BY_HAND = re.compile(r"""f["']\{[^{}]+\}:\{[^{}]+\}(:\{[^{}]+\})?: """)
# Modules other helpers are changing in this round; each moves to `where` with its owner's change.
PENDING: set[str] = set()


def test_where_names_a_file_a_line_and_a_column() -> None:
    assert where(Path("labs/lab-1.yml")) == "labs/lab-1.yml"
    assert where(Path("labs/lab-1.yml"), 12) == "labs/lab-1.yml:12"
    assert where("docs/labs/lab-1/index.md", 3, 9) == "docs/labs/lab-1/index.md:3:9"


def test_no_module_builds_a_location_by_hand() -> None:
    found = [
        f"{path.relative_to(LABKIT)}:{number}"
        for path in sorted(LABKIT.rglob("*.py"))
        if path.relative_to(LABKIT).as_posix() not in PENDING
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if BY_HAND.search(line)
    ]
    assert found == []
