"""Lab 3's notebook, executed outside the repository (an empty folder holding only the .ipynb, a fresh
kernel, QUICK): it installs NumPy beside py-spy, and its native recording names NumPy's C loops."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbclient
import nbformat

from tests.commands.test_notebooks import CELL_TIMEOUT, _downloaded, _env, _gone
from tests.helpers import ROOT, assert_no_process_left


def test_lab_3s_notebook_runs_from_an_empty_folder(tmp_path: Path) -> None:
    assert not tmp_path.is_relative_to(ROOT)
    path = _downloaded("lab-3", tmp_path)
    nb = nbformat.read(path, as_version=4)
    installs = [c.source for c in nb.cells if c.cell_type == "code" and "%pip install" in c.source]
    assert len(installs) == 1 and '"numpy' in installs[0], "the notebook installs what its programs import"
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    started = time.perf_counter()
    try:
        client.execute(env=_env())
    finally:
        nbformat.write(nb, tmp_path / "executed.ipynb")
    print(f"lab-3: executed in {time.perf_counter() - started:.1f} s (QUICK)")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    started_pids = re.findall(r"running in the background as PID (\d+)", text)
    assert started_pids and _gone(started_pids) == []
    assert_no_process_left(tmp_path)
    assert [o for o in outputs if o.output_type == "error"] == []
    assert "native_view.json: " in text and "DOUBLE_subtract" in text  # the C loops, named
    assert "dgemm" in text  # the fixed service's matrix product, in OpenBLAS
    assert "both functions agree" in text  # the benchmark's own table
    assert "Can't get native stack traces with the --nonblocking option" in text
