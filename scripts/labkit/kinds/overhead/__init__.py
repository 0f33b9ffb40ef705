"""The overhead kind: does py-spy slow its target down? (throughput and the target's stops)

Pure: every ratio and rate recomputed from the raw windows, and the table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

from labkit import kinds, overhead
from labkit.blocks import Context, table
from labkit.records import Overhead


def refresh(_step: str, entry: Overhead, data_dir: Path) -> None:
    raw = json.loads((data_dir / entry["raw"]).read_text(encoding="utf-8"))
    entry["ratios"] = overhead.summarise(raw["windows"])
    entry["stops_per_sample"] = overhead.stops_per_sample(raw["windows"])
    entry["rates_hz"] = overhead.sample_rates(raw["windows"])
    entry["paused"] = overhead.paused_share(raw["windows"])
    entry["batch_s"] = overhead.batch_seconds(raw["windows"])


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
    rows = [
        [
            names[key],
            f"{r['median']:.3f}",
            f"{r['min']:.3f}–{r['max']:.3f}",
            ", ".join(f"{v:.3f}" for v in r["values"]),
        ]
        for key, r in ratios.items()
    ]
    stops = data.get("stops_per_sample") or {}
    rows += [
        [
            f"stops of the target per sample, py-spy {'default' if k == 'default' else '--' + k}",
            f"{r['median']:.3f}",
            f"{r['min']:.3f}–{r['max']:.3f}",
            ", ".join(f"{v:.3f}" for v in r["values"]),
        ]
        for k, r in stops.items()
    ]
    rows += [
        [
            f"samples per second, py-spy {'default' if k == 'default' else '--' + k}",
            f"{r['median']:.1f}",
            f"{r['min']:.1f}–{r['max']:.1f}",
            ", ".join(f"{v:.1f}" for v in r["values"]),
        ]
        for k, r in (data.get("rates_hz") or {}).items()
    ]
    rows += [
        [
            f"share of the time the target was stopped, py-spy {'default' if k == 'default' else '--' + k}",
            f"{r['median']:.3f}",
            f"{r['min']:.3f}–{r['max']:.3f}",
            ", ".join(f"{v:.3f}" for v in r["values"]),
        ]
        for k, r in (data.get("paused") or {}).items()
    ]
    caption = (
        f"Throughput ratios of the target (batches per second), {data['rounds']} interleaved rounds of "
        f"{data['window_s']} s windows, py-spy at {data['rate_hz']} Hz; 1.000 means no slowdown. "
        "Stops are the target's voluntary context switches, counted by the kernel"
    )
    return table(["Ratio", "Median", "Min–max", "Per round"], rows, caption=caption)


KIND_SECTION: Final = "overhead"
KIND = kinds.register(
    kinds.Kind(
        name="overhead",
        section=KIND_SECTION,
        keyed=False,
        uses_spy=True,
        accepts_target=True,
        attach=lambda _step: "skippable",
        problem=kinds.target_or_command,
        refresh=refresh,
        blocks={"overhead-table": overhead_table},
    )
)
