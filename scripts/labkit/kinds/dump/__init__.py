"""The dump kind: `py-spy dump` of every thread at one instant, as text and JSON.

Pure: the per-thread summary re-read from the JSON, and the table.
"""

from __future__ import annotations

import json
from pathlib import Path

from labkit import formats, registry, steptypes
from labkit.blocks import Context, named, table
from labkit.records import Dump, DumpThread


def summarise_dump_json(text: str) -> list[DumpThread]:
    """Per thread of a (sanitised) `py-spy dump --json`: name, flags, frame count, innermost frame."""
    summary: list[DumpThread] = []
    for thread in json.loads(text):
        frames = thread.get("frames") or []
        top = None
        if frames:
            first = frames[0]  # py-spy lists the innermost frame first
            where = first.get("filename") or first.get("short_filename")
            top = f"{first.get('name')} ({where}:{first.get('line')})"
        summary.append(
            {
                "thread_name": thread.get("thread_name"),
                "active": bool(thread.get("active")),
                "owns_gil": bool(thread.get("owns_gil")),
                "frames": len(frames),
                "top": top,
            }
        )
    return summary


def refresh(_step: str, entry: Dump, data_dir: Path) -> None:
    entry["threads"] = summarise_dump_json((data_dir / entry["files"]["json"]).read_text(encoding="utf-8"))


def dump_table(ctx: Context, arg: str | None) -> list[str]:
    """`py-spy dump` as a table: one row per thread, what it was doing at that instant."""
    dump = named(ctx, "dumps", arg, "dump")
    rows = [
        [
            f"<code>{formats.html_text(t['thread_name'] or '?')}</code>",
            "yes" if t["active"] else "no",
            "yes" if t["owns_gil"] else "no",
            str(t["frames"]),
            f"<code>{formats.html_text(t['top'] or '')}</code>",
        ]
        for t in dump["threads"]
    ]
    files = dump["files"]
    caption = (
        f"{formats.html_text(dump['title'] or 'py-spy dump')}: every thread at one instant, from the "
        f'<a href="{ctx.data_href}/{files["json"]}">JSON dump</a> (the '
        f'<a href="{ctx.data_href}/{files["text"]}">text dump</a> is a second look, a moment later)'
    )
    return table(["Thread", "Active", "Holds the GIL", "Frames", "Innermost frame"], rows, caption=caption)


KIND = registry.register(
    registry.Kind(
        name="dump",
        options=steptypes.Attached,
        schema=registry.results_schema(__name__),
        section="dumps",
        uses_spy=True,
        accepts_target=True,
        attach=lambda _step: "must",
        problem=registry.target_or_command,
        refresh=refresh,
        blocks={"dump-table": dump_table},
    )
)
