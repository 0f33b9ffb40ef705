"""The one exception type the command line turns into a clear message (no traceback)."""

from __future__ import annotations


class LabError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""
