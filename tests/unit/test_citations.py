"""labkit.citations: citations of py-spy's source written into pages and found in its source distribution."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from labkit import citations, manifest, pages
from labkit.errors import LabError

from tests.helpers import need
from tests.unit.test_manifest import GOOD, write

VERSION = "9.9.9"
README = """\
# py-spy

py-spy works on Linux, OSX, Windows and FreeBSD.

## Frequently Asked Questions

### How do you detect if a thread is idle or not?

py-spy attempts to only include stack traces from
threads that are actively running code.

### Why am I getting a "Permission Denied" error?

Elsewhere.
"""
MAIN = (
    "eprintln!(\"Permission Denied: Try running again with elevated permissions by going 'sudo -E !!'\");\n"
)


def _sdist(root: Path, files: dict[str, str], version: str = VERSION) -> Path:
    """A fake source distribution in the cache, with its SHA-256 stamp (as a download leaves it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"py_spy-{version}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path = root / citations.CACHE / f"py_spy-{version}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    path.with_name(path.name + ".sha256").write_text(hashlib.sha256(buffer.getvalue()).hexdigest(), "utf-8")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _sdist(tmp_path, {"README.md": README, "src/main.rs": MAIN})
    return tmp_path


def _offline(address: str, *, accept: str = "") -> bytes:
    raise citations.Offline(f"cannot fetch {address} (no network in this test)")


def test_snippets_found_in_the_source_pass_whitespace_normalised(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(citations, "_get", _offline)  # the cached copy is used: no download
    cites = [
        citations.parse("src/main.rs | Permission Denied: Try running again with elevated permissions"),
        citations.parse(
            "README.md#how-do-you-detect-if-a-thread-is-idle-or-not | only include stack traces from threads"
        ),
        citations.parse("README.md | OSX, Windows and FreeBSD"),
    ]
    assert citations.check(cites, VERSION, root=root) == ([], [])


def test_a_snippet_that_is_not_in_the_source_fails_naming_the_citation(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(citations, "_get", _offline)
    cites = [
        citations.parse("src/main.rs | Permission Denied: run as root", where="docs/p.md:12"),
        citations.parse(
            "README.md#how-do-you-detect-if-a-thread-is-idle-or-not | Elsewhere", where="docs/p.md:13"
        ),
        citations.parse("README.md#no-such-section | py-spy", where="docs/p.md:14"),
        citations.parse("src/missing.rs | anything", where="docs/p.md:15"),
    ]
    problems, notes = citations.check(cites, VERSION, root=root)
    assert notes == []
    assert problems == [
        'docs/p.md:12: cite src/main.rs: "Permission Denied: run as root" '
        f"is not in py-spy {VERSION}'s src/main.rs",
        "docs/p.md:13: cite README.md#how-do-you-detect-if-a-thread-is-idle-or-not: "
        f'"Elsewhere" is not in py-spy {VERSION}\'s README.md#how-do-you-detect-if-a-thread-is-idle-or-not',
        f"docs/p.md:14: cite README.md#no-such-section: py-spy {VERSION} has no such section",
        f"docs/p.md:15: cite src/missing.rs: py-spy {VERSION} has no such file",
    ]


def test_offline_the_check_is_skipped_with_its_reason_and_on_ci_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(citations, "_get", _offline)
    cites = [citations.parse("README.md | py-spy", where="p.md:1")]
    problems, notes = citations.check(cites, "0.4.3", root=tmp_path, ci=False)
    assert problems == []
    assert notes == [
        "1 citations of py-spy 0.4.3's source not checked: cannot fetch https://pypi.org/simple/py-spy/ "
        "(no network in this test)"
    ]
    problems, notes = citations.check(cites, "0.4.3", root=tmp_path, ci=True)
    assert notes == [] and len(problems) == 1 and "CI=true" in problems[0]


def test_a_download_is_verified_by_its_sha256_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tarball = _sdist(tmp_path / "elsewhere", {"README.md": README}).read_bytes()
    good = hashlib.sha256(tarball).hexdigest()
    served = {"sha256": "0" * 64}
    asked: list[str] = []

    def fake(address: str, *, accept: str = "") -> bytes:
        asked.append(address)
        if address == citations.INDEX:
            assert accept == "application/vnd.pypi.simple.v1+json"
            url = f"https://files.example/py_spy-{VERSION}.tar.gz"
            return json.dumps(
                {"files": [{"filename": f"py_spy-{VERSION}.tar.gz", "url": url, "hashes": served}]}
            ).encode()
        return tarball

    monkeypatch.setattr(citations, "_get", fake)
    with pytest.raises(LabError, match="does not match its SHA-256"):
        citations.sdist(VERSION, root=tmp_path)
    assert not (tmp_path / citations.CACHE / f"py_spy-{VERSION}.tar.gz").exists()
    served["sha256"] = good
    path = citations.sdist(VERSION, root=tmp_path)
    assert path == tmp_path / ".labs/pyspy-src" / f"py_spy-{VERSION}.tar.gz"
    asked.clear()
    assert citations.sdist(VERSION, root=tmp_path) == path and asked == []  # from the cache
    path.write_bytes(tarball + b"tampered")
    assert citations.sdist(VERSION, root=tmp_path) == path and asked  # a changed cache is fetched again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("src/main.rs", "needs `PATH[#anchor] | SNIPPET`"),
        ("../etc/passwd | root", "not a path in py-spy's source tree"),
        ("/etc/passwd | root", "not a path in py-spy's source tree"),
        ("README.md#Not An Anchor | x", "not a section anchor"),
        ("README.md | a `code` b", "without a backtick"),
        ("README.md | <!-- a", "without a backtick, '<!--' or '-->'"),
        ("README.md |  ", "must be one line of text"),
    ],
)
def test_a_citation_that_could_break_the_page_is_refused(args: str, message: str) -> None:
    with pytest.raises(LabError, match=message.replace("[", r"\[").replace("|", r"\|")):
        citations.parse(args)


def test_a_citation_is_written_with_the_measured_version_and_escaped() -> None:
    cited = citations.parse("README.md#how-do-you-detect | a | b <module> __init__")
    assert citations.render(cited, "0.4.3") == (
        "(py-spy 0.4.3, [README.md]"
        "(https://github.com/benfred/py-spy/blob/v0.4.3/README.md#how-do-you-detect): "
        "“a \\| b &lt;module&gt; \\_\\_init\\_\\_”)"
    )
    with pytest.raises(LabError, match="no py-spy version"):
        citations.html(cited, None)


MANIFEST = (
    GOOD
    + """\
claims:
  - id: mac
    text: macOS needs root
    expect: holds
    evidence: cited
    source: py-spy's README
    cite: {path: "README.md", snippet: "OSX always requires running as root"}
"""
)


def test_a_cited_claim_may_carry_a_citation_checked_like_a_page_s(tmp_path: Path) -> None:
    (tmp_path / "labs/prog").mkdir(parents=True)
    (tmp_path / "labs/prog/main.py").write_text("def main():\n    pass\n", encoding="utf-8")
    (tmp_path / "docs/labs/lab-7").mkdir(parents=True)  # a manifest's page must exist
    (tmp_path / "docs/labs/lab-7/index.md").write_text("# Lab 7\n", encoding="utf-8")
    lab = manifest.load(write(tmp_path, MANIFEST), root=tmp_path)
    found = citations.in_manifest(lab.source, root=tmp_path)
    assert found == [
        ("mac", citations.Cited("README.md", "", "OSX always requires running as root", found[0][1].where))
    ]
    line = MANIFEST[: MANIFEST.index("    cite:")].count("\n") + 1
    assert found[0][1].where == f"labs/lab-7.yml:{line}: claim 'mac'"
    problems, _ = citations.check([c for _, c in found], VERSION, root=_with_sdist(tmp_path))
    assert problems == [
        f"labs/lab-7.yml:{line}: claim 'mac': cite README.md: \"OSX always requires running as root\" "
        f"is not in py-spy {VERSION}'s README.md"
    ]


def _with_sdist(root: Path) -> Path:
    _sdist(root, {"README.md": README})
    return root


@pytest.mark.parametrize(
    ("cite", "message"),
    [
        ('{path: "README.md", snippet: "a `b` c"}', "claims/0/cite/snippet"),
        ('{path: "../README.md", snippet: "x"}', "claims/0/cite/path"),
        ('{path: "README.md"}', "'snippet' is a required property"),
    ],
)
def test_the_manifest_schema_refuses_a_bad_citation(tmp_path: Path, cite: str, message: str) -> None:
    (tmp_path / "labs/prog").mkdir(parents=True)
    text = MANIFEST.replace('{path: "README.md", snippet: "OSX always requires running as root"}', cite)
    with pytest.raises(LabError, match=message):
        manifest.load(write(tmp_path, text), root=tmp_path)


def test_a_measured_claim_may_not_carry_a_citation(tmp_path: Path) -> None:
    (tmp_path / "labs/prog").mkdir(parents=True)
    text = MANIFEST.replace(
        "evidence: cited\n    source: py-spy's README",
        "evidence: measured\n    value: a.b\n    op: '>'\n    than: 1",
    )
    with pytest.raises(LabError, match=r"lab-7.yml:3\d:\d+: claims/0/cite"):
        manifest.load(write(tmp_path, text), root=tmp_path)


def test_the_claims_table_links_a_cited_claim_to_its_source(tmp_path: Path) -> None:
    (tmp_path / "labs/prog").mkdir(parents=True)
    (tmp_path / "labs/prog/main.py").write_text("def main():\n    pass\n", encoding="utf-8")
    write(tmp_path, MANIFEST)
    claim = {
        "id": "mac", "text": "macOS needs root", "page": "docs/labs/lab-7/index.md", "evidence": "cited",
        "expect": "holds", "reason": "", "source": "py-spy's README", "link": "", "verdict": "cited",
        "rule": "", "shown": "",
    }  # fmt: skip
    results = {"lab": "lab-7", "claims": [claim], "environment": {"py_spy": "0.4.3"}}
    ctx = pages.Context(
        results=results, data_href="data", data_dir=tmp_path / "docs/labs/lab-7/data", page=claim["page"]
    )  # type: ignore[arg-type]
    cell = next(row for row in pages.claims_table(ctx, None) if "macOS" in row)
    assert (
        'py-spy&#39;s README (py-spy 0.4.3, <a href="https://github.com/benfred/py-spy/blob/v0.4.3/README.md">'
        "README.md</a>: “OSX always requires running as root”)"
    ) in cell


def test_the_real_sdist_of_py_spy_0_4_3_holds_the_snippets_the_labs_cite(tmp_path: Path) -> None:
    cites = [
        citations.parse(
            "src/main.rs | Permission Denied: Try running again with elevated permissions", where="a"
        ),
        citations.parse(
            "README.md#how-do-you-detect-if-a-thread-is-idle-or-not | py-spy attempts to", where="b"
        ),
        citations.parse("README.md | OSX always requires running as root", where="c"),
        citations.parse("src/main.rs | a sentence py-spy never wrote", where="d"),
    ]
    problems, notes = citations.check(cites, "0.4.3", root=tmp_path)
    need(not notes, f"the package index cannot be reached: {notes}")
    assert problems == [
        'd: cite src/main.rs: "a sentence py-spy never wrote" is not in py-spy 0.4.3\'s src/main.rs'
    ]
