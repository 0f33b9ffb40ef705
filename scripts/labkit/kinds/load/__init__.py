"""The load kind: a load generator in the background (like a service), or run to its end and measured.

Pure: the results entry re-read from the raw JSON, and the latency table.
"""

from __future__ import annotations

import json
from pathlib import Path

from labkit import formats, kinds
from labkit.blocks import Context, named, table
from labkit.records import Load


def refresh(_step: str, entry: Load, data_dir: Path) -> None:
    entry["result"] = json.loads((data_dir / entry["raw"]).read_text(encoding="utf-8"))


def load_table(ctx: Context, arg: str | None) -> list[str]:
    """What a load run measured, per repeat summarised as min, median and max."""
    load = named(ctx, "loads", arg, "load")
    summary = load["result"]["summary"]["all"]
    names = {
        "throughput_rps": ("Throughput", "req/s"),
        "p50_ms": ("p50 latency", "ms"),
        "p95_ms": ("p95 latency", "ms"),
        "p99_ms": ("p99 latency", "ms"),
    }
    rows = [
        [label, *(f"{summary[key][k]:,.1f} {unit}" for k in ("min", "median", "max"))]
        for key, (label, unit) in names.items()
        if key in summary
    ]
    repeats = len(load["result"].get("repeats", []))
    caption = f"{formats.html_text(load['title'] or arg or '')}: {repeats} repeats"
    return table(["", "Min", "Median", "Max"], rows, caption=caption)


KIND = kinds.register(
    kinds.Kind(
        name="load", section="loads", loopback=True, refresh=refresh, blocks={"load-table": load_table}
    )
)
