"""The command kind: capture a command's output as evidence (e.g. `py-spy record --help`).

Pure: what a claim can test in the captured text (regex captures, its last line as JSON).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from labkit import registry, steptypes
from labkit.errors import LabError
from labkit.records import Command, CommandOutput, CommandRun, JSONObject


def read_command(entry: CommandRun, text: str, *, step_id: str) -> CommandOutput:
    """What a claim can test in a command's output: regex captures, and its last line as JSON."""
    extracted: dict[str, str | int] = {}
    for name, pattern in sorted(entry["extract"].items()):
        match = re.search(pattern, text, re.MULTILINE)
        if not match:
            said = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "(nothing)")
            raise LabError(
                f"{step_id}: the output has nothing that matches {name}: {pattern!r}; "
                f"its last line: {said[:300]}"
            )  # a refused py-spy shows here (e.g. Permission Denied)
        value = match.group(1) if match.groups() else match.group(0)
        extracted[name] = int(value) if value.isdigit() else value.strip()
    result: object = None
    if entry["json"]:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            result = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError) as exc:
            raise LabError(f"{step_id}: the command's last line is not JSON: {exc}") from exc
    return {"extracted": extracted, "result": result}


def refresh(step: str, entry: Command, data_dir: Path) -> None:
    text = (data_dir / entry["file"]).read_text(encoding="utf-8")
    output = read_command(entry, text, step_id=step)
    entry.update({"extracted": output["extracted"], "result": output["result"]})


@dataclass(frozen=True)
class Options(steptypes.Program):
    """A command step's keys: what a claim may test in its output."""

    KEYS: ClassVar[JSONObject] = {
        "extract": {
            "description": "named regular expressions (compiled when the manifest is loaded) searched in the "
            "output; the value is group 1, or the whole match",
            "type": "object",
            "additionalProperties": {"type": "string", "format": "regex"},
        },
        "json": {"description": "parse the output's last non-empty line as JSON", "type": "boolean"},
    }
    extract: dict[str, str] = field(default_factory=dict)
    json: bool = False


KIND = registry.register(
    registry.Kind(
        name="command",
        options=Options,
        schema=registry.results_schema(__name__),
        section="commands",
        refresh=refresh,
    )
)
