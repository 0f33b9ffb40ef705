"""labkit: runs the labs for real, checks their claims and writes the results into the pages."""

# The format of results.json. Each change gets a line here, newest first (like coverage.py's data file).
SCHEMA_VERSION = 2
SCHEMA_CHANGES = {
    2: "provenance.steps: wall seconds of each step, in the order the steps ran",
    1: "the first published format",
}
