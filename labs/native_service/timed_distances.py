"""A distances function in a child of its own, timed from outside (``bench_distances.py --distances``).

The parent (labs/timing/channel.py) sends the catalogue once, then batches of fresh query arrays, and
times each batch on its own clock from the first byte sent to the last byte received. For each call
the child sends back, as plain float64 and int64 numbers, the sum of every query's distances and the
index of its nearest item: the child cannot give them for fresh queries without computing the
distances, and a checked function's must match the reference's before the time counts. (Whole
answers cost more to send than the matrix product costs to compute.) Run as a script, this file is
the child.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "timing"))

from distances import Distances, Matrix, distances_matmul, load_distances  # holds OpenBLAS to one thread

# isort: split
import numpy as np
from channel import ANSWERS, SETUP, Child, serve

SHAPE = struct.Struct("!QQQ")  # a batch: calls, queries per call, numbers per query
Summary = tuple[np.ndarray, np.ndarray]  # per query: the sum of its distances, its nearest item
CATALOGUE: dict[str, Matrix] = {}  # in the child: the items every call searches


def summary(distances: Matrix) -> Summary:
    return distances.sum(axis=1), np.argmin(distances, axis=1).astype(np.int64)


def encoded(batch: list[Matrix]) -> bytes:
    """A batch of query arrays of one shape, as the child reads it (made before the clock starts)."""
    return SHAPE.pack(len(batch), *batch[0].shape) + np.ascontiguousarray(batch, dtype=np.float64).tobytes()


class RemoteDistances(Child):
    """A distances function (``FILE.py:FUNCTION``) in its own child, given the catalogue ``items``."""

    def __init__(self, spec: str, items: Matrix, *, checked: bool = False, who: str = "your distances"):
        super().__init__(Path(__file__).resolve(), [spec], who=who)
        self.items, self.checked = items, checked
        self.send(SETUP, SHAPE.pack(1, *items.shape) + items.astype(np.float64).tobytes(), "the catalogue")
        kind, _ = self.receive("while it took the catalogue")
        if kind != ANSWERS:
            self.close()
            raise SystemExit(f"{self.who}'s process did not take the catalogue")

    def _run(self, batch: list[Matrix]) -> tuple[float, list[Summary]]:
        when = f"{len(batch[0])} queries"
        elapsed, _, reply = self.trip(encoded(batch), when)
        rows = len(batch) * len(batch[0])
        if len(reply) != 16 * rows:
            raise SystemExit(f"{self.who}'s process sent something else than answers at {when}")
        sums = np.frombuffer(reply, dtype=np.float64, count=rows).reshape(len(batch), -1)
        nearest = np.frombuffer(reply, dtype=np.int64, offset=8 * rows).reshape(len(batch), -1)
        return elapsed, list(zip(sums, nearest, strict=True))

    def answers(self, batch: list[Matrix]) -> list[Summary]:
        """Each call's summary, not timed."""
        return self._run(batch)[1]

    def timed(self, batch: list[Matrix]) -> float:
        """Seconds for the whole batch on this process's clock; a checked function's answers must be right."""
        elapsed, got = self._run(batch)
        if self.checked:
            for queries, answer in zip(batch, got, strict=True):
                if not same(answer, summary(distances_matmul(queries, self.items))):
                    raise SystemExit(f"{self.who} answered a timed call wrongly: not timing a wrong answer")
        return elapsed


def same(got: Summary, expected: Summary) -> bool:
    """The same sums up to rounding (the grader's tolerance) and the same nearest items."""
    return bool(
        got[0].shape == expected[0].shape
        and np.allclose(got[0], expected[0], rtol=1e-7, atol=1e-3)
        and np.array_equal(got[1], expected[1])
    )


def answer(func: Distances, kind: bytes, payload: bytes) -> bytes:
    """The child's answer to one message: the catalogue kept (SETUP), or a batch's summaries."""
    count, rows, dims = SHAPE.unpack_from(payload)
    arrays = np.frombuffer(bytearray(payload[SHAPE.size :]), dtype=np.float64).reshape(count, rows, dims)
    if kind == SETUP:
        CATALOGUE["items"] = arrays[0]
        return b""
    items = CATALOGUE["items"]
    sums, nearest = [], []
    for queries in arrays:
        got = np.asarray(func(queries, items), dtype=np.float64)
        if got.shape != (rows, len(items)):
            raise ValueError(f"an answer of shape {got.shape}, expected {(rows, len(items))}")
        total, best = summary(got)
        sums.append(total)
        nearest.append(best)
    return np.concatenate(sums).tobytes() + np.concatenate(nearest).tobytes()


if __name__ == "__main__":
    serve(sys.argv[1:], load_distances, answer)
