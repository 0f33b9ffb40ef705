"""Running the overhead measurement on a target; a refused attach skips the step (claims stay undecided)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from labkit import overhead, processes, pyspy
from labkit.errors import LabError
from labkit.overhead import count_batches, raw_samples, rotation, summarise
from labkit.records import JSONObject, Overhead
from labkit.stepcontext import Context
from labkit.steptypes import Step


def run(ctx: Context, step: Step) -> Overhead | None:
    """The target's throughput with no profiler, py-spy's default mode and a second mode, interleaved."""
    try:
        return _measure(ctx, step)
    except pyspy.AttachRefused as refused:
        # Nothing to measure without attaching; claims on it stay undecided (never "holds").
        ctx.opts.say(f"{step.id}: skipped, {refused}")
        return None


def _measure(ctx: Context, step: Step) -> Overhead:
    exe, opts = ctx.exe, ctx.opts
    argv = ctx.argv(step)
    opts.say(
        f"{step.id}: {step.rounds} rounds of {step.window} s windows: no profiler, default, --{step.against}"
    )
    raw = measure(
        argv=argv,
        ready=step.ready,
        exe=exe,
        cwd=opts.root,
        work=opts.work,
        rate=step.rate,
        window_s=step.window,
        rounds=step.rounds,
        say=opts.say,
        against=step.against,
    )
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / f"{step.id}.json").write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    return {
        "step": step.id,
        "title": step.title,
        "raw": f"{step.id}.json",
        "command": ctx.shown(argv),
        "rate_hz": step.rate,
        "window_s": step.window,
        "rounds": step.rounds,
        "against": step.against,
        "ratios": raw["ratios"],
        "rates_hz": overhead.sample_rates(raw["windows"]),
        "paused": overhead.paused_share(raw["windows"]),
        "stops_per_sample": overhead.stops_per_sample(raw["windows"]),
        "batch_s": overhead.batch_seconds(raw["windows"]),
    }


def _counters(pid: int) -> tuple[int, int] | None:
    """(voluntary context switches, ns running or runnable) of the main thread; None without /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        ran = sum(map(int, Path(f"/proc/{pid}/schedstat").read_text().split()[:2]))
    except (OSError, ValueError, IndexError):
        return None
    match = re.search(r"^voluntary_ctxt_switches:\s*(\d+)", status, re.MULTILINE)
    return (int(match.group(1)), ran) if match else None


def _spy(*, exe: str, pid: int, mode: str, rate: int, window_s: int, cwd: Path, work: Path) -> int:
    """One profiled window; returns how many samples py-spy took (its raw output, counted)."""
    args = [exe, "record", "--pid", str(pid), "--rate", str(rate), "--duration", str(window_s)]
    args += ["--format", "raw", "--output", str(work / "overhead.raw")]
    args += [f"--{mode}"] if mode in overhead.SECOND_MODES else []
    log = work / "overhead.py-spy.log"
    spy = processes.start(args, log=log, cwd=cwd)
    try:
        code = spy.wait(timeout=window_s + 60)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"py-spy did not finish within {window_s + 60} s") from exc
    finally:
        processes.stop(spy)
    why = pyspy.refusal(log.read_text(errors="replace"))
    if code != 0 and why:
        raise pyspy.AttachRefused(f"{why}:\n{processes.tail(log)}")
    if code != 0:
        raise LabError(f"py-spy ({mode}) failed with code {code}; its last output:\n{processes.tail(log)}")
    return raw_samples(work / "overhead.raw")


def measure(
    *,
    argv: list[str],
    ready: str,
    exe: str,
    cwd: Path,
    work: Path,
    rate: int,
    window_s: int,
    rounds: int,
    say: Callable[[str], None],
    against: str = "nonblocking",
) -> JSONObject:
    """Run one target; time ``rounds`` × 3 windows of ``window_s`` seconds on it; return the raw data."""
    work.mkdir(parents=True, exist_ok=True)
    log = work / "overhead.service.log"
    log.unlink(missing_ok=True)
    order = rotation(rounds, against)
    windows: list[JSONObject] = []
    target = processes.start(argv, log=log, cwd=cwd)
    try:
        processes.wait_ready(target, log=log, pattern=ready, timeout=30)
        for number, modes in enumerate(order):
            for mode in modes:
                start, before = log.stat().st_size, _counters(target.pid)
                began = time.perf_counter()
                samples = None
                if mode == "none":
                    time.sleep(window_s)
                else:
                    (work / "overhead.raw").unlink(missing_ok=True)
                    samples = _spy(
                        exe=exe, pid=target.pid, mode=mode, rate=rate, window_s=window_s, cwd=cwd, work=work
                    )
                wall = time.perf_counter() - began
                after = _counters(target.pid)
                batches = count_batches(log, start, log.stat().st_size)
                if target.poll() is not None:
                    raise LabError(f"the target exited (code {target.returncode}):\n{processes.tail(log)}")
                if mode == "none" and batches == 0:
                    raise LabError(
                        f"the target completed no batch in {wall:.2f} s without a profiler, so it is not "
                        f"working; its last output:\n{processes.tail(log)}"
                    )
                wall = round(wall, 6)
                window: JSONObject = {"round": number, "mode": mode, "wall_s": wall, "batches": batches}
                window["samples"] = samples
                window["throughput"] = round(batches / wall, 3)
                window["voluntary_switches"] = after[0] - before[0] if before and after else None
                window["not_runnable"] = (
                    round(1 - (after[1] - before[1]) / 1e9 / wall, 4) if before and after else None
                )
                windows.append(window)
                say(f"round {number} {mode:>11}: {batches} batches in {wall:.3f} s")
    finally:
        processes.stop(target)
    return {
        "rate_hz": rate,
        "window_s": window_s,
        "rounds": rounds,
        "order": order,
        "windows": windows,
        "ratios": summarise(windows),
    }
