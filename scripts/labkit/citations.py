"""Citations of py-spy's source, checked against the version the labs were measured with.

    <!-- cite: src/main.rs | Permission Denied -->(py-spy 0.4.3, [src/main.rs](…): "…")<!-- /cite -->

The toolkit writes what stands between the markers (the version comes from results.json). ``check``
finds each snippet (whitespace-normalised) in that file of py-spy's source distribution, fetched from
the package index, verified by its SHA-256 and cached under ``.labs/pyspy-src/``. Offline, the check is
skipped with its reason; under CI=true it fails instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit import formats, located
from labkit.errors import LabError, where

CITE = re.compile(r"<!-- cite: (?P<args>.*?) -->(?P<shown>.*?)<!-- /cite -->")
INDEX = "https://pypi.org/simple/py-spy/"
REPOSITORY = "https://github.com/benfred/py-spy"
CACHE = Path(".labs") / "pyspy-src"
_PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")
_ANCHOR = re.compile(r"[a-z0-9_-]+")


@dataclass(frozen=True)
class Cited:
    path: str  # in py-spy's source tree: src/main.rs, README.md
    anchor: str  # a README section's anchor, or ""
    snippet: str
    where: str = ""  # page:line or manifest:line, for messages


class Offline(Exception):
    """The source distribution could not be fetched (the check is skipped, or fails on CI)."""


def make(path_anchor: str, snippet: str, *, where: str = "") -> Cited:
    """A citation from its parts, refused when they could break the page or leave py-spy's tree."""
    path, _, anchor = path_anchor.strip().partition("#")
    if not _PATH.fullmatch(path) or ".." in path.split("/"):
        raise LabError(f"cite: {path!r} is not a path in py-spy's source tree (write it like src/main.rs)")
    if anchor and not _ANCHOR.fullmatch(anchor):
        raise LabError(f"cite: #{anchor} is not a section anchor (lower-case words joined by hyphens)")
    if not snippet.strip() or "`" in snippet or "<!--" in snippet or "-->" in snippet or "\n" in snippet:
        raise LabError(
            f"cite: the snippet {snippet!r} must be one line of text, without a backtick, '<!--' or '-->'"
        )
    return Cited(path, anchor, " ".join(snippet.split()), where)


def parse(args: str, *, where: str = "") -> Cited:
    """``PATH[#anchor] | SNIPPET``; the first `` | `` separates them, so the snippet may hold a ``|``."""
    path, bar, snippet = args.partition(" | ")
    if not bar:
        raise LabError(f"a cite marker needs `PATH[#anchor] | SNIPPET`, found {args!r}")
    return make(path, snippet, where=where)


def url(cited: Cited, version: str) -> str:
    return f"{REPOSITORY}/blob/v{version}/{cited.path}" + (f"#{cited.anchor}" if cited.anchor else "")


def render(cited: Cited, version: str | None) -> str:
    """What a page shows: (py-spy V, [PATH](link at V): "SNIPPET"), escaped for Markdown and HTML."""
    if not version:
        raise LabError(
            "a cite marker needs the py-spy version the lab was measured with; results.json has none"
        )
    link = f"[{formats.escape(cited.path)}]({url(cited, version)})"
    return f"(py-spy {version}, {link}: “{formats.escape(cited.snippet)}”)"


def html(cited: Cited, version: str | None) -> str:
    """The same inside a generated HTML table (the claims table)."""
    if not version:
        raise LabError(f"claim cites py-spy's {cited.path}, but results.json names no py-spy version")
    link = f'<a href="{url(cited, version)}">{formats.html_text(cited.path)}</a>'
    return f"(py-spy {formats.html_text(version)}, {link}: “{formats.html_text(cited.snippet)}”)"


def in_pages(texts: dict[str, str], kinds: Any) -> list[Cited]:
    """Every cite marker of the pages' prose (not in code blocks), with page:line."""
    out = []
    for page, text in texts.items():
        for number, (line, kind) in enumerate(zip(text.split("\n"), kinds(text), strict=True), 1):
            if kind == "prose":
                out += [parse(m["args"], where=where(page, number)) for m in CITE.finditer(line)]
    return out


def in_manifest(source: Path, *, root: Path) -> list[tuple[str, Cited]]:
    """(claim id, its ``cite:``) for each claim of a manifest that has one; where: manifest:line."""
    doc = located.read(source, root=root)  # libyaml when available: this runs on every `make assets`
    node, data = doc.node, doc.data or {}
    claims = next((v for k, v in node.value if k.value == "claims"), None) if node is not None else None
    out = []
    for index, claim in enumerate(data.get("claims") or []):
        cite = claim.get("cite")
        if isinstance(cite, dict) and claims is not None:
            item = claims.value[index]
            key = next((k for k, _ in item.value if k.value == "cite"), item)
            line = key.start_mark.line + 1
            at = f"{where(source, line)}: claim {claim.get('id')!r}"
            cited = make(str(cite.get("path", "")), str(cite.get("snippet", "")), where=at)
            out.append((str(claim.get("id")), cited))
    return out


def for_claims(root: Path, lab_id: str) -> dict[str, Cited]:
    """Claim id → its citation, read from the lab's manifest (for the claims table); {} without one."""
    source = Path("labs") / f"{lab_id}.yml"
    if not (root / source).is_file():
        return {}
    return dict(in_manifest(source, root=root))


def _get(address: str, *, accept: str = "") -> bytes:
    import urllib.request  # only when a citation is fetched: every `make assets` imports this module

    request = urllib.request.Request(address, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body: bytes = response.read()
            return body
    except OSError as exc:
        raise Offline(f"cannot fetch {address} ({getattr(exc, 'reason', exc)})") from exc


def sdist(version: str, *, root: Path) -> Path:
    """py-spy ``version``'s source distribution, from the cache or the package index (SHA-256 verified)."""
    name = f"py_spy-{version}.tar.gz"
    cache = root / CACHE
    path, stamp = cache / name, cache / f"{name}.sha256"
    if (
        path.is_file()
        and stamp.is_file()
        and hashlib.sha256(path.read_bytes()).hexdigest() == stamp.read_text(encoding="utf-8").strip()
    ):
        return path
    listing = json.loads(_get(INDEX, accept="application/vnd.pypi.simple.v1+json"))
    entry = next(
        (f for f in listing.get("files", []) if f.get("filename") in (name, f"py-spy-{version}.tar.gz")), None
    )
    if entry is None:
        raise LabError(f"the package index has no source distribution of py-spy {version}")
    expected = entry["hashes"]["sha256"]
    if not str(entry["url"]).startswith("https://"):
        raise LabError(f"the package index gives a non-https address for {name}")
    body = _get(entry["url"])
    if hashlib.sha256(body).hexdigest() != expected:
        raise LabError(f"{name} from the package index does not match its SHA-256 {expected}")
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(body)
    os.replace(partial, path)
    stamp.write_text(expected + "\n", encoding="utf-8")
    return path


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def section(text: str, anchor: str) -> str | None:
    """The Markdown section under the heading with this anchor (to the next heading as high), or None."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m and _slug(m[2]) == anchor:
            level = len(m[1])
            end = next(
                (j for j in range(i + 1, len(lines)) if re.match(rf"^#{{1,{level}}}\s", lines[j])), len(lines)
            )
            return "\n".join(lines[i:end])
    return None


def problems_in(tarball: Path, cites: list[Cited], version: str) -> list[str]:
    """The citations whose file, section or snippet is not in the source distribution."""
    import tarfile  # only when citations are checked against a source distribution

    with tarfile.open(tarball, "r:gz") as archive:
        members = {m.name.split("/", 1)[1]: m for m in archive.getmembers() if "/" in m.name and m.isfile()}
        out = []
        for c in cites:
            member = members.get(c.path)
            if member is None:
                out.append(f"{c.where}: cite {c.path}: py-spy {version} has no such file")
                continue
            handle = archive.extractfile(member)
            text = handle.read().decode("utf-8", errors="replace") if handle else ""
            if c.anchor:
                found = section(text, c.anchor)
                if found is None:
                    out.append(f"{c.where}: cite {c.path}#{c.anchor}: py-spy {version} has no such section")
                    continue
                text = found
            if c.snippet not in " ".join(text.split()):
                inside = f"{c.path}#{c.anchor}" if c.anchor else c.path
                out.append(f'{c.where}: cite {inside}: "{c.snippet}" is not in py-spy {version}\'s {inside}')
    return out


def check(
    cites: list[Cited], version: str | None, *, root: Path, ci: bool | None = None
) -> tuple[list[str], list[str]]:
    """(problems, notes): each citation against py-spy ``version``'s source; offline, a note (CI: fails)."""
    if not cites:
        return [], []
    if not version:
        return [f"{cites[0].where}: cites py-spy's source, but results.json names no py-spy version"], []
    try:
        tarball = sdist(version, root=root)
    except Offline as exc:
        on_ci = os.environ.get("CI", "").lower() == "true" if ci is None else ci
        reason = f"{len(cites)} citations of py-spy {version}'s source not checked: {exc}"
        return ([f"{reason} (CI=true: the check may not be skipped)"], []) if on_ci else ([], [reason])
    return problems_in(tarball, cites, version), []


def check_lab(
    texts: dict[str, str], manifest: Path, *, root: Path, version: str | None, kinds: Any
) -> tuple[list[str], list[str]]:
    """(problems, notes) of every citation on a lab's pages and in its manifest's cited claims."""
    try:
        cites = in_pages(texts, kinds) + [c for _, c in in_manifest(manifest, root=root)]
    except LabError as exc:
        return [str(exc)], []
    return check(cites, version, root=root)
