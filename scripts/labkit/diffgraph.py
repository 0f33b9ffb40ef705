"""A differential flame graph: two recordings in one picture, each frame coloured by how its share changed.

Built on labkit.flamegraph's layout and document, so it zooms and searches like the other graphs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from labkit.flamegraph import ONLY, Drawn, Node, build_tree, document, layout

# Blue for a smaller share after, orange for a larger one (a diverging pair that readers with the common
# colour-vision deficiencies tell apart, unlike red/green); grey for no change; dashed outline and a pale
# fill for a frame found in one recording only. The numbers are in every frame's title, never in colour alone.
_BLUE, _ORANGE, _GREY = (33, 102, 172), (230, 97, 1), "rgb(200,200,200)"


def _shade(change: float) -> str:
    """Colour for a change of share (-1..1): white towards blue or orange, full at 50 points."""
    if abs(change) < 0.005:
        return _GREY
    end = _BLUE if change < 0 else _ORANGE
    t = min(1.0, abs(change) / 0.5) * 0.85 + 0.15
    r, g, b = (round(255 + (c - 255) * t) for c in end)
    return f"rgb({r},{g},{b})"


def function_stacks(stacks: Mapping[tuple[str, ...], int]) -> dict[tuple[str, ...], int]:
    """Stacks with each label's line number dropped: a function's lines merged, as in the tables."""
    out: dict[tuple[str, ...], int] = {}
    for stack, count in stacks.items():
        key = tuple(re.sub(r":\d+\)$", ")", label) for label in stack)
        out[key] = out.get(key, 0) + count
    return out


def render_diff_svg(
    *,
    before: Mapping[tuple[str, ...], int],
    after: Mapping[tuple[str, ...], int],
    title: str,
    subtitle: str = "",
    width: int = 1200,
    names: tuple[str, str] = ("before", "after"),
) -> str:
    """A differential flame graph of two recordings (stacks with lines merged, as function_stacks gives).

    Every frame of either recording is drawn, as wide as the mean of its two shares, coloured by the
    change of its share, with both shares and the change in its title.
    """
    if width < 200:
        raise ValueError(f"width must be at least 200 px, got {width}")
    one, two = build_tree(before), build_tree(after)
    if one.total <= 0 or two.total <= 0:
        raise ValueError("no samples: refusing to compare an empty recording")
    merged: dict[tuple[str, ...], float] = {}
    for stacks, total in ((before, one.total), (after, two.total)):
        for stack, count in stacks.items():
            merged[stack] = merged.get(stack, 0.0) + count / total / 2
    # layout() works on integer counts: scale the mean shares to millionths of the whole
    weights = {stack: round(share * 1_000_000) for stack, share in merged.items()}
    rows, omitted = layout(build_tree(weights))
    frames: list[Drawn] = []
    chain: list[str] = []
    for start, weight, depth, label in rows:  # pre-order: a frame's ancestors came before it
        chain = [*chain[:depth], label]
        path = tuple(chain[1:])  # without the root, "all"
        a = _share(one, path) if path else 1.0
        b = _share(two, path) if path else 1.0
        only = (a == 0) != (b == 0)
        info = (
            f"{label} \u2014 {names[0]} {100 * a:.1f}%, {names[1]} {100 * b:.1f}%, "
            f"change {100 * (b - a):+.1f} points"
            + (f" (only {names[0] if b == 0 else names[1]})" if only else "")
        )
        frames.append(Drawn(start, weight, depth, label, ONLY if only else _shade(b - a), info, outline=only))
    legend = [
        (_shade(-0.5), f"smaller share {names[1]} than {names[0]}"),
        (_shade(0.5), f"larger share {names[1]} than {names[0]}"),
        (_GREY, "about the same share"),
        (ONLY, "in one recording only (dashed outline)"),
    ]
    desc = (
        f"{subtitle} \u2014 width: the mean of the two shares; colour: the change of share; "
        "each frame's title gives both shares and the change"
    )
    return document(
        frames,
        total=1_000_000,
        omitted=omitted,
        title=title,
        subtitle=subtitle,
        desc=desc,
        width=width,
        legend=legend,
    )


def _share(root: Node, path: tuple[str, ...]) -> float:
    node: Node | None = root
    for label in path:
        node = node.children.get(label) if node else None
    return (node.total / root.total) if node else 0.0
