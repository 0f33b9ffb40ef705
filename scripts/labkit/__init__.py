"""labkit: runs the labs for real, checks their claims and writes the results into the pages."""

# The versions of the toolkit's file formats and their changes live in labkit.versions; these names
# are the results format's, kept for the code that imports them from here.
from labkit.versions import RESULTS_CHANGES as SCHEMA_CHANGES
from labkit.versions import RESULTS_VERSION as SCHEMA_VERSION

__all__ = ["SCHEMA_CHANGES", "SCHEMA_VERSION"]
