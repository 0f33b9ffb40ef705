"""The command line's words: each subcommand of `python -m labkit` and its options (run by labkit.cli)."""

from __future__ import annotations

import argparse
from pathlib import Path

from labkit import workflow


def parser(*, description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description=description)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("assets", help="re-run stale labs and publish their results into docs/")
    p.add_argument("--lab"), p.add_argument("--force", action="store_true")
    p.add_argument(
        "--quick", action="store_true", help="the short configuration, into out/quick/ (never docs/)"
    )
    p.add_argument("--method", choices=["pid", "launch"])
    p = sub.add_parser("check", help="pages agree with results, results with raw data, nothing stale")
    p.add_argument("--lab")
    p.add_argument("--quick", action="store_true", help="check what `assets --quick` wrote into out/quick/")
    p.add_argument("--allow-quick", action="store_true", dest="quick", help=argparse.SUPPRESS)  # older name
    p = sub.add_parser("learn", help="run one lab live; outputs go to out/<id>/")
    p.add_argument("lab_id"), p.add_argument("--quick", action="store_true")
    p.add_argument("--method", choices=["pid", "launch"])
    p = sub.add_parser(
        "grade", help="judge the learner's exercise (exercises/<id>/); writes out/<id>/grade.json"
    )
    p.add_argument("lab_id"), p.add_argument("--quick", action="store_true")
    p = sub.add_parser("reset", help="restore the learner's exercise to the original (asks first)")
    p.add_argument("lab_id"), p.add_argument("--force", action="store_true")
    p = sub.add_parser(
        "soak", help="measure a lab N times into a scratch folder; report how stable its claims are"
    )
    p.add_argument("--lab"), p.add_argument("--runs", type=int, default=5)
    p.add_argument("--quick", action="store_true"), p.add_argument("--method", choices=["pid", "launch"])
    p = sub.add_parser(
        "notebook", help="write each lab's notebook (docs/labs/<id>/<id>.ipynb); --execute runs it"
    )
    p.add_argument("--lab"), p.add_argument("--execute", action="store_true")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    p = sub.add_parser("new-lab", help="start a new lab (manifest, program, page, test); overwrites nothing")
    p.add_argument("--lab", required=True, help="the new lab's id, lab-N")
    p.add_argument("--title", required=True, help="the lab's title, shown on its page and in the nav")
    p = sub.add_parser("budget", help="words shown on each page of the built site against its budget")
    p.add_argument("--site", type=Path, default=Path("site"), help="the built site (default: site/)")
    workflow.add_parsers(sub)  # the regeneration workflow's steps and `make matrix`
    return parser
