"""Fixtures for every test: the import paths of the toolkit and the lab programs, and docs/ left untouched.

Helpers (``need``, ``ROOT``, the toolkit runners) live in tests/helpers.py, not here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.helpers import ROOT, docs_state

for folder in ("scripts", "labs/slow_service", "labs/benchmark"):
    path = str(ROOT / folder)
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.fixture(scope="session", autouse=True)
def docs_untouched() -> Iterator[None]:
    """This repository's docs/ is the same after the whole session as before it."""
    if not (ROOT / ".git").exists():
        yield
        return
    before = docs_state()
    yield
    after = docs_state()
    assert after[0] == before[0], (
        f"`git status --porcelain docs/` changed during the tests:\nbefore:\n{before[0]}\nafter:\n{after[0]}"
    )
    changed = sorted(k for k in set(before[1]) | set(after[1]) if before[1].get(k) != after[1].get(k))
    assert not changed, f"files under docs/ changed during the tests: {changed}"
