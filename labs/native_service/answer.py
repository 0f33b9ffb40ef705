"""Answer the grader's inputs with a distances function (a learner's): one child, no judging here.

The grader of `make grade-3` writes the inputs as JSON, this program calls the function on each
and writes its answers as JSON; the grader compares them with the reference in its own process.

    python labs/native_service/answer.py --inputs in.json --json out.json --distances FILE.py:FUNCTION
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from distances import load_distances


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--inputs", type=Path, required=True, help="the grader's inputs (JSON)")
    parser.add_argument("--json", type=Path, required=True, help="where to write the answers")
    parser.add_argument("--distances", metavar="FILE.py:FUNCTION", required=True, help="the function")
    args = parser.parse_args(argv)
    func = load_distances(args.distances)
    answers = []
    for case in json.loads(args.inputs.read_text(encoding="utf-8")):
        got = func(np.array(case["queries"], dtype=np.float64), np.array(case["items"], dtype=np.float64))
        answers.append(np.asarray(got, dtype=np.float64).tolist())
    args.json.write_text(json.dumps(answers), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
