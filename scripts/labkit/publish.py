"""Turn a lab's measurements into its published data folder and page, atomically; reuse them when fresh."""

from __future__ import annotations

import functools
import json
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jsonschema
from jsonschema.exceptions import best_match

from labkit import (
    SCHEMA_VERSION,
    blocks,
    claims,
    kinds,
    pages,
    privacy,
    prose,
    provenance,
    pyspy,
    store,
    values,
)
from labkit.errors import ClaimsError, LabError, MeasurementError, as_kind
from labkit.manifest import Lab
from labkit.records import Environment, JSONObject, Measured, Results, as_results, load_results

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
# Where a QUICK run publishes: a mirror of what it would write (docs/..., paths as in the repository),
# never docs/ itself. `check --quick` checks it there.
QUICK_INTO = Path("out/quick")


def target(root: Path, *, quick: bool) -> Path:
    """The folder that stands for the repository when published files are written: docs/ lives under it."""
    return root / QUICK_INTO if quick else root


def published(lab: Lab) -> list[Path]:
    """Every file the swap replaces, besides data/: the lab's pages and its notebook (repository paths)."""
    return [*lab.pages, lab.page.parent / f"{lab.id}.ipynb"]  # the notebook: notebook.path_of


@dataclass(frozen=True)
class Outcome:
    lab: str
    status: str  # "measured", "updated" (values or page rewritten from stored data) or "unchanged"
    results: Results


def schema() -> JSONObject:
    """results.schema.json, plus the section of any step kind registered from outside the toolkit."""
    loaded: JSONObject = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    for kind in kinds.sections():
        if kind.section and kind.section not in loaded["properties"]:
            entry = kind.schema or {"type": "object"}
            loaded["properties"][kind.section] = (
                {"type": "object", "additionalProperties": entry}
                if kind.keyed
                else {"oneOf": [{"type": "null"}, entry]}
            )
            loaded["required"].append(kind.section)
    return loaded


def validate(results: object, *, where: str) -> None:
    version = results.get("schema_version") if isinstance(results, dict) else None
    if isinstance(version, int) and version != SCHEMA_VERSION:
        age = "an older" if version < SCHEMA_VERSION else "a newer"
        fix = (
            "run `make assets` to measure it again in this format"
            if version < SCHEMA_VERSION
            else "update the toolkit (git pull)"
        )
        raise LabError(
            f"{where}: format version {version} is {age} format than this toolkit's ({SCHEMA_VERSION}); {fix}"
        )
    # best_match descends into oneOf/anyOf, so a message names the deepest field, not just "benchmark"
    found = (best_match([e]) for e in jsonschema.Draft202012Validator(schema()).iter_errors(results))
    errors = sorted(found, key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [
            f"{where}: {'/'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}"
            for e in errors[:10]
        ]
        raise LabError("results do not match the schema:\n" + "\n".join(lines))


def environment(lab: Lab) -> Environment:
    """What, besides the inputs, can change a measurement; a change re-measures."""
    needs_spy = any(kinds.uses_spy(s) for s in lab.steps)
    return {"python": platform.python_version(), "py_spy": pyspy.version(pyspy.find()) if needs_spy else None}


def environment_here(lab: Lab) -> Environment:
    """The same, for reports only: a machine without py-spy can still check the pages."""
    try:
        return environment(lab)
    except LabError:
        return {"python": platform.python_version(), "py_spy": "not installed"}


def read_results(data_dir: Path) -> Results | None:
    """The stored results as they are: `validate` them before trusting a field."""
    path = data_dir / "results.json"
    if not path.exists():
        return None
    try:
        return load_results(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise LabError(f"{path}: unreadable ({exc})") from exc


def dump(results: Results) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def assemble(
    lab: Lab,
    measured: Measured,
    *,
    root: Path,
    inputs: str,
    quick: bool,
    env: Environment,
    generated_at: str,
) -> Results:
    machine = provenance.collect(root=root, py_spy=measured["py_spy"])
    sections = measured["sections"]
    results = as_results(  # the sections are keyed by the registry, so mypy cannot follow them
        {
            "schema_version": SCHEMA_VERSION,
            "lab": lab.id,
            "title": lab.title,
            "generated_at": generated_at,
            "inputs_sha256": inputs,
            "quick": quick,
            "environment": env,
            "provenance": {
                **machine,
                "run_s": measured["run_s"],
                "steps": measured["steps"],
                "seed": lab.seed,
                "quick": quick,
            },
            **{kind.section: sections[kind.section] for kind in kinds.sections() if kind.section},
            "values": {},
            "claims": [],
        }
    )
    return finish(lab, results, root=root)


def finish(lab: Lab, results: Results, *, root: Path) -> Results:
    """Values and claims, re-evaluated from the results on every run (measured or cached)."""
    defined = functools.partial(lab.defines, root=root)
    results = {**results, "values": values.evaluate(results, lab.values, defined=defined)}
    results["claims"] = claims.evaluate(
        results, lab.claims, default_page=lab.page.as_posix(), defined=defined
    )
    return results


def refresh(lab: Lab, results: Results, *, root: Path, data_dir: Path) -> Results:
    """Recompute everything derived from the raw files in ``data_dir`` (what `check` compares against)."""
    fresh = load_results(json.dumps(results))
    for kind, step, entry in kinds.entries(fresh):
        if kind.refresh is not None:
            kind.refresh(step, entry, data_dir)
    return finish(lab, fresh, root=root)


def planner(lab: Lab, *, root: Path) -> kinds.Planner:
    defined = functools.partial(lab.defines, root=root)
    return lambda step, pilot, earlier: claims.plan_second_look(
        step, pilot, lab.claims, defined=defined, earlier=earlier
    )


def refuse_unstated(lab: Lab, results: Results, texts: dict[Path, tuple[str, str]], *, root: Path) -> None:
    """A page whose claim sentences are missing, or whose prose types unbound numbers, is not published."""
    new = {p.as_posix(): text for p, (_, text) in texts.items()}
    missing = claims.unstated(results["claims"], new)
    missing += prose.unbound(lab, texts=new, values=results["values"], root=root)
    if missing:
        raise LabError("\n".join(missing))


def refuse_mismatches(results: Results) -> None:
    """A run whose claims do not come out as the pages say is never swapped in.

    QUICK results (tests only, never published) are exempt: their small n cannot bear the lab's claims.
    """
    wrong = claims.mismatches(results["claims"])
    if wrong and not results["quick"]:
        raise ClaimsError(
            "claims that do not come out as the page says:\n"
            + "\n".join(f"  - {claims.describe(c)}" for c in wrong)
        )


def page_context(
    lab: Lab, page: Path, *, results: Results, data_dir: Path, root: Path | None = None
) -> blocks.Context:
    """What a page's markers are rendered from: the results, where its data is now, the repository."""
    return blocks.Context(
        results=results,
        data_href=pages.data_href(page, lab.data_dir),
        site_href=pages.site_href(page),
        data_path=lab.data_dir.relative_to(pages.docs_root(lab.data_dir)).as_posix(),
        data_dir=data_dir,
        page=page.as_posix(),
        root=root,
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def page_texts(
    lab: Lab, results: Results, *, root: Path, data_dir: Path, into: Path | None = None
) -> dict[Path, tuple[str, str]]:
    """For each of the lab's pages: (text now at ``into``, its source at ``root`` with every marker
    regenerated from ``results``). ``into`` is ``root`` except for a QUICK run's mirror."""
    out = {}
    for page in lab.pages:
        try:
            source = (root / page).read_text(encoding="utf-8")
        except OSError as exc:
            raise LabError(f"{page}: the lab's page cannot be read ({exc.strerror})") from exc
        ctx = page_context(lab, page, results=results, data_dir=data_dir, root=root)
        new, _ = pages.render(source, ctx, page=page.as_posix())
        out[page] = (source if into in (None, root) else _read(into / page) or "", new)
    return out


def _with_notebook(lab: Lab, texts: dict[Path, tuple[str, str]], *, into: Path, root: Path) -> None:
    """Add the lab's notebook, generated from the page as it is about to be written, to what is swapped in.

    Claims are judged on the pages only, so the notebook (derived from the page and the manifest) is
    added after ``refuse_unstated``.
    """
    from labkit import notebook  # nbformat is imported only by a run that writes the notebook

    path = notebook.path_of(lab)
    try:
        current = (into / path).read_text(encoding="utf-8")
    except OSError:
        current = ""
    texts[path] = (current, notebook.dumps(notebook.build(lab, texts[lab.page][1], root=root)))


def _reusable(existing: Results | None, *, inputs: str, env: Environment) -> bool:
    """Stored results that a run may reuse instead of measuring: same format, inputs and environment."""
    return (
        existing is not None
        and existing.get("schema_version") == SCHEMA_VERSION
        and existing.get("inputs_sha256") == inputs
        and existing.get("environment") == env
    )


def will_measure(lab: Lab, *, root: Path, force: bool, quick: bool) -> bool:
    """Whether `assets` would run the lab's programs (its preflight is needed) or reuse its data.

    Reads only: a data.old/ left by a killed run stands for data/, as `store.repair` would restore it.
    """
    if force:
        return True
    data_dir = target(root, quick=quick) / lab.data_dir
    old = data_dir.with_name("data.old")
    try:
        existing = read_results(data_dir if data_dir.exists() or not old.exists() else old)
        env = environment(lab)
    except LabError:
        return True  # unreadable results or no py-spy: a run is needed, and the preflight says why
    return not _reusable(existing, inputs=store.inputs_sha256(lab, root=root, quick=quick), env=env)


def assets(
    lab: Lab, *, root: Path, force: bool, quick: bool, method: str | None, say: Callable[[str], None]
) -> Outcome:
    """Re-measure a lab when its inputs or environment changed; always re-derive values and page.

    A QUICK run publishes into its mirror (``target``), never into docs/: its small n is for tests.
    """
    into = target(root, quick=quick)
    data_dir = into / lab.data_dir
    with store.writing(root, f"{lab.id} was left as it was"):
        repaired = store.repair(data_dir, [into / p for p in published(lab)])
        data_dir.parent.mkdir(parents=True, exist_ok=True)  # a QUICK mirror's first run
    if repaired:
        say(f"{lab.id}: {repaired}")
    staged = data_dir.with_name("data.new")
    inputs = store.inputs_sha256(lab, root=root, quick=quick)
    env = environment(lab)
    existing = read_results(data_dir)
    fresh = not force and _reusable(existing, inputs=inputs, env=env)
    try:
        if fresh and existing is not None:
            # Inputs unchanged: only values and claims are judged again (`make check` recomputes the rest).
            results = finish(lab, existing, root=root)
            validate(results, where=f"{lab.data_dir}/results.json")
            refuse_mismatches(results)
            texts = page_texts(lab, results, root=root, data_dir=data_dir, into=into)
            refuse_unstated(lab, results, texts, root=root)
            _with_notebook(lab, texts, into=into, root=root)
            if results == existing and all(new == current for current, new in texts.values()):
                return Outcome(lab.id, "unchanged", results)
            with store.writing(root, f"{lab.id} was left as it was"):
                shutil.copytree(data_dir, staged)
            status = "updated"
        else:
            if staged.exists():
                shutil.rmtree(staged)
            try:
                results = measure(
                    lab, root=root, work=root / ".labs" / "work" / lab.id, out=staged, inputs=inputs,
                    quick=quick, method=method, say=say,
                )  # fmt: skip
            except LabError as exc:
                raise as_kind(exc, MeasurementError) from exc
            validate(results, where="new results.json")
            refuse_mismatches(results)
            texts = page_texts(lab, results, root=root, data_dir=staged, into=into)
            refuse_unstated(lab, results, texts, root=root)
            _with_notebook(lab, texts, into=into, root=root)
            status = "measured"
        with store.writing(root, f"{lab.id} was left as it was"):
            (staged / "results.json").write_text(dump(results), encoding="utf-8")
        privacy.refuse_leaks(staged, root=root, what=lab.id)  # dumps and screens too, before any swap
        with store.writing(root, f"{lab.id} was left as it was"):
            pending = {into / page: new for page, (_, new) in texts.items()}
            store.swap_in(data_dir=data_dir, staged=staged, pages=pending)
    finally:
        if staged.exists():
            shutil.rmtree(staged)  # a failed or interrupted run leaves docs/ as it was
    return Outcome(lab.id, status, results)


def measure(
    lab: Lab,
    *,
    root: Path,
    work: Path,
    out: Path,
    inputs: str,
    quick: bool,
    method: str | None,
    say: Callable[[str], None],
) -> Results:
    """Run the lab's steps (raw outputs in ``work``, publishable files in ``out``) and assemble its results.

    The one measuring path of `make assets`, `make lab-N` and `make soak`; it judges claims but refuses
    nothing: what to do with the results is the caller's business.
    """
    from labkit import runner  # only a measuring run starts processes; `check` never gets here

    opts = runner.Options(root=root, work=work, out=out, quick=quick, method=method, say=say)
    measured = runner.run(lab, opts=opts, plan=planner(lab, root=root))
    env: Environment = {"python": platform.python_version(), "py_spy": measured["py_spy"]}
    return assemble(
        lab, measured, root=root, inputs=inputs, quick=quick, env=env, generated_at=provenance.now()
    )


def learner_run(
    lab: Lab, *, root: Path, quick: bool, method: str | None, say: Callable[[str], None]
) -> tuple[Path, Results]:
    """The same measurements into out/<id>/ (replaced whole), never into docs/."""
    out = root / "out" / lab.id
    staged = out.with_name(out.name + ".new")
    if staged.exists():
        shutil.rmtree(staged)
    try:
        results = measure(
            lab, root=root, work=root / ".labs" / "learn" / lab.id, out=staged,
            inputs=store.inputs_sha256(lab, root=root, quick=quick), quick=quick, method=method, say=say,
        )  # fmt: skip
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
