"""Running a benchmark program to its end; it writes its raw per-repeat times as JSON."""

from __future__ import annotations

import json

from labkit import benchmark, store
from labkit.errors import LabError
from labkit.kinds.benchmark import plot_name, scaling_svg
from labkit.records import Benchmark
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> Benchmark:
    """Time both versions with the step's program; refuse timings of two versions that disagree."""
    opts = ctx.opts
    argv = ctx.argv(step)
    opts.say(f"{step.id}: timing both versions ({' '.join(argv[2:])})")
    result = ctx.run_json(step, argv, what="benchmark")
    summary = benchmark.summarise(result)  # validates before anything is published
    if not summary["same_result"]:
        raise LabError(f"{step.id}: the two versions disagree; not publishing timings of a wrong answer")
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    plot = plot_name(step.id, summary)
    if plot:
        store.write_text(opts.out / plot, scaling_svg(summary, result))
    return {
        "step": step.id,
        **summary,
        "raw": f"{step.id}.json",
        "plot": plot,
        "command": ctx.shown(argv),
    }
