"""Where and how a measurement was made, with nothing that names this machine or its user."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from labkit.records import Machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        done = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return platform.processor() or platform.machine() or "unknown"


def os_name() -> str:
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]}"
    try:
        info = platform.freedesktop_os_release()
        return f"{info.get('PRETTY_NAME', 'Linux')} (Linux {platform.release().split('-')[0]})"
    except OSError:
        return f"{platform.system()} {platform.release()}"


def toolkit_commit(root: Path) -> str:
    """The commit the toolkit ran from; "+changes" when the tree differed from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "scripts", "labs"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def collect(*, root: Path, py_spy: str | None) -> Machine:
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "py_spy": py_spy,
        "os": os_name(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count() or 1,
        "toolkit_commit": toolkit_commit(root),
    }


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
