"""Running the overhead measurement on a target; a refused attach skips the step (claims stay undecided)."""

from __future__ import annotations

import json

from labkit import overhead, pyspy
from labkit.kinds import Context
from labkit.manifest import Step
from labkit.records import Overhead
from labkit.runner import python_argv
from labkit.sanitize import PathMap


def run(ctx: Context, step: Step) -> Overhead | None:
    """The target's throughput with no profiler, py-spy's default mode and --nonblocking, interleaved."""
    try:
        return _measure(ctx, step)
    except pyspy.AttachRefused as refused:
        # Nothing to measure without attaching; claims on it stay undecided (never "holds").
        ctx.opts.say(f"{step.id}: skipped, {refused}")
        return None


def _measure(ctx: Context, step: Step) -> Overhead:
    lab, exe, opts = ctx.lab, ctx.exe, ctx.opts
    argv = python_argv(step.argv(quick=opts.quick, seed=lab.seed), opts.root)
    opts.say(
        f"{step.id}: {step.rounds} rounds of {step.window} s windows: no profiler, default, --nonblocking"
    )
    raw = overhead.measure(
        argv=argv,
        ready=step.ready,
        exe=exe,
        cwd=opts.root,
        work=opts.work,
        rate=step.rate,
        window_s=step.window,
        rounds=step.rounds,
        say=opts.say,
    )
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    return {
        "step": step.id,
        "title": step.title,
        "raw": f"{step.id}.json",
        "command": PathMap.here(opts.root).command(argv),
        "rate_hz": step.rate,
        "window_s": step.window,
        "rounds": step.rounds,
        "ratios": raw["ratios"],
        "stops_per_sample": overhead.stops_per_sample(raw["windows"]),
        "batch_s": overhead.batch_seconds(raw["windows"]),
    }
