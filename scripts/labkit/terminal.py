"""Text that a program gave (its function, thread and file names, its output) on the terminal.

rich reads ``[...]`` in a string as markup (``[/bold]x`` raises MarkupError) and passes escape
sequences through, so such text goes to rich only as a ``Text`` made here: no markup, and every control
character shown as an escape (``\\x1b``), so a name can neither crash the run nor command the terminal.
``Console`` does the same to everything it prints, as a last line of defence.
"""

from __future__ import annotations

from collections.abc import Iterable

import rich.console
from rich.segment import Segment
from rich.text import Text

from labkit.formats import visible


def text(raw: object, *, style: str = "", keep: str = "\n") -> Text:
    """A message that may hold program-derived text; its line breaks kept (``keep``), nothing else raw."""
    return Text(visible(str(raw), keep=keep), style=style)


def cell(raw: object, *, style: str = "") -> Text:
    """A name in a table cell or a title: one line, every control character visible."""
    return text(raw, style=style, keep="")


class Console(rich.console.Console):
    """A rich console whose printed text never holds a raw control character (its own styles aside),
    and no emoji codes: rich drew "fact-check.md:100: …" as "fact-check.md💯 …"."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def render(
        self, renderable: rich.console.RenderableType, options: rich.console.ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control:  # rich's own cursor movements (a status line), not text
                yield segment
            else:
                shown = visible(segment.text, keep="\n")
                yield segment if shown == segment.text else Segment(shown, segment.style, segment.control)
