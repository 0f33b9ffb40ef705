"""The load kind: a load generator in the background (like a service), or run to its end and measured.

Pure: the results entry re-read from the raw JSON, and the latency table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from labkit import formats, registry, steptypes
from labkit.blocks import Context, named, table
from labkit.records import JSONObject, Load


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


@dataclass(frozen=True)
class Options(steptypes.Ready):
    """A load step's keys: whether it runs in the background (a background load may wait for `ready`)."""

    KEYS: ClassVar[JSONObject] = {
        "background": {
            "description": "true starts it and goes on (stopped by a stop step or at the end of the lab)",
            "type": "boolean",
        },
    }
    background: bool = False


KIND = registry.register(
    registry.Kind(
        name="load",
        options=Options,
        schema=registry.results_schema(__name__),
        section="loads",
        loopback=True,
        refresh=refresh,
        blocks={"load-table": load_table},
    )
)
