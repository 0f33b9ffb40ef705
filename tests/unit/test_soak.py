"""labkit.soak: the margin of a claim's interval from its threshold, and the summary of runs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from labkit import processes, soak
from labkit.errors import LabError
from labkit.manifest import Lab


def entry(value: float, interval: list[float] | None, expect: str = "holds") -> dict[str, Any]:
    return {"value": value, "interval": interval, "expect": expect}


@pytest.mark.parametrize(
    ("op", "than", "interval", "expect", "margin"),
    [
        (">", 0.5, [0.6, 0.8], "holds", 0.1),  # low end clears 0.5 by 0.1
        (">", 0.5, [0.45, 0.8], "holds", -0.05),  # straddles: undecided
        ("<", 0.02, [0.2, 0.4], "fails", 0.18),  # expected to fail: how far it is on the failing side
        ("<=", 1.0, None, "holds", 0.4),  # exact value 0.6
    ],
)
def test_margin_is_signed_toward_the_expectation(
    op: str, than: float, interval: list[float] | None, expect: str, margin: float
) -> None:
    value = 0.6 if interval is None else sum(interval) / 2
    got = soak.margin(entry(value, interval, expect), {}, {"op": op, "than": than})
    assert got == pytest.approx(margin)


def test_margin_is_none_for_exact_comparisons() -> None:
    assert soak.margin(entry(9, None), {}, {"op": "==", "than": 9}) is None


def test_margin_against_another_measurement_uses_its_scaled_interval() -> None:
    results = {"loads": {"fixed": {"p95": {"min": 20.0, "median": 22.0, "max": 25.0}}}}
    spec = {"op": ">=", "than": "loads.fixed.p95", "factor": 3}
    assert soak.margin(entry(120.0, [100.0, 130.0]), results, spec) == pytest.approx(100.0 - 75.0)


def lab() -> Lab:
    from pathlib import Path

    return Lab(
        id="lab-9",
        title="t",
        page=Path("p.md"),
        programs=[],
        steps=[],
        values={},
        claims=[],
        seed=1,
        source=Path("labs/lab-9.yml"),
        raw={},
    )


def run(number: int, verdict: str, margin: float | None, wall: float) -> dict[str, Any]:
    return {
        "run": number,
        "ok": verdict == "holds",
        "wall_s": wall,
        "steps": [{"id": "a", "kind": "profile", "wall_s": wall - 1}],
        "claims": [
            {
                "id": "c",
                "verdict": verdict,
                "expect": "holds",
                "value": 0.6,
                "interval": None,
                "shown": "",
                "rule": "> 50.0%",
                "margin": margin,
            }
        ],
    }


def test_summary_counts_verdicts_and_fails_on_one_bad_run() -> None:
    summary = soak.summarise(lab(), [run(1, "holds", 0.1, 5.0), run(2, "undecided", -0.01, 7.0)], quick=False)
    claim = summary["claims"]["c"]
    assert claim["verdicts"] == {"holds": 1, "undecided": 1} and claim["as_expected"] == 1
    assert claim["smallest_margin"] == -0.01
    assert summary["run_wall_s"] == {"median": 6.0, "min": 5.0, "max": 7.0}
    assert summary["step_wall_s"]["a"] == {"median": 5.0, "min": 4.0, "max": 6.0}
    assert summary["successes"] == 1 and soak.exit_code(summary) == 1


def test_a_crashed_run_is_a_failure_even_when_the_others_hold() -> None:
    crashed = {"run": 2, "ok": False, "error": "boom", "wall_s": 1.0}
    summary = soak.summarise(lab(), [run(1, "holds", 0.1, 5.0), crashed], quick=False)
    assert summary["failed_runs"] == [{"run": 2, "error": "boom"}]
    assert soak.exit_code(summary) == 1
    assert soak.exit_code(soak.summarise(lab(), [run(1, "holds", 0.1, 5.0)], quick=False)) == 0


# --- LOAD=1: a CPU loop for the whole soak ---------------------------------------------------------------


def load_processes() -> list[subprocess.Popen[bytes]]:
    """The toolkit's children that are the soak's CPU loop."""
    return [p for p in processes._children if soak.LOAD_TAG in list(map(str, p.args))]  # type: ignore[call-overload]


def alive(pid: int) -> bool:
    """Running (not a zombie): the kernel's own state letter for the process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def soak_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, one_run: Any, **kwargs: Any) -> Any:
    monkeypatch.setattr(soak, "one_run", one_run)
    said: list[str] = []
    summary = soak.soak(lab(), root=tmp_path, runs=2, quick=True, method=None, say=said.append, **kwargs)
    return summary, said


def test_under_load_a_cpu_loop_runs_through_every_run_and_stops_after(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[int] = []

    def one_run(*_args: Any, **_kwargs: Any) -> Any:
        (proc,) = load_processes()
        time.sleep(0.3)
        assert alive(proc.pid) and proc.poll() is None
        seen.append(proc.pid)
        raise LabError("stop here")  # a failed run: no claims to judge

    summary, said = soak_with(monkeypatch, tmp_path, one_run, load=True)
    assert len(seen) == 2 and seen[0] == seen[1]  # one loop for the whole soak
    assert not alive(seen[0]) and load_processes() == []
    assert summary["background"] == soak.CPU_LOOP and summary["background"]["cores"] == 1
    assert any("under load" in line and str(seen[0]) in line for line in said)


def test_the_loop_is_stopped_when_the_soak_is_interrupted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pids: list[int] = []

    def one_run(*_args: Any, **_kwargs: Any) -> Any:
        pids.extend(p.pid for p in load_processes())
        raise KeyboardInterrupt  # Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        soak_with(monkeypatch, tmp_path, one_run, load=True)
    assert len(pids) == 1 and not alive(pids[0]) and load_processes() == []


def test_the_loop_stops_by_itself_when_its_parent_dies(tmp_path: Path) -> None:
    # a parent that starts the loop as the toolkit does, then is killed outright (no clean-up can run)
    code = (
        "import os, subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', sys.argv[1], str(os.getpid())])\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code, soak.LOAD_LOOP], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert alive(pid)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_without_load_nothing_else_runs_and_the_summary_says_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LABKIT_SOAK_LOAD", raising=False)
    counts: list[int] = []

    def one_run(*_args: Any, **_kwargs: Any) -> Any:
        counts.append(len(load_processes()))
        raise LabError("stop here")

    summary, said = soak_with(monkeypatch, tmp_path, one_run)
    assert counts == [0, 0] and summary["background"] is None and not any("under load" in s for s in said)
    monkeypatch.setenv("LABKIT_SOAK_LOAD", "1")  # what `make soak LOAD=1` sets
    summary, _ = soak_with(monkeypatch, tmp_path, one_run)
    assert counts[2:] == [1, 1] and summary["background"] == soak.CPU_LOOP
