"""Lab 2's grader (`make grade-2`): the learner's update of shared state, judged by lost updates and
by the p95 latency of /locked under load.

The manifest's ``exercise: grader:`` names this file (labkit.graders). The learner's update runs
inside this folder's web service (``--update FILE.py:FUNCTION``, a child with its log capped); the
counters its /state endpoint reports and the load's latencies are data judged here.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
from pathlib import Path

from labkit import claims, exercise, runner, sandbox, services
from labkit.claims import Measured
from labkit.errors import LabError
from labkit.grade_checks import Check, Say, judged, not_measured, program_json, until_decided
from labkit.manifest import Lab
from labkit.records import JSONObject

# Each check, in the order it runs and is shown → the settings it needs in the manifest.
CHECKS = {"no_lost_updates": (), "p95": ("than", "program", "server", "ready")}
QUESTIONS = {
    "no_lost_updates": "no lost updates under concurrent requests",
    "p95": "fast: p95 of /locked, the slow version against yours",
}
STATE_CAP = 100_000  # bytes of a /state answer (a learner's service answers it)


def counters(port: int) -> dict[str, int]:
    """The service's shared counters (its /state endpoint)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/state")
        body = json.loads(connection.getresponse().read(STATE_CAP))
    finally:
        connection.close()
    result: dict[str, int] = body["result"]
    return result


def answered(load: JSONObject) -> tuple[int, int]:
    """Requests answered and failed over every repeat of a load."""
    return sum(int(r["requests"]) for r in load["repeats"]), sum(int(r["errors"]) for r in load["repeats"])


def p95(load: JSONObject) -> Measured:
    s = load["summary"]["all"]["p95_ms"]
    if s["min"] is None:
        return Measured(math.nan, math.nan, math.nan)
    return Measured(s["median"], s["min"], s["max"])


def check_lost(load: JSONObject, state: dict[str, int], *, hint: str) -> Check:
    """The counter AND the records written must each equal the requests answered, none failed.

    Too many is as wrong as too few: an update that adds 10 per request, or skips the write of its
    record (counted by the service itself, under a lock of its own), does not pass.
    """
    ok, failed = answered(load)
    count, records = int(state["count"]), int(state.get("records", -1))
    off = abs(ok - count) + abs(ok - records)
    m = Measured(off + failed)
    verdict = claims.verdict(m, "==", 0) if ok > 0 else "fails"
    how = f"{ok - count} lost" if count <= ok else f"{count - ok} counted twice"
    return Check(
        id="no_lost_updates",
        question=QUESTIONS["no_lost_updates"],
        measured=f"{how}, {failed} failed (counter {count:,} and {records:,} records written after "
        f"{ok:,} answered requests)",
        rule="= 0 lost and 0 failed: the counter and the records written both equal the requests answered",
        verdict=verdict,
        hint="" if verdict == "holds" else hint,
        value=off + failed,
    )


def check_p95(slow: JSONObject, yours: JSONObject, *, cfg: JSONObject) -> Check:
    factor = float(cfg["than"])
    before, after = p95(slow), p95(yours)
    if math.isnan(before.value) or math.isnan(after.value):
        return not_measured(
            "p95", "p95", "a load got no answers", hint=str(cfg["hint"]), rule=f"≥ {factor:g} ×"
        )
    scaled = Measured(after.value * factor, (after.low or 0) * factor, (after.high or 0) * factor)
    check = judged(
        "p95",
        QUESTIONS["p95"],
        before,
        ">=",
        None,
        kind="milliseconds",
        hint=str(cfg["hint"]),
        other=scaled,
        rule=f"the slow version's fastest repeat ≥ {factor:g} × your slowest repeat",
    )
    shown = f"slow version {check.measured}; yours {claims.shown(after, 'milliseconds')}"
    return dataclasses.replace(check, measured=shown)


def grade(lab: Lab, *, root: Path, work: Path, folder: Path, quick: bool, say: Say) -> list[Check]:
    """Both checks; the loads run again while a busy machine leaves the p95 check undecided, as the
    finders' graders time them again (grade_checks.until_decided)."""
    del folder  # the service runs in the repository, as the lab runs it
    ex = exercise.of(lab)
    cfg = ex.checks["p95"]

    def attempt() -> tuple[tuple[dict[str, JSONObject], dict[str, int]], Check]:
        loads, state = measure(lab, root=root, work=work, quick=quick, say=say)
        return (loads, state), check_p95(loads["slow"], loads["yours"], cfg=cfg)

    try:
        (loads, state), fast = until_decided(attempt, say=say)
    except (LabError, OSError, ValueError, KeyError, TypeError, http.client.HTTPException) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [
            not_measured(c, QUESTIONS[c], why, hint=str(ex.checks[c]["hint"]), rule="see the hint")
            for c in CHECKS
        ]
    return [check_lost(loads["yours"], state, hint=str(ex.checks["no_lost_updates"]["hint"])), fast]


def measure(
    lab: Lab, *, root: Path, work: Path, quick: bool, say: Say
) -> tuple[dict[str, JSONObject], dict[str, int]]:
    """The load on the slow service, then on the learner's: (their load reports, the learner's counters)."""
    ex = exercise.of(lab)
    file, function = exercise.target(lab, root=root)
    cfg = ex.checks["p95"]
    service = runner.python_argv([str(a) for a in cfg["server"]], root)
    command = cfg["quick_program"] if quick and "quick_program" in cfg else cfg["program"]
    loads: dict[str, JSONObject] = {}
    state: dict[str, int] = {}
    # One service at a time, the reference first: the learner's code never runs beside the reference.
    for name, argv in (("slow", service), ("yours", [*service, "--update", f"{file}:{function}"])):
        who = "the slow version" if name == "slow" else "yours"
        say(f"starting the web service: {who}")
        running = services.start(
            name,
            argv,
            ready=str(cfg["ready"]),
            cwd=root,
            log=work / f"{name}.log",
            memory=sandbox.memory_mb() << 20,  # the learner's update runs in the service
        )
        try:
            url = f"http://127.0.0.1:{running.values['port']}/locked"
            say(f"load on /locked: {who}")
            load = [*runner.python_argv([str(a) for a in command], root), "--url", url]
            loads[name] = program_json(load, name=f"load_{name}", work=work)
            services.alive(running)
            if name == "yours":
                state = counters(int(running.values["port"]))
        finally:
            services.stop(running)  # its log is capped as it is written (labkit.caplog)
    return loads, state
