"""`make check`: every page agrees with its results, every result agrees with its raw data, nothing is stale.

Everything derived is recomputed from the raw files in data/ (the sanitised
recordings, the benchmark's raw times), so a hand-edited number fails, named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labkit import citations, claims, errors, kinds, notebook, pages, privacy, prose, store
from labkit.derive import page_context, recomputed
from labkit.errors import LabError
from labkit.manifest import Lab
from labkit.resultfile import environment_here, published, read_results, target, validate


def _first_difference(stored: Any, recomputed: Any, path: str = "") -> tuple[str, Any, Any]:
    """Where two JSON values first differ, down to the leaf: `functions[main].total_share`."""
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


def _pages(lab: Lab, *, root: Path, into: Path, fix: str) -> dict[str, str]:
    texts = {}
    for page in lab.pages:
        try:
            texts[page.as_posix()] = (into / page).read_text(encoding="utf-8")
        except OSError as exc:
            shown = (into / page).relative_to(root).as_posix()
            raise LabError(
                f"{shown}: cannot be read ({exc.strerror})" + (f"; {fix}" if into != root else "")
            ) from exc
    return texts


def _stale_notebook(lab: Lab, *, root: Path, into: Path, texts: dict[str, str], fix: str) -> str | None:
    """The notebook as the page at ``into`` gives it (docs/: `notebook.stale`, with its own advice)."""
    if into == root:
        return notebook.stale(lab, root=root)
    path = into / notebook.path_of(lab)
    shown = path.relative_to(root).as_posix()
    if not path.exists():
        return f"{shown}: missing; {fix}"
    if path.read_text(encoding="utf-8") != notebook.dumps(
        notebook.build(lab, texts[lab.page.as_posix()], root=root)
    ):
        return f"{shown}: stale: it differs from what its page and manifest give; {fix}"
    return None


def leftovers(lab: Lab, *, root: Path, into: Path, fix: str) -> list[str]:
    """Files an interrupted swap left in the lab's folders (``index.md.new``, ``data.old/``, ...)."""
    folders = {(into / p).parent for p in published(lab)} | {(into / lab.data_dir).parent}
    found = sorted({path for folder in folders for path in store.leftovers(folder)})
    return [
        f"{path.relative_to(root).as_posix()}: an interrupted run left this; {fix} repairs it"
        for path in found
    ]


def check_lab(lab: Lab, *, root: Path, quick: bool = False) -> tuple[list[str], list[str]]:
    """(problems that fail the check, notes that are only reported).

    ``quick``: check what a QUICK run wrote into its mirror (out/quick/) instead of docs/; QUICK results
    are accepted there, and refused in docs/.
    """
    into = target(root, quick=quick)
    fix = f"run `make assets{' QUICK=1' if quick else ''} LAB={lab.id}`"
    texts = _pages(lab, root=root, into=into, fix=fix)
    stored = read_results(into / lab.data_dir)
    values = stored.get("values") if isinstance(stored, dict) else None
    # Numbers typed into prose need only the pages and the manifest: reported even when the results
    # cannot be checked (missing, an older format, a page naming a value they lack).
    typed = prose.unbound(lab, texts=texts, values=values if isinstance(values, dict) else {}, root=root)
    # Citations of py-spy's source, at the version the lab was measured with (skipped offline, noted).
    env = stored.get("environment") if isinstance(stored, dict) else None
    version = env.get("py_spy") if isinstance(env, dict) else None
    cited, skipped = citations.check_lab(texts, lab.source, root=root, version=version, kinds=pages.regions)
    typed += cited
    # The notebook is generated from the manifest and the page: a stale one fails, named.
    stale = _stale_notebook(lab, root=root, into=into, texts=texts, fix=fix)
    typed += [stale] if stale else []
    typed += leftovers(lab, root=root, into=into, fix=fix)
    try:
        problems, notes = _check_results(lab, root=root, into=into, fix=fix, texts=texts, allow_quick=quick)
    except LabError as exc:
        return [str(exc), *typed], skipped
    return [*problems, *typed], [*notes, *skipped]


def _check_results(
    lab: Lab, *, root: Path, into: Path, fix: str, texts: dict[str, str], allow_quick: bool
) -> tuple[list[str], list[str]]:
    data_dir = into / lab.data_dir
    where = f"{data_dir.relative_to(root).as_posix()}/results.json"
    problems: list[str] = []
    notes: list[str] = []
    results = read_results(data_dir)
    if results is None:
        return [*problems, f"{where}: missing; {fix}"], notes
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
    try:
        fresh = recomputed(lab, results, root=root, data_dir=data_dir)
    except (OSError, json.JSONDecodeError, LabError) as exc:
        return [*problems, f"{where}: cannot recompute from the raw data: {exc}"], notes
    sections = [kind.section for kind in kinds.sections() if kind.section]
    for section in [*sections, "values", "claims"]:
        _compare(problems, where, section, results.get(section), fresh.get(section))
    for kind, step, entry in kinds.entries(fresh):
        if kind.artifacts is not None:
            for name, expected in kind.artifacts(step, entry, data_dir).items():
                path = data_dir / name
                if not store.same_text(path, expected):
                    problems.append(
                        f"{where}: {kind.section}.{step}: {name} differs from what its raw data give; {fix}"
                    )
    wrong = [claims.describe(c) for c in claims.mismatches(fresh["claims"])]
    if results["quick"]:
        notes += [f"QUICK result, not judged: {w}" for w in wrong]
    else:
        problems += wrong
    for page in lab.pages:
        text = texts[page.as_posix()]
        ctx = page_context(lab, page, results=results, data_dir=data_dir, root=root)
        _, diffs = pages.render(text, ctx, page=page.as_posix())
        shown = (into / page).relative_to(root).as_posix()
        for diff in diffs:
            d = _first_changed_line(diff)
            said = "the source" if d.marker.split(" ")[0] in ("line", "name", "cite") else where
            problems.append(
                f"{errors.where(shown, d.line)}: {d.marker} shows {d.found[:60]!r} but {said} says "
                f"{d.expected[:60]!r}; {fix} rewrites the page"
            )
    problems += claims.unstated(results["claims"], texts)
    files = [*(into / p for p in lab.pages), *privacy.tree(data_dir)]
    files += [path for path in [into / notebook.path_of(lab)] if path.exists()]
    leaks = privacy.scan(files, root=root)
    problems += [f"{leak} (must not be published)" for leak in leaks]
    return problems, notes


def _first_changed_line(d: pages.Difference) -> pages.Difference:
    """For a generated block, show the first line that differs, not the shared opening."""
    expected, found = d.expected.split("\n"), d.found.split("\n")
    for offset, (a, b) in enumerate(zip(expected, found, strict=False)):
        if a != b:
            return pages.Difference(d.line + offset, d.marker, a.strip(), b.strip())
    return pages.Difference(d.line, d.marker, f"{len(expected)} lines", f"{len(found)} lines")
