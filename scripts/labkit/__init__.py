"""labkit: runs the labs for real, checks their claims and writes the results into the pages."""

# The format of results.json. Each change gets a line here, newest first (like coverage.py's data file).
SCHEMA_VERSION = 2
SCHEMA_CHANGES = {
    2: (
        "provenance.steps: wall seconds of each step, in the order the steps ran; profiles: "
        "samples_per_tick and samples_per_tick_ci (divided by wall time × rate) replaced by instants "
        "(duration × rate − 1 per look) and samples_per_instant; overhead windows count py-spy's samples, "
        "overhead.batch_s; functions: total_per_instant and its interval"
    ),
    1: "the first published format",
}
