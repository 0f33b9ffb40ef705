"""Can an ordinary user attach py-spy to a process of its own, without sudo? What does a refusal say?

The article says attaching by PID needs sudo on Linux. Whether it does depends
on Yama's ptrace_scope (and on capabilities and containers), so we try it: an
unprivileged user starts a busy Python process and runs ``py-spy dump --pid``
on it. Run as root, the script drops to an unprivileged account for both
processes; run as a user, it simply tries.

Run as root, it also makes the kernel refuse twice and keeps what py-spy says:
an unprivileged user attaching to a root-owned process, and root without the
CAP_SYS_PTRACE capability (``capsh --drop=cap_sys_ptrace``, as in a container
started without it) attaching to a root-owned process that has it. It prints
one JSON line.

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


def read_ptrace_scope() -> int | None:
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


def refusal(done: subprocess.CompletedProcess[str]) -> dict[str, object] | None:
    """What py-spy said when it was refused: its first line and the operating system's error, if any."""
    text = (done.stdout + done.stderr).split("Stack backtrace:")[0]  # a Rust backtrace is not the message
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if done.returncode == 0 or not lines:
        return None  # it attached (or said nothing): no refusal to quote
    os_error = next((line for line in lines if "(os error" in line), None)
    return {
        "first_line": lines[0][:200],
        "os_error": os_error[:200] if os_error else None,
        "says_operation_not_permitted": "Operation not permitted" in text,
    }


def without_ptrace_capability(spy: Path) -> Path | None:
    """A wrapper that runs py-spy as root with CAP_SYS_PTRACE dropped (capsh), when capsh exists."""
    capsh = shutil.which("capsh")
    if capsh is None:
        return None
    wrapper = spy.with_name("py-spy-without-cap")
    wrapper.write_text(f'#!/bin/sh\nexec {capsh} --drop=cap_sys_ptrace -- -c \'exec "$0" "$@"\' {spy} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


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
        refusals: dict[str, dict[str, object] | None] = {"user_to_root": None, "root_without_cap": None}
        if os.geteuid() == 0:
            # the unprivileged user against a process of root's
            refusals["user_to_root"] = refusal(
                dump_busy(spy, python, scratch=scratch, target_as=None, spy_as=drop)
            )
            capless = without_ptrace_capability(spy)
            if capless is not None:  # root without CAP_SYS_PTRACE against a process of root's that has it
                refusals["root_without_cap"] = refusal(
                    dump_busy(capless, python, scratch=scratch, target_as=None, spy_as=None)
                )
    said = (done.stdout + done.stderr).strip().splitlines()
    attached = done.returncode == 0 and any("Thread" in line for line in said)
    print(
        json.dumps(
            {
                "user": "an unprivileged account" if os.geteuid() == 0 else "the current user",
                "same_user_for_both": True,
                "ptrace_scope": read_ptrace_scope(),
                "attached": attached,
                "exit_code": done.returncode,
                "py_spy_first_line": "" if attached else (said[0][:200] if said else ""),
                # What py-spy says when the kernel refuses (None: not refused, or not tried).
                "refusals": refusals,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
