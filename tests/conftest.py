"""Shared test fixtures: the repository root and import paths of the lab programs."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in ("scripts", "labs/slow_service", "labs/benchmark"):
    path = str(ROOT / folder)
    if path not in sys.path:
        sys.path.insert(0, path)
