"""Running `py-spy top` in a pseudo-terminal and keeping its last screen."""

from __future__ import annotations

import io
import re

from labkit import live, services, terminal
from labkit.records import Top
from labkit.sanitize import PathMap
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> Top:
    """`py-spy top` through a pseudo-terminal; its last screen as text and as a terminal picture."""
    exe, opts = ctx.exe, ctx.opts
    paths = PathMap.here(opts.root)
    (opts.work / f"{step.id}.log").unlink(missing_ok=True)
    pid, own = ctx.pid_of(step)
    seconds = step.seconds(quick=opts.quick)
    try:
        opts.say(f"{step.id}: py-spy top for {seconds} s (through a pseudo-terminal)")
        screen = live.top(
            exe=exe,
            pid=pid,
            seconds=seconds,
            cwd=opts.root,
            log=opts.work / f"{step.id}.log",
            paths=paths,
            rate=step.rate,
        )
    finally:
        if own is not None:
            services.stop(own)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.txt").write_text(screen, encoding="utf-8")
    (opts.out / f"{step.id}.svg").write_text(
        terminal_svg(screen, title=step.title or "py-spy top"), encoding="utf-8"
    )
    return {
        "title": step.title,
        "seconds": seconds,
        "files": {"text": f"{step.id}.txt", "svg": f"{step.id}.svg"},
    }


def terminal_svg(text: str, *, title: str) -> str:
    """A picture of a terminal screen (rich's SVG export), deterministic for the same text.

    The screen holds the program's function names: control characters are shown as escapes (a raw one
    would also make the SVG invalid XML).
    """
    console = terminal.Console(
        record=True,
        width=max(80, max((len(line) for line in text.splitlines()), default=80)),
        file=io.StringIO(),
        color_system=None,
        force_terminal=False,
    )
    console.print(text, markup=False, highlight=False, soft_wrap=True)
    svg = console.export_svg(title=title, unique_id="terminal")
    # rich's template loads a web font from a CDN; the site loads nothing from other origins.
    return re.sub(r"@font-face\s*\{[^}]*\}", "", svg)
