"""A differential flame graph: two recordings in one picture, each frame coloured by how its share changed.

Built on labkit.flamegraph's layout and document, so it zooms and searches like the other graphs. The
main result comes first: above the frames, one line per largest change (the largest loss, the largest
gain, the frames found in one recording only), with the frame's colour, its full name and both shares.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from labkit.flamegraph import Drawn, Legend, Node, build_tree, document, layout

# Blue for a smaller share after, orange for a larger one (a diverging pair that readers with the common
# colour-vision deficiencies tell apart, unlike red/green), from pale to a middle tone as the change
# grows; grey for no change. A frame found in one recording only has its own, darkest tone of its side
# and a dashed outline. The numbers are in every frame's title and in the lines above the frames, never
# in colour alone.
_BLUE, _ORANGE = (33, 102, 172), (230, 97, 1)
GREY = "rgb(200,200,200)"
ONLY_BEFORE = "rgb(5,48,97)"  # the darkest blue: all of its share lost
ONLY_AFTER = "rgb(127,59,8)"  # the darkest orange-brown: all of its share new
_SAME = 0.005  # a change below half a point counts as "about the same"
_HEADLINES = 4  # at most this many frames named above the graph


def _shade(change: float) -> str:
    """Colour for a change of share (-1..1) of a frame found in both: pale towards a middle blue or orange."""
    if abs(change) < _SAME:
        return GREY
    end = _BLUE if change < 0 else _ORANGE
    t = min(1.0, abs(change) / 0.5) * 0.6 + 0.15
    r, g, b = (round(255 + (c - 255) * t) for c in end)
    return f"rgb({r},{g},{b})"


def function_stacks(stacks: Mapping[tuple[str, ...], int]) -> dict[tuple[str, ...], int]:
    """Stacks with each label's line number dropped: a function's lines merged, as in the tables."""
    out: dict[tuple[str, ...], int] = {}
    for stack, count in stacks.items():
        key = tuple(re.sub(r":\d+\)$", ")", label) for label in stack)
        out[key] = out.get(key, 0) + count
    return out


@dataclass(frozen=True)
class Frame:
    """One frame of the comparison: its shares before and after, and how it is drawn."""

    drawn: Drawn
    before: float
    after: float
    new_side: bool = False  # found in one recording only, and its caller in both: where a subtree starts

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def side(self) -> str:
        """'before' or 'after' for a frame found in one recording only, else ''."""
        if (self.before == 0) == (self.after == 0):
            return ""
        return "before" if self.after == 0 else "after"


def _category(frame: Frame) -> str:
    if frame.side:
        return f"only {frame.side}"
    if abs(frame.change) < _SAME:
        return "same"
    return "lost" if frame.change < 0 else "gained"


_LEGEND_WORDS = {
    "only before": "found only before (dashed): all of its share lost",
    "only after": "found only after (dashed): new after",
    "lost": "smaller share after (deeper blue: a larger loss)",
    "gained": "larger share after (deeper orange: a larger gain)",
    "same": "about the same share (within half a point)",
}


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
    change of its share, with both shares and the change in its title. ``names`` are the words for the
    two recordings in titles and legend.
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
    frames: list[Frame] = []
    chain: list[str] = []
    sides: list[str] = []  # the side of each frame on the current chain
    for start, weight, depth, label in rows:  # pre-order: a frame's ancestors came before it
        chain = [*chain[:depth], label]
        path = tuple(chain[1:])  # without the root, "all"
        a = _share(one, path) if path else 1.0
        b = _share(two, path) if path else 1.0
        side = "" if (a == 0) == (b == 0) else (names[0] if b == 0 else names[1])
        info = (
            f"{label} \u2014 {names[0]} {100 * a:.1f}%, {names[1]} {100 * b:.1f}%, "
            f"change {100 * (b - a):+.1f} points" + (f" (only {side})" if side else "")
        )
        fill = (ONLY_BEFORE if b == 0 else ONLY_AFTER) if side else _shade(b - a)
        sides = [*sides[:depth], side]
        starts = bool(side) and depth > 0 and sides[depth - 1] != side
        drawn = Drawn(start, weight, depth, label, fill, info, outline=bool(side))
        frames.append(Frame(drawn, a, b, new_side=starts))
    legend = _legend(frames, names)
    headline = _headline(frames, names)
    desc = (
        (f"{subtitle} \u2014 " if subtitle else "")
        + "width: the mean of the two shares; colour: the change of share; "
        + "; ".join(text for _fill, text in headline)
    )
    return document(
        [f.drawn for f in frames],
        total=1_000_000,
        omitted=omitted,
        title=title,
        subtitle=subtitle,
        desc=desc,
        width=width,
        legend=legend,
        headline=headline,
    )


def _legend(frames: list[Frame], names: tuple[str, str]) -> list[Legend]:
    """One entry per kind of frame the graph has, its swatch the colour of that kind's largest change."""
    out: list[Legend] = []
    for category in ("only before", "lost", "same", "gained", "only after"):
        members = [f for f in frames if _category(f) == category]
        if not members:
            continue
        biggest = max(members, key=lambda f: (abs(f.change), f.drawn.depth))
        words = _LEGEND_WORDS[category].replace("before", names[0]).replace("after", names[1])
        out.append(Legend(biggest.drawn.fill, words, dashed=biggest.drawn.outline))
    return out


def _headline(frames: list[Frame], names: tuple[str, str]) -> list[tuple[str, str]]:
    """The main result as (colour, sentence) pairs: the largest loss, the largest gain, then the first
    frame of each subtree found in one recording only, largest change first; every name in full."""
    changed = [f for f in frames[1:] if abs(f.change) >= _SAME]  # frames[0] is the root
    if not changed:
        return [(GREY, f"No frame's share changed by half a point or more between {names[0]} and {names[1]}")]
    chosen: list[Frame] = []
    loss = min(changed, key=lambda f: (f.change, -f.drawn.depth))  # on a tie, the deeper frame: where
    gain = max(changed, key=lambda f: (f.change, f.drawn.depth))
    # one line per subtree found in one recording only, named by its first frame (the callees follow)
    sided = sorted((f for f in changed if f.new_side), key=lambda f: (-abs(f.change), f.drawn.depth))
    for f in ([loss] if loss.change < 0 else []) + ([gain] if gain.change > 0 else []) + sided:
        if len(chosen) < _HEADLINES and not any(_same_change(f, c) for c in chosen):
            chosen.append(f)
    out = [("", f"The largest changes of share, {names[0]} \u2192 {names[1]}:")]
    for f in chosen:
        sign = "+" if f.change > 0 else "\u2212"
        only = f", only {names[0] if f.side == 'before' else names[1]}" if f.side else ""
        out.append(
            (
                f.drawn.fill,
                f"{sign}{abs(f.change) * 100:.1f} points: {f.drawn.label}, "
                f"{100 * f.before:.1f}% \u2192 {100 * f.after:.1f}%{only}",
            )
        )
    return out


def _same_change(one: Frame, two: Frame) -> bool:
    """The same frame, or a caller and its callee with the same change (one line says it for both)."""
    a, b = one.drawn, two.drawn
    nested = a.start < b.start + b.size and b.start < a.start + a.size  # ranges overlap: one calls the other
    return nested and round(one.change, 3) == round(two.change, 3)


def _share(root: Node, path: tuple[str, ...]) -> float:
    node: Node | None = root
    for label in path:
        node = node.children.get(label) if node else None
    return (node.total / root.total) if node else 0.0
