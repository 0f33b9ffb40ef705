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
from labkit.manifest import Lab, Step
from labkit.records import JSONObject


def program_json(argv: list[str], *, name: str, root: Path, work: Path, say: Say) -> JSONObject:
    """Run a lab program to its end with --json (labkit.runner's way); its log stays in ``work``."""
    opts = runner.Options(root=root, work=work, out=work, quick=False, method=None, say=say)
    try:
        return runner.run_json(Step(id=name, kind="grade"), argv, opts=opts, what=name)
    finally:
        sandbox.cap_file(work / f"{name}.log")


def counters(port: int) -> dict[str, int]:
    """The service's shared counters (its /state endpoint)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/state")
        body = json.loads(connection.getresponse().read())
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
    ok, failed = answered(load)
    lost = max(0, ok - int(state["count"]))
    m = Measured(lost + failed)
    verdict = claims.verdict(m, "==", 0) if ok > 0 else "fails"
    return Check(
        id="no_lost_updates",
        question="no lost updates under concurrent requests",
        measured=f"{lost} lost, {failed} failed (counter {state['count']:,} after {ok:,} answered requests)",
        rule="= 0 lost and 0 failed: the counter equals the requests answered",
        verdict=verdict,
        hint="" if verdict == "holds" else hint,
        value=lost + failed,
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
    started: dict[str, services.Running] = {}
    try:
        for name, argv in (("slow", service), ("yours", [*service, "--update", f"{file}:{function}"])):
            say(f"starting the web service: {'the slow version' if name == 'slow' else 'yours'}")
            started[name] = services.start(
                name, argv, ready=str(cfg["ready"]), cwd=root, log=work / f"{name}.log"
            )
        for name, running in started.items():
            url = f"http://127.0.0.1:{running.values['port']}/locked"
            say(f"load on /locked: {'the slow version' if name == 'slow' else 'yours'}")
            argv = [*runner.python_argv([str(a) for a in command], root), "--url", url]
            loads[name] = program_json(argv, name=f"load_{name}", root=root, work=work, say=say)
            services.alive(running)
        state = counters(int(started["yours"].values["port"]))
    except LabError as exc:
        why = str(exc).strip().splitlines()[0]
        return [
            not_measured(c, QUESTIONS[c], why, hint=str(ex.checks[c]["hint"]), rule="see the hint")
            for c in GRADERS["lock"].checks
        ]
    finally:
        for name, running in started.items():
            services.stop(running)
            sandbox.cap_file(work / f"{name}.log")
    return [
        check_lost(loads["yours"], state, hint=str(ex.checks["no_lost_updates"]["hint"])),
        check_p95(loads["slow"], loads["yours"], cfg=cfg),
    ]
