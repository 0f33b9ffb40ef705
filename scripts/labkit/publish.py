"""Turn a lab's measurements into its published data folder and page, atomically; reuse them when fresh."""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from labkit import SCHEMA_VERSION, pages, provenance, pyspy, runner, store, values
from labkit.errors import LabError
from labkit.manifest import Lab

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")


@dataclass(frozen=True)
class Outcome:
    lab: str
    status: str  # "measured", "updated" (values or page rewritten from stored data) or "unchanged"
    results: dict[str, Any]


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def validate(results: Any, *, where: str) -> None:
    # best_match descends into oneOf/anyOf, so a message names the deepest field, not just "benchmark"
    found = (best_match([e]) for e in jsonschema.Draft202012Validator(schema()).iter_errors(results))
    errors = sorted(found, key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [
            f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
            for e in errors[:10]
        ]
        raise LabError("results do not match the schema:\n" + "\n".join(lines))


def environment(lab: Lab) -> dict[str, str | None]:
    """What, besides the inputs, can change a measurement; a change re-measures."""
    needs_spy = any(s.kind == "profile" for s in lab.steps)
    return {"python": platform.python_version(), "py_spy": pyspy.version(pyspy.find()) if needs_spy else None}


def environment_here(lab: Lab) -> dict[str, str | None]:
    """The same, for reports only: a machine without py-spy can still check the pages."""
    try:
        return environment(lab)
    except LabError:
        return {"python": platform.python_version(), "py_spy": "not installed"}


def read_results(data_dir: Path) -> dict[str, Any] | None:
    path = data_dir / "results.json"
    if not path.exists():
        return None
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"{path}: unreadable ({exc})") from exc
    return loaded


def dump(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def assemble(
    lab: Lab,
    measured: dict[str, Any],
    *,
    root: Path,
    inputs: str,
    quick: bool,
    env: dict[str, str | None],
    generated_at: str,
) -> dict[str, Any]:
    prov = provenance.collect(root=root, py_spy=measured["py_spy"])
    results: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "lab": lab.id,
        "title": lab.title,
        "generated_at": generated_at,
        "inputs_sha256": inputs,
        "quick": quick,
        "environment": env,
        "provenance": {**prov, "seed": lab.seed, "quick": quick},
        "profiles": measured["profiles"],
        "benchmark": measured["benchmark"],
        "values": {},
    }
    results["values"] = values.evaluate(results, lab.values, defined=lambda f: lab.defines(f, root=root))
    return results


def page_text(lab: Lab, results: dict[str, Any], *, root: Path, data_dir: Path) -> tuple[str, str]:
    """(current page, page with every marker regenerated from ``results``)."""
    page = root / lab.page
    try:
        current = page.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabError(f"{lab.page}: the lab's page cannot be read ({exc.strerror})") from exc
    ctx = pages.Context(results=results, data_href=pages.data_href(lab.page, lab.data_dir), data_dir=data_dir)
    new, _ = pages.render(current, ctx, page=str(lab.page))
    return current, new


def assets(
    lab: Lab, *, root: Path, force: bool, quick: bool, method: str | None, say: Callable[[str], None]
) -> Outcome:
    """Re-measure a lab when its inputs or environment changed; always re-derive values and page."""
    data_dir = root / lab.data_dir
    repaired = store.repair(data_dir)
    if repaired:
        say(f"{lab.id}: {repaired}")
    staged = data_dir.with_name("data.new")
    inputs = store.inputs_sha256(lab, root=root, quick=quick)
    env = environment(lab)
    existing = read_results(data_dir)
    fresh = (
        not force
        and existing is not None
        and existing.get("inputs_sha256") == inputs
        and existing.get("environment") == env
    )
    try:
        if fresh and existing is not None:
            results = dict(existing)
            results["values"] = values.evaluate(
                results, lab.values, defined=lambda f: lab.defines(f, root=root)
            )
            validate(results, where=f"{lab.data_dir}/results.json")
            current, new_page = page_text(lab, results, root=root, data_dir=data_dir)
            if results == existing and new_page == current:
                return Outcome(lab.id, "unchanged", results)
            shutil.copytree(data_dir, staged)
            (staged / "results.json").write_text(dump(results), encoding="utf-8")
            status = "updated"
        else:
            if staged.exists():
                shutil.rmtree(staged)
            opts = runner.Options(
                root=root,
                work=root / ".labs" / "work" / lab.id,
                out=staged,
                quick=quick,
                method=method,
                say=say,
            )
            measured = runner.run(lab, opts=opts)
            results = assemble(
                lab, measured, root=root, inputs=inputs, quick=quick, env=env, generated_at=provenance.now()
            )
            validate(results, where="new results.json")
            (staged / "results.json").write_text(dump(results), encoding="utf-8")
            current, new_page = page_text(lab, results, root=root, data_dir=staged)
            status = "measured"
        store.swap_in(data_dir=data_dir, staged=staged, page=root / lab.page, page_text=new_page)
    finally:
        if staged.exists():
            shutil.rmtree(staged)  # a failed or interrupted run leaves docs/ as it was
    return Outcome(lab.id, status, results)


def learner_run(
    lab: Lab, *, root: Path, quick: bool, method: str | None, say: Callable[[str], None]
) -> tuple[Path, dict[str, Any]]:
    """The same measurements into out/<id>/ (replaced whole), never into docs/."""
    out = root / "out" / lab.id
    staged = out.with_name(out.name + ".new")
    if staged.exists():
        shutil.rmtree(staged)
    try:
        opts = runner.Options(
            root=root, work=root / ".labs" / "learn" / lab.id, out=staged, quick=quick, method=method, say=say
        )
        measured = runner.run(lab, opts=opts)
        env = {"python": platform.python_version(), "py_spy": measured["py_spy"]}
        results = assemble(
            lab,
            measured,
            root=root,
            inputs=store.inputs_sha256(lab, root=root, quick=quick),
            quick=quick,
            env=env,
            generated_at=provenance.now(),
        )
        (staged / "results.json").write_text(dump(results), encoding="utf-8")
        old = out.with_name(out.name + ".old")
        if out.exists():
            out.rename(old)
        staged.rename(out)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if staged.exists():
            shutil.rmtree(staged)
    return out, results
