#!/bin/sh
# Lab 4's wrapper, what a deployment runs: like many launchers it sets the scene, then starts Python as
# its child (no `exec`), so the PID that a process manager reports is this shell's, not Python's. Its
# `trap` passes Ctrl+C and SIGTERM on to Python: a non-interactive shell starts a `&` child with SIGINT
# ignored, so without the trap Ctrl+C would stop the shell and leave Python running.
cd "$(dirname "$0")" || exit 1
echo "wrapper running as PID $$"
# $PYTHON, else the repository's environment, else the first `python` (or `python3`) on the PATH
PYTHON="${PYTHON:-../../.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python || command -v python3)"
PYTHONUNBUFFERED=1 "$PYTHON" jobs.py "$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' INT TERM
wait "$child"
