"""Render py-spy style stacks as one standalone, interactive flame graph SVG.

Everything (layout, colours, the small inline script) is produced here, so the
output has no external references and is byte-identical for identical input.
"""

from __future__ import annotations

import hashlib
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labkit.formats import visible

_PAD = 10  # horizontal margin, px
_FRAME_H = 16  # row height; rects are one px shorter to leave a gap
_TOP = 64  # room for title, subtitle and the controls
_BOTTOM = 30  # room for the details / "Matched" line
_CHAR_W = 7.3  # estimated advance of a 12px monospace glyph (0.6em, rounded up)
_MIN_FRACTION = 0.001  # frames narrower than 0.1% of the plot are dropped
_HIGHLIGHT = "rgb(170,80,230)"  # search matches: purple, outside the warm palette
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Dark when the page around the frame is (Material's slate scheme sets color-scheme: dark on the frame,
# which the document inside sees as prefers-color-scheme) or when opened alone in a dark browser; the
# frames keep their colours, whose labels contrast either way.
_CSS = """
text{font-family:monospace;font-size:12px;fill:#000}
#bg{fill:#fdfaf3}
#title{font-size:17px;text-anchor:middle}
#subtitle{text-anchor:middle;fill:#555}
.key rect{stroke:#555}
.f{cursor:pointer}
.f text{pointer-events:none}
.f:hover rect{stroke:#000;stroke-width:.6}
.f:focus{outline:none}
.f:focus rect{stroke:#000;stroke-width:2}
.w text{fill:#fff}
.m rect{fill:HIGHLIGHT}
.a rect{fill-opacity:.5}
.m text,.a text{fill:#000}
.h{display:none}
.btn{cursor:pointer;fill:#1a5fb4}
.btn:hover,.btn:focus{text-decoration:underline;outline:none;font-weight:bold}
@media (prefers-color-scheme:dark){#bg{fill:#1e2129} text{fill:#e3e3e3} #subtitle{fill:#b8b8b8}
.key rect{stroke:#aaa} .f text,.m text,.a text{fill:#000} .w text{fill:#fff}
.f:hover rect,.f:focus rect{stroke:#fff} .btn{fill:#8cb4ff}}
""".replace("HIGHLIGHT", _HIGHLIGHT)

# Frames carry data-s (first sample), data-n (samples) and data-d (depth); the
# <title> holds "label \u2014 N samples (x%)", so the script needs no other data.
_JS = """
(function () {
  'use strict';
  var W = __W__, PAD = __PAD__, CW = __CW__, SEP = ' \\u2014 ';
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var root = frames[0], total = num(root, 'n'), lastTerm = '';
  var byId = function (id) { return document.getElementById(id); };
  var details = byId('details'), matched = byId('matched');
  var resetBtn = byId('reset'), clearBtn = byId('clear');

  function num(g, k) { return +g.getAttribute('data-' + k); }
  function info(g) { return g.firstElementChild.textContent; }
  function label(g) { var t = info(g); return t.slice(0, t.lastIndexOf(SEP)); }
  // Same truncation rule as the Python side, so a reset restores the original text.
  function fit(s, w) {
    var n = Math.floor((w - 6) / CW);
    if (n >= s.length) { return s; }
    return n < 3 ? '' : s.slice(0, n - 2) + '..';
  }
  function place(g, x, w) {
    var r = g.querySelector('rect'), t = g.querySelector('text');
    r.setAttribute('x', x.toFixed(2));
    r.setAttribute('width', w.toFixed(2));
    t.setAttribute('x', (x + 3).toFixed(2));
    t.textContent = fit(label(g), w);
  }
  // Zoom: z's subtree fills the width, ancestors stay full width but dimmed, the rest is hidden.
  // Within one depth the sample ranges are disjoint, which makes the range tests exact.
  function zoom(z) {
    var s0 = num(z, 's'), n0 = num(z, 'n'), d0 = num(z, 'd'), scale = (W - 2 * PAD) / n0;
    frames.forEach(function (g) {
      var s = num(g, 's'), n = num(g, 'n'), d = num(g, 'd');
      g.classList.remove('h', 'a');
      if (d >= d0 && s >= s0 && s < s0 + n0) {
        place(g, PAD + (s - s0) * scale, n * scale);
      } else if (d < d0 && s <= s0 && s + n >= s0 + n0) {
        g.classList.add('a');
        place(g, PAD, W - 2 * PAD);
      } else {
        g.classList.add('h');
      }
    });
    resetBtn.classList.toggle('h', z === root);
  }
  function search(term) {
    var re, spans = [], covered = 0, end = -1;
    try { re = new RegExp(term); } catch (err) {
      matched.textContent = 'Invalid regular expression';
      return;
    }
    frames.forEach(function (g) {
      var hit = re.test(label(g));
      g.classList.toggle('m', hit);
      if (hit) { spans.push([num(g, 's'), num(g, 's') + num(g, 'n')]); }
    });
    // Nested matches share samples: merge the ranges so each sample counts once.
    spans.sort(function (a, b) { return a[0] - b[0]; });
    spans.forEach(function (p) {
      if (p[1] > end) { covered += p[1] - Math.max(p[0], end); end = p[1]; }
    });
    matched.textContent = 'Matched: ' + (100 * covered / total).toFixed(1) + '%';
    clearBtn.classList.remove('h');
  }
  function askSearch() {
    var t = window.prompt('Search frames (regular expression):', lastTerm);
    if (t) { lastTerm = t; search(t); }
  }
  function clearSearch() {
    frames.forEach(function (g) { g.classList.remove('m'); });
    matched.textContent = '';
    clearBtn.classList.add('h');
  }
  var box = byId('frames');
  box.addEventListener('mouseover', function (e) {
    var g = e.target.closest('g.f');
    if (g) { details.textContent = info(g); }
  });
  box.addEventListener('mouseout', function () { details.textContent = ' '; });
  box.addEventListener('click', function (e) {
    var g = e.target.closest('g.f');
    if (g) { zoom(g); }
  });
  // Keyboard: every frame and button is focusable (tabindex); Enter or Space acts as a click.
  box.addEventListener('focusin', function (e) {
    var g = e.target.closest('g.f');
    if (g) { details.textContent = info(g); }
  });
  document.addEventListener('keydown', function (e) {
    var el = document.activeElement;
    if ((e.key === 'Enter' || e.key === ' ') && el && el.getAttribute('role') === 'button') {
      e.preventDefault();
      el.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    }
  });
  resetBtn.addEventListener('click', function () { zoom(root); });
  byId('search').addEventListener('click', askSearch);
  clearBtn.addEventListener('click', clearSearch);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') {
      zoom(root);
      clearSearch();
    } else if (e.key === '/' || ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F'))) {
      e.preventDefault();  // replace the browser's find bar with our frame search
      askSearch();
    }
  });
})();
"""


class Node:
    __slots__ = ("children", "total")

    def __init__(self) -> None:
        self.children: dict[str, Node] = {}
        self.total = 0


def _esc(text: str) -> str:
    """XML-escape text as ASCII; control characters shown as escapes (a raw CR or NUL would not read back)."""
    text = _XML_INVALID.sub("\ufffd", visible(text))
    for raw, ent in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        text = text.replace(raw, ent)
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _function_name(label: str) -> str:
    return label.split(" (", 1)[0]


def _colour(label: str) -> str:
    """Warm colour from a stable digest of the function name, so graphs share colours."""
    d = hashlib.md5(_function_name(label).encode("utf-8"), usedforsecurity=False).digest()
    return f"rgb({205 + d[0] % 51},{d[1] * 230 // 255},{d[2] * 55 // 255})"


def _fit(label: str, width: float) -> str:
    """Truncate with '..' to what fits in width px; mirrors fit() in the script."""
    n = math.floor((width - 6) / _CHAR_W)
    if n >= len(label):
        return label
    return "" if n < 3 else label[: n - 2] + ".."


def _plural(n: int) -> str:
    return f"{n} sample" if n == 1 else f"{n} samples"


def build_tree(stacks: Mapping[tuple[str, ...], int]) -> Node:
    root = Node()
    for stack, count in stacks.items():
        if count < 0:
            raise ValueError(f"negative sample count {count} for stack {stack!r}")
        node = root
        node.total += count
        for label in stack:
            node = node.children.setdefault(label, Node())
            node.total += count
    return root


def _subtree_size(node: Node) -> int:
    size, todo = 0, [node]
    while todo:  # iterative: recursive programs produce stacks deeper than Python's recursion limit
        n = todo.pop()
        size += 1
        todo.extend(n.children.values())
    return size


def layout(root: Node) -> tuple[list[tuple[int, int, int, str]], int]:
    """Pre-order rows (start, samples, depth, label), root first, children alphabetical; + omitted count."""
    min_samples = root.total * _MIN_FRACTION
    rows: list[tuple[int, int, int, str]] = []
    omitted = 0
    todo: list[tuple[str, Node, int, int]] = [("all", root, 0, 0)]
    while todo:
        label, node, start, depth = todo.pop()
        if node.total == 0 or node.total < min_samples:
            omitted += _subtree_size(node)
            continue
        rows.append((start, node.total, depth, label))
        kids, offset = [], start
        for child_label in sorted(node.children):
            child = node.children[child_label]
            kids.append((child_label, child, offset, depth + 1))
            offset += child.total
        todo.extend(reversed(kids))
    return rows, omitted


def render_svg(
    *, stacks: Mapping[tuple[str, ...], int], title: str, subtitle: str = "", width: int = 1200
) -> str:
    """Return a standalone interactive flame graph SVG document.

    stacks maps a root-first tuple of frame labels to its sample count. The result is
    ASCII-only text. Raises ValueError for an empty profile or an unusably small width.
    """
    if width < 200:
        raise ValueError(f"width must be at least 200 px, got {width}")
    root = build_tree(stacks)
    total = root.total
    if total <= 0:
        raise ValueError("no samples: refusing to render an empty flame graph")
    rows, omitted = layout(root)
    frames = [
        Drawn(
            start,
            count,
            depth,
            label,
            _colour(label),
            f"{label} \u2014 {_plural(count)} ({100 * count / total:.1f}%)",
        )
        for start, count, depth, label in rows
    ]
    desc = f"{subtitle} \u2014 {_plural(total)}" if subtitle else _plural(total)
    return document(
        frames, total=total, omitted=omitted, title=title, subtitle=subtitle, desc=desc, width=width
    )


@dataclass(frozen=True)
class Drawn:
    start: float
    size: float
    depth: int
    label: str
    fill: str
    info: str  # "label \u2014 details": the frame's <title>, shown on hover
    outline: bool = False  # dashed: a frame found in one recording only


@dataclass(frozen=True)
class Legend:
    """A legend entry: a swatch of a colour the frames use, and what it means."""

    fill: str
    words: str
    dashed: bool = False


def document(
    frames: list[Drawn],
    *,
    total: float,
    omitted: int,
    title: str,
    subtitle: str,
    desc: str,
    width: int,
    legend: Sequence[Legend] = (),
    headline: Sequence[tuple[str, str]] = (),
) -> str:
    """The SVG around laid-out frames: title, controls, the main result as lines (headline: a frame's
    colour and a sentence, wrapped, never cut), the frames, the legend and the script."""
    max_depth = max(f.depth for f in frames)
    chars = max(20, int((width - 2 * _PAD - 32) / _CHAR_W))
    lines = [
        (fill if index == 0 else "", part)
        for fill, sentence in headline
        for index, part in enumerate(textwrap.wrap(visible(sentence), chars, break_on_hyphens=False))
    ]
    top = _TOP + _FRAME_H * len(lines) + (8 if lines else 0)
    extra = _FRAME_H * len(legend)
    height = top + (max_depth + 1) * _FRAME_H + _BOTTOM + extra
    scale = (width - 2 * _PAD) / total
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        # Not role="img": an image's content is hidden from assistive technology, and the frames
        # are controls (focusable, Enter or Space zooms), each named by its <title>.
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="100%" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="fg-title fg-desc">',
        f'<title id="fg-title">{_esc(title)}</title>',
        f'<desc id="fg-desc">{_esc(desc)}</desc>',
        f"<style><![CDATA[{_CSS}]]></style>",
        f'<rect id="bg" x="0" y="0" width="{width}" height="{height}"/>',
        f'<text id="title" x="{width / 2:.1f}" y="24">{_esc(title)}</text>',
        f'<text id="subtitle" x="{width / 2:.1f}" y="42">{_esc(subtitle)}</text>',
        f'<text id="reset" class="btn h" {_CONTROL} x="{_PAD}" y="24">Reset zoom</text>',
        f'<text id="clear" class="btn h" {_CONTROL} x="{width - _PAD - 60}" y="24" '
        'text-anchor="end">Clear</text>',
        f'<text id="search" class="btn" {_CONTROL} x="{width - _PAD}" y="24" text-anchor="end">Search</text>',
        f'<text id="details" x="{_PAD}" y="{height - 10 - extra}"> </text>',
        f'<text id="matched" x="{width - _PAD}" y="{height - 10 - extra}" text-anchor="end"></text>',
    ]
    for index, (swatch, words) in enumerate(lines):
        y = _TOP - 6 + index * _FRAME_H
        box = f'<rect x="{_PAD}" y="{y}" width="24" height="{_FRAME_H - 3}" fill="{swatch}"/>'
        box = box if swatch else ""
        out.append(f'<g class="key">{box}<text x="{_PAD + 32}" y="{y + 10}">{_esc(words)}</text></g>')
    for index, entry in enumerate(legend):
        y = height - extra + index * _FRAME_H
        out.append(
            f'<g class="key"><rect x="{_PAD}" y="{y}" width="24" height="{_FRAME_H - 3}" fill="{entry.fill}" '
            f'stroke-width="{1 if entry.dashed else 0.6}"{_dashed(entry.fill) if entry.dashed else ""}/>'
            f'<text x="{_PAD + 32}" y="{y + 10}">{_esc(entry.words)}</text></g>'
        )
    if omitted:
        out.append(f"<!-- {omitted} frames narrower than 0.1% of the width omitted -->")
    out.append('<g id="frames">')
    for f in frames:
        x, w = _PAD + f.start * scale, f.size * scale
        y = top + (max_depth - f.depth) * _FRAME_H
        dash = f' stroke-width="1"{_dashed(f.fill)}' if f.outline else ""
        rect = f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{_FRAME_H - 1}" rx="2" '
        rect += f'fill="{f.fill}"{dash}/>'
        ink = " w" if _white_ink(f.fill) else ""
        out.append(
            f'<g class="f{ink}" {_CONTROL} data-s="{_num(f.start)}" data-n="{_num(f.size)}" '
            f'data-d="{f.depth}">'
            f"<title>{_esc(f.info)}</title>{rect}"
            f'<text x="{x + 3:.2f}" y="{y + 11.5}">{_esc(_fit(visible(f.label), w))}</text></g>'
        )
    out.append("</g>")
    js = _JS.replace("__W__", str(width)).replace("__PAD__", str(_PAD)).replace("__CW__", str(_CHAR_W))
    out.append(f'<script type="text/javascript"><![CDATA[{js}]]></script>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


_CONTROL = 'tabindex="0" role="button"'  # reachable by Tab; Enter or Space acts as a click (the script)


def _luminance(fill: str) -> float:
    """WCAG relative luminance of an "rgb(r,g,b)" fill."""
    channels = [int(c) / 255 for c in re.findall(r"\d+", fill)[:3]]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _white_ink(fill: str) -> bool:
    """Whether white labels contrast more than black ones with a frame's fill (one is always >= 4.5:1)."""
    lum = _luminance(fill)
    return (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05)


def _num(x: float) -> str:
    """Sample counts stay integers in the file; weights of a comparison get six decimals."""
    return str(int(x)) if float(x).is_integer() else f"{x:.6f}"


def _dashed(fill: str) -> str:
    """The dashed outline of a frame found in one recording only (labkit.diffgraph), light on a dark fill."""
    return f' style="stroke:{"#fff" if _white_ink(fill) else "#333"}" stroke-dasharray="3,2"'
