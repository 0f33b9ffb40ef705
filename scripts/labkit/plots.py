"""Pictures drawn with matplotlib, byte for byte the same on every run, so that `make check` can redraw them.

The SVG keeps its text as text (searchable, no font outlines), its ids come from a fixed salt and it
carries no date. Its background is transparent and its ink dark: on the light scheme it reads as
drawn, and the page's stylesheet (docs/stylesheets/extra.css) inverts its lightness on the dark scheme,
so no white panel glares there. Text is at least 11 pt: on a phone the picture keeps a width at which
that is at least 11 px, and scrolls sideways (the stylesheet again).
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
FONT_PT = 11  # the smallest text of a picture, in points
SMALL_PT = 11  # annotations next to the marks (the same: nothing smaller than FONT_PT)


@contextmanager
def figure(*, width: float = 7.5, height: float = 4.4) -> Iterator[Figure]:
    """A figure drawn under fixed settings (imported here: only a lab with a picture pays for matplotlib)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            "svg.hashsalt": "labkit",
            "svg.fonttype": "none",
            "font.family": "DejaVu Sans",
            "font.size": FONT_PT,
            "axes.titlesize": FONT_PT + 2,
            "axes.labelsize": FONT_PT,
            "xtick.labelsize": FONT_PT,
            "ytick.labelsize": FONT_PT,
            "legend.fontsize": FONT_PT,
            "legend.title_fontsize": FONT_PT,
            "text.color": INK,
            "axes.labelcolor": INK,
            "axes.edgecolor": INK,
            "xtick.color": INK,
            "ytick.color": INK,
        }
    ):
        yield Figure(figsize=(width, height), facecolor="none")


def svg(fig: Figure) -> str:
    """The figure as SVG text, without a date or a creator line (the same bytes on every run)."""
    for ax in fig.axes:
        ax.set_facecolor("none")
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None}, facecolor="none")
    return out.getvalue()
