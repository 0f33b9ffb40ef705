"""Running `py-spy dump` on a running service or on a program the step starts itself."""

from __future__ import annotations

from labkit import live, services
from labkit.kinds.dump import summarise_dump_json
from labkit.records import Dump
from labkit.sanitize import PathMap
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> Dump:
    """What every thread is doing right now: `py-spy dump`, as text and as JSON."""
    exe, opts = ctx.exe, ctx.opts
    paths = PathMap.here(opts.root)
    (opts.work / f"{step.id}.log").unlink(missing_ok=True)
    pid, own = ctx.pid_of(step)
    try:
        opts.say(f"{step.id}: py-spy dump of every thread, as text and as JSON")
        text = live.dump(
            exe=exe, pid=pid, cwd=opts.root, log=opts.work / f"{step.id}.log", paths=paths, as_json=False
        )
        data = live.dump(
            exe=exe, pid=pid, cwd=opts.root, log=opts.work / f"{step.id}.log", paths=paths, as_json=True
        )
    finally:
        if own is not None:
            services.stop(own)
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.txt").write_text(text, encoding="utf-8")
    (opts.out / f"{step.id}.json").write_text(data, encoding="utf-8")
    return {
        "title": step.title,
        "files": {"text": f"{step.id}.txt", "json": f"{step.id}.json"},
        "threads": summarise_dump_json(data),
    }
