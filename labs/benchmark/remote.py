"""A finder in a child process of its own, timed from outside (``bench.py --finder``).

The parent sends a batch of inputs (marshal: its own data) and times, on its own clock, the trip
from the first byte sent to the last byte of the answers received. Each answer comes back as the
count and the sum of its distinct values (a plain array of integers, never unpickled or
unmarshalled: the child may run anyone's code), which the child cannot give for fresh inputs without
finding the duplicates; a checked finder's summaries must equal the reference's before the time
counts. (Whole answers cost more to send than the fixed finder costs to run.) Run as a script, this file is
the child: it loads the finder, says it is ready, then answers batch after batch. The process, the
channel and the clock are labs/timing/channel.py's, shared with Lab 3's benchmark.
"""

from __future__ import annotations

import marshal
import sys
from array import array
from collections.abc import Collection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slow_service"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timing"))

from channel import Child, serve, valid
from finders import Finder, find_duplicates_fast, load_finder


class Remote(Child):
    """A finder (``FILE.py:FUNCTION``) in its own child, in its own process group (labs/timing)."""

    def __init__(self, spec: str, *, checked: bool = False, who: str = "your finder") -> None:
        super().__init__(Path(__file__).resolve(), [spec], who=who)
        self.spec, self.checked = spec, checked

    valid = staticmethod(valid)

    def _run(self, inputs: list[list[int]]) -> tuple[float, list[tuple[int, int]]]:
        """Send the batch (marshal: the parent's own data, encoded before the clock), read its summaries."""
        n = f"n = {len(inputs[0]):,}"
        elapsed, _, reply = self.trip(marshal.dumps(inputs), n)
        summaries = array("q")
        if len(reply) % summaries.itemsize == 0:
            summaries.frombytes(reply)
        if len(summaries) != 2 * len(inputs):
            raise SystemExit(f"{self.who}'s process sent something else than answers at {n}")
        return elapsed, list(zip(summaries[::2], summaries[1::2], strict=True))

    def answers(self, inputs: list[list[int]]) -> list[tuple[int, int]]:
        """The count and the sum of each answer's distinct values, for a batch, not timed."""
        return self._run(inputs)[1]

    def timed(self, inputs: list[list[int]]) -> float:
        """Seconds for the whole batch, on this process's clock; a checked finder's answers must be right."""
        elapsed, answers = self._run(inputs)
        if self.checked:
            for values, answer in zip(inputs, answers, strict=True):
                if answer != summary(find_duplicates_fast(values)):
                    raise SystemExit(
                        f"{self.who} answered a timed input of n = {len(values):,} wrongly: "
                        "not timing a wrong answer"
                    )
        return elapsed


def summary(answer: Collection[Any]) -> tuple[int, int]:
    """The count and the sum of an answer's distinct values (TypeError for values that do not add)."""
    distinct = answer if isinstance(answer, (set, frozenset)) else set(answer)
    return len(distinct), sum(distinct)


def answer(finder: Finder, kind: bytes, payload: bytes) -> bytes:
    """The child's answer to a batch: each answer's summary, as 64-bit integers."""
    del kind  # a finder's child gets batches only
    answers = [finder(values) for values in marshal.loads(payload)]
    try:
        return array("q", [x for found in answers for x in summary(found)]).tobytes()
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"answers must hold integers: {exc}") from exc


if __name__ == "__main__":
    serve(sys.argv[1:], load_finder, answer)
