"""labkit.privacy.scan: this machine's paths, user and host names never reach a published file."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest
from labkit import privacy


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = tmp_path.resolve() / "repo"
    (repo / "docs").mkdir(parents=True)
    return repo


def put(root: Path, name: str, text: str) -> Path:
    path = root / "docs" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_finds_each_kind_of_leak(root: Path) -> None:
    user = getpass.getuser()
    files = [
        put(root, "a.md", f"line one\nline two\nsee {root}/labs/x.py here\n"),
        put(root, "b.json", '{\n  "out": "/tmp/pyspy-123/out.json"\n}\n'),
        put(root, "c.txt", "ok\nok\nok\nok\n/home/alice/project/x.py\n"),
        put(root, "d.svg", f"<svg>\n<title>{user}@buildhost</title>\n</svg>\n"),
    ]
    leaks = privacy.scan(files, root=root)
    assert any(x.startswith("docs/a.md:3: the repository's absolute path") for x in leaks), leaks
    assert "docs/b.json:2: a /tmp/ path" in leaks
    assert "docs/c.txt:5: a home folder path" in leaks
    assert f"docs/d.svg:2: the name {user!r} in user@host" in leaks


def test_user_as_a_path_part(root: Path) -> None:
    user = getpass.getuser()
    path = put(root, "e.md", f"text\nfrom /srv/{user}/thing\n")
    assert f"docs/e.md:2: the name {user!r} as a path part" in privacy.scan([path], root=root)


def test_clean_files_and_css_root(root: Path) -> None:
    files = [
        put(root, "style.css", ":root {\n  --md-primary: #333;\n}\nhtml:root { color: red }\n"),
        put(
            root,
            "page.md",
            "Files like labs/slow_service/service.py and <stdlib>/random.py are fine.\n"
            "A ratio of 3/tmp is not a path, nor is my.tmp/ here.\n",
        ),
        put(root, "results.json", '{"file": "labs/app/main.py", "email": "example.org"}\n'),
    ]
    assert privacy.scan(files, root=root) == []


def test_skips_binary_and_unknown_suffixes(root: Path) -> None:
    path = put(root, "picture.png", "/tmp/x\n")
    assert privacy.scan([path], root=root) == []


def test_file_outside_root_is_named_by_its_name(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.md"
    outside.write_text("x /tmp/y\n", encoding="utf-8")
    assert privacy.scan([outside], root=root) == ["elsewhere.md:1: a /tmp/ path"]


NAMES = [("user name", "root"), ("host name", "vm"), ("host name", "buildhost"), ("user name", "alice")]
USER = "out.txt:1: this machine's user name 'root' in a captured output"
ALICE = "out.txt:1: this machine's user name 'alice' in a captured output"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("root\n", [USER]),  # whoami
        ("first\nvm\n", ["out.txt:2: this machine's host name 'vm' in a captured output"]),  # hostname
        ("Linux buildhost 6.1.0 x86_64\n", [ALICE.replace("user name 'alice'", "host name 'buildhost'")]),
        ("uid=1000(alice) gid=1000(alice)\n", [ALICE] * 2),
        ("html:alice { color: red }\n", [ALICE]),
        # not the names as words: parts of other words, a short or generic name inside a line
        ('{"refusals": {"user_to_alice": 1}}\nan alice-owned file\nbuildhosts\n', []),
        ("Linux vm 6.1.0\nvmstat\n", []),
        ("uid=0(root) gid=0(root)\nrun py-spy as root\n", []),
    ],
)
def test_bare_names_in_a_captured_output(text: str, found: list[str]) -> None:
    assert privacy.bare_names(text, shown="out.txt", names=NAMES) == found


def test_scan_reads_the_captured_outputs_that_results_json_names(root: Path) -> None:
    """Issue 26, item 19: `whoami`'s output in a command step's file was published."""
    data = root / "docs" / "data"
    data.mkdir()
    user = getpass.getuser()
    (data / "results.json").write_text(
        '{"commands": {"who": {"file": "who.txt"}}, "dumps": {"d": {"files": {"text": "dump.txt"}}}}\n',
        encoding="utf-8",
    )
    (data / "who.txt").write_text(f"you are\n{user}\n", encoding="utf-8")
    (data / "dump.txt").write_text("Thread 1 (idle)\n", encoding="utf-8")
    (data / "style.css").write_text(f":{user} {{ color: red }}\n{user}\n", encoding="utf-8")
    (data / "slow.collapsed.txt").write_text(f"{user} (labs/app.py:1) 3\n", encoding="utf-8")
    leaks = privacy.scan(privacy.tree(data), root=root)
    assert leaks == [f"docs/data/who.txt:2: this machine's user name {user!r} in a captured output"]


def test_a_home_path_written_with_a_tilde(root: Path) -> None:
    """py-spy dump prints the interpreter as `~/.pyenv/...`: the scan must refuse it, not only `/home/...`."""
    files = [
        put(
            root,
            "dump.txt",
            "Process <pid>: python jobs.py\nPython v3.11.7 (~/.pyenv/versions/3.11.7/bin/python3.11)\n",
        )
    ]
    assert privacy.scan(files, root=root) == ["docs/dump.txt:2: a home folder path written with ~"]
    # A lone `~` (a shell prompt, "about ~5 %") is no path.
    assert privacy.scan([put(root, "ok.md", "about ~5 %, cd ~ then <~/x> is html\n")], root=root) == []
