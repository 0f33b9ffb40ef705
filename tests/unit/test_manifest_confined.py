"""A step runs only files of the lab's program folders, and a value or claim names only fields the results
have: both refused when the manifest is loaded, located (issue 26's second probe, items 7 and 9b)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_manifest_hostile import GOOD, assert_located, edit, line_of, load, refused, root

__all__ = ["root"]  # the fixture, used by name


def _command(root: Path, command: str) -> str:
    return (
        edit("command: [labs/prog/bench.py]", f"command: {command}")
        .replace("kind: benchmark", "kind: command")
        .replace("benchmark.speedup.min", "commands.bench.extracted.x")
    )


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("[sh, OUT/evil.sh]", r"OUT/evil\.sh \(an absolute path\)"),
        ("[bash, OUT/data.txt]", r"data\.txt \(an absolute path\)"),  # any suffix, or none
        ("[sh, Makefile]", r"Makefile is not in one of the lab's program folders: labs/prog"),
        ("[sh, labs/other/run.sh]", r"labs/other/run\.sh is not in one of the lab's program folders"),
        ("[sh, labs/prog/link.sh]", r"labs/prog/link\.sh \(a link to a place outside the repository\)"),
        ("[sh, labs/prog/inner.sh]", r"labs/prog/inner\.sh is not in one of the lab's program folders"),
        ("[python3, labs/prog/bench.py, --config=OUT/evil.sh]", r"not OUT/evil\.sh \(an absolute"),
        ("[sh, .]", r"\. is not in one of the lab's program folders"),
    ],
)
def test_a_command_may_name_no_existing_file_outside_the_program_folders(
    root: Path, command: str, message: str
) -> None:
    """`[sh, /tmp/evil.sh]` ran a file the cache key does not hold; now any word naming a file counts."""
    outside = root.parent / "outside"
    (outside / "evil.sh").write_text("echo evil\n", encoding="utf-8")
    (outside / "data.txt").write_text("x\n", encoding="utf-8")
    (root / "Makefile").write_text("all:\n", encoding="utf-8")
    (root / "labs" / "other").mkdir()
    (root / "labs" / "other" / "run.sh").write_text("echo\n", encoding="utf-8")
    (root / "labs" / "prog" / "link.sh").symlink_to(outside / "evil.sh")
    (root / "labs" / "prog" / "inner.sh").symlink_to(root / "labs" / "other" / "run.sh")
    text = _command(root, command.replace("OUT", str(outside)))
    where = f"labs/lab-7.yml:{line_of(text, 'command: ', occurrence=2)}"
    shown = refused(root, text).replace(str(outside), "OUT")
    assert_located(shown, where, rf"step 'bench': command: .*{message}")


def test_interpreters_by_name_and_files_of_the_program_folders_are_accepted(root: Path) -> None:
    (root / "labs" / "prog" / "run.sh").write_text("echo\n", encoding="utf-8")
    for command in (
        "[sh, labs/prog/run.sh, --seed, '{seed}']",
        "[bash, labs/prog/run.sh]",
        "[python, labs/prog/bench.py, http://127.0.0.1:8000/x, /locked=6]",  # not files: they do not exist
        "[python3, -m, json.tool]",
    ):
        load(root, _command(root, command))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "profiles.slow.functions.main.nonexistent_field",
            r"'nonexistent_field' is not a field of a function entry \(one of: .*total_share",
        ),
        ("profiles.slow.nonexistent", r"'nonexistent' is not a field of a profile entry"),
        ("benchmark.nonexistent", r"'nonexistent' is not a field of a benchmark entry"),
    ],
)
def test_a_value_or_claim_naming_a_field_the_results_lack_is_refused_at_load(
    root: Path, path: str, message: str
) -> None:
    """Without this, assets measured for minutes and then failed without a manifest line."""
    text = GOOD + f"values:\n  shown: {{path: {path}, format: share}}\n"
    assert_located(refused(root, text), f"labs/lab-7.yml:{line_of(text, 'shown:')}", message)
    text = edit("value: profiles.slow.functions.main.total_share", f"value: {path}")
    assert_located(refused(root, text), f"labs/lab-7.yml:{line_of(text, path)}", message)
