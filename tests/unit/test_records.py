"""labkit.records: the typed records hold exactly the keys of the schemas and of the committed results.

A TypedDict is only a promise to mypy; these tests keep it: each record's required keys are the
schema's required keys, its declared keys the schema's properties, and every section of the committed
results.json files (docs/labs/lab-1 and lab-2) has the keys its record declares, no more, no fewer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from labkit import records, result_fields, soak
from labkit.kinds.compare import Change, Compare, CompareFiles
from labkit.kinds.latency import Latency, Marks
from labkit.manifest import Lab
from labkit.records import (
    Adaptive,
    Benchmark,
    Calls,
    Claim,
    ClaimSpec,
    Command,
    Dump,
    DumpFiles,
    DumpThread,
    Environment,
    Function,
    Load,
    Look,
    Overhead,
    Profile,
    ProfileFiles,
    Provenance,
    Results,
    Series,
    Spread,
    StepTime,
    Thread,
    Top,
    TopFiles,
    Value,
)

ROOT = Path(__file__).resolve().parents[2]
LABKIT = ROOT / "scripts" / "labkit"
RESULTS_SCHEMA = result_fields.schema()  # results.schema.json with the sections the kinds declare
MANIFEST_SCHEMA = json.loads((LABKIT / "manifest.schema.json").read_text(encoding="utf-8"))
COMMITTED = [ROOT / "docs" / "labs" / lab / "data" / "results.json" for lab in ("lab-1", "lab-2")]

# Each record and where the results' schema describes it (a JSON pointer).
IN_SCHEMA: list[tuple[Any, str]] = [
    (Results, ""),
    (Environment, "/properties/environment"),
    (Provenance, "/properties/provenance"),
    (StepTime, "/properties/provenance/properties/steps/items"),
    (Profile, "/properties/profiles/additionalProperties"),
    (Thread, "/properties/profiles/additionalProperties/properties/threads/items"),
    (Function, "/properties/profiles/additionalProperties/properties/functions/items"),
    (Look, "/properties/profiles/additionalProperties/properties/looks/items"),
    (Adaptive, "/properties/profiles/additionalProperties/properties/adaptive/oneOf/1"),
    (ProfileFiles, "/properties/profiles/additionalProperties/properties/files"),
    (Benchmark, "/properties/benchmark/oneOf/1"),
    (Calls, "/properties/benchmark/oneOf/1/properties/number"),
    (Spread, "/$defs/spread"),
    (Value, "/properties/values/additionalProperties"),
    (Claim, "/$defs/claim"),
    (Command, "/properties/commands/additionalProperties"),
    (Overhead, "/properties/overhead/oneOf/1"),
    (Series, "/properties/overhead/oneOf/1/properties/ratios/additionalProperties"),
    (Series, "/properties/overhead/oneOf/1/properties/batch_s"),
    (Load, "/properties/loads/additionalProperties"),
    (Dump, "/properties/dumps/additionalProperties"),
    (Top, "/properties/tops/additionalProperties"),
    (Compare, "/properties/compares/additionalProperties"),
    (Change, "/properties/compares/additionalProperties/properties/functions/items"),
    (CompareFiles, "/properties/compares/additionalProperties/properties/files"),
    (Latency, "/properties/latencies/additionalProperties"),
    (Marks, "/properties/latencies/additionalProperties/properties/marks/properties/before"),
]


def pointer(schema: dict[str, Any], path: str) -> dict[str, Any]:
    node: Any = schema
    for part in path.split("/")[1:]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    assert isinstance(node, dict)
    return node


def declared(record: Any) -> set[str]:
    return set(record.__required_keys__) | set(record.__optional_keys__)


@pytest.mark.parametrize(("record", "path"), IN_SCHEMA, ids=lambda x: getattr(x, "__name__", x))
def test_required_keys_are_the_schemas(record: Any, path: str) -> None:
    node = pointer(RESULTS_SCHEMA, path)
    assert set(record.__required_keys__) == set(node["required"])
    if node.get("additionalProperties") is False:  # a closed object: its properties are all there is
        assert declared(record) == set(node["properties"])


def test_claim_spec_is_the_manifests_claim() -> None:
    node = pointer(MANIFEST_SCHEMA, "/$defs/claim")
    assert set(ClaimSpec.__required_keys__) == set(node["required"])
    assert declared(ClaimSpec) == set(node["properties"])


def sections(results: dict[str, Any]) -> Iterator[tuple[Any, dict[str, Any]]]:
    """Every (record, data) of one results.json, down to the smallest record."""
    yield Results, results
    yield Environment, results["environment"]
    yield Provenance, results["provenance"]
    yield from ((StepTime, s) for s in results["provenance"]["steps"])
    for p in results["profiles"].values():
        yield Profile, p
        yield ProfileFiles, p["files"]
        yield from ((Thread, t) for t in p["threads"])
        yield from ((Function, f) for f in p["functions"])
        yield from ((Look, look) for look in p["looks"])
        if p["adaptive"] is not None:
            yield Adaptive, p["adaptive"]
    if results["benchmark"] is not None:
        b = results["benchmark"]
        yield Benchmark, b
        yield Calls, b["number"]
        yield from ((Spread, b[k]) for k in ("slow_s", "fast_s", "speedup"))
    yield from ((Value, v) for v in results["values"].values())
    yield from ((Claim, c) for c in results["claims"])
    yield from ((Command, c) for c in results["commands"].values())
    if results["overhead"] is not None:
        o = results["overhead"]
        yield Overhead, o
        yield Series, o["batch_s"]
        yield from ((Series, r) for r in o["ratios"].values())
        yield from ((Series, r) for r in (o["stops_per_sample"] or {}).values())
    yield from ((Load, x) for x in results["loads"].values())
    for d in results["dumps"].values():
        yield Dump, d
        yield DumpFiles, d["files"]
        yield from ((DumpThread, t) for t in d["threads"])
    for t in results["tops"].values():
        yield Top, t
        yield TopFiles, t["files"]
    for c in results["compares"].values():
        yield Compare, c
        yield CompareFiles, c["files"]
        yield from ((Change, f) for f in c["functions"])
    for lat in results["latencies"].values():
        yield Latency, lat
        yield from ((Marks, m) for m in lat["marks"].values())


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.parts[-3])
def test_committed_results_have_the_declared_keys(path: Path) -> None:
    results = records.load_results(path.read_text(encoding="utf-8"))
    for record, data in sections(dict(results)):
        keys = set(data)
        where = f"{path.parts[-3]}: {record.__name__} {sorted(keys)}"
        assert set(record.__required_keys__) <= keys, where
        assert keys <= declared(record), where


def test_every_record_is_met_in_the_committed_results() -> None:
    """Both labs together use every record (else the test above would prove nothing about it)."""
    met = {
        record for path in COMMITTED for record, _ in sections(json.loads(path.read_text(encoding="utf-8")))
    }
    assert met == {record for record, _ in IN_SCHEMA} | {DumpFiles, DumpThread, TopFiles}


def test_manifest_claims_have_the_declared_keys() -> None:
    for path in sorted((ROOT / "labs").glob("lab-*.yml")):
        for claim in yaml.safe_load(path.read_text(encoding="utf-8")).get("claims", []):
            assert set(ClaimSpec.__required_keys__) <= set(claim) <= declared(ClaimSpec), path.name


def test_soak_summary_has_the_declared_keys() -> None:
    lab = Lab(
        id="lab-9", title="t", page=Path("docs/labs/lab-9/index.md"), programs=[], steps=[], values={},
        claims=[], seed=None, source=Path("labs/lab-9.yml"), raw={},
    )  # fmt: skip
    claim = {
        "id": "c", "verdict": "holds", "expect": "holds", "value": 0.5, "interval": [0.4, 0.6],
        "shown": "50%", "rule": "> 30%", "margin": 0.1,
    }  # fmt: skip
    done: list[Any] = [
        {"run": 1, "ok": True, "wall_s": 1.0, "steps": [{"id": "s", "kind": "profile", "wall_s": 0.5}],
         "samples": {"s": 10}, "claims": [claim]},
        {"run": 2, "ok": False, "error": "boom", "wall_s": 2.0},
    ]  # fmt: skip
    for run in done:
        assert set(soak.SoakRun.__required_keys__) <= set(run) <= declared(soak.SoakRun)
    assert set(claim) == declared(soak.RunClaim)
    summary = soak.summarise(lab, done, quick=False)
    assert set(summary) == declared(soak.SoakSummary) == set(soak.SoakSummary.__required_keys__)
    assert set(summary["claims"]["c"]) == declared(soak.ClaimStability)
    assert set(summary["failed_runs"][0]) == declared(soak.FailedRun)
    assert summary["run_wall_s"] is not None and set(summary["run_wall_s"]) == declared(Spread)
