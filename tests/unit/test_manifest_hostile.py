"""Hostile manifests are refused when they are loaded, each with file:line (and column) and the reason:
paths that leave the repository (absolute, `..`, or a link pointing out), unbounded recordings, bad
regular expressions, a missing page, and claims that name a step, section or function that is not there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from labkit import kinds, manifest, manifest_checks
from labkit.errors import LabError

GOOD = """\
format_version: 1
id: lab-7
title: A hostile test lab
page: docs/labs/lab-7/index.md
seed: 3
programs:
  - labs/prog
steps:
  - id: slow
    kind: profile
    command: [labs/prog/main.py, --seed, "{seed}"]
    ready: "running"
    threads: "^MainThread$"
    rate: 100
    adaptive: {pilot: 2, max: 20}
  - id: bench
    kind: benchmark
    command: [labs/prog/bench.py]
claims:
  - id: main_most
    text: main is on the stack in most samples
    value: profiles.slow.functions.main.total_share
    op: ">"
    than: 0.5
    expect: holds
    evidence: measured
  - id: faster
    text: the fix is faster
    value: benchmark.speedup.min
    op: ">"
    than: 1
    expect: holds
    evidence: measured
"""

EXERCISE = """\
exercise:
  grader: labs/prog/grader.py
  files: [labs/starter/lab-7/finder.py]
  target: finder.py:main
  change: make it fast
  checks:
    correct:
      hint: same answers
      reference: labs/prog/main.py:main
    fast:
      hint: faster
      than: 10
      program: [labs/prog/bench.py]
    scales:
      hint: scales
      than: 1.5
    hot_path:
      hint: flat
      than: 0.5
      duration: 5
      program: [labs/prog/main.py]
      ready: "running"
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository inside tmp_path, with a place outside it (tmp_path/outside) to point links at."""
    repo = tmp_path / "repo"
    (repo / "labs" / "prog").mkdir(parents=True)
    (repo / "labs" / "prog" / "main.py").write_text("def main():\n    pass\n", encoding="utf-8")
    (repo / "labs" / "prog" / "bench.py").write_text("def bench():\n    pass\n", encoding="utf-8")
    (repo / "labs" / "prog" / "grader.py").write_text(  # the lab's grader: its checks, read, never run
        'CHECKS = {"correct": ("reference",), "fast": ("than", "program"), "scales": ("than",),\n'
        '          "hot_path": ("than", "program", "duration")}\n',
        encoding="utf-8",
    )
    (repo / "labs" / "starter" / "lab-7").mkdir(parents=True)
    (repo / "labs" / "starter" / "lab-7" / "finder.py").write_text(
        "def main():\n    pass\n", encoding="utf-8"
    )
    (repo / "docs" / "labs" / "lab-7").mkdir(parents=True)
    (repo / "docs" / "labs" / "lab-7" / "index.md").write_text("# Lab 7\n", encoding="utf-8")
    outside = tmp_path / "outside"
    (outside / "labs").mkdir(parents=True)
    (outside / "evil.py").write_text("def main():\n    pass\n", encoding="utf-8")
    (outside / "index.md").write_text("# elsewhere\n", encoding="utf-8")
    return repo


def load(root: Path, text: str) -> manifest.Lab:
    path = root / "labs" / "lab-7.yml"
    path.write_text(text, encoding="utf-8")
    return manifest.load(path, root=root)


def refused(root: Path, text: str) -> str:
    with pytest.raises(LabError) as caught:
        load(root, text)
    return str(caught.value)


def line_of(text: str, needle: str, *, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line containing ``needle``."""
    found = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return found[occurrence - 1]


def edit(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def assert_located(shown: str, where: str, pattern: str) -> None:
    assert "Traceback" not in shown
    assert re.search(rf"(^|\n){re.escape(where)}(:|\b)", shown), shown
    assert re.search(pattern, shown), shown


def test_the_good_manifest_and_its_exercise_load(root: Path) -> None:
    lab = load(root, GOOD + EXERCISE)
    assert [s.id for s in lab.steps] == ["slow", "bench"]
    assert lab.exercise is not None


# ---- 12: every path stays inside the repository, links resolved -------------------------------


def test_an_absolute_page_is_refused(root: Path) -> None:
    text = edit("page: docs/labs/lab-7/index.md", "page: /abs/path/index.md")
    assert_located(
        refused(root, text),
        "labs/lab-7.yml:4:7",
        r"page must be inside the repository \(docs/labs/lab-7/\.\.\.md\), not /abs/path/index\.md",
    )


@pytest.mark.parametrize(
    "page", ["docs/labs/lab-7/../../../../outside/index.md", "docs/labs/lab-8/index.md", "README.md"]
)
def test_a_page_outside_the_lab_s_folder_is_refused(root: Path, page: str) -> None:
    text = edit("page: docs/labs/lab-7/index.md", f"page: {page}")
    assert_located(refused(root, text), "labs/lab-7.yml:4:7", r"page must be inside the repository")


def test_a_page_that_links_out_of_the_repository_is_refused(root: Path) -> None:
    page = root / "docs" / "labs" / "lab-7" / "index.md"
    page.unlink()
    page.symlink_to(root.parent / "outside" / "index.md")
    assert_located(refused(root, GOOD), "labs/lab-7.yml:4:7", r"a link to a place outside the repository")


def test_a_data_folder_that_links_out_is_refused(root: Path) -> None:
    (root / "docs" / "labs" / "lab-7" / "data").symlink_to(root.parent / "outside", target_is_directory=True)
    assert_located(
        refused(root, GOOD), "labs/lab-7.yml:4", r"data is a link to a place outside the repository"
    )


@pytest.mark.parametrize("folder", ["../../../etc", "/etc", "labs/../../outside", ".", "docs/labs"])
def test_a_program_folder_outside_the_repository_is_refused(root: Path, folder: str) -> None:
    text = edit("  - labs/prog\n", f"  - labs/prog\n  - {folder}\n")
    assert_located(refused(root, text), "labs/lab-7.yml:8:5", r"program folder")


def test_a_program_folder_that_links_out_is_refused(root: Path) -> None:
    (root / "labs" / "etc").symlink_to(root.parent / "outside", target_is_directory=True)
    text = edit("  - labs/prog\n", "  - labs/prog\n  - labs/etc\n")
    assert_located(
        refused(root, text), "labs/lab-7.yml:8:5", r"program folder must be inside the repository .*a link"
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("[/tmp/evil.py]", r"must be inside the repository .*not /tmp/evil\.py \(an absolute path\)"),
        ("[../../x.py]", r"not \.\./\.\./x\.py \(a path that climbs out"),
        ("[/usr/bin/python3, /tmp/evil.py]", r"an absolute path"),
        ("[python3, labs/prog/../../../outside/evil.py]", r"climbs out"),
        ("[labs/other/run.py]", r"labs/other/run\.py is not in one of the lab's program folders: labs/prog"),
    ],
)
def test_a_command_file_outside_the_program_folders_is_refused(
    root: Path, command: str, message: str
) -> None:
    text = edit("command: [labs/prog/bench.py]", f"command: {command}")
    where = f"labs/lab-7.yml:{line_of(text, 'command: ', occurrence=2)}"
    assert_located(refused(root, text), where, rf"step 'bench': command: .*{message}")


def test_a_quick_command_is_confined_too(root: Path) -> None:
    text = edit(
        "command: [labs/prog/bench.py]", "command: [labs/prog/bench.py]\n    quick_command: [/tmp/evil.py]"
    )
    assert_located(refused(root, text), f"labs/lab-7.yml:{line_of(text, 'quick_command')}", r"quick_command")


def test_a_command_file_that_links_out_is_refused(root: Path) -> None:
    (root / "labs" / "prog" / "evil.py").symlink_to(root.parent / "outside" / "evil.py")
    text = edit("command: [labs/prog/bench.py]", "command: [labs/prog/evil.py]")
    assert_located(refused(root, text), "labs/lab-7.yml", r"labs/prog/evil\.py \(a link to a place outside")


def test_the_py_spy_placeholder_and_plain_program_names_are_accepted(root: Path) -> None:
    text = edit("command: [labs/prog/bench.py]", 'command: ["{py-spy}", record, --help]').replace(
        "kind: benchmark", "kind: command"
    )
    text = text.replace("benchmark.speedup.min", "commands.bench.extracted.x")
    assert load(root, text).steps[1].command[0] == "{py-spy}"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "files: [labs/starter/lab-7/finder.py]",
            "files: [FILE]",
            r"exercise file must be inside the repository",
        ),
        ("reference: labs/prog/main.py:main", "reference: ../evil.py:main", r"reference: must be inside"),
        ("program: [labs/prog/bench.py]", "program: [/tmp/evil.py]", r"exercise check 'fast': program:"),
    ],
)
def test_exercise_paths_are_confined(root: Path, old: str, new: str, message: str) -> None:
    # an absolute file that exists: `root / file` is that file, so "it exists" alone let it through
    new = new.replace("FILE", str(root.parent / "outside" / "evil.py"))
    text = GOOD + edit(old, new, EXERCISE)
    assert_located(refused(root, text), "labs/lab-7.yml", message)


def test_a_claim_page_outside_docs_is_refused(root: Path) -> None:
    text = edit("    text: the fix is faster\n", "    text: the fix is faster\n    page: /etc/passwd.md\n")
    assert_located(
        refused(root, text),
        f"labs/lab-7.yml:{line_of(text, 'page: /etc')}:11",
        r"claim 'faster': page must be inside the repository \(docs/\.\.\.md\), not /etc/passwd\.md",
    )


# ---- 17: bounded recordings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "adaptive: {pilot: 2, max: 20}",
            "adaptive: {pilot: 1000000000, max: 20}",
            r"steps/0/adaptive/pilot: 1000000000 is greater than the maximum of 60 "
            r"\(seconds of the first look, 1 to 60\)",
        ),
        (
            "adaptive: {pilot: 2, max: 20}",
            "adaptive: {pilot: 2, max: 100000}",
            r"steps/0/adaptive/max: 100000 is greater than the maximum of 120",
        ),
        (
            "adaptive: {pilot: 2, max: 20}",
            "adaptive: {pilot: 5, max: 2}",
            r"step 'slow': adaptive: max \(2 s\) must be at least pilot \(5 s\)",
        ),
        (
            "adaptive: {pilot: 2, max: 20}",
            "duration: 86400",
            r"steps/0/duration: 86400 is greater than the maximum of 120",
        ),
        ("rate: 100", "rate: 0", r"steps/0/rate: 0 is less than the minimum of 1"),
        (
            "rate: 100",
            "rate: 100000",
            r"steps/0/rate: 100000 is greater than the maximum of 1000 \(samples per second",
        ),
        (
            '    ready: "running"\n',
            '    ready: "running"\n    py_spy_args: [--duration, "999999"]\n',
            r"step 'slow': --duration: the toolkit sets --rate, --duration",
        ),
    ],
)
def test_unbounded_recordings_are_refused_with_the_limit(
    root: Path, old: str, new: str, message: str
) -> None:
    text = edit(old, new)
    key = new.strip().split("\n")[-1].split(":")[0].strip()
    assert_located(refused(root, text), f"labs/lab-7.yml:{line_of(text, key)}", message)


def test_an_adaptive_step_whose_max_is_its_pilot_takes_one_look(root: Path) -> None:
    lab = load(root, edit("adaptive: {pilot: 2, max: 20}", "adaptive: {pilot: 2, max: 2}"))
    assert lab.steps[0].adaptive == {"pilot": 2, "max": 2}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "window: 60",
            r"window: 60 is greater than the maximum of 10 \(seconds per window, 1 to 10",
        ),
        ("rounds: 20", r"rounds: 20 is greater than the maximum of 4"),
    ],
)
def test_overhead_rounds_are_bounded(root: Path, setting: str, message: str) -> None:
    text = GOOD.replace(
        "claims:",
        "  - id: cost\n    kind: overhead\n    command: [labs/prog/main.py]\n    ready: running\n"
        f"    {setting}\nclaims:",
    )
    assert_located(refused(root, text), f"labs/lab-7.yml:{line_of(text, setting)}", rf"steps/2/{message}")


def test_the_schema_s_limits_add_up_to_the_toolkit_s_bound_on_a_step() -> None:
    defs = manifest.schema()["$defs"]
    check = defs["exercise_check"]["properties"]
    step = {k: v for kind in kinds.REGISTRY.values() for k, v in kind.options.properties().items()}
    longest = [
        step["duration"]["maximum"],
        step["quick_duration"]["maximum"],
        defs["adaptive"]["properties"]["max"]["maximum"],
        3 * step["window"]["maximum"] * step["rounds"]["maximum"],
        check["duration"]["maximum"],
        check["quick_duration"]["maximum"],
    ]
    assert set(longest) == {manifest_checks.MAX_SECONDS}
    assert defs["adaptive"]["properties"]["pilot"]["maximum"] < manifest_checks.MAX_SECONDS
    assert step["rate"]["minimum"] >= 1 and step["rate"]["maximum"] <= 1000


def test_a_grader_s_examples_are_bounded(root: Path) -> None:
    text = GOOD + edit(
        "    correct:\n      hint: same answers\n",
        "    correct:\n      hint: same answers\n      examples: 1000000000\n",
        EXERCISE,
    )
    assert_located(
        refused(root, text), "labs/lab-7.yml", r"examples: 1000000000 is greater than the maximum of 1000"
    )


# ---- 18: what used to fail late, with a traceback ---------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('threads: "^MainThread$"', 'threads: "(Main"', "threads"),
        ('ready: "running"', 'ready: "[a-"', "ready"),
        (  # a command step: only its kind takes `extract`
            "kind: benchmark\n    command: [labs/prog/bench.py]",
            "kind: command\n    command: [labs/prog/bench.py]\n    extract: {n: '(?P<n'}",
            "extract",
        ),
    ],
)
def test_a_bad_regular_expression_is_refused_at_load(root: Path, old: str, new: str, key: str) -> None:
    text = edit(old, new)
    line = line_of(text, f"{key}:")
    shown = refused(root, text)
    assert_located(shown, f"labs/lab-7.yml:{line}", rf"{key}.*: .* is not a valid regular expression \(")
    assert re.search(r"(missing|unterminated|unexpected end)", shown), shown


def test_a_bad_regular_expression_in_an_exercise_check_is_refused(root: Path) -> None:
    text = GOOD + edit('      ready: "running"', '      ready: "(?P<port>\\\\d+"', EXERCISE)
    shown = refused(root, text)
    assert_located(
        shown, "labs/lab-7.yml", r"exercise/checks/hot_path/ready: .* is not a valid regular expression"
    )


def test_a_missing_page_is_a_located_error(root: Path) -> None:
    (root / "docs" / "labs" / "lab-7" / "index.md").unlink()
    assert_located(
        refused(root, GOOD), "labs/lab-7.yml:4:7", r"page 'docs/labs/lab-7/index\.md' does not exist"
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "profiles.slow.functions.main.total_share",
            "profiles.slow.functions.mian.total_share",
            r"claim 'main_most': 'profiles\.slow\.functions\.mian\.total_share' names function 'mian', "
            r"which no program of the lab defines",
        ),
        (
            "profiles.slow.functions.main.total_share",
            "profiles.gone.functions.main.total_share",
            r"names step 'gone', which is not a profile step of the lab \(slow\)",
        ),
        (
            "profiles.slow.functions.main.total_share",
            "profiles.bench.functions.main.total_share",
            r"names step 'bench', which is not a profile step",
        ),
        (
            "benchmark.speedup.min",
            "overhead.ratios.default.median",
            r"names 'overhead', but the lab has no overhead step",
        ),
        (
            "than: 0.5",
            "than: profiles.nope.samples",
            r"claim 'main_most': 'profiles\.nope\.samples' names step 'nope'",
        ),
    ],
)
def test_a_claim_naming_what_the_lab_lacks_is_refused_at_load(
    root: Path, old: str, new: str, message: str
) -> None:
    text = edit(old, new)
    assert_located(refused(root, text), f"labs/lab-7.yml:{line_of(text, new)}", message)


def test_functions_are_found_by_parsing_not_by_a_pattern(root: Path) -> None:
    """A `def` inside a string defines nothing; a method, a nested or async function does."""
    (root / "labs" / "prog" / "more.py").write_text(
        'DOC = """\ndef ghost():\n"""\n\n\nclass A:\n    async def method(self):\n'
        "        def inner():\n            pass\n",
        encoding="utf-8",
    )
    for name in ("method", "inner"):
        load(root, edit("functions.main.", f"functions.{name}."))
    text = edit("functions.main.", "functions.ghost.")
    assert_located(refused(root, text), "labs/lab-7.yml", r"names function 'ghost'")
    lab = load(root, GOOD)
    assert lab.defines("inner", root=root) and not lab.defines("ghost", root=root)


def test_a_claim_on_an_unsampled_name_that_is_not_an_identifier_is_left_to_the_run(root: Path) -> None:
    load(root, edit("functions.main.", "functions.<module>."))


@pytest.mark.parametrize("where", ["../outside/lab-7.yml", "ABSOLUTE", "labs/lab-7.yml"])
def test_a_manifest_outside_the_repository_is_refused(root: Path, where: str) -> None:
    (root.parent / "outside" / "lab-7.yml").write_text(GOOD, encoding="utf-8")
    if where == "labs/lab-7.yml":  # a link inside the repository to a manifest outside it
        (root / "labs" / "lab-7.yml").symlink_to(root.parent / "outside" / "lab-7.yml")
    path = root.parent / "outside" / "lab-7.yml" if where == "ABSOLUTE" else Path(where)
    with pytest.raises(LabError, match=r"a manifest must be inside the repository"):
        manifest.load(path, root=root)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("overhead.default.ratio.median", r"value 'shown': 'overhead\.default.*' names 'overhead'"),
        ("profiles.nope.samples", r"value 'shown': 'profiles\.nope\.samples' names step 'nope'"),
        ("profiles.slow.functions.ghost.total_share", r"value 'shown': .* names function 'ghost'"),
    ],
)
def test_a_value_naming_what_the_lab_lacks_is_refused_at_load(root: Path, path: str, message: str) -> None:
    """Without this check the page would show "not measured" for ever, silently (issue 26, item 16)."""
    new = f"values:\n  shown: {{path: {path}, format: share}}\n"
    text = GOOD + new
    assert_located(refused(root, text), f"labs/lab-7.yml:{line_of(text, 'shown:')}", message)
    load(root, GOOD + "values:\n  shown: {path: profiles.slow.functions.main.total_share, format: share}\n")
