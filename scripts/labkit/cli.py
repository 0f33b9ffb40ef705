"""The command line behind the Makefile: assets, check, learn, grade, reset, soak, notebook, budget, and the
regeneration workflow's steps (labkit.workflow)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from labkit import (
    budget,
    check,
    commands,
    exercise,
    formats,
    kinds,
    learner,
    lock,
    manifest,
    preflight,
    publish,
    report,
    resultfile,
    scaffold,
    soak,
    terminal,
    words,
    workflow,
)
from labkit.errors import EXIT_CHECK, EXIT_INTERNAL, EXIT_OK, LabError
from labkit.manifest import Lab

# soft_wrap: piped output keeps whole lines, so a fix command is never split across two. Without a
# terminal rich would draw at 80 columns; the tables print as plain lines there (learner.print_table),
# and anything else rich draws gets a log's width.
LOG_WIDTH = 160


def _console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else max(LOG_WIDTH, int(os.environ.get("COLUMNS", "0") or 0))
    return terminal.Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


console = _console()
errors = _console(stderr=True)


def _labs(root: Path, only: str | None) -> list[Lab]:
    paths = manifest.discover(root)
    if only:
        paths = [p for p in paths if p.stem == only]
        if not paths:
            known = ", ".join(p.stem for p in manifest.discover(root)) or "none"
            raise LabError(f"no lab {only!r}: there is no labs/{only}.yml (labs: {known})")
    return [manifest.load(p.relative_to(root), root=root) for p in paths]


def _say(msg: str) -> None:
    console.print(f"  {msg}", markup=False)


def cmd_assets(args: argparse.Namespace, root: Path) -> int:
    """Run every (or one) lab; one failing lab does not stop the others; a report table at the end."""
    wait = float(os.environ.get("LABKIT_LOCK_WAIT", "300"))
    rows: list[tuple[str, str, float, str, str, str]] = []
    codes: list[int] = []  # each failed lab's exit code: the command exits with the first
    into = resultfile.target(root, quick=args.quick)  # QUICK results are never published: a mirror
    docs = (into / "docs").relative_to(root).as_posix()
    with lock.held(root / ".labs" / "lock", wait_s=wait, say=_say):
        paths = [p for p in manifest.discover(root) if not args.lab or p.stem == args.lab]
        if args.lab and not paths:
            raise LabError(f"no lab {args.lab!r}: there is no labs/{args.lab}.yml")
        for path in paths:
            started = time.perf_counter()
            try:
                lab = manifest.load(path.relative_to(root), root=root)
                for warning in lab.warnings:
                    errors.print(f"  warning: {warning}", markup=False)
                if publish.will_measure(lab, root=root, force=args.force, quick=args.quick):
                    preflight.require(
                        lab, root=root, method=args.method, learner=False, quick=args.quick, say=_say,
                        writes_docs=not args.quick,
                    )  # fmt: skip
                outcome = publish.assets(
                    lab, root=root, force=args.force, quick=args.quick, method=args.method, say=_say
                )
            except (LabError, Exception) as exc:  # one failing lab must not stop the others
                took = time.perf_counter() - started
                codes.append(exc.exit_code if isinstance(exc, LabError) else EXIT_INTERNAL)
                if not isinstance(exc, LabError):  # a bug, not bad input: keep the traceback for the report
                    errors.print(Text("".join(traceback.format_exception(exc))))
                rows.append((path.stem, "failed", took, "", "", str(exc) or repr(exc)))
                # Text, not markup: a claim's sentence may hold [brackets].
                message = f"{exc}\n  {docs}/ still holds its previous results."
                errors.print(Text.assemble((f"✗ {path.stem} failed: ", "red"), message))
                continue
            took = time.perf_counter() - started
            res = outcome.results
            status = {"unchanged": "cached", "updated": "cached, page updated"}.get(
                outcome.status, outcome.status
            )
            details = "; ".join([*report.step_times(lab, res), *report.samples(lab, res)])
            rows.append((lab.id, status, took, details, str(words.tally(res["claims"])), ""))
            console.print(f"[green]✓[/green] {lab.id}: {outcome.status} ({took:.1f} s)")
        # The report follows the results; it is written only when its text would change.
        written, why = report.update(root, into=into)
        if why:
            (console if written else errors).print(f"  {why}", markup=False)
    learner.print_table(
        console,
        "make assets: run report",
        ["lab", "result", "wall time", "steps (latest measurement)", "claims", "failure"],
        [
            [lab_id, status, f"{took:.1f} s", steps, claims, " ".join(why.split("\n")[:2]).strip()]
            for lab_id, status, took, steps, claims, why in rows
        ],
    )
    if args.quick:
        console.print(
            f"  QUICK results are never published: see {docs}/ (`labkit check --quick`)", markup=False
        )
    return codes[0] if codes else EXIT_OK


def cmd_check(args: argparse.Namespace, root: Path) -> int:
    bad = 0
    for lab in _labs(root, args.lab):
        try:
            problems, notes = check.check_lab(lab, root=root, quick=args.quick)
        except LabError as exc:
            problems, notes = [str(exc)], []
        for note in notes:
            console.print(f"  note: {note}", markup=False)
        if problems:
            bad += 1
            errors.print(f"[red]✗ {lab.id}: {len(problems)} problem(s)[/red]")
            for problem in problems:
                errors.print(f"  {problem}", markup=False)
        else:
            console.print(f"[green]✓[/green] {lab.id}: page, results and raw data agree; inputs unchanged")
    if not args.lab:
        labs, _ = report.all_labs(root)  # every manifest loaded above
        for problem in report.check(labs, root=root, into=resultfile.target(root, quick=args.quick)):
            bad += 1
            errors.print(f"  {problem}", markup=False)
    return EXIT_CHECK if bad else EXIT_OK


def _exercise_note(lab: Lab, root: Path) -> str | None:
    """Make the learner's copy of the exercise once (never overwritten); what to tell them about it."""
    if lab.exercise is None:
        return None
    made = exercise.create(lab, root=root)
    return exercise.instructions(lab, root=root, made=made)


def cmd_learn(args: argparse.Namespace, root: Path) -> int:
    (lab,) = _labs(root, args.lab_id)
    preflight.require(lab, root=root, method=args.method, learner=True, quick=args.quick, say=_say)
    console.rule(terminal.text(f"{lab.title} ({lab.id})", style="bold"))
    note = _exercise_note(lab, root)
    if note:
        console.print(Text(note, style="bold"))
    names = learner.places(lab, root=root, results=resultfile.read_results(root / lab.data_dir))
    say = learner.Progress(names, console.print)
    with console.status("running the lab: real processes, real py-spy (Ctrl-C stops everything)"):
        out, results = publish.learner_run(lab, root=root, quick=args.quick, method=args.method, say=say)
    for kind, step, entry in kinds.entries(results):
        if kind.summary is not None:
            console.print(kind.summary(step, entry))
    if results["claims"]:
        written = out / "claims.txt"
        written.write_text(learner.claims_text(results, quick=args.quick), encoding="utf-8")
        line = learner.claims_line(results, quick=args.quick, written=written.relative_to(root).as_posix())
        console.print(Text(line, style="bold"))
    console.print("Open the flame graphs in a browser (click to zoom, / to search):")
    for _step, headline in kinds.headlines(results):
        if headline.picture:
            console.print(f"  {out.relative_to(root) / headline.picture}", markup=False)
    console.print(f"Everything else is in {out.relative_to(root)}/ (results.json, speedscope files).")
    if note:
        console.print(Text(note, style="bold"))
    return 0


def cmd_grade(args: argparse.Namespace, root: Path) -> int:
    """Judge the learner's exercise; exit 0 only when every check passes."""
    from labkit import grade  # runs programs: `check` imports this module and must run nothing

    (lab,) = _labs(root, args.lab_id)
    ex = exercise.of(lab)
    made = exercise.create(lab, root=root)
    if made:
        console.print(Text(exercise.instructions(lab, root=root, made=made)))
    file, function = exercise.target(lab, root=root)
    console.rule(terminal.text(f"Grading {file.relative_to(root)} ({lab.id}: `{function}`)", style="bold"))
    with console.status("grading: real processes, real py-spy (Ctrl-C stops everything)"):
        result = grade.grade(lab, root=root, quick=args.quick, say=_say)
    number = lab.number
    learner.print_table(
        console,
        f"make grade-{number}" + (" (QUICK)" if args.quick else ""),
        ["check", "measured", "rule", "verdict"],
        [
            [c.question, c.measured, c.rule, Text(c.verdict, style="green" if c.passed else "red")]
            for c in result.checks
        ],
    )
    for c in result.checks:
        if c.detail:
            console.print(Text(f"{c.id}: {c.detail}"))
    for c in result.checks:
        if c.picture:
            console.print(f"Your service's flame graph (open it in a browser): {c.picture}", markup=False)
    for c in result.checks:
        if c.hint:
            hint = " ".join(c.hint.split()) + (f" Your flame graph: {c.picture}" if c.picture else "")
            console.print(Text.assemble((f"hint ({c.id}): ", "yellow"), hint))
    path = grade.write(result, root=root)
    console.print(f"  written to {path.relative_to(root)}", markup=False)
    if result.unchanged:
        why = " ".join(ex.unchanged.split()) or "change it first"
        errors.print(
            Text(f"✗ unchanged: {file.relative_to(root)} is still the original exercise; {why}", style="red")
        )
    failed = grade.failed(result.checks)
    if failed:
        errors.print(Text(f"✗ {len(failed)} check(s) failed: {', '.join(failed)}", style="red"))
    if result.passed:
        console.print(Text(f"✓ every check passed ({result.wall_s:.0f} s)", style="green"))
        console.print(Text(_next_step(lab, root), style="bold"))
        return 0
    return 1


def _next_step(lab: Lab, root: Path) -> str:
    """What comes after a passed lab: the next lab in the site's order, or the end of the labs."""
    after = learner.next_lab(lab, root=root)
    if after is None:
        return f"That was the last lab. Well done: {lab.title} is finished, and so are the labs."
    number = after.number
    return f"Next: {after.title} ({after.page}); start it with `make lab-{number}`."


def cmd_reset(args: argparse.Namespace, root: Path) -> int:
    """Restore the learner's exercise to the original, after asking (or with --force)."""
    (lab,) = _labs(root, args.lab_id)
    exercise.of(lab)
    folder = root / lab.exercise.folder(lab.id) if lab.exercise else root
    if not args.force:
        if not sys.stdin.isatty():
            raise LabError(
                f"resetting {folder.relative_to(root)}/ throws your changes away, and there is no "
                f"terminal to ask you: run `make reset-{lab.number} FORCE=1` to do it anyway"
            )
        answer = input(f"Restore {folder.relative_to(root)}/ to the original? Your changes are lost. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            console.print("  nothing changed", markup=False)
            return 1
    for path in exercise.restore(lab, root=root):
        console.print(f"  restored {path.relative_to(root)}", markup=False)
    return 0


def cmd_soak(args: argparse.Namespace, root: Path) -> int:
    """Measure one lab N times into .labs/soak/ (never docs/); print and save how stable its claims are."""
    if not args.lab:
        raise LabError("say which lab to soak: `make soak LAB=<id> RUNS=5`")
    (lab,) = _labs(root, args.lab)
    preflight.require(
        lab, root=root, method=args.method, learner=False, quick=args.quick, say=_say, writes_docs=False
    )
    wait = float(os.environ.get("LABKIT_LOCK_WAIT", "300"))
    # The same lock as `make assets`: two measuring runs at once would time each other.
    with lock.held(root / ".labs" / "lock", wait_s=wait, say=_say, what=f"make soak LAB={lab.id}"):
        summary = soak.soak(lab, root=root, runs=args.runs, quick=args.quick, method=args.method, say=_say)
    path = soak.write(summary, root=root)
    runs = summary["runs"]
    claim_rows: list[list[str | Text]] = []
    for cid, c in summary["claims"].items():
        verdicts = ", ".join(f"{v} {n}/{runs}" for v, n in c["verdicts"].items())
        shown = "" if c["value_range"] is None else " – ".join(f"{x:.4g}" for x in c["value_range"])
        ok = c["as_expected"] == runs
        margin = soak.fmt_margin(c["smallest_margin"])
        claim_rows.append(
            [cid, c["expect"], Text(verdicts, style="" if ok else "red"), shown, margin, c["rule"]]
        )
    learner.print_table(
        console,
        f"make soak LAB={lab.id} RUNS={runs}: claims",
        ["claim", "expected", "verdicts", "measured range", "smallest margin", "rule"],
        claim_rows,
    )
    spreads = [("whole run", summary["run_wall_s"]), *summary["step_wall_s"].items()]
    learner.print_table(
        console,
        "wall time (median, min, max over the runs)",
        ["step", "median", "min", "max"],
        [
            [name, *(formats.seconds(spread[k]) for k in ("median", "min", "max"))]
            for name, spread in spreads
            if spread
        ],
    )
    for failed in summary["failed_runs"]:
        errors.print(Text(f"run {failed['run']} failed: {failed['error']}"))
    verdict = soak.exit_code(summary)
    line = f"{lab.id}: {summary['successes']}/{runs} runs succeeded"
    line += "; every claim came out as expected in every run" if verdict == 0 else "; NOT stable (see above)"
    (console if verdict == 0 else errors).print(Text(line, style="green" if verdict == 0 else "red"))
    console.print(f"  summary written to {path.relative_to(root)}", markup=False)
    return verdict


def cmd_notebook(args: argparse.Namespace, root: Path) -> int:
    """Write each lab's notebook from its manifest and page; with --execute, run it in a fresh kernel."""
    from labkit import notebook, session

    for lab in _labs(root, args.lab):
        path = root / notebook.path_of(lab)
        text = notebook.render(lab, root=root)
        changed = not path.exists() or path.read_text(encoding="utf-8") != text
        if changed:
            path.write_text(text, encoding="utf-8")
        rel = path.relative_to(root).as_posix()
        console.print(f"[green]✓[/green] {rel}: {'written' if changed else 'unchanged'}")
        if args.execute:
            out = root / "out" / lab.id / "notebook" / path.name
            started = time.perf_counter()
            console.print(f"  executing {rel} in a fresh kernel{' (QUICK)' if args.quick else ''} ...")
            session.execute(path, quick=args.quick, timeout=args.timeout, out=out)
            took = time.perf_counter() - started
            console.print(f"  executed in {took:.1f} s; with its outputs: {out.relative_to(root).as_posix()}")
    return 0


def cmd_budget(args: argparse.Namespace, root: Path) -> int:
    """Words shown on each page of the built site against its budget; builds nothing."""
    return budget.run(root / args.site)


def _turn(args: argparse.Namespace, root: Path) -> contextlib.AbstractContextManager[None]:
    """A learner's run, a grade and the notebooks wait for the lock that `make assets` holds (and it for
    them): two measuring runs at once would time each other. (assets and soak take it themselves.)"""
    number = str(getattr(args, "lab_id", "") or "").removeprefix("lab-")
    what = {"learn": f"make lab-{number}", "grade": f"make grade-{number}", "notebook": "make notebooks"}
    if args.action not in what:
        return contextlib.nullcontext()
    wait = float(os.environ.get("LABKIT_LOCK_WAIT", "300"))
    return lock.held(root / ".labs" / "lock", wait_s=wait, say=_say, what=what[args.action])


def main(argv: Sequence[str] | None = None) -> int:
    args = commands.parser(description=__doc__).parse_args(argv)
    root = args.root.resolve()
    os.chdir(root)
    handlers = {
        "assets": cmd_assets,
        "check": cmd_check,
        "learn": cmd_learn,
        "grade": cmd_grade,
        "reset": cmd_reset,
        "soak": cmd_soak,
        "notebook": cmd_notebook,
        "budget": cmd_budget,
        "new-lab": scaffold.command,
        **workflow.handlers(cmd_assets),  # labs, preflight, cell, merge, report, summary, matrix
    }
    try:
        with _turn(args, root):
            return handlers[args.action](args, root)
    except LabError as exc:
        errors.print(Text.assemble(("error: ", "red"), str(exc)))
        return exc.exit_code
    except KeyboardInterrupt:
        errors.print("interrupted: every process started here was stopped; docs/ is unchanged")
        return 130
    except Exception:  # a bug in the toolkit, not bad input: its traceback, and a code of its own
        errors.print(Text(traceback.format_exc()))
        return EXIT_INTERNAL
