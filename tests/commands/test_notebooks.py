"""Each lab's notebook, executed for real outside the repository: an empty temporary folder holding
only the .ipynb, a fresh ipykernel, the QUICK configuration, a time limit per cell; an interrupted
cell and a killed kernel leave no process behind; `make check` fails on a stale notebook."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from labkit import manifest, notebook

from tests.helpers import ROOT, assert_no_process_left, copy_repo, labkit, need, processes_mentioning

CELL_TIMEOUT = 120  # seconds per cell; a QUICK notebook takes well under a minute in all


def _env() -> dict[str, str]:
    """The kernel's environment: QUICK, and no path to the toolkit (the notebook must not need it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LABKIT_PY_SPY")}
    return {**env, "LABKIT_QUICK": "1"}


def _alive(pid: int | str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone(pids: list[str], *, within: float = 5) -> list[str]:
    """The PIDs still alive after a grace period (killed then, so the suite goes on clean)."""
    deadline = time.monotonic() + within
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if _alive(p)]
    for pid in left:
        os.kill(int(pid), 9)
    return left


def _downloaded(lab_id: str, folder: Path) -> Path:
    lab = manifest.load(Path("labs") / f"{lab_id}.yml", root=ROOT)
    target = folder / f"{lab_id}.ipynb"
    shutil.copy(ROOT / notebook.path_of(lab), target)
    return target


@pytest.mark.parametrize("lab_id", ["lab-1", "lab-2", "lab-3", "lab-4"])
def test_notebook_runs_from_an_empty_folder_outside_the_repository(tmp_path: Path, lab_id: str) -> None:
    assert not tmp_path.is_relative_to(ROOT)
    path = _downloaded(lab_id, tmp_path)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    started = time.perf_counter()
    try:
        client.execute(env=_env())
    finally:
        nbformat.write(nb, tmp_path / "executed.ipynb")
    print(f"{lab_id}: executed in {time.perf_counter() - started:.1f} s (QUICK)")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    started_pids = re.findall(r"running in the background as PID (\d+)", text)
    assert started_pids and _gone(started_pids) == []
    assert_no_process_left(tmp_path)
    assert [o for o in outputs if o.output_type == "error"] == []
    assert "⟨" not in text
    recorded = sorted(p.name for p in (tmp_path / lab_id).glob("*.json"))
    assert recorded, "py-spy recorded nothing"
    for name in recorded:  # each recording's functions table was printed from the learner's own file
        if not name.endswith("_latency.json"):
            assert f"{name}: " in text and " samples" in text
    if lab_id == "lab-1":
        assert "speedup" in text  # the benchmark printed its own table
        assert "find_duplicates_slow (finders.py)" in text
    elif lab_id == "lab-3":  # NumPy installed beside py-spy; the native view names its C loops
        assert any('"numpy' in c.source for c in nb.cells if "%pip install" in c.source)
        assert "native-view.json: " in text and "DOUBLE_subtract" in text and "dgemm" in text
        assert "Can't get native stack traces with the --nonblocking option" in text
        assert '"libc": {' in text and '"symtab": ' in text  # the symbols program ran (the page links it)
    elif lab_id == "lab-4":  # the wrapper refused, then the tree: the workers named by their threads
        assert "Failed to find python version from target process" in text
        assert '"worker-3"' in text and "tree.json: " in text
        # Step 4 already says which worker holds the time: each worker thread's samples
        # py-spy's own SVG of each tree, one tower per worker process, as the page's Step 4 records it
        for svg in ("tree.svg", "fixed-tree.svg"):
            assert "<svg" in (tmp_path / lab_id / svg).read_text(encoding="utf-8")[:2000], svg
        assert re.search(r"per thread: worker-0 \d+, worker-1 \d+, worker-2 \d+, worker-3 \d+\n", text), text
        # py-spy's process frames (`process 12:"python jobs.py"`) are not functions: their PIDs differ
        # between the two recordings, so compare() would list every process as gone and new
        assert not re.search(r'process \d+:"', text), text
    else:
        assert "Thread" in text and "%Own" in text  # py-spy dump, and top's last screen
        assert "p95 before:" in text


def _kernel_in(folder: Path):  # type: ignore[no-untyped-def]
    return start_new_kernel(kernel_name="python3", cwd=str(folder), env=_env(), startup_timeout=60)


def _run(kc, code: str) -> None:  # type: ignore[no-untyped-def]
    reply = kc.execute_interactive(code, timeout=CELL_TIMEOUT)
    assert reply["content"]["status"] == "ok", reply["content"]


def _setup(kc, path: Path) -> str:  # type: ignore[no-untyped-def]
    """Run the notebook's cells up to and including the first that starts a service; its PID."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and "%pip" not in cell.source:
            _run(kc, cell.source)
            if "PID = " in cell.source:
                break
    pid: list[str] = []
    kc.execute_interactive(
        "print(PID)", timeout=10, output_hook=lambda m: pid.append(m["content"].get("text", ""))
    )
    return "".join(pid).strip()


def test_an_interrupted_record_cell_leaves_no_process(tmp_path: Path) -> None:
    path = _downloaded("lab-1", tmp_path)
    km, kc = _kernel_in(tmp_path)
    try:
        pid = _setup(kc, path)
        assert _alive(pid)  # the service runs in the background
        msg_id = kc.execute("!py-spy record --pid $PID --duration 60 --format speedscope -o long.json")
        deadline = time.monotonic() + 30
        while not processes_mentioning(f"record --pid {pid}"):
            assert time.monotonic() < deadline, "py-spy never started"
            time.sleep(0.05)
        km.interrupt_kernel()
        while kc.get_shell_msg(timeout=30)["parent_header"].get("msg_id") != msg_id:
            pass
        assert km.is_alive()  # the kernel lives on; what the cells started does not
        assert _gone([pid]) == []
        assert not processes_mentioning(f"record --pid {pid}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_killed_kernel_leaves_no_service(tmp_path: Path) -> None:
    path = _downloaded("lab-1", tmp_path)
    km, kc = _kernel_in(tmp_path)
    try:
        pid = _setup(kc, path)
        assert _alive(pid)
        # The kernel alone dies at once, as in a crash (jupyter's own kill signals its whole process
        # group): no atexit runs; the service learns of it from the kernel's death (PR_SET_PDEATHSIG).
        os.kill(km.provisioner.process.pid, 9)
        assert _gone([pid]) == []
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_check_fails_on_a_stale_notebook(tmp_path: Path) -> None:
    work = copy_repo(tmp_path / "repo")
    finders = work / "labs" / "slow_service" / "finders.py"
    finders.write_text(finders.read_text(encoding="utf-8") + "\n# one more line\n", encoding="utf-8")
    run = labkit(work, "check", "--lab", "lab-1")
    assert run.returncode == 7 and "lab-1.ipynb: stale" in run.output, str(run)


_DRIVER = """
import json, os, sys, time
from pathlib import Path
cells = json.loads(Path(sys.argv[1]).read_text())
exec(cells["helpers"])
for path, body in cells["files"].items():
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(body + "\\n")
if sys.argv[2] == "without":  # the control: the programs start without the folder on PYTHONPATH
    _environment = lambda: dict(os.environ)
exec(cells["start"])
service = RUNNING[0]


def parents():
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            found[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError):
            continue
    return found


tree, deadline = [int(service.python)], time.monotonic() + 30
while time.monotonic() < deadline:  # the dispatcher and everything below it, once four workers run
    links = parents()
    tree = [int(service.python)]
    for pid in tree:
        tree += sorted(p for p, parent in links.items() if parent == pid)
    if sum("worker-" in Path(f"/proc/{p}/task/{p}/comm").read_text(errors="replace") or
           b"jobs.py" in Path(f"/proc/{p}/cmdline").read_bytes() for p in tree[1:]) >= 4:
        break
    time.sleep(0.05)
print(json.dumps(tree))
stop()
"""


def _drive(folder: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a driver of notebook cells in ``folder``; it must succeed within a minute."""
    run = subprocess.run(
        argv, cwd=folder, env=_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    return run


def _tree_under_strace(tmp_path: Path, mode: str) -> tuple[list[int], set[int]]:
    """Lab 4's notebook cells (helpers, programs, the service's start) in a real Python under
    `strace -f`: the dispatcher's process tree, and the processes that asked for PR_SET_PTRACER."""
    lab = manifest.load(Path("labs/lab-4.yml"), root=ROOT)
    cells = [c.source for c in nbformat.read(ROOT / notebook.path_of(lab), as_version=4).cells]
    code = [c for c in cells if not c.startswith(("#", "!", "%pip", "%%writefile"))]
    parts = {
        "helpers": next(c for c in code if "def start(" in c),
        "files": {c.split("\n", 1)[0].split()[1]: c.split("\n", 1)[1] for c in cells if c.startswith("%%w")},
        "start": next(c for c in cells if re.search(r"^\w+ = start\(", c, re.M)).replace("PID = ", "# "),
    }
    (tmp_path / "cells.json").write_text(json.dumps(parts))
    (tmp_path / "driver.py").write_text(_DRIVER)
    trace = tmp_path / f"prctl-{mode}.txt"
    argv = ["strace", "-f", "-qq", "-e", "trace=prctl", "-e", "signal=none", "-o", str(trace)]
    run = _drive(tmp_path, [*argv, sys.executable, "driver.py", "cells.json", mode])
    asked = {
        int(m[1])
        for m in re.finditer(r"^(\d+) +prctl\((?:PR_SET_PTRACER|0x59616d61)\b", trace.read_text(), re.M)
    }
    return json.loads(run.stdout.strip().splitlines()[-1]), asked


def test_every_python_process_of_a_started_tree_lets_py_spy_attach(tmp_path: Path) -> None:
    """Yama (ptrace_scope 1) keeps a process's PR_SET_PTRACER permission for that process alone: the
    notebook's sitecustomize asks for it in each Python program start() runs and in every process it
    forks, so py-spy --subprocesses can read Lab 4's dispatcher and its forked workers, not only the
    wrapper shell. This machine may have no Yama, so the test watches the calls themselves (strace)."""
    need(shutil.which("strace") is not None, "strace is not installed")
    tree, asked = _tree_under_strace(tmp_path, "with")
    assert len(tree) >= 5, tree  # the dispatcher and its four workers
    assert set(tree) <= asked, f"no PR_SET_PTRACER in {sorted(set(tree) - asked)} of {tree}"
    tree, asked = _tree_under_strace(tmp_path, "without")  # the control: without it, none asks
    assert len(tree) >= 5 and not set(tree) & asked, (tree, asked)
    assert_no_process_left(tmp_path)


_STOP_DRIVER = """
import json, sys
from pathlib import Path
exec(json.loads(Path(sys.argv[1]).read_text()))
# A wrapper that dies of Ctrl+C before it can pass it on: its `&` child ignores SIGINT (a non-interactive
# shell starts it so) and would run on, as Lab 4's service could if stopped the instant it started.
proc = start("sh -c 'sleep 600 & echo up; wait'", ready="up")
below = []  # the wrapper's children, found here so that the test needs nothing of the helpers but stop()
for entry in Path("/proc").glob("[0-9]*"):
    try:
        if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == proc.pid:
            below.append(int(entry.name))
    except OSError:
        pass
stop(proc)
print(json.dumps(below))
"""


def test_stop_ends_what_a_wrapper_started_when_the_wrapper_dies_first(tmp_path: Path) -> None:
    need(sys.platform.startswith("linux"), "the helpers find a program's children in /proc")
    lab = manifest.load(Path("labs/lab-4.yml"), root=ROOT)
    cells = [c.source for c in nbformat.read(ROOT / notebook.path_of(lab), as_version=4).cells]
    (tmp_path / "helpers.json").write_text(json.dumps(next(c for c in cells if "def stop(" in c)))
    (tmp_path / "driver.py").write_text(_STOP_DRIVER)
    run = _drive(tmp_path, [sys.executable, "driver.py", "helpers.json"])
    below = json.loads(run.stdout.strip().splitlines()[-1])
    assert below, run.stdout  # the sleep the wrapper started
    assert _gone([str(pid) for pid in below], within=1) == [], "the wrapper's child outlived stop()"
