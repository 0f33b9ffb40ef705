"""Lab 2's grader: a lock, judged by lost updates and p95 latency under load.

The learner's update runs inside the lab's web service (a child started here, with its log capped);
the counters and the latencies it reports are data that this process judges.
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
from labkit.grade_checks import QUESTIONS, Check, Say, judged, not_measured
from labkit.graders import GRADERS
from labkit.manifest import Lab
from labkit.records import JSONObject

STATE_CAP = 100_000  # bytes of a /state answer (a learner's service answers it)
LOAD_S = 300.0  # seconds a load may take (its own --max-seconds bounds each repeat far below this)


def program_json(argv: list[str], *, name: str, work: Path, say: Say) -> JSONObject:
    """Run a lab program to its end with --json; its report is read as one a learner could replace."""
    del say
    raw = work / f"{name}.json"
    sandbox.remove(raw)
    ran = sandbox.run([*argv, "--json", str(raw)], cwd=work, log=work / f"{name}.log", limit_s=LOAD_S)
    last = (ran.output.strip().splitlines() or ["(no output)"])[-1]
    if ran.timed_out:
        raise LabError(f"{name}: ran past its {LOAD_S:g} s limit and was stopped")
    if ran.code != 0:
        raise LabError(f"{name}: failed (exit code {ran.code}): {last}")
    try:
        loaded = json.loads(sandbox.read_report(raw))
    except (OSError, ValueError, RecursionError) as exc:
        raise LabError(f"{name}: no readable report ({exc})") from exc
    if not isinstance(loaded, dict):
        raise LabError(f"{name}: its report is not a JSON object")
    return loaded


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
        question="no lost updates under concurrent requests",
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


def grade_lock(lab: Lab, *, root: Path, work: Path, folder: Path, quick: bool, say: Say) -> list[Check]:
    del folder  # the service runs in the repository, as the lab runs it
    ex = exercise.of(lab)
    file, function = exercise.target(lab, root=root)
    cfg = ex.checks["p95"]
    service = runner.python_argv([str(a) for a in cfg["server"]], root)
    command = cfg["quick_program"] if quick and "quick_program" in cfg else cfg["program"]
    loads: dict[str, JSONObject] = {}
    state: dict[str, int] = {}
    # One service at a time, the reference first: the learner's code never runs beside the reference.
    try:
        for name, argv in (("slow", service), ("yours", [*service, "--update", f"{file}:{function}"])):
            who = "the slow version" if name == "slow" else "yours"
            say(f"starting the web service: {who}")
            running = services.start(name, argv, ready=str(cfg["ready"]), cwd=root, log=work / f"{name}.log")
            try:
                url = f"http://127.0.0.1:{running.values['port']}/locked"
                say(f"load on /locked: {who}")
                load = [*runner.python_argv([str(a) for a in command], root), "--url", url]
                loads[name] = program_json(load, name=f"load_{name}", work=work, say=say)
                services.alive(running)
                if name == "yours":
                    state = counters(int(running.values["port"]))
            finally:
                services.stop(running)
                sandbox.cap_file(work / f"{name}.log")
    except (LabError, OSError, ValueError, KeyError, TypeError, http.client.HTTPException) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [
            not_measured(c, QUESTIONS[c], why, hint=str(ex.checks[c]["hint"]), rule="see the hint")
            for c in GRADERS["lock"].checks
        ]
    return [
        check_lost(loads["yours"], state, hint=str(ex.checks["no_lost_updates"]["hint"])),
        check_p95(loads["slow"], loads["yours"], cfg=cfg),
    ]
