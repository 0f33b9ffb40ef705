"""labkit.notebook: a lab's notebook generated from its manifest, programs and page (pure, no kernel)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from labkit import manifest, nbcells, nbhelpers, notebook, words

from tests.helpers import ROOT

LABS = [p.stem for p in manifest.discover(ROOT)]


def _lab(lab_id: str, root: Path = ROOT) -> manifest.Lab:
    return manifest.load(Path("labs") / f"{lab_id}.yml", root=root)


def _built(lab_id: str) -> nbformat.NotebookNode:
    lab = _lab(lab_id)
    return notebook.build(lab, (ROOT / lab.page).read_text(encoding="utf-8"), root=ROOT)


@pytest.mark.parametrize("lab_id", LABS)
def test_valid_nbformat_4_without_outputs_or_toolkit(lab_id: str) -> None:
    nb = _built(lab_id)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "do not edit" in nb.metadata["labkit"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    text = "\n".join(c.source for c in nb.cells)
    assert "labkit" not in text and "import labkit" not in text  # it runs outside a clone
    assert "⟨" not in text  # no placeholder: every number comes from the learner's run
    assert "make " not in text.split("\n", 1)[0]  # no maintainer banner


@pytest.mark.parametrize("lab_id", LABS)
def test_deterministic_bytes_and_committed_file_is_current(lab_id: str) -> None:
    lab = _lab(lab_id)
    first, second = notebook.render(lab, root=ROOT), notebook.render(lab, root=ROOT)
    assert first == second
    assert (ROOT / notebook.path_of(lab)).read_text(encoding="utf-8") == first
    assert notebook.stale(lab, root=ROOT) is None
    assert str(ROOT) not in first and "/tmp/" not in first  # nothing local in a published file


@pytest.mark.parametrize("lab_id", LABS)
def test_installs_py_spy_and_writes_every_program_it_runs(lab_id: str) -> None:
    lab = _lab(lab_id)
    sources = [c.source for c in _built(lab_id).cells if c.cell_type == "code"]
    requirement = nbcells.requirement(ROOT)
    assert requirement.startswith("py-spy") and any(
        f'%pip install --quiet "{requirement}"' in s for s in sources
    )
    written = {
        s.split("\n", 1)[0].split()[1]: s.split("\n", 1)[1] for s in sources if s.startswith("%%writefile")
    }
    run = {
        w
        for s in notebook.included(lab, (ROOT / lab.page).read_text(encoding="utf-8"))
        for w in s.command[:1]
    }
    assert {w for w in run if w.endswith(".py")} <= set(written)
    for path, body in written.items():
        assert body == (ROOT / path).read_text(encoding="utf-8").rstrip("\n")


def test_py_spy_range_without_a_pyproject_is_the_projects(tmp_path: Path) -> None:
    """A lab repository without pyproject.toml installs the range this project's pyproject gives."""
    assert nbcells.requirement(tmp_path) == nbcells.PY_SPY == nbcells.requirement(ROOT)


def test_lab_1_cells_are_the_learners_commands() -> None:
    code = "\n".join(c.source for c in _built("lab-1").cells if c.cell_type == "code")
    assert "!py-spy record --pid $PID --duration $SECONDS --format speedscope -o slow.json" in code
    assert 'start("python labs/slow_service/service.py --seed 1"' in code
    assert "!python labs/benchmark/bench.py $BENCH_ARGS" in code
    assert (
        'slow = functions("slow.json", also=["find_duplicates_slow"' in code.replace("'", '"')
        and "compare(slow, fixed)" in code
    )


def test_headings_are_the_pages_in_page_order_with_links() -> None:
    lab = _lab("lab-1")
    text = (ROOT / lab.page).read_text(encoding="utf-8")
    page_headings = [line[3:] for line in text.split("\n") if line.startswith("## ")]
    md = [c.source for c in _built("lab-1").cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    shown = [m.split("\n", 1)[0][3:] for m in md]
    assert shown and all(h in page_headings for h in shown)
    assert [page_headings.index(h) for h in shown] == sorted(page_headings.index(h) for h in shown)
    # no site_url in mkdocs.yml: a downloaded notebook has no pages beside it, so no relative links
    assert not any("](./" in m for m in md)


def test_links_to_the_published_page_only_with_a_site_url(tmp_path: Path) -> None:
    lab = _lab("lab-1")
    assert notebook.page_url(lab, root=tmp_path) is None
    (tmp_path / "mkdocs.yml").write_text("site_name: x\nsite_url: https://example.org/labs/\n", "utf-8")
    assert notebook.page_url(lab, root=tmp_path) == "https://example.org/labs/labs/lab-1/"


def test_lab_1_starts_the_service_under_step_1_and_records_under_step_2() -> None:
    cells = [c.source for c in _built("lab-1").cells]
    one = cells.index(next(c for c in cells if c.startswith("## Step 1:")))
    two = cells.index(next(c for c in cells if c.startswith("## Step 2:")))
    assert 'start("python labs/slow_service/service.py --seed 1"' in "\n".join(cells[one:two])
    assert "-o slow.json" in "\n".join(cells[two:])
    assert not any(c.startswith(f"## {_lab('lab-1').title}") for c in cells)  # the summary places no step


def test_a_step_comes_after_what_it_needs_and_stops_come_in_manifest_order() -> None:
    lab = _lab("lab-2")
    plan = [
        s.id for _, group in notebook.order(lab, (ROOT / lab.page).read_text(encoding="utf-8")) for s in group
    ]
    assert plan.index("web") < plan.index("traffic") < plan.index("dump")
    assert plan.index("gil") < plan.index("quiet") < plan.index("slow_latency") < plan.index("done_slow")
    assert (
        plan.index("done_slow")
        < plan.index("fixed_web")
        < plan.index("fixed_latency")
        < plan.index("latency")
    )


def test_commands_keep_service_fields_for_python_to_fill() -> None:
    lab = _lab("lab-2")
    traffic = next(s for s in lab.steps if s.id == "traffic")
    (cell,) = nbcells.cells(lab, traffic)
    assert cell.startswith('traffic = start(f"python labs/load/load.py --url http://127.0.0.1:{web.port} ')


def test_stale_when_a_program_changes(tmp_path: Path) -> None:
    lab = _lab("lab-1")
    for rel in ("labs", "docs/labs/lab-1", "pyproject.toml", "mkdocs.yml"):
        source = ROOT / rel
        if source.is_dir():
            shutil.copytree(source, tmp_path / rel)
        else:
            shutil.copy(source, tmp_path / rel)
    assert notebook.stale(lab, root=tmp_path) is None
    finders = tmp_path / "labs" / "slow_service" / "finders.py"
    finders.write_text(finders.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert "stale" in (notebook.stale(lab, root=tmp_path) or "")
    (tmp_path / notebook.path_of(lab)).unlink()
    assert "missing" in (notebook.stale(lab, root=tmp_path) or "")


@pytest.mark.parametrize("lab_id", LABS)
def test_every_code_cell_is_valid_python(lab_id: str) -> None:
    """IPython's `!` and `%` lines aside (they become calls), each cell compiles."""
    for cell in _built(lab_id).cells:
        if cell.cell_type != "code" or cell.source.startswith("%%writefile"):
            continue
        lines = ["pass" if line.lstrip().startswith(("!", "%")) else line for line in cell.source.split("\n")]
        compile("\n".join(lines), cell["id"], "exec")


@pytest.mark.parametrize("lab_id", LABS)
def test_one_recorded_program_runs_at_a_time(lab_id: str) -> None:
    """A step that starts its own program to record it is stopped before the next such step starts:
    two would share the cores, and the second start's PID would be the one the first recording reads."""
    running: str | None = None
    for source in (c.source for c in _built(lab_id).cells if c.cell_type == "code"):
        for line in source.split("\n"):
            started = re.match(r"(\w+_service) = start\(", line)
            if started:
                assert running is None, f"{started[1]} starts while {running} waits for its recording"
                running = started[1]
            if running and line.startswith(f"stop({running})"):
                running = None


def test_lab_3_starts_each_slow_service_under_the_step_that_records_it() -> None:
    cells = [c.source for c in _built("lab-3").cells]
    under: dict[str, str] = {}  # the program a cell starts -> the heading above it
    heading = ""
    for cell in cells:
        heading = cell.split(":")[0] if cell.startswith("## ") else heading
        for started in re.findall(r"^(\w+_service) = start\(", cell, re.M):
            under[started] = heading
    assert under == {
        "python_view_service": "## Step 1",  # where the page starts it; recorded under Step 2
        "native_view_service": "## Step 3",
        "fixed_native_service": "## Step 6",
    }


def test_recordings_write_the_files_the_pages_commands_name() -> None:
    """The page tells the learner to open python-view.json: the notebook's cells write and read that."""
    code = "\n".join(c.source for c in _built("lab-3").cells if c.cell_type == "code")
    for name in ("python-view.json", "native-view.json", "fixed-native.json"):
        assert f"--format speedscope -o {name}\n" in code and f'functions("{name}"' in code
    assert "_view.json" not in code and "fixed_native.json" not in code


def test_a_page_that_names_no_speedscope_file_keeps_the_step_id() -> None:
    """Lab 1's fixed recording is an SVG on the page (`-o fixed.svg`): the notebook's speedscope file
    keeps the step's name rather than take an SVG's."""
    lab = _lab("lab-1")
    text = (ROOT / lab.page).read_text(encoding="utf-8")
    files = notebook.outputs(lab, text)
    assert not any(name.endswith(".svg") for name in files.values())
    assert "fixed" not in files


def test_a_program_whose_output_the_page_links_runs_under_that_section() -> None:
    """Lab 3's page links data/symbols.txt and gives NumPy's version under "Where --native works": the
    notebook runs the symbols program there (a json step), so the learner can read their own libraries."""
    heading, placed = "", {}
    for cell in _built("lab-3").cells:
        heading = cell.source.split("\n")[0] if cell.source.startswith("## ") else heading
        for line in cell.source.split("\n") if cell.cell_type == "code" else []:
            placed.setdefault(line, heading)
    assert placed.get("!python labs/native_service/symbols.py") == "## Where --native works"


def test_lab_4_counts_each_workers_samples_in_checksum(tmp_path: Path) -> None:
    """The busy step's cell prints each worker's samples in its computing function, from py-spy's files
    (not compare(), which compares functions), and the start is under Step 1, the refusals under Step 2."""
    import json

    lab = _lab("lab-4")
    (step,) = [s for s in lab.steps if s.kind == "busy"]
    cell = nbcells.cells(lab, step)[0]

    def recording(counts: dict[str, int]) -> dict[str, object]:
        frames = [{"name": "Queue.get"}, {"name": "checksum"}]
        profiles = [
            {"name": f'Process {n} Thread {n} "{name}"', "samples": [[0, 1]] * busy + [[0]] * 5}
            for n, (name, busy) in enumerate(counts.items())
        ]
        return {
            "shared": {"frames": frames},
            "profiles": [*profiles, {"name": 'Thread 9 "dispatcher"', "samples": [[1]]}],
        }

    (tmp_path / f"{step.before}.json").write_text(json.dumps(recording({"worker-0": 7, "worker-1": 1})))
    (tmp_path / f"{step.after}.json").write_text(json.dumps(recording({"worker-0": 4, "worker-1": 3})))
    printed: list[str] = []
    from collections import Counter

    names = {
        "json": json,
        "re": re,
        "Path": lambda p: tmp_path / p,
        "Counter": Counter,
        "print": printed.append,
        "SECONDS": 1,  # one second at py-spy's 100 Hz: 99 looks, the busy shares' denominator
    }
    exec(cell, names)  # the cell as the notebook runs it
    assert printed == [
        f"{step.before}.json: worker-0 7 samples (busy 7.1%), worker-1 1 samples (busy 1.0%)",
        f"{step.after}.json: worker-0 4 samples (busy 4.0%), worker-1 3 samples (busy 3.0%)",
    ]
    headings = [c.source for c in _built("lab-4").cells if c.cell_type == "markdown"]
    sources = "\n".join(c.source for c in _built("lab-4").cells)
    assert any(h.startswith("## Step 1") for h in headings), headings
    step2 = sources.split("## Step 2")[1].split("## Step 3")[0]
    assert "--subprocesses --pid {tree.pid}" in step2


def _under(lab_id: str) -> dict[str, str]:
    """Each code line of a lab's notebook -> the second-level heading above it (its words before ':')."""
    heading, placed = "", {}
    for cell in _built(lab_id).cells:
        heading = cell.source.split(":")[0] if cell.source.startswith("## ") else heading
        for line in cell.source.split("\n") if cell.cell_type == "code" else []:
            placed.setdefault(line, heading)
    return placed


@pytest.mark.parametrize("lab_id", LABS)
def test_no_step_runs_before_the_first_heading_that_shows_it(lab_id: str) -> None:
    """A step goes under the first heading that shows it, or later when a step it needs shows later
    (Lab 4's comparison of both services, shown in Step 4's prose, needs the fixed service's recording
    of Step 6): pulled up to Step 4, it took the fixed service with it, ahead of the page."""
    lab = _lab(lab_id)
    text = (ROOT / lab.page).read_text(encoding="utf-8")
    found = notebook.sections(lab, text)
    headings = [h or lab.title for h, _ in found]
    first = {}
    for number, (_, ids) in enumerate(found):
        for step_id in ids:
            first.setdefault(step_id, number)
    for heading, group in notebook.order(lab, text):
        at = headings.index(heading) if heading in headings else len(headings)
        early = [s.id for s in group if first.get(s.id, -1) > at]
        assert not early, f"{early} run under {heading!r}, before the page shows them"


def test_lab_4_runs_each_step_under_the_pages_step_that_runs_it() -> None:
    """The page: Step 6 stops the slow service, starts the fixed one and records it (the comparison of
    the two shows there too); Step 7 stops the fixed service, then measures the throughput."""
    placed = _under("lab-4")
    headings = sorted(set(placed.values()) - {""}, key=list(placed.values()).index)
    assert headings == [f"## Step {n}" for n in (1, 2, 3, 4, 6, 7)]
    line = {
        text: next(k for k in placed if k.startswith(text))
        for text in (
            'tree = start("sh labs/job_pool/serve.sh"',
            "!py-spy record --pid $PID --duration $SECONDS --subprocesses --format speedscope -o tree.json",
            "stop(tree)",
            'fixed = start("sh labs/job_pool/serve.sh --fixed"',
            "COMPUTING = ",
            "stop(fixed)",
            "!python labs/job_pool/jobs.py",
        )
    }
    assert [placed[v] for v in line.values()] == [
        "## Step 1",
        "## Step 4",
        "## Step 6",
        "## Step 6",
        "## Step 6",
        "## Step 7",
        "## Step 7",
    ]


@pytest.mark.parametrize("lab_id", LABS)
def test_cells_are_titled_by_the_steps_titles_never_their_ids(lab_id: str) -> None:
    """A stop step without a title is named by what it stops ("Stop the slow web service"), as the
    terminal names it, not by the manifest's ids ("Stop web")."""
    lab = _lab(lab_id)
    ids = {s.id for s in lab.steps}
    titles = [c.source.split("\n")[0][2:] for c in _built(lab_id).cells if c.cell_type == "code"]
    titles = [t.removesuffix(", continued") for t in titles if t and not t.startswith(("!", "%"))]
    named = [t for t in titles if t in ids or (t.startswith("Stop ") and set(t[5:].split(", ")) <= ids)]
    assert not named, named
    stops = [s for s in lab.steps if s.stop and s.id in {x.id for x in notebook.included(lab, "")}]
    assert all(f"Stop {words._lower(words.step_title(lab.steps, s.stop[0]))}" in titles for s in stops)


def test_the_notebooks_sitecustomize_runs_a_sitecustomize_of_your_own(tmp_path: Path) -> None:
    """The programs a notebook starts find its sitecustomize first on PYTHONPATH; one the learner's
    environment already has (a Debian Python ships one) still runs after it."""
    import subprocess
    import sys

    helpers = nbhelpers.HELPERS.format(folder="lab")
    subprocess.run([sys.executable, "-c", helpers], cwd=tmp_path, check=True, capture_output=True, timeout=30)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "sitecustomize.py").write_text("print('my own sitecustomize ran')\n")
    path = os.pathsep.join([str(tmp_path / "lab" / "startup"), str(mine)])
    env = {**os.environ, "PYTHONPATH": path}
    run = subprocess.run(
        [sys.executable, "-c", "import sitecustomize; print(sitecustomize.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert run.stdout.split("\n")[:2] == [
        "my own sitecustomize ran",
        str(tmp_path / "lab" / "startup" / "sitecustomize.py"),
    ]
    assert run.stderr == ""


@pytest.mark.parametrize("lab_id", LABS)
def test_defines_the_public_helpers_its_cells_call_and_no_other(lab_id: str) -> None:
    """A helper no cell calls only puzzles the reader (Lab 4 draws no `top` screen and reads no load
    report: no screen() or p95()); every helper a cell calls is defined."""
    cells = [c.source for c in _built(lab_id).cells if c.cell_type == "code"]
    (defined,) = [c for c in cells if "\ndef start(" in c]
    calls = "\n".join(c for c in cells if c != defined)
    for name in re.findall(r"^def ([a-z]\w*)\(", nbhelpers.HELPERS, re.M):
        assert (f"\ndef {name}(" in defined) == bool(re.search(rf"\b{name}\(", calls)), (lab_id, name)


def test_functions_names_the_threads_in_the_pages_words_not_by_their_pattern(tmp_path: Path) -> None:
    """Lab 4's recordings count the threads matching `^worker-`: the notebook prints "of the worker
    threads", as the page's captions say, never the pattern."""
    import json
    import subprocess
    import sys

    lab = _lab("lab-4")
    (step,) = [s for s in lab.steps if s.id == "slow_tree"]
    show = [c for c in nbcells.cells(lab, step, files={"slow_tree": "tree.json"}) if "functions(" in c][-1]
    frames = [{"name": "work", "file": "jobs.py"}, {"name": "checksum", "file": "jobs.py"}]
    recording = {
        "shared": {"frames": frames},
        "profiles": [
            {"name": 'Process 7 Thread 7 "worker-0"', "samples": [[0, 1]] * 3},
            {"name": 'Process 6 Thread 6 "dispatcher"', "samples": [[0]]},
        ],
    }
    (tmp_path / "lab-4").mkdir()
    (tmp_path / "lab-4" / "tree.json").write_text(json.dumps(recording))
    helpers = nbhelpers.helpers("lab-4", [show])
    run = subprocess.run(
        [sys.executable, "-c", f"{helpers}\n{show}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "tree.json: 3 samples of the worker threads\n" in run.stdout, run.stdout
    assert step.threads not in run.stdout


def test_the_intro_names_every_package_the_first_cells_install() -> None:
    """Lab 3's programs import NumPy, so its notebook installs NumPy too, and its intro says so."""
    intro = _built("lab-3").cells[0].source
    install = next(c.source for c in _built("lab-3").cells if c.source.startswith("%pip install"))
    assert '"numpy' in install and "install py-spy and numpy," in intro
