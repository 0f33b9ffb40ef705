"""Fixtures shared by the unit tests: a frozen copy of Lab 1's results (read, never written).

data/lab1_results.json is docs/labs/lab-1/data/results.json as it was published when the tests were laid
out, brought to schema_version 3 by adding empty `compares` and `latencies` sections, then to 4 by giving its
one-size benchmark `sizes` (that size), `scaling` and `plot` (null), then to 5 by adding an empty
`busy_shares`; it does not follow later
regenerations, so re-running Lab 1 never changes what the unit tests read. The published data itself
is checked in tests/commands/test_check.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).with_name("data")
LAB1_RESULTS = DATA / "lab1_results.json"


@pytest.fixture(scope="session")
def _frozen_results() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(LAB1_RESULTS.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def results(_frozen_results: dict[str, Any]) -> dict[str, Any]:
    """A private copy of tests/unit/data/lab1_results.json that a test may change."""
    return copy.deepcopy(_frozen_results)
