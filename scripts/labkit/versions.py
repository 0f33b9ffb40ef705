"""Every versioned file format of the toolkit: its current version and its changes, in one place.

When a format changes, its version goes up by one and the change gets a line here, newest first (like
coverage.py's data file). The "Formats" section of docs/instructors.md lists the same, word for word; a
test keeps the two together.
"""

from __future__ import annotations

from dataclasses import dataclass

# labs/<id>.yml, read by labkit.manifest (schema: manifest.schema.json)
MANIFEST_VERSION = 1
MANIFEST_CHANGES = {
    1: (
        "the first versioned format: the top-level key `format_version`; a manifest without it is read "
        "as format 1, with a warning"
    ),
}

# docs/labs/<id>/data/results.json, written by labkit.publish (schema: results.schema.json)
RESULTS_VERSION = 5
RESULTS_CHANGES = {
    5: (
        "`busy_shares`: each worker's busy share before and after a fix, and their evenness (the `busy` "
        "step kind); profiles: `groups`, shares of named groups of functions; overhead: `against` (the "
        "mode set against the default: nonblocking or native), `rates_hz` and `paused` per mode"
    ),
    4: (
        "`benchmark.sizes`: every size a benchmark timed, with its spreads, speedups and local slopes; "
        "`benchmark.scaling`: the fitted exponents of both versions and of their ratio, with bootstrap "
        "intervals (null with fewer than three sizes); `benchmark.plot`: the scaling plot's file; the "
        "value format `exponent`"
    ),
    3: (
        "`compares`: differential flame graphs of two profiles (the `compare` step kind); `latencies`: the "
        "latency distributions of two load steps (the `latency` step kind)"
    ),
    2: (
        "`provenance.steps`: wall seconds of each step, in the order the steps ran; profiles: "
        "`samples_per_tick` and `samples_per_tick_ci` (divided by wall time × rate) replaced by `instants` "
        "(duration × rate − 1 per look) and `samples_per_instant`; overhead windows count py-spy's samples, "
        "`overhead.batch_s`; functions: `total_per_instant` and its interval"
    ),
    1: "the first published format",
}

# out/soak/<id>.json, written by labkit.soak (`make soak`)
SOAK_VERSION = 2
SOAK_CHANGES = {
    2: "background: what else ran during the soak (LOAD=1: a CPU loop on one core), or null",
    1: "the first format",
}

# out/<id>/grade.json, written by labkit.grade (`make grade-N`)
GRADE_VERSION = 2
GRADE_CHANGES = {
    2: "a check's picture: the flame graph of the learner's code (hot-path check), repository-relative",
    1: "the first format",
}


@dataclass(frozen=True)
class Format:
    name: str
    path: str  # where files of this format live
    key: str  # the top-level key that holds the version
    version: int
    changes: dict[int, str]


FORMATS = (
    Format("Manifest", "labs/<id>.yml", "format_version", MANIFEST_VERSION, MANIFEST_CHANGES),
    Format("Results", "docs/labs/<id>/data/results.json", "schema_version", RESULTS_VERSION, RESULTS_CHANGES),
    Format("Soak summary", "out/soak/<id>.json", "format_version", SOAK_VERSION, SOAK_CHANGES),
    Format("Grade", "out/<id>/grade.json", "format_version", GRADE_VERSION, GRADE_CHANGES),
)
