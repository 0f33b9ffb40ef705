"""The profile kind: record a program with py-spy (speedscope, once) and derive everything from it.

This module is pure: shares, intervals, rates and pictures from a sanitised recording (what `make
check` recomputes), the page blocks and the standard values. Recording is in ``run.py``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.table import Table

from labkit import formats, registry, stacks, stats, steptypes, terminal
from labkit.blocks import Context, named, table, viewer_links
from labkit.errors import LabError
from labkit.flamegraph import render_svg
from labkit.kinds.profile import claimed
from labkit.kinds.profile.provenance_row import provenance
from labkit.records import (
    AdaptiveSpec,
    Derived,
    Function,
    FunctionShares,
    JSONObject,
    Look,
    Profile,
    Rates,
    Recording,
    Scalar,
)
from labkit.steptypes import Step


def profile_figures(
    derived: Recording, *, looks: list[Look], rate_hz: int, wall: float, level: float
) -> tuple[list[Function], Rates]:
    """The figures that divide by time or by sampling instants (also what `check` recomputes).

    Returns ``derived["functions"]`` with each function's per-instant samples, and the profile's rates.
    """
    instants = sampling_instants(looks, rate_hz=rate_hz)
    functions = per_instant(derived["functions"], share_samples=derived["share_samples"], instants=instants)
    return functions, measured_rates(derived, wall=wall, level=level, instants=instants)


def sampling_instants(looks: list[Look], *, rate_hz: int) -> int:
    """How many times py-spy sampled: ``duration × rate − 1`` per look.

    py-spy's record loop (src/main.rs, 0.4.x) counts its timer's ticks and stops when the count
    reaches duration × rate, before taking that last tick's traces. With ``--idle`` every thread
    appears at every instant, which a recording confirms (each thread has exactly this many samples).
    """
    return sum(int(look["duration_s"]) * rate_hz - 1 for look in looks)


def per_instant(functions: list[FunctionShares], *, share_samples: int, instants: int) -> list[Function]:
    """Each function's samples per sampling instant, with the interval of its total share scaled alike.

    Two recordings of one process with different options (default against --idle) compare on this
    scale: both divide by how many times py-spy sampled, not by how many samples it kept.
    """
    scale = share_samples / instants if instants else 0.0
    out: list[Function] = []
    for f in functions:
        low, high = f["total_ci"]
        out.append(
            {
                **f,
                "total_per_instant": round(f["total_share"] * scale, 4),
                "total_per_instant_ci": [round(low * scale, 4), round(high * scale, 4)],
            }
        )
    return out


def measured_rates(derived: Recording, *, wall: float, level: float, instants: int) -> Rates:
    """Samples of the busiest thread over the wall time we measured (with a Poisson interval), and
    samples of all threads per sampling instant (exact: both counts are known).

    py-spy draws exponential gaps between samples, so n samples over T seconds
    estimate the rate with a relative error of about 1/sqrt(n). The wall time holds py-spy's start-up
    and exit too, which pulls the estimate down; it is not a bound (a run of short gaps can put it above
    the requested rate).
    """
    busiest = max(t["samples"] for t in derived["threads"])
    if busiest > instants:
        raise LabError(
            f"a thread has {busiest:,} samples but py-spy sampled only {instants:,} times: this py-spy "
            "does not stop after duration × rate − 1 instants, as the toolkit assumes (py-spy 0.4.x)"
        )
    rate = busiest / wall if wall > 0 else 0.0
    half = stats.z_value(level) / math.sqrt(busiest) if busiest else 1.0
    return {
        "effective_rate_hz": round(rate, 3),
        "effective_rate_ci": [round(rate * (1 - half), 3), round(rate * (1 + half), 3)],
        "instants": instants,
        "thread_count": len(derived["threads"]),
        "threads_every_instant": sum(t["samples"] == instants for t in derived["threads"]),
        # 1 at most with --gil (one thread holds the GIL); the number of threads with --idle.
        "samples_per_instant": round(derived["samples"] / instants, 4) if instants else 0.0,
    }


def derive(
    *,
    step_id: str,
    title: str,
    speedscope: JSONObject,
    level: float,
    svg: bool = True,
    threads: str = "",
    groups: dict[str, str] | None = None,
) -> Derived:
    """Everything computed from one sanitised recording (also what `check` recomputes).

    The picture shows every thread; the shares are over the threads ``threads`` matches (all by default),
    and so are the shares of the named ``groups`` of functions, when the step names any.
    """
    recording = stacks.parse(speedscope)
    counted = stacks.collapsed(recording)
    chosen = recording.only(threads) if threads else recording
    out: Derived = {
        "samples": recording.sample_count,
        "share_samples": chosen.sample_count,
        "threads": stacks.thread_samples(recording),
        "functions": stacks.functions(chosen, confidence=level),
        "collapsed": stacks.collapsed_text(counted),
    }
    if groups:
        out["groups"] = stacks.groups(chosen, groups, confidence=level)
    if svg:
        out["svg"] = render_svg(
            stacks=counted,
            title=title or step_id,
            width=900,
            subtitle="width = share of samples · click a frame to zoom · press / to search",
        )
    return out


def refresh(step: str, profile: Profile, data_dir: Path) -> None:
    """Recompute a published profile's derived fields from its sanitised speedscope file."""
    derived = derive_stored(step, profile, data_dir=data_dir, svg=False)
    functions, figures = profile_figures(
        derived,
        looks=profile["looks"],
        rate_hz=profile["rate_hz"],
        wall=profile["wall_s"],
        level=profile["ci_level"],
    )
    profile.update(
        {
            "samples": derived["samples"],
            "share_samples": derived["share_samples"],
            "threads": derived["threads"],
            "functions": functions,
        }
    )
    if "groups" in derived:
        profile["groups"] = derived["groups"]
    profile.update(
        {
            "effective_rate_hz": figures["effective_rate_hz"],
            "effective_rate_ci": figures["effective_rate_ci"],
            "instants": figures["instants"],
            "thread_count": figures["thread_count"],
            "threads_every_instant": figures["threads_every_instant"],
            "samples_per_instant": figures["samples_per_instant"],
        }
    )


def derive_stored(step: str, profile: Profile, *, data_dir: Path, svg: bool = True) -> Derived:
    """What a published recording gives, recomputed from its sanitised speedscope file."""
    speedscope = json.loads((data_dir / profile["files"]["speedscope"]).read_text(encoding="utf-8"))
    return derive(
        step_id=step,
        title=profile["title"],
        speedscope=speedscope,
        level=profile["ci_level"],
        svg=svg,
        threads=profile["threads_filter"],
        groups={g["name"]: g["pattern"] for g in profile.get("groups", [])},
    )


def artifacts(step: str, profile: Profile, data_dir: Path) -> dict[str, str]:
    """The collapsed stacks and the flame graph, as the recording gives them."""
    derived = derive_stored(step, profile, data_dir=data_dir)
    files = profile["files"]
    return {files["collapsed"]: derived["collapsed"], files["svg"]: derived["svg"]}


def values(step: str, profile: Profile) -> dict[str, tuple[Scalar, str]]:
    method = "attached by PID" if profile["method"] == "pid" else "launched under py-spy"
    return {
        f"{step}_samples": (profile["samples"], "count"),
        f"{step}_wall": (profile["wall_s"], "seconds"),
        f"{step}_rate": (profile["rate_hz"], "rate"),
        f"{step}_effective_rate": (profile["effective_rate_hz"], "rate"),
        f"{step}_method": (method, "text"),
    }


def _profile(ctx: Context, arg: str | None) -> Profile:
    found: Profile = named(ctx, "profiles", arg, "profile")
    return found


def threads_in_words(pattern: str) -> str:
    """The threads a name pattern chooses, as a reader says it: ``^worker-`` is "the worker threads"."""
    prefix = re.fullmatch(r"\^([A-Za-z][A-Za-z0-9]*)[-_. ]?", pattern)
    if prefix:
        return f"the {formats.html_text(prefix.group(1))} threads"
    return f"the threads whose names match the pattern <code>{formats.html_text(pattern)}</code>"


def _over(profile: Profile) -> str:
    """Which samples the shares are over: the page must say which threads."""
    pattern = profile.get("threads_filter") or ""
    if pattern:
        return f"the {formats.count(profile['share_samples'])} samples of {threads_in_words(pattern)}"
    return f"all {formats.count(profile['samples'])} samples of all threads"


def frame_table(ctx: Context, arg: str | None) -> list[str]:
    profile = _profile(ctx, arg)
    # Where the time is spent first (self), so the hot functions are not crowded out by the base frames.
    chosen = sorted(profile["functions"], key=lambda f: (-f["self_share"], -f["total_share"], f["name"]))[:10]
    rows = [
        [
            f"<code>{formats.html_text(f['name'])}</code>",
            f"<code>{formats.html_text(f['file'])}</code>",
            formats.share(f["self_share"]),
            formats.share(f["total_share"]),
        ]
        for f in chosen
    ]
    title = formats.html_text(profile.get("title") or arg or "")
    caption = (
        f"{title}: the functions with the largest self shares, then the largest totals, over "
        f"{_over(profile)} (a function's lines merged)"
    )
    return table(["Function", "File", "Self", "Total"], rows, caption=caption)


def flamegraph(ctx: Context, arg: str | None) -> list[str]:
    profile = _profile(ctx, arg)
    files = profile["files"]
    svg = f"{ctx.data_href}/{files['svg']}"
    # The SVG scales to the frame's width (viewBox); the frame keeps the graph's proportions.
    match = re.search(
        r'<svg[^>]*\bviewBox="0 0 (\d+) (\d+)"', (ctx.data_dir / files["svg"]).read_text(encoding="utf-8")
    )
    ratio = f"{match.group(1)}/{match.group(2)}" if match else "1200/480"
    top = max(profile["functions"], key=lambda f: (f["self_share"], f["name"]))
    phrase = formats.share_phrase(top["self_share"], largest=True)
    finding = (
        f"Of {_over(profile)}, {phrase} {'end' if phrase in ('most', 'all') else 'ends'} in "
        f"<code>{formats.html_text(top['name'])}</code> ({formats.share(top['self_share'])} self)"
    )
    title = formats.html_text(profile["title"] or arg or "")
    return [
        '<figure class="flamegraph">',
        f'<iframe src="{svg}" title="Flame graph: {title}" loading="lazy" '
        f'style="width:100%;aspect-ratio:{ratio};border:0"></iframe>',
        f"<figcaption>{title}: {formats.count(profile['samples'])} samples in "
        f"{formats.seconds(profile['wall_s'])}. {finding}. Click a frame (or Tab to it and press Enter) "
        "to zoom, hover for counts, press <kbd>/</kbd> to search. "
        + viewer_links(
            ctx, svg=files["svg"], speedscope=files["speedscope"], title=profile["title"] or arg or ""
        )
        + "</figcaption>",
        "</figure>",
    ]


def summary(step: str, profile: Profile) -> Table:
    """The learner's terminal table: the hottest functions first."""
    out = Table(
        title=terminal.cell(
            f"{profile['title'] or step}: {profile['samples']:,} samples, "
            f"{'attached by PID' if profile['method'] == 'pid' else 'launched'}"
        )
    )
    for column in ("function", "file", "self", "total"):
        out.add_column(column, justify="right" if column in ("self", "total") else "left")
    for f in sorted(profile["functions"], key=lambda f: (-f["self_share"], -f["total_share"]))[:6]:
        # The program names its functions and files: shown as text (rich would read `[/b]` as markup).
        out.add_row(
            terminal.cell(f["name"]),
            terminal.cell(f["file"]),
            formats.share(f["self_share"]),
            formats.share(f["total_share"]),
        )
    return out


def headline(_step: str, entry: Profile) -> registry.Headline:
    return registry.Headline(entry["samples"], "samples", entry["files"]["svg"])


def attach(step: Step) -> registry.Attach:
    return "must" if step.target else "may-launch"


@dataclass(frozen=True)
class Options(steptypes.Sampled):
    """A profile step's keys: how py-spy records the program and which threads the shares are over."""

    KEYS: ClassVar[JSONObject] = {
        "threads": {
            "description": "a regular expression on thread names (compiled when the manifest is loaded); "
            "shares are over the matching threads' samples",
            "type": "string",
            "format": "regex",
        },
        "method": {
            "description": "pid (start the program, then attach py-spy) or launch (py-spy starts it)",
            "enum": ["pid", "launch"],
        },
        "py_spy_args": {
            "description": "extra options for py-spy record (--idle, --gil, …); the toolkit sets --rate, "
            "--duration, --format, --output and --pid itself, so they are refused here",
            "type": "array",
            "items": {"type": "string"},
        },
        "adaptive": {"$ref": "#/$defs/adaptive"},
        "groups": {
            "description": "named regular expressions (compiled when the manifest is loaded) on function "
            "names; each group's shares count the samples with any matching frame (total) or ending in one "
            "(self), so a claim can name frames whose exact names differ between machines",
            "type": "object",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {"type": "string", "format": "regex"},
        },
    }
    threads: str = ""
    method: str = "pid"
    py_spy_args: list[str] = field(default_factory=list)
    adaptive: AdaptiveSpec | None = None
    groups: dict[str, str] = field(default_factory=dict)


KIND = registry.register(
    registry.Kind(
        name="profile",
        options=Options,
        schema=registry.results_schema(__name__),
        section="profiles",
        uses_spy=True,
        honours_method=True,
        accepts_target=True,
        attach=attach,
        problem=registry.target_or_command,
        refresh=refresh,
        artifacts=artifacts,
        values=values,
        provenance=provenance,
        blocks={"flamegraph": flamegraph, "frame-table": frame_table},
        summary=summary,
        interval=claimed.interval,
        unsampled=claimed.unsampled,
        headline=headline,
    )
)
