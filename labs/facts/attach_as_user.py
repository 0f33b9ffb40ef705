"""Can an ordinary user attach py-spy to a process of its own, without sudo?

The article says attaching by PID needs sudo on Linux. Whether it does depends
on Yama's ptrace_scope (and on capabilities and containers), so we try it: an
unprivileged user starts a busy Python process and runs ``py-spy dump --pid``
on it. Run as root, the script drops to an unprivileged account for both
processes; run as a user, it simply tries. It prints one JSON line.

    python labs/facts/attach_as_user.py PATH-TO-PY-SPY
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BUSY = "import time\nwhile True:\n    sum(i * i for i in range(10_000))\n"


def ptrace_scope() -> int | None:
    try:
        return int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text().strip())
    except (OSError, ValueError):
        return None


def as_user(uid: int, gid: int) -> Callable[[], None] | None:
    """Drop to uid/gid in the child, when we are root; otherwise stay who we are."""
    if os.geteuid() != 0:
        return None

    def drop() -> None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    return drop


def dump_busy(
    spy: Path,
    python: str,
    *,
    scratch: str,
    target_as: Callable[[], None] | None,
    spy_as: Callable[[], None] | None,
) -> subprocess.CompletedProcess[str]:
    """Start a busy Python (as ``target_as``), run ``py-spy dump`` on it (as ``spy_as``), stop it."""
    target = subprocess.Popen(
        [python, "-c", BUSY],
        preexec_fn=target_as,
        cwd=scratch,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        return subprocess.run(
            [str(spy), "dump", "--pid", str(target.pid)],
            preexec_fn=spy_as,
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        target.kill()
        target.wait()


def refused_line(spy: Path, python: str, drop: Callable[[], None] | None, scratch: str) -> str | None:
    """py-spy's first line when an unprivileged user tries to attach to a root-owned process."""
    done = dump_busy(spy, python, scratch=scratch, target_as=None, spy_as=drop)
    lines = [line for line in (done.stdout + done.stderr).strip().splitlines() if line.strip()]
    if done.returncode == 0 or not lines:
        return None  # it attached (or said nothing): no refusal to quote
    return lines[0][:200]


def main(argv: list[str]) -> int:
    py_spy = Path(argv[1]) if len(argv) > 1 else Path(shutil.which("py-spy") or "py-spy")
    account = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.getuid())
    # A root-only folder (e.g. /root) is out of reach for the unprivileged user: copy what it runs.
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        os.chmod(scratch, 0o755)
        spy = Path(scratch) / "py-spy"
        shutil.copy2(py_spy, spy)
        os.chmod(spy, 0o755)
        drop = as_user(account.pw_uid, account.pw_gid)
        done = dump_busy(spy, python, scratch=scratch, target_as=drop, spy_as=drop)
        refusal = refused_line(spy, python, drop, scratch) if os.geteuid() == 0 else None
    said = (done.stdout + done.stderr).strip().splitlines()
    attached = done.returncode == 0 and any("Thread" in line for line in said)
    print(
        json.dumps(
            {
                "user": "an unprivileged account" if os.geteuid() == 0 else "the current user",
                "same_user_for_both": True,
                "ptrace_scope": ptrace_scope(),
                "attached": attached,
                "exit_code": done.returncode,
                "py_spy_first_line": "" if attached else (said[0][:200] if said else ""),
                # What py-spy says when the kernel refuses: the unprivileged user against a root process.
                "refused_first_line": refusal,
                "refusal_says_operation_not_permitted": None
                if refusal is None
                else "Operation not permitted" in refusal,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
