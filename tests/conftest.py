"""Shared test fixtures: the repository root and import paths of the lab programs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for folder in ("scripts", "labs/slow_service", "labs/benchmark"):
    path = str(ROOT / folder)
    if path not in sys.path:
        sys.path.insert(0, path)

ON_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip when the machine lacks something; on CI (CI=true) the same gap is a failure."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"CI=true, so this may not be skipped: {reason}")
    pytest.skip(reason)
