"""Each lab's notebook, executed for real: a fresh ipykernel, the QUICK configuration, a time limit per
cell, in a temporary copy of the repository; and an interrupted cell leaves no process behind."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from labkit import manifest, notebook

from tests.helpers import (
    ROOT,
    assert_no_process_left,
    copy_repo,
    hash_tree,
    labkit,
    labkit_env,
    processes_mentioning,
)

LABS = [p.stem for p in manifest.discover(ROOT)]
CELL_TIMEOUT = 120  # seconds per cell; a QUICK notebook takes well under a minute in all


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_repo(tmp_path_factory.mktemp("notebooks") / "repo")


@pytest.mark.parametrize("lab_id", LABS)
def test_notebook_executes_without_error(copy: Path, lab_id: str) -> None:
    before = hash_tree(copy / "docs")
    started = time.perf_counter()
    run = labkit(
        copy, "notebook", "--lab", lab_id, "--execute", "--quick", "--timeout", str(CELL_TIMEOUT), timeout=600
    )
    took = time.perf_counter() - started
    assert run.returncode == 0, str(run)
    assert hash_tree(copy / "docs") == before, "executing a notebook changed docs/"
    assert_no_process_left(copy)
    executed = nbformat.read(copy / "out" / lab_id / "notebook" / f"{lab_id}.ipynb", as_version=4)
    errors = [
        o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    shown = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if "data" in o]
    assert any("image/svg+xml" in o["data"] for o in shown), "a flame graph is shown inline"
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "as the page says" in text  # the claims' verdicts were printed
    print(f"{lab_id}: notebook executed in {took:.1f} s (QUICK)")


def _kernel(copy: Path, lab_id: str):  # type: ignore[no-untyped-def]
    lab = manifest.load(Path("labs") / f"{lab_id}.yml", root=copy)
    env = labkit_env(copy, {"LABKIT_QUICK": "1"})
    return start_new_kernel(
        kernel_name="python3", cwd=str(copy / notebook.path_of(lab).parent), env=env, startup_timeout=60
    )


def _run(kc, code: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    reply = kc.execute_interactive(code, timeout=CELL_TIMEOUT)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply


@pytest.mark.parametrize("protected", [True, False], ids=["protected", "cleanup-disabled"])
def test_interrupting_a_cell_stops_every_process_it_and_earlier_cells_started(
    copy: Path, protected: bool
) -> None:
    km, kc = _kernel(copy, "lab-2")
    try:
        _run(kc, 'from labkit.session import Session\nlab = Session.start("lab-2")')
        if not protected:  # the test must fail without the session's cleanup: take it away
            _run(kc, "lab.close = lambda: None")
        _run(kc, 'lab.run("web")\nlab.run("traffic")')  # a service and its load, left running
        assert processes_mentioning(str(copy / "labs" / "web_service"))
        msg_id = kc.execute('lab.run("idle")')  # py-spy records the service for seconds
        deadline = time.monotonic() + 30
        while not any("py-spy" in cmd for _, cmd in processes_mentioning("record")):
            assert time.monotonic() < deadline, "py-spy never started"
            time.sleep(0.05)
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert km.is_alive()  # the kernel lives on; what the cells started does not
        if protected:
            assert_no_process_left(copy)
        else:
            with pytest.raises(AssertionError, match="processes left behind"):
                assert_no_process_left(copy)  # (and kills them)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert_no_process_left(copy)


def test_kernel_shutdown_stops_the_services_cells_left_running(copy: Path) -> None:
    km, kc = _kernel(copy, "lab-2")
    try:
        _run(kc, 'from labkit.session import Session\nlab = Session.start("lab-2")\nlab.run("web")')
        assert processes_mentioning(str(copy / "labs" / "web_service"))
    finally:
        kc.stop_channels()
        km.shutdown_kernel()  # a polite shutdown: the kernel exits, atexit stops the service
    assert_no_process_left(copy)


def test_check_fails_on_a_stale_notebook(tmp_path: Path) -> None:
    work = copy_repo(tmp_path / "repo")
    page = work / "docs" / "labs" / "lab-1" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    run = labkit(work, "check", "--lab", "lab-1")
    assert run.returncode == 1 and "lab-1.ipynb: stale" in run.output, str(run)
    assert labkit(work, "notebook", "--lab", "lab-1").returncode == 0
    assert labkit(work, "check", "--lab", "lab-1").returncode == 0
