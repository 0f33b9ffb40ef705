"""Recording a profile: start the program (or find the running service), attach py-spy, take looks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from labkit import processes, pyspy, services, stacks, store
from labkit.errors import LabError
from labkit.kinds.profile import KIND, derive, profile_figures
from labkit.records import JSONObject, Profile, ProfileHead
from labkit.sanitize import PathMap
from labkit.stepcontext import Context, Options
from labkit.steptypes import Step


@dataclass
class _Look:
    seconds: int
    rec: pyspy.Recording
    data: JSONObject  # the raw speedscope recording


def _record(
    step: Step,
    *,
    exe: str,
    opts: Options,
    seconds: int,
    look: int,
    argv: list[str],
    pid: int | None,
    log: Path,
) -> _Look:
    raw = opts.work / f"{step.id}.look{look}.raw.speedscope.json"
    raw.unlink(missing_ok=True)
    how = f"attaching py-spy to PID {pid}" if pid else "launching the program under py-spy"
    opts.say(f"{step.id}: {how} for {seconds} s at {step.rate} Hz" + (f" (look {look})" if look > 1 else ""))
    rec = pyspy.record(
        exe=exe,
        out=raw,
        log=opts.work / f"{step.id}.py-spy.log",
        cwd=opts.root,
        rate=step.rate,
        duration=seconds,
        pid=pid,
        launch=None if pid else argv,
        extra=step.py_spy_args,
    )
    if not raw.exists():
        raise LabError(
            f"{step.id}: py-spy wrote no recording (exit code {rec.returncode}); it said:\n"
            f"{rec.output.strip() or '(nothing)'}\nThe program's last output:\n{processes.tail(log)}"
        )
    data = stacks.load(raw)
    if stacks.parse(data).sample_count == 0:
        raise LabError(
            f"{step.id}: py-spy took no samples: the program ended, or sat idle, before it "
            f"was sampled (py-spy exit code {rec.returncode}). Not publishing an empty profile."
        )
    return _Look(seconds, rec, data)


def run(ctx: Context, step: Step) -> Profile:
    """Profile one program; an adaptive step takes a pilot look, then one more if its claims need it."""
    lab, exe, opts, plan = ctx.lab, ctx.exe, ctx.opts, ctx.plan
    target = opts.running.get(step.target) if step.target else None
    argv = target.argv if target is not None else ctx.argv(step)
    first = step.adaptive["pilot"] if step.adaptive else step.seconds(quick=opts.quick)
    log = opts.work / f"{step.id}.service.log"
    log.unlink(missing_ok=True)
    (opts.work / f"{step.id}.py-spy.log").unlink(missing_ok=True)
    method = opts.method or step.method
    note, reason = "", ""
    looks: list[_Look] = []
    paths = PathMap.here(opts.root)

    def take_looks(pid: int | None, log: Path) -> None:
        """The pilot (or the fixed duration), then one more look if the planner asks for it."""
        nonlocal reason
        looks.append(_record(step, exe=exe, opts=opts, seconds=first, look=1, argv=argv, pid=pid, log=log))
        if not step.adaptive or plan is None or opts.quick:
            return  # the QUICK configuration never takes a second look
        pilot = _entry(step, looks, paths=paths, method=method, note="", argv=argv, reason="")
        extra, reason = plan(KIND.section or "", step.id, pilot, ctx.earlier(KIND.section or ""))
        extra = min(extra, step.adaptive["max"] - first)
        if extra > 0:
            looks.append(
                _record(step, exe=exe, opts=opts, seconds=extra, look=2, argv=argv, pid=pid, log=log)
            )

    if target is not None:  # a service started by an earlier step: attach to it, it keeps running
        if opts.method == "launch":
            raise LabError(
                f"{step.id}: profiles the running service {step.target!r}, which only --pid can reach"
            )
        try:
            take_looks(target.proc.pid, target.log)
        except pyspy.AttachRefused as refused:
            # a running service: only attaching reaches it
            advice = pyspy.advice_here(lab=lab.id, launch=False)
            raise LabError(f"{refused}\n{advice}") from refused
        services.alive(target)
        method = "pid"
    elif method == "pid":
        service = processes.start(argv, log=log, cwd=opts.root)
        try:
            processes.wait_ready(service, log=log, pattern=step.ready, timeout=30)
            try:
                take_looks(service.pid, log)
            except pyspy.AttachRefused as refused:
                advice = pyspy.advice_here(lab=lab.id, program=" ".join(paths.command(argv)[1:]))
                if opts.method == "pid":
                    raise LabError(f"{refused}\n{advice}") from refused
                opts.say(f"{step.id}: {refused}; using the launch form instead.\n{advice}")
                note = "attaching by PID was refused here, so py-spy launched the program"
                method, looks = "launch", []
            except LabError as failed:
                if service.poll() is None:
                    raise
                raise _exited(step, service.returncode, log) from failed
            exited = service.poll()
        finally:
            processes.stop(service)
        if method == "pid" and exited is not None:
            raise _exited(step, exited, log)
    if method == "launch":
        take_looks(None, log)
    entry = _entry(step, looks, paths=paths, method=method, note=note, argv=argv, reason=reason)
    opts.out.mkdir(parents=True, exist_ok=True)
    clean = stacks.sanitize(stacks.pool([look.data for look in looks]), paths=paths)
    (opts.out / entry["files"]["speedscope"]).write_text(
        json.dumps(clean, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    derived = derive(
        step_id=step.id, title=step.title, speedscope=clean, level=step.ci_level, threads=step.threads
    )
    store.write_text(opts.out / entry["files"]["collapsed"], derived["collapsed"])
    store.write_text(opts.out / entry["files"]["svg"], derived["svg"])
    return entry


def _published_args(args: list[str]) -> list[str]:
    """py-spy's arguments as a reader can reuse them: the output is just a file name."""
    return [Path(a).name if prev == "--output" else a for prev, a in zip(["", *args[:-1]], args, strict=True)]


def _exited(step: Step, code: int | None, log: Path) -> LabError:
    return LabError(
        f"{step.id}: the program exited (code {code}) while it was being profiled; "
        f"its last output:\n{processes.tail(log)}"
    )


def _entry(
    step: Step, looks: list[_Look], *, paths: PathMap, method: str, note: str, argv: list[str], reason: str
) -> Profile:
    """The results entry of the looks so far (also what the adaptive planner judges after the pilot)."""
    clean = stacks.sanitize(stacks.pool([look.data for look in looks]), paths=paths)
    wall = round(sum(look.rec.wall_s for look in looks), 4)
    errors = [look.rec.errors for look in looks]
    entry: ProfileHead = {
        "title": step.title,
        "method": method,
        "method_note": note,
        "rate_hz": step.rate,
        "duration_s": sum(look.seconds for look in looks),
        "wall_s": wall,
        "errors": None if None in errors else sum(e or 0 for e in errors),
        "ci_level": step.ci_level,
        "threads_filter": step.threads,
        "looks": [
            {
                "duration_s": look.seconds,
                "wall_s": round(look.rec.wall_s, 4),
                "samples": stacks.parse(look.data).sample_count,
            }
            for look in looks
        ],
        "adaptive": {**step.adaptive, "reason": reason} if step.adaptive else None,
        "command": paths.command(argv),
        "py_spy_args": _published_args(paths.command(looks[0].rec.args)),
        "files": {
            "speedscope": f"{step.id}.speedscope.json",
            "collapsed": f"{step.id}.collapsed.txt",
            "svg": f"{step.id}.svg",
        },
    }
    derived = derive(
        step_id=step.id,
        title=step.title,
        speedscope=clean,
        level=step.ci_level,
        svg=False,
        threads=step.threads,
        groups=step.groups,
    )
    functions, figures = profile_figures(
        derived, looks=entry["looks"], rate_hz=step.rate, wall=wall, level=step.ci_level
    )
    out = cast(
        Profile,  # its groups are added below, only for a step that names any
        {
            **entry,
            **figures,
            "samples": derived["samples"],
            "share_samples": derived["share_samples"],
            "threads": derived["threads"],
            "functions": functions,
        },
    )
    if "groups" in derived:
        out["groups"] = derived["groups"]
    return out
