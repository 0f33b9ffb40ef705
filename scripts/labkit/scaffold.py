"""Create a new, minimal lab that already works: `python -m labkit new-lab --lab lab-3 --title "…"`.

It writes a manifest, a small CPU-bound program, a page in the lab page template
of the instructors' guide (result, at a glance, steps, "How we know",
Troubleshooting, Where to go next) with one value marker, one claim and the
generated blocks, and a mirrored test, and adds the page to mkdocs.yml's nav.
It never overwrites anything: an existing lab is an error.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from pathlib import Path

from labkit.errors import LabError
from labkit.versions import MANIFEST_VERSION

LAB_ID = re.compile(r"^lab-([1-9][0-9]*)$")

MANIFEST = """\
# {id}: {title_comment}
# Created by `make new-lab`; the format is described in the instructors' reference (docs/reference.md).
format_version: {format_version}
id: {id}
title: {title_yaml}
page: docs/labs/{id}/index.md
seed: 1
programs:
  - labs/{pkg}

steps:
  - id: service
    kind: profile
    title: Profile the service
    command: [labs/{pkg}/service.py, --seed, "{{seed}}"]
    ready: "running as PID"        # printed once the work loop starts
    method: pid                    # attach to the running process
    rate: 100
    adaptive: {{pilot: 1, max: 3}}   # a second look only if the pilot leaves a claim undecided

# Named numbers that the page shows; each is a path into results.json.
values:
  crunch_total: {{path: profiles.service.functions.crunch.total_share, format: share}}

# Every measured sentence of the page, bound to a check over the results.
claims:
  - id: crunch_dominates
    text: crunch is on the stack in at least half of the samples
    value: profiles.service.functions.crunch.total_share
    op: ">="
    than: 0.5
    expect: holds
    evidence: measured

# Numbers the page types in its prose that are not measurements (make check refuses any other).
figures:
  - text: about 15 minutes
    kind: input
    why: the time a learner needs, as the lab's author estimates it (the page's at-a-glance box)
"""

PROGRAM = '''\
"""The program of {id}: a small CPU-bound service that works until it is stopped.

Each round counts the primes below a limit drawn at random, by trial division
(`crunch`), and prints one line.

    python labs/{pkg}/service.py --seed 1              # runs until Ctrl-C
    python labs/{pkg}/service.py --seed 1 --rounds 3   # stops after three rounds
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence


def crunch(limit: int) -> int:
    """The number of primes below ``limit``, by trial division: pure Python, deliberately slow."""
    count = 0
    for candidate in range(2, limit):
        divisor = 2
        while divisor * divisor <= candidate:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            count += 1
    return count


def serve(*, seed: int | None, limit: int, rounds: int) -> None:
    """Run rounds of work until ``rounds`` are done (0 means run until stopped)."""
    rng = random.Random(seed)
    print(f"{id} service running as PID {{os.getpid()}}", flush=True)
    number = 0
    while rounds == 0 or number < rounds:
        number += 1
        size = rng.randint(limit // 2, limit)
        started = time.perf_counter()
        primes = crunch(size)
        took = time.perf_counter() - started
        print(f"round {{number}}: {{primes:,}} primes below {{size:,}} in {{took:.3f}} s", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A small CPU-bound service.")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible rounds")
    parser.add_argument("--limit", type=int, default=30000, help="largest limit of a round (default 30000)")
    parser.add_argument("--rounds", type=int, default=0, help="stop after N rounds (default: never)")
    args = parser.parse_args(argv)
    if args.limit < 2 or args.rounds < 0:
        parser.error("--limit must be at least 2 and --rounds must not be negative")
    try:
        serve(seed=args.seed, limit=args.limit, rounds=args.rounds)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

TEST = '''\
"""Mirrors labs/{pkg}/service.py: the core function is correct and the program prints its ready line."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "labs" / "{pkg}" / "service.py"


def load() -> ModuleType:
    # Loaded under a name of its own: other labs have a service.py too.
    spec = importlib.util.spec_from_file_location("{pkg}_service", SERVICE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sieve(limit: int) -> int:
    flags = [True] * max(limit, 2)
    flags[0] = flags[1] = False
    for n in range(2, int(limit**0.5) + 1):
        if flags[n]:
            flags[n * n :: n] = [False] * len(flags[n * n :: n])
    return sum(flags[:limit])


@pytest.mark.parametrize(("limit", "expected"), [(0, 0), (2, 0), (3, 1), (10, 4), (100, 25), (1000, 168)])
def test_crunch_counts_primes(limit: int, expected: int) -> None:
    assert load().crunch(limit) == expected


def test_crunch_agrees_with_a_sieve() -> None:
    crunch = load().crunch
    for limit in range(0, 600, 7):
        assert crunch(limit) == sieve(limit), limit


def test_prints_ready_line_then_one_line_per_round() -> None:
    done = subprocess.run(
        [sys.executable, str(SERVICE), "--seed", "1", "--limit", "500", "--rounds", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"{id} service running as PID \\d+", lines[0])
    assert len(lines) == 4 and all(line.startswith("round ") for line in lines[1:])
'''

PAGE = """\
# {heading}

The service's
function <!-- name: labs/{pkg}/service.py | crunch -->`crunch`<!-- /name --> was on the stack
in <!-- value: crunch_total -->…<!-- /value --> of the samples that py-spy took
of it while it ran: crunch is on the stack in at least half of the samples.
This lab shows how to find that out about a program that is already running.

!!! abstract "At a glance"

    - **Time:** about 15 minutes.
    - **You learn:** to attach py-spy to a running Python program and read the
      flame graph it records.
    - **You need:** Linux or macOS, Python 3.10 or newer and a clone of this
      repository; `make {id}` sets up py-spy.

This page was written by `make new-lab`: replace its text with your lab's and
keep its layout (see the instructors' guide).

## Step 1: Start the service

Start the service in a terminal. It keeps one CPU core busy until you stop it
with Ctrl+C:

```bash
python labs/{pkg}/service.py --seed 1
```

You should see its process ID on the first line, then one line per round of
work.

**Takeaway:** the program to profile is already running; you do not restart it
to look inside.

## Step 2: Record a flame graph

In a second terminal, attach py-spy to the service by the process ID it
printed, and record for a while:

```bash
py-spy record --pid PID --duration 10 -o service.svg
```

You should see py-spy count its samples, then write `service.svg`. Open it in
a browser: ours is below. The wider a frame, the more samples held that
function.

<!-- begin: flamegraph service -->

<!-- end: flamegraph service -->

**Takeaway:** the widest frame of the service's own
work, <!-- name: labs/{pkg}/service.py | crunch -->`crunch`<!-- /name -->, is where
the time goes: it is the function to make faster.

??? info "How we know"

    `make assets LAB={id}` ran the service, attached py-spy to it by its
    process ID and wrote the recording and its results into `data/`, next to
    this page; `make check` recomputes every number from that data. Every
    sentence that states a measurement is a claim, checked against the data;
    a share holds only when its whole confidence interval is on the right
    side of the threshold.

    <!-- begin: claims -->

    <!-- end: claims -->

## Troubleshooting

### Permission denied

Attaching to a running program reads its memory, which some systems allow
only to an administrator. Run the command with `sudo`, or let py-spy start
the program itself:
`py-spy record -o service.svg -- python labs/{pkg}/service.py --seed 1`.

## Where to go next

- Run the whole lab on your machine with `make {id}`; your results go to
  `out/{id}/`.
- Go back to the [list of labs](../../index.md#the-labs).

??? info "Measured on"

    <!-- begin: provenance -->

    <!-- end: provenance -->
"""


def _add_to_nav(text: str, entry: str, page: str) -> str:
    """mkdocs.yml with ``entry`` appended after the last entry of the nav's "Labs" section."""
    lines = text.split("\n")
    if any(re.search(rf":\s*{re.escape(page)}\s*$", line) for line in lines):
        return text  # already listed
    in_nav, labs_at, indent = False, -1, 0
    for index, line in enumerate(lines):
        if re.match(r"^nav:\s*(#.*)?$", line):
            in_nav = True
        elif in_nav and re.match(r"^\S", line):
            in_nav = False
        elif in_nav and (found := re.match(r"^(\s*)- Labs:\s*(#.*)?$", line)):
            labs_at, indent = index, len(found[1])
            break
    if labs_at < 0:
        raise LabError('mkdocs.yml: the nav has no "- Labs:" section to add the page to')
    last, child = labs_at, " " * (indent + 4)
    for index in range(labs_at + 1, len(lines)):
        line = lines[index]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent:
            break
        if last == labs_at:
            child = line[: len(line) - len(line.lstrip())]
        last = index
    lines.insert(last + 1, f"{child}- {entry}: {page}")
    return "\n".join(lines)


def create(lab: str, title: str, *, root: Path) -> list[Path]:
    """Write the new lab's files; return them (repository-relative). Nothing is overwritten."""
    match = LAB_ID.match(lab)
    if not lab:
        raise LabError('no lab id given: make new-lab LAB=lab-N TITLE="…"')
    if not match:
        raise LabError(f"lab id {lab!r} is not valid: expected lab-N with N a number, e.g. lab-3")
    title = " ".join(title.split())
    if not title:
        raise LabError('a title is needed: TITLE="…" (make) or --title "…"')
    number, pkg = match[1], lab.replace("-", "_")
    manifest, program, page = Path("labs") / f"{lab}.yml", Path("labs") / pkg, Path("docs/labs") / lab
    test = Path("tests/labs") / f"test_{pkg}.py"
    files = {manifest: MANIFEST, program / "service.py": PROGRAM, page / "index.md": PAGE, test: TEST}
    taken = [p.as_posix() for p in (manifest, program, page, test) if (root / p).exists()]
    if taken:
        raise LabError(
            f"{lab} exists already ({', '.join(taken)} found); nothing was written: "
            "pick another id, or remove these first"
        )
    if not (root / "mkdocs.yml").is_file():
        raise LabError(f"{root}/mkdocs.yml not found: run this at the repository's root, or pass --root")
    heading = f"Lab {number}: {title}"
    nav = _add_to_nav(
        (root / "mkdocs.yml").read_text(encoding="utf-8"), json.dumps(heading), f"labs/{lab}/index.md"
    )
    fields = {
        "format_version": str(MANIFEST_VERSION),
        "id": lab,
        "pkg": pkg,
        "title_yaml": json.dumps(title, ensure_ascii=False),  # a JSON string is a YAML scalar
        "title_comment": title,
        "heading": html.escape(heading, quote=False),
    }
    for path, template in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(template.format(**fields), encoding="utf-8")
    (root / "mkdocs.yml").write_text(nav, encoding="utf-8")
    return [*files, Path("mkdocs.yml")]


def command(args: argparse.Namespace, root: Path) -> int:
    """`python -m labkit new-lab --lab lab-N --title "…"` (`make new-lab`): create it and say what next."""
    made = create(args.lab, args.title, root=root)
    print(f"Created {args.lab}:")
    for path in made:
        print(f"  {path.as_posix()}" + ("  (nav entry added)" if path.name == "mkdocs.yml" else ""))
    print("Next:")
    steps = {
        f"make assets LAB={args.lab}": "run the lab and write its results into its page",
        "make check": "page, results and raw data agree",
        "make site": "build the site (strict)",
    }
    width = max(map(len, steps))
    for step, what in steps.items():
        print(f"  {step:<{width}}   # {what}")
    print("Then commit the manifest, program, test, page and its data/ together.")
    return 0
