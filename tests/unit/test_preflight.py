"""labkit.preflight: each missing need is one message, decided from facts that the test supplies.

Nothing here runs a lab: the machine's facts (Yama's ptrace_scope, root, py-spy's version, the
interpreters found, loopback) are replaced with monkeypatch, so every combination is tested here.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from labkit import manifest, preflight, publish, pythons, resultfile, store
from labkit.errors import LabError
from labkit.kinds import step_of
from labkit.manifest import Lab, Step

from tests.helpers import ROOT, need


def lab_of(*steps: Step, claims: list[dict[str, Any]] | None = None, lab_id: str = "lab-9") -> Lab:
    return Lab(
        id=lab_id,
        title="t",
        page=Path(f"docs/labs/{lab_id}/index.md"),
        programs=[Path("labs/prog")],
        steps=list(steps),
        values={},
        claims=claims or [],
        seed=1,
        source=Path(f"labs/{lab_id}.yml"),
        raw={},
    )


SERVICE = step_of(dict(id="web", kind="service", command=["s.py"], ready="up"))
ON_TARGET = step_of(dict(id="idle", kind="profile", target="web"))
OWN_PID = step_of(dict(id="slow", kind="profile", command=["s.py"], ready="up", method="pid"))
LAUNCHED = step_of(dict(id="quick", kind="profile", command=["s.py"], method="launch"))
DUMP = step_of(dict(id="dump", kind="dump", target="web"))
OVERHEAD = step_of(dict(id="overhead", kind="overhead", command=["s.py"], ready="batch"))
HELP = step_of(dict(id="help", kind="command", command=["{py-spy}", "record", "--help"]))
OLD = step_of(
    dict(id="old_py_spy", kind="command", command=["p.py"], needs={"pythons": [">=3.12"], "why": "to x"})
)
AS_USER = step_of(
    dict(id="attach_as_user", kind="command", command=["a.py"], needs={"unprivileged_attach": True})
)


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A machine that has everything; a test changes one fact at a time."""
    facts: dict[str, Any] = {
        "scope": None,
        "root": False,
        "privileged": False,
        "platform": "linux",
        "python": (3, 11),
        "py_spy": ("0.4.3", "/venv/bin/py-spy"),
        "loopback": None,
        "found": pythons.Found({"3.11": "/p/3.11", "3.12": "/p/3.12"}, looked=["LABKIT_PYTHONS", "PATH"]),
        "nobody": True,
    }

    def spy() -> tuple[str, str]:
        if isinstance(facts["py_spy"], LabError):
            raise facts["py_spy"]
        value: tuple[str, str] = facts["py_spy"]
        return value

    monkeypatch.setattr(preflight, "ptrace_scope", lambda: facts["scope"])
    monkeypatch.setattr(preflight, "is_root", lambda: facts["root"])
    monkeypatch.setattr(preflight, "privileged", lambda: facts["privileged"])
    monkeypatch.setattr(preflight, "platform", lambda: facts["platform"])
    monkeypatch.setattr(preflight, "python_version", lambda: facts["python"])
    monkeypatch.setattr(preflight, "py_spy", spy)
    monkeypatch.setattr(preflight, "loopback_problem", lambda: facts["loopback"])
    monkeypatch.setattr(preflight, "discover", lambda: facts["found"])
    monkeypatch.setattr(preflight, "user_exists", lambda name: facts["nobody"])
    return facts


def run(lab: Lab, tmp_path: Path, *, method: str | None = None, learner: bool = False) -> list[str]:
    return [str(p) for p in preflight.check(lab, root=tmp_path, method=method, learner=learner)]


def fatal(lab: Lab, tmp_path: Path, *, method: str | None = None) -> list[preflight.Problem]:
    return [p for p in preflight.check(lab, root=tmp_path, method=method, learner=False) if p.fatal]


def test_a_machine_with_everything_has_no_problem(machine: dict[str, Any], tmp_path: Path) -> None:
    lab = lab_of(SERVICE, ON_TARGET, DUMP, OWN_PID, OVERHEAD, HELP, OLD, AS_USER)
    assert run(lab, tmp_path) == []


# ptrace_scope 0-3, root or not: who may attach by PID to a program the toolkit started.
@pytest.mark.parametrize(
    ("scope", "privileged", "ok"),
    [
        (None, False, True),
        (0, False, True),
        (1, False, False),  # only ancestors may attach, and py-spy is not the target's ancestor
        (1, True, True),
        (2, False, False),
        (2, True, True),
        (3, False, False),
        (3, True, False),  # forbidden even for root
    ],
)
def test_can_attach(scope: int | None, privileged: bool, ok: bool) -> None:
    assert preflight.can_attach(scope=scope, privileged=privileged, platform="linux") is ok


def test_can_attach_on_macos_needs_root() -> None:
    assert not preflight.can_attach(scope=None, privileged=False, platform="darwin")
    assert preflight.can_attach(scope=None, privileged=True, platform="darwin")


@pytest.mark.parametrize(("scope", "root"), [(0, False), (1, True), (2, True), (None, False)])
def test_a_running_service_can_be_reached(
    machine: dict[str, Any], tmp_path: Path, scope: int | None, root: bool
) -> None:
    machine.update(scope=scope, root=root, privileged=root)
    assert run(lab_of(SERVICE, ON_TARGET, DUMP), tmp_path) == []


@pytest.mark.parametrize(("scope", "root"), [(1, False), (2, False), (3, False), (3, True)])
def test_a_running_service_that_cannot_be_reached_stops_the_lab(
    machine: dict[str, Any], tmp_path: Path, scope: int, root: bool
) -> None:
    machine.update(scope=scope, root=root, privileged=root)
    (problem,) = fatal(lab_of(SERVICE, ON_TARGET, DUMP), tmp_path)
    assert problem.steps == ("idle", "dump")  # one message for one missing need
    text = str(problem)
    assert text.startswith("lab-9, steps idle, dump: attaches py-spy by PID")
    assert f"ptrace_scope is {scope}" in text
    assert "METHOD=launch" not in text  # the launch form cannot reach a running service: not offered


@pytest.mark.parametrize(
    ("root", "caps", "privileged"),
    [
        (True, "000001fffeffffff", True),  # root with every capability
        (True, "00000000a80425fb", False),  # root in a container with Docker's default set: no bit 19
        (False, "000001fffeffffff", False),
    ],
)
def test_privileged_means_cap_sys_ptrace(
    monkeypatch: pytest.MonkeyPatch, root: bool, caps: str, privileged: bool
) -> None:
    monkeypatch.setattr(preflight, "is_root", lambda: root)
    real_read = Path.read_text

    def read(self: Path, *a: Any, **k: Any) -> str:
        if str(self) == "/proc/self/status":
            return f"Name:\tx\nCapEff:\t{caps}\n"
        return real_read(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", read)
    assert preflight.privileged() is privileged


@pytest.mark.parametrize(
    ("caps", "privileged"),
    [("cap_sys_ptrace=eip", True), ("cap_sys_ptrace=ip", False), ("cap_chown=eip", False), ("", False)],
)
def test_a_py_spy_given_cap_sys_ptrace_by_setcap_may_attach_without_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caps: str, privileged: bool
) -> None:
    """The remedy the toolkit offers (`setcap cap_sys_ptrace=eip` on py-spy) must satisfy its own preflight:
    the capability is read from the file's real `security.capability` attribute, set here by setcap."""
    setcap = shutil.which("setcap") or "/usr/sbin/setcap"
    need(os.geteuid() == 0 and os.path.exists(setcap), "setting file capabilities needs root and setcap")
    spy = tmp_path / "py-spy"
    shutil.copy("/bin/true", spy)
    if caps:
        subprocess.run([setcap, caps, str(spy)], check=True)
    monkeypatch.setenv("LABKIT_PY_SPY", str(spy))
    monkeypatch.setattr(preflight, "is_root", lambda: False)
    assert preflight.privileged() is privileged


@pytest.mark.parametrize("scope", [1, 2, 3])
def test_own_program_falls_back_to_launch_with_a_note(
    machine: dict[str, Any], tmp_path: Path, scope: int
) -> None:
    machine.update(scope=scope)
    (problem,) = preflight.check(lab_of(OWN_PID), root=tmp_path, method=None, learner=False)
    assert not problem.fatal
    assert "py-spy will launch the program instead" in str(problem)


def test_forced_pid_cannot_fall_back(machine: dict[str, Any], tmp_path: Path) -> None:
    machine.update(scope=2)
    (problem,) = fatal(lab_of(OWN_PID), tmp_path, method="pid")
    assert "METHOD=pid" in str(problem) and "METHOD=launch" in str(problem)  # launch is the remedy here


def test_forced_launch_needs_no_attaching(machine: dict[str, Any], tmp_path: Path) -> None:
    machine.update(scope=3)
    assert run(lab_of(OWN_PID, LAUNCHED), tmp_path, method="launch") == []


def test_forced_launch_cannot_reach_a_running_service(machine: dict[str, Any], tmp_path: Path) -> None:
    (problem,) = fatal(lab_of(SERVICE, ON_TARGET), tmp_path, method="launch")
    assert "only attaching by PID can reach" in str(problem) and problem.steps == ("idle",)


def test_overhead_that_claims_depend_on(machine: dict[str, Any], tmp_path: Path) -> None:
    machine.update(scope=2)
    claim = {"id": "c", "value": "overhead.stops_per_sample.default"}
    (problem,) = fatal(lab_of(OVERHEAD, claims=[claim]), tmp_path)
    assert "undecided" in str(problem)
    learner = preflight.check(lab_of(OVERHEAD, claims=[claim]), root=tmp_path, method=None, learner=True)
    assert [p.fatal for p in learner] == [False]
    assert not fatal(lab_of(OVERHEAD), tmp_path)  # no claim on it: skipping it decides nothing


def test_py_spy_missing_is_one_message_for_every_step(machine: dict[str, Any], tmp_path: Path) -> None:
    machine["py_spy"] = LabError("py-spy is not installed: run `make venv`")
    (problem,) = fatal(lab_of(SERVICE, ON_TARGET, OWN_PID, HELP), tmp_path)
    assert problem.steps == ("idle", "slow", "help")
    assert "needs py-spy: py-spy is not installed: run `make venv`" in str(problem)


@pytest.mark.parametrize(
    ("python", "have", "need"),
    [((3, 12), "0.3.14", "0.4.0"), ((3, 13), "0.3.14", "0.4.0"), ((3, 14), "0.4.1", "0.4.2")],
)
def test_py_spy_too_old_for_this_python(
    machine: dict[str, Any], tmp_path: Path, python: tuple[int, int], have: str, need: str
) -> None:
    machine.update(python=python, py_spy=(have, "/x/py-spy"))
    (problem,) = fatal(lab_of(OWN_PID), tmp_path)
    assert f"needs py-spy {need} or newer to read Python {python[0]}.{python[1]}" in str(problem)
    assert f"found py-spy {have}" in str(problem)


@pytest.mark.parametrize(("python", "have"), [((3, 11), "0.3.14"), ((3, 12), "0.4.0"), ((3, 14), "0.4.2")])
def test_py_spy_new_enough(
    machine: dict[str, Any], tmp_path: Path, python: tuple[int, int], have: str
) -> None:
    machine.update(python=python, py_spy=(have, "/x/py-spy"))
    assert run(lab_of(OWN_PID), tmp_path) == []


def test_a_python_newer_than_known_is_a_note(machine: dict[str, Any], tmp_path: Path) -> None:
    machine.update(python=(3, 15))
    (problem,) = preflight.check(lab_of(OWN_PID), root=tmp_path, method=None, learner=False)
    assert not problem.fatal and "Python 3.15" in str(problem)


def test_loopback(machine: dict[str, Any], tmp_path: Path) -> None:
    machine["loopback"] = "Cannot assign requested address"
    load = step_of(dict(id="traffic", kind="load", command=["l.py"]))
    (problem,) = fatal(lab_of(SERVICE, load, HELP), tmp_path)
    assert problem.steps == ("web", "traffic") and "127.0.0.1" in str(problem)


def test_loopback_here_works() -> None:
    assert preflight.loopback_problem() is None


def test_declared_python_missing(machine: dict[str, Any], tmp_path: Path) -> None:
    machine["found"] = pythons.Found(
        {"3.11": "/p"}, looked=["LABKIT_PYTHONS (not set)", "PATH", "pyenv", "uv"]
    )
    lab = lab_of(dataclasses.replace(OLD, needs={"pythons": [">=3.12"], "why": "to show that x"}))
    assert run(lab, tmp_path) == [
        "lab-9, step old_py_spy: needs a CPython 3.12 or newer to show that x; found 3.11 only "
        "(looked in: LABKIT_PYTHONS (not set), PATH, pyenv, uv). Install one (`pyenv install 3.12`, "
        "`uv python install 3.12`, or your system's package) or list interpreters in "
        "LABKIT_PYTHONS=/path/to/python3.12"
    ]
    (note,) = preflight.check(lab, root=tmp_path, method=None, learner=True)
    assert not note.fatal and "stay undecided in this run" in str(note)
    (note,) = preflight.check(lab, root=tmp_path, method=None, learner=False, quick=True)
    assert not note.fatal  # QUICK runs do not judge claims either


def test_declared_exact_python(machine: dict[str, Any], tmp_path: Path) -> None:
    machine["found"] = pythons.Found({"3.13": "/p"})
    lab = lab_of(
        step_of(dict(id="s", kind="command", command=["p.py"], needs={"pythons": ["3.12", ">=3.13"]}))
    )
    (problem,) = fatal(lab, tmp_path)
    assert "needs a CPython 3.12;" in str(problem) and "found 3.13 only" in str(problem)


def test_interpreters_are_searched_only_when_a_step_needs_them(
    machine: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom() -> pythons.Found:
        raise AssertionError("searched")

    monkeypatch.setattr(preflight, "discover", boom)
    assert run(lab_of(HELP), tmp_path) == []


@pytest.mark.parametrize("scope", [1, 2, 3])
def test_unprivileged_attach_needs_scope_0(machine: dict[str, Any], tmp_path: Path, scope: int) -> None:
    machine.update(scope=scope, root=True, privileged=True)
    (problem,) = fatal(lab_of(AS_USER), tmp_path)
    assert problem.steps == ("attach_as_user",) and f"ptrace_scope is {scope}" in str(problem)
    assert "echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope" in str(problem)


def test_unprivileged_attach_as_root_needs_an_account(machine: dict[str, Any], tmp_path: Path) -> None:
    machine.update(scope=0, root=True, privileged=True)
    assert run(lab_of(AS_USER), tmp_path) == []
    machine["nobody"] = False
    (problem,) = fatal(lab_of(AS_USER), tmp_path)
    assert "`nobody`" in str(problem)
    machine["root"] = False  # an ordinary user tries as itself: no account to switch to
    assert run(lab_of(AS_USER), tmp_path) == []


def test_write_access(machine: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "docs" / "labs" / "lab-9" / "data").mkdir(parents=True)
    locked = {tmp_path / "docs" / "labs" / "lab-9"}
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) not in locked and real(p, mode))
    (problem,) = fatal(lab_of(HELP), tmp_path)
    assert str(problem).startswith("lab-9: needs write access to docs/labs/lab-9 (data.new/")
    assert preflight.check(lab_of(HELP), root=tmp_path, method=None, learner=True) == []  # out/ only
    locked.add(tmp_path)  # neither .labs/ nor out/ can be created
    (problem,) = preflight.check(lab_of(HELP), root=tmp_path, method=None, learner=True)
    assert str(problem).startswith("lab-9: needs write access to . (the toolkit's work files")
    assert "a learner's outputs go to out/<id>/" in str(problem)


def test_require_says_notes_and_raises_every_gap(machine: dict[str, Any], tmp_path: Path) -> None:
    machine.update(scope=2, found=pythons.Found({"3.11": "/p"}))
    said: list[str] = []
    with pytest.raises(LabError) as caught:
        preflight.require(
            lab_of(OWN_PID, OLD, AS_USER), root=tmp_path, method=None, learner=False, say=said.append
        )
    message = str(caught.value)
    assert "step old_py_spy" in message and "step attach_as_user" in message
    assert message.endswith("Nothing was started (preflight).")
    assert said == [f"note: {s}" for s in run(lab_of(OWN_PID), tmp_path)]


def test_lab_1_declares_its_probes_needs() -> None:
    lab = manifest.load(Path("labs/lab-1.yml"), root=ROOT)
    needs = {s.id: s.needs for s in lab.steps if s.needs}
    assert needs["old_py_spy"]["pythons"] == [">=3.12"]
    assert needs["attach_as_user"]["unprivileged_attach"] is True


# The manifest's `needs:`: validated with file and line; left out of the cache key.

MANIFEST = """\
id: lab-7
title: A test lab
page: docs/labs/lab-7/index.md
programs:
  - labs/prog
steps:
  - id: probe
    kind: command
    command: [labs/prog/main.py]
    needs: NEEDS
format_version: 1
"""


@pytest.fixture
def manifest_root(tmp_path: Path) -> Path:
    (tmp_path / "labs" / "prog").mkdir(parents=True)
    (tmp_path / "labs" / "prog" / "main.py").write_text("print('hi')\n", encoding="utf-8")
    (tmp_path / "docs" / "labs" / "lab-7").mkdir(parents=True)  # a manifest's page must exist
    (tmp_path / "docs" / "labs" / "lab-7" / "index.md").write_text("# t\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("needs", "says"),
    [
        ('{pythons: ["3.12.1"]}', "does not match"),
        ("{pythons: [3.12]}", "is not of type 'string'"),
        ("{pythons: []}", "should be non-empty"),
        ("{root: true}", "Additional properties"),
        ("{unprivileged_attach: false}", "True was expected"),
        ("{}", "should be non-empty"),
    ],
)
def test_bad_needs_name_file_and_line(manifest_root: Path, needs: str, says: str) -> None:
    (manifest_root / "labs" / "lab-7.yml").write_text(MANIFEST.replace("NEEDS", needs), encoding="utf-8")
    with pytest.raises(LabError) as caught:
        manifest.load(Path("labs/lab-7.yml"), root=manifest_root)
    assert "labs/lab-7.yml:10:" in str(caught.value) and says in str(caught.value)


def test_needs_are_not_part_of_the_cache_key(manifest_root: Path) -> None:
    path = manifest_root / "labs" / "lab-7.yml"
    path.write_text(MANIFEST.replace("NEEDS", '{pythons: [">=3.12"], why: "to x"}'), encoding="utf-8")
    with_needs = manifest.load(Path("labs/lab-7.yml"), root=manifest_root)
    assert with_needs.steps[0].needs == {"pythons": [">=3.12"], "why": "to x"}
    path.write_text(MANIFEST.replace("    needs: NEEDS\n", ""), encoding="utf-8")
    without = manifest.load(Path("labs/lab-7.yml"), root=manifest_root)
    assert manifest.steps_fingerprint(with_needs) == manifest.steps_fingerprint(without)


# Only a lab that will be measured needs its preflight: the same freshness rule as `publish.assets`.


def test_will_measure_follows_the_cache(manifest_root: Path) -> None:
    (manifest_root / "labs" / "lab-7.yml").write_text(MANIFEST.replace("    needs: NEEDS\n", ""))
    lab = manifest.load(Path("labs/lab-7.yml"), root=manifest_root)
    assert publish.will_measure(lab, root=manifest_root, force=False, quick=False)  # nothing stored yet
    data = manifest_root / lab.data_dir
    data.mkdir()
    stored = {
        "schema_version": resultfile.SCHEMA_VERSION,
        "inputs_sha256": store.inputs_sha256(lab, root=manifest_root, quick=False),
        "environment": resultfile.environment(lab),
    }
    (data / "results.json").write_text(resultfile.dump(stored))
    assert not publish.will_measure(lab, root=manifest_root, force=False, quick=False)
    assert publish.will_measure(lab, root=manifest_root, force=True, quick=False)
    assert publish.will_measure(lab, root=manifest_root, force=False, quick=True)
    data.rename(data.with_name("data.old"))  # a killed swap: data.old/ stands for data/
    assert not publish.will_measure(lab, root=manifest_root, force=False, quick=False)
    (manifest_root / "labs" / "prog" / "main.py").write_text("print('changed')\n")
    assert publish.will_measure(lab, root=manifest_root, force=False, quick=False)


@pytest.mark.parametrize("root", [False, True])
def test_on_macos_a_service_started_by_a_system_program_stops_the_lab(
    machine: dict[str, Any], tmp_path: Path, root: bool
) -> None:
    """Lab 4 attaches to its `sh` wrapper: SIP keeps even root from reading it, so `sudo make lab-4` would
    start the services and then fail; the preflight says so first, and what to do instead."""
    need(shutil.which("sh") is not None, "no sh on PATH")
    machine.update(platform="darwin", root=root, privileged=root)
    wrapped = step_of(dict(id="tree", kind="service", command=["sh", "serve.sh"], ready="up"))
    recorded = step_of(dict(id="slow_tree", kind="profile", target="tree"))
    problems = [
        p for p in fatal(lab_of(wrapped, recorded, lab_id="lab-4"), tmp_path) if "slow_tree" in p.steps
    ]
    said = " ".join(str(p) for p in problems)
    assert "System Integrity Protection" in said and "cannot run on macOS" in said, said
    assert "make reset-4" in said, said
    # Not root: it needs root too, but `sudo make lab-4` is no remedy here, so it is not offered.
    assert ("needs root on macOS" in said) is not root and "sudo make lab-4" not in said, said
    assert ("sudo make grade-4" in said) is not root, said
    # A service Python runs itself (not a system program) is not refused for SIP.
    python = step_of(dict(id="tree", kind="service", command=["s.py"], ready="up"))
    assert not [p for p in fatal(lab_of(python, recorded), tmp_path) if "Integrity" in str(p)]
