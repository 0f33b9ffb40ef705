"""The exceptions the command line turns into a clear message (no traceback) and a named exit code.

As coverage.py and cog do, each kind of failure has its own exit code, so CI and the workflows can tell
"the claims drifted" from "the manifest is broken" without reading the message. The codes are listed
in the README; a plain ``LabError`` (a failure of no more specific kind) keeps the code it always had.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # a command ran and its answer is "no" (a grade that fails, a page over its budget)
EXIT_ERROR = 2  # a failure of no more specific kind below (and argparse's usage errors)
EXIT_MANIFEST = 3
EXIT_NEED = 4
EXIT_MEASUREMENT = 5
EXIT_CLAIMS = 6
EXIT_CHECK = 7
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: a bug in the toolkit, with its traceback
EXIT_INTERRUPTED = 130


class LabError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""

    exit_code = EXIT_ERROR


class ManifestError(LabError):
    """A manifest that cannot be read or is refused (it names the file, the line and what was expected)."""

    exit_code = EXIT_MANIFEST


class NeedError(LabError):
    """The machine lacks what a lab needs (preflight): py-spy, a permission, another Python."""

    exit_code = EXIT_NEED


class MeasurementError(LabError):
    """A lab's programs or py-spy failed while it was measured; nothing was published."""

    exit_code = EXIT_MEASUREMENT


class ClaimsError(LabError):
    """Claims did not come out as the pages say; nothing was published."""

    exit_code = EXIT_CLAIMS


class CheckError(LabError):
    """A page, its results and the raw data disagree (`make check`)."""

    exit_code = EXIT_CHECK


def as_kind(error: LabError, kind: type[LabError]) -> LabError:
    """``error`` as ``kind`` when it is a plain LabError; a more specific error keeps its own kind."""
    if type(error) is not LabError:
        return error
    made = kind(*error.args)
    made.__cause__ = error.__cause__
    return made


def where(file: object, line: int | None = None, column: int | None = None) -> str:
    """The one way a message names a place: ``file``, ``file:line`` or ``file:line:column`` (1-based).

    ``file`` is shown as given: a repository-relative path, never this machine's.
    """
    shown = file.as_posix() if hasattr(file, "as_posix") else str(file)
    if line is None:
        return shown
    return f"{shown}:{line}" + ("" if column is None else f":{column}")
