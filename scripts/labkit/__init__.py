"""labkit: runs the labs for real, checks their claims and writes the results into the pages."""

SCHEMA_VERSION = 1
