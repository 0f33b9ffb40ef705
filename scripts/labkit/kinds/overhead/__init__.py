"""The overhead kind: does py-spy slow its target down? (throughput and the target's stops)

Pure: every ratio and rate recomputed from the raw windows, and the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Final

from labkit import overhead, registry, steptypes
from labkit.blocks import Context, table
from labkit.records import JSONObject, Overhead, Series


def refresh(_step: str, entry: Overhead, data_dir: Path) -> None:
    raw = json.loads((data_dir / entry["raw"]).read_text(encoding="utf-8"))
    entry["ratios"] = overhead.summarise(raw["windows"])
    entry["stops_per_sample"] = overhead.stops_per_sample(raw["windows"])
    entry["rates_hz"] = overhead.sample_rates(raw["windows"])
    entry["paused"] = overhead.paused_share(raw["windows"])
    entry["batch_s"] = overhead.batch_seconds(raw["windows"])


def _row(label: str, r: Series, digits: int = 3) -> list[str]:
    """One line of the table: a series' median, its min–max and its value per round."""
    return [
        label,
        f"{r['median']:.{digits}f}",
        f"{r['min']:.{digits}f}–{r['max']:.{digits}f}",
        ", ".join(f"{v:.{digits}f}" for v in r["values"]),
    ]


def overhead_table(ctx: Context, arg: str | None) -> list[str]:
    """Throughput of the target per mode, and the ratios per round with their spread."""
    data = ctx.results.get(KIND_SECTION)
    if not data:  # the step could not attach here (see the run's messages): say so instead of failing
        return table(
            ["Ratio", "Median", "Min–max", "Per round"],
            [["not measured in this run", "", "", ""]],
            caption="py-spy could not attach to the target in this run, so there is no overhead data",
        )
    ratios = data["ratios"]
    second = data.get("against", "nonblocking")
    names = {
        "default": "py-spy default ÷ no profiler",
        second: f"py-spy --{second} ÷ no profiler",
        f"default_vs_{second}": f"py-spy default ÷ --{second}",
    }
    rows = [_row(names[key], r) for key, r in ratios.items()]
    per_mode = (
        ("stops of the target per sample", data.get("stops_per_sample"), 3),
        ("samples per second", data.get("rates_hz"), 1),
        ("share of the time the target was stopped", data.get("paused"), 3),
    )
    for label, series, digits in per_mode:
        rows += [
            _row(f"{label}, py-spy {'default' if k == 'default' else '--' + k}", r, digits)
            for k, r in (series or {}).items()
        ]
    caption = (
        f"Throughput ratios of the target (batches per second), {data['rounds']} interleaved rounds of "
        f"{data['window_s']} s windows, py-spy at {data['rate_hz']} Hz; 1.000 means no slowdown. "
        "Stops are the target's voluntary context switches, counted by the kernel"
    )
    return table(["Ratio", "Median", "Min–max", "Per round"], rows, caption=caption)


KIND_SECTION: Final = "overhead"


@dataclass(frozen=True)
class Options(steptypes.Attached):
    """An overhead step's keys: py-spy's rate and the windows and rounds it is timed in."""

    KEYS: ClassVar[JSONObject] = {
        "rate": steptypes.RATE,
        "window": {
            "description": "seconds per window, 1 to 10; a round is 3 windows, so a step takes at most "
            "3 × 10 × 4 = 120 s",
            "type": "integer",
            "minimum": 1,
            "maximum": 10,
        },
        "rounds": {
            "description": "rounds of the three windows, 1 to 4 (3 × window × rounds is at most 120 s)",
            "type": "integer",
            "minimum": 1,
            "maximum": 4,
        },
        "against": {
            "description": "the py-spy mode whose cost is set against its default mode: nonblocking "
            "(default) or native",
            "enum": ["nonblocking", "native"],
        },
    }
    rate: int = 100
    window: int = 1
    rounds: int = 3
    against: str = "nonblocking"


KIND = registry.register(
    registry.Kind(
        name="overhead",
        options=Options,
        schema=registry.results_schema(__name__),
        section=KIND_SECTION,
        keyed=False,
        uses_spy=True,
        accepts_target=True,
        attach=lambda _step: "skippable",
        problem=registry.target_or_command,
        refresh=refresh,
        blocks={"overhead-table": overhead_table},
    )
)
