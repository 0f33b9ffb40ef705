"""The regeneration workflow's steps as commands: labs, preflight, cell, merge, report and summary.

.github/workflows/assets.yml only wires these together, and `make matrix` (labkit.matrix) runs the
same commands here, so every step the workflow takes is tested like any other command.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from labkit import artifacts, lock, manifest, preflight, pyspy, pythons, report, resultfile
from labkit.errors import EXIT_FAILED, EXIT_OK, LabError, NeedError
from labkit.resultfile import read_results

PUBLISH_PYTHON, SUPPORTED = artifacts.PUBLISH_PYTHON, artifacts.SUPPORTED
Assets = Callable[[argparse.Namespace, Path], int]


def _cores() -> int:
    """The cores this process may use (a container or taskset can allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def default_jobs() -> int:
    """Cells at once: one per two cores. A cell keeps about two busy (the program measured, and py-spy
    or a load generator beside it); two Lab 2 cells on two cores once left a claim undecided."""
    return max(1, _cores() // 2)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The workflow's subcommands (labkit.commands adds them to the one parser)."""
    p = sub.add_parser("labs", help="the lab ids as a JSON list (the workflow's matrix)")
    p.add_argument("--only", default="all", help="one lab id, or all (default)")
    p = sub.add_parser("preflight", help="what this runner lacks before a lab is measured (exit 4 if any)")
    p.add_argument("--lab"), p.add_argument("--pythons", nargs="*", default=[], metavar="X.Y")
    p = sub.add_parser("cell", help="measure one lab (assets --force) and write its artifact folder")
    p.add_argument("--lab", required=True), p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true"), p.add_argument("--method", choices=["pid", "launch"])
    p = sub.add_parser("merge", help="merge one Python's cell artifacts into docs/, each lab whole")
    p.add_argument("--from", dest="source", type=Path, required=True, help="the downloaded artifacts")
    p.add_argument("--python", default=PUBLISH_PYTHON), p.add_argument("--quick", action="store_true")
    p.add_argument("--summary", type=Path, help="also write the merge's report here (Markdown)")
    p = sub.add_parser("report", help="rewrite the run report (docs/reports.md) from the labs' results")
    p.add_argument("--quick", action="store_true")
    p = sub.add_parser("summary", help="one cell's artifact as Markdown, for the job's summary")
    p.add_argument("--cell", type=Path, required=True)
    p = sub.add_parser("matrix", help="every lab on every Python found here, as the workflow runs them")
    p.add_argument("--lab", action="append", default=[], help="a lab (repeat for more; default: all)")
    p.add_argument("--pythons", nargs="*", default=[], metavar="X.Y")
    p.add_argument("--quick", action="store_true")
    p.add_argument(
        "--jobs", type=int, default=default_jobs(), help="cells at once (default: one per two cores)"
    )
    p.add_argument("--here", action="store_true", help="merge into this repository, not a scratch clone")
    p.add_argument("--venv", type=Path, help="the environment for cells of its Python (default: .venv)")


def cmd_labs(args: argparse.Namespace, root: Path) -> int:
    ids = [p.stem for p in manifest.discover(root)]
    if args.only != "all":
        if args.only not in ids:
            raise LabError(f"no lab {args.only!r}: there is no labs/{args.only}.yml (labs: {', '.join(ids)})")
        ids = [args.only]
    print(json.dumps(ids))
    return EXIT_OK


def runner_problems(*, wanted: list[str]) -> list[str]:
    """What this runner lacks for any lab: attaching by PID (Yama) and the Pythons the labs expect."""
    out = []
    scope, where = preflight.ptrace_scope(), preflight.platform()
    if not preflight.can_attach(scope=scope, privileged=preflight.privileged(), platform=where):
        advice = pyspy.attach_advice(scope=scope, is_root=preflight.is_root(), platform=where, launch=False)
        fix = (
            "it cannot be lowered until reboot: use another runner"
            if scope == 3
            else ("lower it first: `echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`")
        )
        out.append(f"this runner refuses py-spy attaching by PID (ptrace_scope {scope}); {fix}. {advice}")
    found = preflight.discover() if wanted else pythons.Found({})
    for version in wanted:
        if version not in found.pythons:
            have = ", ".join(found.versions()) or "none"
            out.append(f"Python {version} is missing (found {have}; looked in: {', '.join(found.looked)})")
    return out


def cmd_preflight(args: argparse.Namespace, root: Path) -> int:
    problems = runner_problems(wanted=list(args.pythons))
    for lab in _labs(root, args.lab):
        checked = preflight.check(lab, root=root, method=None, learner=False)
        problems += [str(p) for p in checked if p.fatal]
        for note in (p for p in checked if not p.fatal):
            print(f"  note: {note}")
    if problems:
        raise NeedError("\n".join(problems) + "\nNothing was measured (preflight).")
    scope = preflight.ptrace_scope()
    print(f"✓ this runner has what the labs need (ptrace_scope {scope if scope is not None else 'absent'})")
    return EXIT_OK


def cmd_cell(args: argparse.Namespace, root: Path, *, assets: Assets) -> int:
    """`make assets LAB=<lab> FORCE=1`, then the artifact, whatever the run's outcome."""
    started = time.perf_counter()
    lab: manifest.Lab | str = args.lab
    try:
        (lab,) = _labs(root, args.lab)
        run = argparse.Namespace(lab=lab.id, force=True, quick=args.quick, method=args.method)
        code = assets(run, root)
    except LabError as exc:  # a refused manifest, the lock: the run never started
        print(f"error: {exc}", file=sys.stderr)
        code = exc.exit_code
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    out = args.out if args.out.is_absolute() else root / args.out
    cell = artifacts.pack(
        lab,
        root=root,
        out=out,
        quick=args.quick,
        code=code,
        wall_s=time.perf_counter() - started,
        python=python,
    )
    print(f"{artifacts.name(cell['lab'], python)}: {cell['result']} ({cell['why']}); artifact in {args.out}")
    return code


def _labs(root: Path, only: str | None) -> list[manifest.Lab]:
    paths = [p for p in manifest.discover(root) if not only or p.stem == only]
    if only and not paths:
        raise LabError(f"no lab {only!r}: there is no labs/{only}.yml")
    return [manifest.load(p.relative_to(root), root=root) for p in paths]


def cmd_merge(args: argparse.Namespace, root: Path) -> int:
    """Each lab of this tree: its artifact merged whole, or its previous results kept (and why)."""
    source = args.source if args.source.is_absolute() else root / args.source
    if not source.is_dir():
        raise LabError(f"{args.source}: no such folder of artifacts")
    found = artifacts.find(source, python=args.python)
    merged: list[artifacts.Merged] = []
    wait = float(os.environ.get("LABKIT_LOCK_WAIT", "300"))
    with lock.held(root / ".labs" / "lock", wait_s=wait, say=print, what="labkit merge"):
        for path in manifest.discover(root):
            try:
                lab = manifest.load(path.relative_to(root), root=root)
            except LabError as exc:
                shown = ", ".join(f.name for f in found.pop(path.stem, []))
                merged.append(artifacts.Merged(path.stem, "kept", shown, " ".join(str(exc).split())))
                continue
            merged.append(artifacts.merge_lab(lab, found.pop(lab.id, []), root=root, quick=args.quick))
        for folder in found.pop("", []):
            merged.append(artifacts.Merged("?", "ignored", folder.name, f"unreadable {artifacts.CELL}"))
        for lab_id, folders in found.items():
            shown = ", ".join(f.name for f in folders)
            merged.append(artifacts.Merged(lab_id, "ignored", shown, "no such lab in this tree"))
        _, why = report.update(root, into=resultfile.target(root, quick=args.quick))
    for m in merged:
        mark = "✓" if m.status == "merged" else "✗"
        print(f"{mark} {m.lab}: {m.status} ({m.artifact or 'no artifact'}): {m.detail}")
    if why:
        print(f"  {why}")
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(artifacts.markdown(merged, python=args.python, report=why), encoding="utf-8")
    return EXIT_OK if all(m.status == "merged" for m in merged) else EXIT_FAILED


def cmd_report(args: argparse.Namespace, root: Path) -> int:
    into = resultfile.target(root, quick=args.quick)
    labs, broken = report.all_labs(root)
    if broken:
        raise LabError(f"the run report needs every lab: {', '.join(broken)} does not load")
    written = report.write(labs, root=root, into=into)
    shown = (into / report.PAGE).relative_to(root).as_posix()
    print(f"{shown}: {'rewritten' if written else 'unchanged'}")
    return EXIT_OK


def summary(folder: Path, *, tail: int = 60) -> str:
    """One cell as Markdown: the result, its claims and steps, and the end of its output."""
    cell = artifacts.read_cell(folder)
    lines = [f"## {cell['lab']} on Python {cell['python']}", ""]
    took = f"{cell.get('wall_s', 0):.1f} s"
    lines.append(f"**{cell['result']}** ({cell['why']}, exit {cell['exit_code']}) in {took}.")
    results = read_results(folder / artifacts.FILES / "docs" / "labs" / cell["lab"] / "data")
    if results is not None:
        lines.append(f"Claims: {cell.get('claims', '')}.")
        steps = [f"{s['id']}: {s['wall_s']:.1f} s" for s in results["provenance"].get("steps", [])]
        lines.append("Steps: " + "; ".join(steps) + ".")
    output = folder / "output.txt"
    if output.is_file():
        text = output.read_text(encoding="utf-8", errors="replace").splitlines()[-tail:]
        lines += ["", "```", *(line.replace("```", "'''") for line in text), "```"]
    return "\n".join(lines) + "\n"


def cmd_summary(args: argparse.Namespace, root: Path) -> int:
    folder = args.cell if args.cell.is_absolute() else root / args.cell
    print(summary(folder), end="")
    return EXIT_OK


def handlers(assets: Assets) -> dict[str, Callable[[argparse.Namespace, Path], int]]:
    """The subcommands for labkit.cli (``assets`` is its `make assets`, which a cell runs)."""
    return {
        "labs": cmd_labs,
        "preflight": cmd_preflight,
        "cell": lambda args, root: cmd_cell(args, root, assets=assets),
        "merge": cmd_merge,
        "report": cmd_report,
        "summary": cmd_summary,
        "matrix": _matrix,
    }


def _matrix(args: argparse.Namespace, root: Path) -> int:
    from labkit import matrix  # starts clones and processes: imported only when asked

    return matrix.command(args, root)
