"""Fixtures shared by the unit tests: the committed Lab 1 results (read, never written)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).with_name("data")
LAB1_RESULTS = ROOT / "docs" / "labs" / "lab-1" / "data" / "results.json"


@pytest.fixture(scope="session")
def _committed_results() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(LAB1_RESULTS.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def results(_committed_results: dict[str, Any]) -> dict[str, Any]:
    """A private copy of docs/labs/lab-1/data/results.json that a test may change."""
    return copy.deepcopy(_committed_results)
