"""What is derived from results: fields recomputed from the raw files, values and claims judged, the pages'
texts regenerated. Pure: no process runs here, so `make check` uses it as `make assets` does.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from labkit import blocks, claims, kinds, pages, values
from labkit.errors import LabError
from labkit.records import Results, load_results
from labkit.spec import Lab


def judged(lab: Lab, results: Results, *, root: Path) -> Results:
    """The results with their values and claims evaluated again (on every run, measured or cached)."""
    defined = functools.partial(lab.defines, root=root)
    results = {**results, "values": values.evaluate(results, lab.values, defined=defined)}
    results["claims"] = claims.evaluate(
        results, lab.claims, default_page=lab.page.as_posix(), defined=defined
    )
    return results


def recomputed(lab: Lab, results: Results, *, root: Path, data_dir: Path) -> Results:
    """The results with everything derived recomputed from the raw files in ``data_dir`` (what `check`
    compares against), then judged."""
    fresh = load_results(json.dumps(results))
    for kind, step, entry in kinds.entries(fresh):
        if kind.refresh is not None:
            kind.refresh(step, entry, data_dir)
    return judged(lab, fresh, root=root)


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
