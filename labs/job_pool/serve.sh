#!/bin/sh
# Lab 4's wrapper, what a deployment runs: like many launch scripts it sets the scene, then starts Python
# as its child (no `exec`), so the PID a process manager reports is this shell's, not Python's.
cd "$(dirname "$0")" || exit 1
echo "wrapper running as PID $$"
PYTHON="${PYTHON:-../../.venv/bin/python}"  # the repository's environment, if there is one
[ -x "$PYTHON" ] || PYTHON=python3
PYTHONUNBUFFERED=1 "$PYTHON" jobs.py "$@"
