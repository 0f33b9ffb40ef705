"""`make check`: every page agrees with its results, every result agrees with its raw data, nothing is stale.

Everything derived is recomputed from the raw files in data/ (the sanitised
recordings, the benchmark's raw times), so a hand-edited number fails, named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit import benchmark, pages, privacy, runner, store, values
from labkit.errors import LabError
from labkit.manifest import Lab
from labkit.publish import environment_here, read_results, validate


def _first_difference(stored: Any, recomputed: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two JSON values first differ, down to the leaf: `[find_duplicates_slow].total_share`."""
    if isinstance(stored, dict) and isinstance(recomputed, dict):
        for key in sorted(set(stored) | set(recomputed), key=str):
            if key not in stored or key not in recomputed or stored[key] != recomputed[key]:
                return _first_difference(stored.get(key), recomputed.get(key), f"{path}.{key}")
    elif isinstance(stored, list) and isinstance(recomputed, list) and len(stored) == len(recomputed):
        for index, (a, b) in enumerate(zip(stored, recomputed, strict=True)):
            if a != b:
                named = isinstance(a, dict) and isinstance(b, dict) and a.get("name") == b.get("name")
                label = a["name"] if named and isinstance(a.get("name"), str) else index
                return _first_difference(a, b, f"{path}[{label}]")
    return path, stored, recomputed


def _compare(problems: list[str], where: str, field: str, stored: Any, recomputed: Any) -> None:
    if stored != recomputed:
        path, stored, recomputed = _first_difference(stored, recomputed)
        shown = json.dumps(stored)[:80], json.dumps(recomputed)[:80]
        problems.append(f"{where}: {field}{path} is {shown[0]} but the raw data give {shown[1]}")


def check_lab(lab: Lab, *, root: Path, allow_quick: bool = False) -> tuple[list[str], list[str]]:
    """(problems that fail the check, notes that are only reported)."""
    fix = f"run `make assets LAB={lab.id}`"
    data_dir = root / lab.data_dir
    where = f"{lab.data_dir.as_posix()}/results.json"
    problems: list[str] = []
    notes: list[str] = []
    for leftover in ("data.old", "data.new"):
        if data_dir.with_name(leftover).exists():
            problems.append(
                f"{lab.data_dir.parent.as_posix()}/{leftover}: an interrupted run left this; {fix} repairs it"
            )
    results = read_results(data_dir)
    if results is None:
        return [f"{where}: missing; {fix}"], notes
    validate(results, where=where)
    if results["quick"] and not allow_quick:
        problems.append(f"{where}: measured in the QUICK configuration; publish a full run: {fix}")
    if results["lab"] != lab.id:
        problems.append(f"{where}: lab is {results['lab']!r}, expected {lab.id!r}")
    if store.inputs_sha256(lab, root=root, quick=results["quick"]) != results["inputs_sha256"]:
        problems.append(
            f"{where}: stale: the lab's programs, steps or measuring code changed since it was "
            f"measured; {fix}"
        )
    here = environment_here(lab)
    if here != results["environment"]:
        notes.append(
            f"{lab.id}: measured with {results['environment']}, this machine has {here} "
            "(reported only; `make assets` would re-measure)"
        )
    for step, profile in results["profiles"].items():
        _check_profile(
            problems,
            root=root,
            data_dir=data_dir,
            where=f"{where}: profiles.{step}",
            step=step,
            profile=profile,
        )
    if results["benchmark"]:
        bench = results["benchmark"]
        raw = json.loads((data_dir / bench["raw"]).read_text(encoding="utf-8"))
        for field, value in benchmark.summarise(raw).items():
            _compare(problems, f"{where}: benchmark", field, bench.get(field), value)
    try:
        expected_values = values.evaluate(results, lab.values, defined=lambda f: lab.defines(f, root=root))
    except LabError as exc:
        problems.append(f"{lab.source}: {exc}")
        expected_values = results["values"]
    for name in sorted(set(expected_values) | set(results["values"])):
        _compare(problems, f"{where}: values", name, results["values"].get(name), expected_values.get(name))
    ctx = pages.Context(results=results, data_href=pages.data_href(lab.page, lab.data_dir), data_dir=data_dir)
    page_file = root / lab.page
    _, diffs = pages.render(page_file.read_text(encoding="utf-8"), ctx, page=lab.page.as_posix())
    for diff in diffs:
        d = _first_changed_line(diff)
        problems.append(
            f"{lab.page.as_posix()}:{d.line}: {d.marker} shows {d.found[:60]!r} but "
            f"{where} says {d.expected[:60]!r}; {fix} rewrites the page"
        )
    leaks = privacy.scan([page_file, *privacy.tree(data_dir)], root=root)
    problems += [f"{leak} (must not be published)" for leak in leaks]
    return problems, notes


def _check_profile(
    problems: list[str], *, root: Path, data_dir: Path, where: str, step: str, profile: dict[str, Any]
) -> None:
    files = profile["files"]
    try:
        speedscope = json.loads((data_dir / files["speedscope"]).read_text(encoding="utf-8"))
        derived = runner.derive(step_id=step, title=profile["title"], speedscope=speedscope)
    except (OSError, json.JSONDecodeError, LabError) as exc:
        problems.append(f"{where}: cannot read {files['speedscope']}: {exc}")
        return
    for field in ("samples", "threads", "functions"):
        _compare(problems, where, field, profile[field], derived[field])
    busiest = max(t["samples"] for t in derived["threads"])
    _compare(
        problems,
        where,
        "effective_rate_hz",
        profile["effective_rate_hz"],
        round(busiest / profile["wall_s"], 3),
    )
    for kind in ("collapsed", "svg"):
        path = data_dir / files[kind]
        if not path.exists() or path.read_text(encoding="utf-8") != derived[kind]:
            problems.append(f"{where}: {files[kind]} differs from what its recording gives")


def _first_changed_line(d: pages.Difference) -> pages.Difference:
    """For a generated block, show the first line that differs, not the shared opening."""
    expected, found = d.expected.split("\n"), d.found.split("\n")
    for offset, (a, b) in enumerate(zip(expected, found, strict=False)):
        if a != b:
            return pages.Difference(d.line + offset, d.marker, a.strip(), b.strip())
    return pages.Difference(d.line, d.marker, f"{len(expected)} lines", f"{len(found)} lines")
