"""Each kind of failure exits with its own documented code (README, "Exit codes"), so CI can tell a broken
manifest from an edited page, a missing py-spy or claims that drifted, without reading the message."""

from __future__ import annotations

import re
from pathlib import Path

from labkit import errors

from tests.helpers import copy_repo, labkit


def test_a_bad_manifest_an_edited_page_and_a_missing_need_exit_with_different_codes(tmp_path: Path) -> None:
    copy = copy_repo(tmp_path / "repo")
    assert labkit(copy, "check", "--lab", "lab-1").returncode == errors.EXIT_OK

    page = copy / "docs/labs/lab-1/index.md"
    text = page.read_text(encoding="utf-8")
    edited, count = re.subn(r"(<!-- value: speedup_median -->)[^<]*", r"\g<1>9,999×", text, count=1)
    assert count == 1
    page.write_text(edited, encoding="utf-8")
    run = labkit(copy, "check", "--lab", "lab-1")
    assert run.returncode == errors.EXIT_CHECK == 7, str(run)
    page.write_text(text, encoding="utf-8")

    need = labkit(copy, "assets", "--lab", "lab-1", "--force", env={"LABKIT_PY_SPY": str(tmp_path / "nope")})
    assert need.returncode == errors.EXIT_NEED == 4, str(need)
    assert "preflight" in need.output

    manifest = copy / "labs/lab-1.yml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    for command in (["check", "--lab", "lab-1"], ["assets", "--lab", "lab-1"], ["learn", "lab-1"]):
        run = labkit(copy, *command)
        assert run.returncode == errors.EXIT_MANIFEST == 3, str(run)
        assert "labs/lab-1.yml:" in run.output and "Traceback" not in run.output


def test_a_plain_error_takes_the_kind_of_its_boundary_and_a_specific_one_keeps_its_own() -> None:
    plain = errors.LabError("x")
    made = errors.as_kind(plain, errors.ManifestError)
    assert isinstance(made, errors.ManifestError) and str(made) == "x"
    need = errors.NeedError("y")
    assert errors.as_kind(need, errors.MeasurementError) is need
    codes = [e.exit_code for e in (errors.ManifestError, errors.NeedError, errors.MeasurementError)]
    codes += [e.exit_code for e in (errors.ClaimsError, errors.CheckError, errors.LabError)]
    assert len(set(codes)) == len(codes), "every kind has its own code"
