"""Each lab's notebook, executed for real outside the repository: an empty temporary folder holding
only the .ipynb, a fresh ipykernel, the QUICK configuration, a time limit per cell; an interrupted
cell and a killed kernel leave no process behind; `make check` fails on a stale notebook."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from labkit import manifest, notebook

from tests.helpers import ROOT, assert_no_process_left, copy_repo, labkit, processes_mentioning

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
