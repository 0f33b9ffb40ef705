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
# The trap comes first: a Ctrl+C that arrives just after Python starts must reach it ($! is set as soon
# as the child exists; before that, there is nothing to stop).
trap '[ -n "$!" ] && kill -TERM "$!" 2>/dev/null && wait "$!"; exit 143' INT TERM
PYTHONUNBUFFERED=1 "$PYTHON" jobs.py "$@" &
wait "$!"
