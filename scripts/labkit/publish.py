"""Turn a lab's measurements into its published data folder and page, atomically; reuse them when fresh.

The orchestration: results are read and written by ``resultfile``, derived by ``derive`` and measured
by ``runner.Engine``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labkit import SCHEMA_VERSION, claims, privacy, prose, provenance, store
from labkit.derive import judged, page_texts
from labkit.errors import ClaimsError, LabError, MeasurementError, as_kind
from labkit.records import Environment, Results
from labkit.resultfile import dump, environment, published, read_results, target, validate
from labkit.spec import Lab


@dataclass(frozen=True)
class Outcome:
    lab: str
    status: str  # "measured", "updated" (values or page rewritten from stored data) or "unchanged"
    results: Results


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
            results = judged(lab, existing, root=root)
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
    """Run the lab's steps (raw outputs in ``work``, publishable files in ``out``) and judge its results.

    The one measuring path of `make assets`, `make lab-N` and `make soak`; it judges claims but refuses
    nothing: what to do with the results is the caller's business.
    """
    from labkit import runner  # only a measuring run starts processes; `check` never gets here

    engine = runner.Engine(
        lab, opts=runner.Options(root=root, work=work, out=out, quick=quick, method=method, say=say)
    )
    engine.run()
    return judged(lab, engine.results(inputs=inputs, generated_at=provenance.now()), root=root)


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
