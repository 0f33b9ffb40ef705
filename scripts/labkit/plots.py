"""Pictures drawn with matplotlib, byte for byte the same on every run, so that `make check` can redraw them.

The SVG keeps its text as text (searchable, no font outlines), its ids come from a fixed salt and it
carries no date; the white background keeps it readable on Material's light and dark schemes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Blue and orange (told apart by colour-blind readers), each with its own line style and marker too.
LineStyle = Literal["-", "--"]
STYLES: tuple[tuple[str, LineStyle, str], ...] = (("#2166ac", "-", "o"), ("#e66101", "--", "s"))
GRID = "#dddddd"
INK = "#222222"


@contextmanager
def figure(*, width: float = 7.5, height: float = 4.2) -> Iterator[Figure]:
    """A figure drawn under fixed settings (imported here: only a lab with a picture pays for matplotlib)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {"svg.hashsalt": "labkit", "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 10}
    ):
        yield Figure(figsize=(width, height), facecolor="white")


def svg(fig: Figure) -> str:
    """The figure as SVG text, without a date or a creator line (the same bytes on every run)."""
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return out.getvalue()
