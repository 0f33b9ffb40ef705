"""Nearest catalogue item for each query vector: the broadcast version and the matrix-product one.

Both return the same distances (up to rounding). The broadcast version is one line that reads well,
and it builds a temporary array of queries × items × dimensions numbers before it sums anything;
the matrix-product version never builds that array: ``|q - c|² = |q|² + |c|² - 2 q·c``, where the
``q·c`` part is one matrix product, done by the BLAS library that NumPy ships with.
"""

from __future__ import annotations

import os

# OpenBLAS, NumPy's linear-algebra library, is held to one thread before NumPy loads it (a program
# imports this module before NumPy): the broadcast runs on one core, so the comparison stays one core
# against one core on any machine, and a recording is not spread over as many BLAS threads as the
# machine has cores.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import importlib.util  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

Matrix = NDArray[np.float64]
Distances = Callable[[Matrix, Matrix], Matrix]

# The service's search: a catalogue of ITEMS vectors (embeddings, say) of DIMS numbers each, and
# QUERIES new vectors per batch; the broadcast's temporary holds QUERIES × ITEMS × DIMS numbers.
ITEMS, QUERIES, DIMS = 2000, 50, 64


def catalogue(rng: np.random.Generator, *, items: int = ITEMS, dims: int = DIMS) -> Matrix:
    """The fixed catalogue the service searches (made once)."""
    return rng.random((items, dims))


def distances_broadcast(queries: Matrix, items: Matrix) -> Matrix:
    """Euclidean distance of every query to every item, through a (queries, items, dims) temporary."""
    return np.sqrt(((queries[:, None, :] - items[None, :, :]) ** 2).sum(axis=-1))  # type: ignore[no-any-return]


def distances_matmul(queries: Matrix, items: Matrix) -> Matrix:
    """The same distances from one matrix product; every other step works in place on the result."""
    out = queries @ items.T  # (queries, items): the only large array made
    out *= -2.0
    out += np.einsum("ij,ij->i", queries, queries)[:, None]
    out += np.einsum("ij,ij->i", items, items)[None, :]
    np.maximum(out, 0.0, out=out)  # rounding can leave tiny negatives where a query equals an item
    return np.sqrt(out, out=out)  # type: ignore[no-any-return]


def nearest(distances: Distances, queries: Matrix, items: Matrix) -> NDArray[np.intp]:
    """Index of the nearest item for each query."""
    result: NDArray[np.intp] = np.argmin(distances(queries, items), axis=1)
    return result


def load_distances(spec: str) -> Distances:
    """``FILE.py:FUNCTION`` (for example a learner's exercise) as a distances function."""
    file, sep, name = spec.rpartition(":")
    if not sep or not file or not name:
        raise ValueError(f"expected FILE.py:FUNCTION, got {spec!r}")
    path = Path(file)
    if not path.is_file():
        raise ValueError(f"{file}: no such file")
    loader = importlib.util.spec_from_file_location(f"learner_{path.stem}", path)
    if loader is None or loader.loader is None:
        raise ValueError(f"{file}: not a Python file")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    func = getattr(module, name, None)
    if not callable(func):
        raise ValueError(f"{file} has no function {name!r}")
    return func  # type: ignore[no-any-return]
