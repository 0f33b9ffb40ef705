"""`make soak`: measure a lab N times into a scratch folder and report how stable its claims are.

An instructor soaks a lab before committing a claim: a claim that comes out as
expected in one run but not in another is a sentence that this machine cannot
decide reliably, and the sentence (never the rule alone) must change. Nothing
here writes into docs/; the summary goes to out/soak/<id>.json.

`make soak ... LOAD=1` soaks the lab on a busier machine: a CPU-bound loop, a child of the
toolkit, keeps one core busy from the first run to the last, and the summary says so.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypedDict

from labkit import claims, kinds, publish, store
from labkit.errors import LabError
from labkit.manifest import Lab
from labkit.records import Claim, ClaimSpec, Results, Scalar, Spread, StepTime
from labkit.versions import SOAK_VERSION

# --- the records of out/soak/<id>.json ----------------------------------------------------------------


class RunClaim(TypedDict):  # one claim in one soak run
    id: str
    verdict: str
    expect: str
    value: Scalar
    interval: list[float] | None
    shown: str
    rule: str
    margin: float | None


class _SoakRunRequired(TypedDict):
    run: int
    ok: bool
    wall_s: float


# one soak run: an ``error``, or its steps' times, samples and claims
class SoakRun(_SoakRunRequired, total=False):
    error: str
    steps: list[StepTime]
    samples: dict[str, int]
    claims: list[RunClaim]


class ClaimStability(TypedDict):  # one claim over every run of a soak
    expect: str
    rule: str
    verdicts: dict[str, int]
    as_expected: int
    value_range: list[float] | None
    smallest_margin: float | None


class FailedRun(TypedDict):
    run: int
    error: str


class Load(TypedDict):  # what else ran during the soak (LOAD=1)
    kind: str
    cores: int
    description: str


class SoakSummary(TypedDict):
    format_version: int
    lab: str
    quick: bool
    background: Load | None
    runs: int
    successes: int
    run_wall_s: Spread | None
    step_wall_s: dict[str, Spread | None]
    claims: dict[str, ClaimStability]
    failed_runs: list[FailedRun]
    every_claim_as_expected: bool
    per_run: list[SoakRun]


Say = Callable[[str], None]
FORMAT_VERSION = SOAK_VERSION  # of out/soak/<id>.json (its changes: labkit.versions)


def margin(entry: Claim, results: Results, spec: ClaimSpec) -> float | None:
    """How far the claim's interval stands from its threshold, on the side the page expects.

    Positive: the whole interval clears the threshold by this much; zero or negative: it touches
    or crosses it (undecided, or the other verdict). None for exact comparisons (==, !=, text).
    """
    op, interval = spec.get("op"), entry.get("interval")
    value = entry.get("value")
    if op not in (">=", ">", "<=", "<") or not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    low, high = interval if interval else (value, value)
    than = spec["than"]
    if isinstance(than, str):  # another measurement: its interval, scaled by the factor
        other = claims.measure(results, than, defined=lambda _name: True)
        factor = float(spec.get("factor", 1))
        olow = (other.value if other.low is None else other.low) * factor
        ohigh = (other.value if other.high is None else other.high) * factor
    else:
        olow = ohigh = float(than)
    above = op in (">=", ">")
    toward_holds = low - ohigh if above else olow - high
    toward_fails = olow - high if above else low - ohigh
    return round(toward_holds if entry["expect"] == "holds" else toward_fails, 6)


def _spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def one_run(lab: Lab, *, root: Path, scratch: Path, quick: bool, method: str | None, say: Say) -> Results:
    """Measure the lab once into ``scratch`` and judge its claims (nothing is refused, nothing published)."""
    if scratch.exists():
        shutil.rmtree(scratch)
    return publish.measure(
        lab, root=root, work=scratch / "work", out=scratch / "data",
        inputs=store.inputs_sha256(lab, root=root, quick=quick), quick=quick, method=method, say=say,
    )  # fmt: skip


# The load: a pure-Python loop on one core. It also stops by itself when its parent (the toolkit) is
# gone, however that went; LOAD_TAG on its command line names it in `ps`.
LOAD_TAG = "labkit-soak-load"
LOAD_LOOP = """
import os, sys
parent = int(sys.argv[1])  # from the command line: the toolkit may be gone before this line runs
while os.getppid() == parent:
    for _ in range(200_000):
        pass
"""
CPU_LOOP: Load = {
    "kind": "cpu-loop",
    "cores": 1,
    "description": "a CPU-bound Python loop, started by the toolkit, kept one core busy for the whole soak",
}


def load_wanted() -> bool:
    """LOAD=1 reaches the toolkit as LABKIT_SOAK_LOAD=1 (the Makefile's soak target)."""
    return os.environ.get("LABKIT_SOAK_LOAD", "") not in ("", "0")


@contextlib.contextmanager
def cpu_load(*, root: Path, log: Path, say: Say) -> Iterator[None]:
    """Keep one core busy while the block runs; the loop is stopped on every way out (Ctrl-C too)."""
    from labkit import processes  # only here: `labkit check` imports this module and must start nothing

    proc = processes.start(
        [sys.executable, "-c", LOAD_LOOP, str(os.getpid()), LOAD_TAG, str(root)], log=log, cwd=root
    )
    say(f"under load: a CPU-bound loop (pid {proc.pid}) keeps one core busy until the soak ends")
    try:
        yield
    finally:
        processes.stop(proc, grace=1.0)


def soak(
    lab: Lab,
    *,
    root: Path,
    runs: int,
    quick: bool,
    method: str | None,
    say: Say,
    load: bool | None = None,
) -> SoakSummary:
    """Run the lab ``runs`` times; summarise verdicts, values, margins and times per claim and per step.

    With ``load`` (by default: LABKIT_SOAK_LOAD=1), every run happens while a CPU loop keeps a core busy.
    """
    if runs < 1:
        raise LabError(f"RUNS must be at least 1 (got {runs})")
    loaded = load_wanted() if load is None else load
    base = root / ".labs" / "soak" / lab.id
    base.mkdir(parents=True, exist_ok=True)
    with cpu_load(root=root, log=base / "load.log", say=say) if loaded else contextlib.nullcontext():
        done = _runs(lab, root=root, base=base, runs=runs, quick=quick, method=method, say=say)
    return summarise(lab, done, quick=quick, load=CPU_LOOP if loaded else None)


def _runs(
    lab: Lab, *, root: Path, base: Path, runs: int, quick: bool, method: str | None, say: Say
) -> list[SoakRun]:
    done: list[SoakRun] = []
    for number in range(1, runs + 1):
        say(f"{lab.id}: soak run {number} of {runs}")
        started = time.perf_counter()
        try:
            results = one_run(
                lab, root=root, scratch=base / f"run-{number}", quick=quick, method=method, say=say
            )
        except LabError as exc:
            wall_s = round(time.perf_counter() - started, 2)
            done.append({"run": number, "ok": False, "error": str(exc), "wall_s": wall_s})
            say(f"{lab.id}: run {number} failed: {str(exc).splitlines()[0]}")
            continue
        wrong = claims.mismatches(results["claims"])
        specs = {c["id"]: c for c in lab.claims}
        wall_s = round(time.perf_counter() - started, 2)
        run_claims: list[RunClaim] = [
            {
                "id": c["id"],
                "verdict": c["verdict"],
                "expect": c["expect"],
                "value": c.get("value"),
                "interval": c.get("interval"),
                "shown": c["shown"],
                "rule": c["rule"],
                "margin": margin(c, results, specs[c["id"]]),
            }
            for c in results["claims"]
            if c["verdict"] != "cited"
        ]
        done.append(
            {
                "run": number,
                "ok": not wrong,
                "wall_s": wall_s,
                "steps": results["provenance"]["steps"],
                "samples": {step: h.number for step, h in kinds.headlines(results)},
                "claims": run_claims,
            }
        )
    return done


class _Tally(TypedDict):
    """One claim's runs so far."""

    expect: str
    rule: str
    verdicts: Counter[str]
    values: list[float]
    margins: list[float]


def summarise(lab: Lab, done: list[SoakRun], *, quick: bool, load: Load | None = None) -> SoakSummary:
    """Per claim: verdict counts, value range, smallest margin; per lab: successes and times."""
    per_claim: dict[str, _Tally] = {}
    for record in done:
        for c in record.get("claims", []):
            entry = per_claim.setdefault(
                c["id"],
                {
                    "expect": c["expect"],
                    "rule": c["rule"],
                    "verdicts": Counter(),
                    "values": [],
                    "margins": [],
                },
            )
            entry["verdicts"][c["verdict"]] += 1
            if isinstance(c["value"], (int, float)) and not isinstance(c["value"], bool):
                entry["values"].append(c["value"])
            if c["margin"] is not None:
                entry["margins"].append(c["margin"])
    claims_out: dict[str, ClaimStability] = {
        cid: {
            "expect": e["expect"],
            "rule": e["rule"],
            "verdicts": dict(sorted(e["verdicts"].items())),
            "as_expected": e["verdicts"][e["expect"]],
            "value_range": [min(e["values"]), max(e["values"])] if e["values"] else None,
            "smallest_margin": min(e["margins"]) if e["margins"] else None,
        }
        for cid, e in per_claim.items()
    }
    step_times: dict[str, list[float]] = {}
    for record in done:
        for step in record.get("steps", []):
            step_times.setdefault(step["id"], []).append(step["wall_s"])
    runs = len(done)
    return {
        "format_version": FORMAT_VERSION,
        "lab": lab.id,
        "quick": quick,
        "background": load,
        "runs": runs,
        "successes": sum(bool(r["ok"]) for r in done),
        "run_wall_s": _spread([r["wall_s"] for r in done]),
        "step_wall_s": {step: _spread(times) for step, times in step_times.items()},
        "claims": claims_out,
        "failed_runs": [{"run": r["run"], "error": r["error"]} for r in done if "error" in r],
        "every_claim_as_expected": all(c["as_expected"] == runs for c in claims_out.values())
        and not any("error" in r for r in done),
        "per_run": done,
    }


def write(summary: SoakSummary, *, root: Path) -> Path:
    path = root / "out" / "soak" / f"{summary['lab']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def exit_code(summary: SoakSummary) -> int:
    return 0 if summary["every_claim_as_expected"] and summary["successes"] == summary["runs"] else 1


def fmt_margin(x: float | None) -> str:
    if x is None:
        return "exact"
    return f"{x:+.4g}" if math.isfinite(x) else str(x)
