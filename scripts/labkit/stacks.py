"""Read a py-spy speedscope recording and derive everything else from it.

py-spy writes one format per recording. We record speedscope (every sample in
time order, per thread) and derive the collapsed stacks, the per-function
shares and the flame graph from that one file, so every picture and number on a
page comes from the same samples.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from labkit import records, stats
from labkit.errors import LabError
from labkit.sanitize import PathMap


@dataclass(frozen=True)
class Frame:
    name: str
    file: str
    line: int

    @property
    def label(self) -> str:
        """How py-spy labels a frame in its own flame graphs (src/flamegraph.rs): no line when it has
        none, and a frame with no file (a process) by its name alone."""
        if self.line:
            return f"{self.name} ({self.file}:{self.line})"
        if self.file:
            return f"{self.name} ({self.file})"
        return self.name or "?"  # an empty label would leave an empty stack, which no reader can read

    @property
    def function(self) -> tuple[str, str]:
        """Lines of one function merged: claims are about functions, not lines."""
        return (self.name, self.file)


@dataclass(frozen=True)
class Thread:
    name: str
    samples: tuple[tuple[int, ...], ...]  # root-first frame indices, in time order


@dataclass(frozen=True)
class Recording:
    frames: tuple[Frame, ...]
    threads: tuple[Thread, ...]

    @property
    def sample_count(self) -> int:
        return sum(len(t.samples) for t in self.threads)

    def only(self, pattern: str) -> Recording:
        """The threads whose name (the part in parentheses, as py-spy reports it) matches ``pattern``."""
        regex = re.compile(pattern)

        def name(thread: Thread) -> str:
            inside = re.search(r"\((.*)\)\s*$", thread.name)
            return inside.group(1) if inside else thread.name

        return Recording(frames=self.frames, threads=tuple(t for t in self.threads if regex.search(name(t))))

    def stacks(self) -> Iterable[tuple[Frame, ...]]:
        for thread in self.threads:
            for sample in thread.samples:
                yield tuple(self.frames[i] for i in sample)


def load(path: Path) -> records.JSONObject:
    """Parse a speedscope file, or explain why it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabError(f"{path.name}: not a readable speedscope file ({exc})") from exc
    if not isinstance(data, dict) or "shared" not in data or "profiles" not in data:
        raise LabError(f"{path.name}: not a speedscope file (no 'shared' frames or 'profiles')")
    return data


def _drop_nulls(value: Any) -> Any:
    """py-spy writes null for optional keys, which speedscope's own schema rejects."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def sanitize(data: Mapping[str, Any], *, paths: PathMap) -> records.JSONObject:
    """A publishable copy: relative file names, no nulls, threads renamed without their ids."""
    clean: records.JSONObject = _drop_nulls(dict(data))
    for frame in clean["shared"]["frames"]:
        if "file" in frame:
            frame["file"] = paths.file(frame["file"])
    labels = _process_labels(clean["profiles"])
    for frame in clean["shared"]["frames"]:
        frame["name"] = _process_frame(str(frame.get("name", "")), labels=labels, paths=paths)
    for number, profile in enumerate(clean["profiles"], start=1):
        # py-spy names a thread 'Thread <native id> "<name>"'; the id is a PID on Linux.
        raw = str(profile.get("name", ""))
        quoted = raw.split('"')[1] if raw.count('"') >= 2 else ""
        profile["name"] = f"thread {number}" + (f" ({quoted})" if quoted else "")
    return clean


# With --subprocesses, py-spy names a thread 'Process <pid> Thread <tid> "<name>"' (src/speedscope.rs) and
# puts a frame 'process <pid>:"<command line>"' for the process and each ancestor at the root of every
# stack (src/stack_trace.rs, 0.4.3). PIDs change with every run and command lines may hold local paths.
_PROCESS_THREAD = re.compile(r'^Process (\d+) Thread (\S+) "(.*)"$', re.DOTALL)  # macOS: hex thread ids
_PROCESS_FRAME = re.compile(r'^process (\d+):"(.*)"$', re.DOTALL)


def _process_labels(profiles: list[records.JSONObject]) -> dict[str, str]:
    """PID -> a stable label: its main thread's name (its thread id is the PID on Linux) when the
    program named it, else its rank among the recorded PIDs (``#1`` is the oldest)."""
    named: dict[str, str] = {}
    pids: set[int] = set()
    for profile in profiles:
        found = _PROCESS_THREAD.match(str(profile.get("name", "")))
        if found:
            pids.add(int(found.group(1)))
            if found.group(1) == found.group(2) and found.group(3) not in ("", "MainThread"):
                named[found.group(1)] = found.group(3)
    return {str(pid): named.get(str(pid), f"#{rank}") for rank, pid in enumerate(sorted(pids), start=1)}


def _process_frame(name: str, *, labels: Mapping[str, str], paths: PathMap) -> str:
    """A process frame as it may be published: py-spy's ``process <pid>:"<command line>"`` with the PID
    replaced by a label and the command line's paths sanitised; an ancestor py-spy did not sample (a
    wrapper shell) has no label: ``process:"<command line>"``."""
    found = _PROCESS_FRAME.match(name)
    if not found:
        return name
    command = " ".join(paths.command(found.group(2).split(" ")))
    label = labels.get(found.group(1))
    return f'process {label}:"{command}"' if label else f'process:"{command}"'


def parse(data: Mapping[str, Any]) -> Recording:
    try:
        frames = tuple(
            Frame(name=str(f["name"]), file=str(f.get("file", "?")), line=int(f.get("line") or 0))
            for f in data["shared"]["frames"]
        )
        threads = tuple(
            Thread(name=str(p.get("name", "")), samples=tuple(tuple(int(i) for i in s) for s in p["samples"]))
            for p in data["profiles"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError(f"speedscope data is malformed: {exc!r}") from exc
    for thread in threads:
        for sample in thread.samples:
            if any(i < 0 or i >= len(frames) for i in sample):
                raise LabError("speedscope data is malformed: a sample names a frame that does not exist")
    return Recording(frames=frames, threads=threads)


def collapsed(recording: Recording) -> dict[tuple[str, ...], int]:
    """Stacks as flame graph tools count them: root-first labels → samples."""
    return dict(Counter(tuple(f.label for f in stack) for stack in recording.stacks()))


# The collapsed format (Brendan Gregg's, read by flamegraph.pl and inferno) has no escaping: `;` ends a
# frame, a line break ends a stack, and the last space before the count separates it. In a frame's label
# (a name is whatever the program calls its function) these are percent-encoded as in a URL: `%` itself,
# `;`, and every control or line-separating character (tab included), so each stack stays one line with
# its own frames, and `unquote` gives the labels back. A label ends with `)` (a process frame's with `"`),
# never with a number that a reader could take for the count.
def _encoded(c: str) -> bool:
    return c in "%;" or unicodedata.category(c) in ("Cc", "Zl", "Zp")


def frame_text(label: str) -> str:
    """One frame's label as the collapsed format holds it."""
    if not any(_encoded(c) for c in label):
        return label
    return "".join(quote(c, safe="") if _encoded(c) else c for c in label)


def collapsed_text(stacks: Mapping[tuple[str, ...], int]) -> str:
    """The 'collapsed' text format, sorted so that a diff shows real changes only."""
    return "".join(
        f"{';'.join(frame_text(f) for f in stack)} {count}\n" for stack, count in sorted(stacks.items())
    )


def read_collapsed(text: str) -> dict[tuple[str, ...], int]:
    """The stacks of a collapsed file, labels decoded: the inverse of ``collapsed_text``."""
    out: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            raise LabError(
                f"collapsed stacks, line {number}: expected 'frame;frame;... COUNT', found {line!r}"
            )
        frames = tuple(unquote(f) for f in stack.split(";"))
        out[frames] = out.get(frames, 0) + int(count)
    return out


def functions(recording: Recording, *, confidence: float = 0.95) -> list[records.FunctionShares]:
    """Per-function self and total share over all samples, lines of a function merged.

    Each share comes with an interval at ``confidence`` that allows for the
    samples' autocorrelation (see stats.py); samples are in time order per thread.
    """
    total = recording.sample_count
    if total == 0:
        return []
    self_counts: Counter[tuple[str, str]] = Counter()
    total_counts: Counter[tuple[str, str]] = Counter()
    self_at: dict[tuple[str, str], list[int]] = {}
    total_at: dict[tuple[str, str], list[int]] = {}
    lines: dict[tuple[str, str], set[int]] = {}
    for index, stack in enumerate(recording.stacks()):
        if not stack:
            continue
        self_counts[stack[-1].function] += 1
        self_at.setdefault(stack[-1].function, []).append(index)
        for key in {f.function for f in stack}:  # a recursive function counts once per sample
            total_counts[key] += 1
            total_at.setdefault(key, []).append(index)
        for f in stack:
            lines.setdefault(f.function, set()).add(f.line)

    def interval(at: list[int]) -> list[float]:
        return _interval(at, total, confidence)

    rows: list[records.FunctionShares] = [
        {
            "name": name,
            "file": file,
            "self_samples": self_counts[(name, file)],
            "total_samples": count,
            "self_share": round(self_counts[(name, file)] / total, 6),
            "total_share": round(count / total, 6),
            "self_ci": interval(self_at.get((name, file), [])),
            "total_ci": interval(total_at[(name, file)]),
            "line_frames": len(lines[(name, file)]),
        }
        for (name, file), count in total_counts.items()
    ]
    rows.sort(key=lambda r: (-int(r["total_samples"]), -int(r["self_samples"]), str(r["name"]), r["file"]))
    return rows


def groups(
    recording: Recording, patterns: Mapping[str, str], *, confidence: float = 0.95
) -> list[records.FunctionGroup]:
    """Shares of named groups of functions, each a regular expression searched in function names.

    A sample counts for a group's total when any of its frames matches, for its self share when its
    innermost frame does. Native frames carry names that differ between machines (NumPy picks a loop
    for the CPU it runs on: ``DOUBLE_subtract_X86_V3`` here, another suffix elsewhere), so a claim
    names a group, not one of those names.
    """
    total = recording.sample_count
    out: list[records.FunctionGroup] = []
    for name, pattern in patterns.items():
        regex = re.compile(pattern)
        inner: list[int] = []
        anywhere: list[int] = []
        for index, stack in enumerate(recording.stacks()):
            hits = [bool(regex.search(f.name)) for f in stack]
            if any(hits):
                anywhere.append(index)
            if hits and hits[-1]:
                inner.append(index)
        out.append(
            {
                "name": name,
                "pattern": pattern,
                "self_samples": len(inner),
                "total_samples": len(anywhere),
                "self_share": round(len(inner) / total, 6) if total else 0.0,
                "total_share": round(len(anywhere) / total, 6) if total else 0.0,
                "self_ci": _interval(inner, total, confidence),
                "total_ci": _interval(anywhere, total, confidence),
            }
        )
    return out


def _interval(at: list[int], total: int, confidence: float) -> list[float]:
    """The share interval of the samples at these indices (see stats.share_interval)."""
    series = [0] * total
    for i in at:
        series[i] = 1
    low, high, _ = stats.share_interval(series, confidence=confidence)
    return [round(low, 6), round(high, 6)]


def thread_samples(recording: Recording) -> list[records.Thread]:
    return [{"name": t.name, "samples": len(t.samples)} for t in recording.threads]


def pool(recordings: list[records.JSONObject]) -> records.JSONObject:
    """Several looks at one program as one recording: frames merged, each thread's samples in order."""
    if len(recordings) == 1:
        return recordings[0]
    frames: list[records.JSONObject] = []
    index: dict[tuple[Any, ...], int] = {}
    threads: dict[str, records.JSONObject] = {}
    for data in recordings:
        remap = []
        for frame in data["shared"]["frames"]:
            key = (frame.get("name"), frame.get("file"), frame.get("line"))
            if key not in index:
                index[key] = len(frames)
                frames.append(frame)
            remap.append(index[key])
        for profile in data["profiles"]:
            name = str(profile.get("name", ""))
            merged = threads.setdefault(name, {**profile, "samples": [], "weights": [], "endValue": 0.0})
            merged["samples"] += [[remap[i] for i in sample] for sample in profile["samples"]]
            merged["weights"] += list(profile.get("weights", []))
            merged["endValue"] = float(merged["endValue"]) + float(profile.get("endValue") or 0)
    return {
        **recordings[0],
        "shared": {**recordings[0]["shared"], "frames": frames},
        "profiles": list(threads.values()),
    }
