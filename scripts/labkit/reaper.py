"""Every process the toolkit starts dies with it, even after `kill -9` of the toolkit.

Three ties, from the inside out:

- each child gets a parent-death signal (Linux ``PR_SET_PDEATHSIG``: SIGKILL), set in the child
  before exec, so it dies with the toolkit whatever killed it;
- the toolkit is a child subreaper (``PR_SET_CHILD_SUBREAPER``): a grandchild whose parent exits
  (a daemon that forks, calls setsid() and forks again) becomes the toolkit's child instead of
  init's, so the cleanup (``sweep``) kills and reaps it;
- a watchdog, a small process started with the first child, waits for the toolkit's end (end of file
  on a pipe that only the toolkit holds), then kills every process that carries the toolkit's mark
  (``LABKIT_OWNER`` in its environment, inherited by every descendant: the program that py-spy's
  launch form starts, a daemon) and every process group the toolkit registered. While the toolkit
  lives, the watchdog also follows its descendants (the kernel's children lists in /proc, every
  ``FOLLOW_S``; the toolkit is their subreaper, so a daemon stays among them), each known by its PID
  and start time: at the end it kills those that are still the same process, and what they started,
  which catches a daemon that dropped the mark (a re-exec with an empty environment).

The watchdog is needed because a parent-death signal reaches only a direct child: the program that
`py-spy record -- python prog.py` launches gets nothing when py-spy is killed, and a daemon has
no parent left to die. The kernel also clears the signal when a child executes a program with file
capabilities (a py-spy given ``cap_sys_ptrace``, one of the page's remedies). macOS has neither prctl
call nor /proc: there the watchdog kills the registered process groups, which holds py-spy's
launched program too (it stays in py-spy's group).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping

MARK = "LABKIT_OWNER"  # space-separated tokens: a toolkit run inside another one keeps its parent's
TOKEN = secrets.token_hex(8)
LINUX = sys.platform.startswith("linux")
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
ENABLED = True  # tests switch the ties off in a copy of the toolkit, to see what they prevent
FOLLOW = True  # the watchdog follows the toolkit's descendants (tests switch it off to see why)
FOLLOW_S = 0.1  # seconds between two looks at them: a few small /proc reads each (about 0.1 ms)

# The watchdog's whole program (standard library only, run with -I -S: it starts in milliseconds).
# Its command line names no path of the repository, so it is never mistaken for a lab's process.
WATCHDOG = r"""# labkit watchdog: once the toolkit is gone, kill what it started (labkit/reaper.py)
import os, select, signal, sys, time
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)  # a Ctrl-C in the terminal is the toolkit's to handle
mark, toolkit, poll, me = sys.argv[1].encode(), int(sys.argv[2]), float(sys.argv[3]), os.getpid()
groups, seen, pending = set(), {}, b""
def stat(pid):  # (parent, start time) or None once gone
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[1]), fields[19]) if fields[0] != b"Z" else None
def children(pid):  # the kernel's list of a process's children (one file per thread)
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found
def parents():  # every process's parent, from a scan of /proc
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            s = stat(int(name))
            if s:
                found[int(name)] = s[0]
    return found
listed = os.path.exists(f"/proc/{me}/task/{me}/children")
def descendants(roots, tree=None):
    # the processes under roots, by the kernel's children lists or, without them, a scan of /proc
    out, todo = set(), list(roots)
    if tree is None and not listed:
        tree = parents()
    kids = {}
    for pid, parent in (tree or {}).items():
        kids.setdefault(parent, []).append(pid)
    while todo:
        pid = todo.pop()
        for child in (kids.get(pid, ()) if tree is not None else children(pid)):
            if child != me and child not in out:
                out.add(child)
                todo.append(child)
    return out
def follow():  # while the toolkit lives: its descendants (daemons included: it is their subreaper)
    global seen
    now = {}
    for pid in descendants([toolkit]):
        s = stat(pid)
        if s:
            now[pid] = s[1]
    seen = now
def marked():
    found = []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if name.isdigit() and int(name) != me:
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if any(i.startswith(b"LABKIT_OWNER=") and mark in i[13:].split(b" ") for i in env):
                found.append(int(name))
    return found
tracking = os.path.isdir(f"/proc/{toolkit}") and poll > 0
while True:  # the toolkit's registrations, until it exits or is killed (end of file)
    if tracking:
        follow()
        ready = select.select([0], [], [], poll)[0]
        if not ready:
            continue
    chunk = os.read(0, 65536)
    if not chunk:
        break
    *lines, pending = (pending + chunk).split(b"\n")
    for line in lines:
        (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
for _ in range(50):  # again, for a process forked while the others were being killed
    alive = [pid for pid, start in seen.items() if (stat(pid) or (0, None))[1] == start]
    found = set(marked()) | set(alive)
    found |= descendants(found, tree=parents()) if found else set()
    found.discard(me)
    if not found:
        break
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.02)
"""

_lock = threading.Lock()
_watchdog: subprocess.Popen[bytes] | None = None
_prctl: Callable[..., int] | None = None


def _resolve() -> Callable[..., int] | None:
    """libc's prctl, looked up once in the toolkit (never first in a forked child)."""
    global _prctl
    if LINUX and _prctl is None:
        with contextlib.suppress(OSError, AttributeError):
            _prctl = ctypes.CDLL(None, use_errno=True).prctl
    return _prctl


def _call_prctl(option: int, value: int) -> bool:
    prctl = _resolve()
    if prctl is None:
        return False
    zero = ctypes.c_ulong(0)
    return prctl(ctypes.c_int(option), ctypes.c_ulong(value), zero, zero, zero) == 0


def guard() -> None:
    """Make this process a subreaper and start its watchdog (once; later calls do nothing)."""
    global _watchdog
    if not ENABLED:
        return
    with _lock:
        if _watchdog is not None:
            return
        _call_prctl(PR_SET_CHILD_SUBREAPER, 1)
        env = {k: v for k, v in os.environ.items() if k != MARK}
        every = FOLLOW_S if FOLLOW else 0  # 0: no following, only the end-of-file sweep
        try:
            _watchdog = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", WATCHDOG, TOKEN, str(os.getpid()), f"{every:g}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # out of reach of a Ctrl-C or a kill of the toolkit's group
                env=env,
                close_fds=True,
            )
        except OSError:
            return  # the parent-death signal and the cleanup still hold
        atexit.register(_release)


def _tell(line: str) -> None:
    dog = _watchdog
    if dog is None or dog.stdin is None:
        return
    with contextlib.suppress(OSError, ValueError):  # a watchdog gone (killed): the other ties hold
        dog.stdin.write(line.encode())
        dog.stdin.flush()


def register(pgid: int) -> None:
    """The watchdog kills this process group if the toolkit dies before ``unregister``."""
    _tell(f"+{pgid}\n")


def unregister(pgid: int) -> None:
    _tell(f"-{pgid}\n")


def _release() -> None:
    """At a normal exit: close the pipe and let the watchdog finish its (empty) sweep."""
    global _watchdog
    dog, _watchdog = _watchdog, None
    if dog is None:
        return
    with contextlib.suppress(OSError, ValueError):
        if dog.stdin is not None:
            dog.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        dog.wait(timeout=2)


def env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a child: ``base`` (this process's) with the toolkit's mark added."""
    out = dict(os.environ if base is None else base)
    if ENABLED:
        out[MARK] = " ".join([*out.get(MARK, "").split(), TOKEN])
    return out


def tie() -> Callable[[], None] | None:
    """A ``preexec_fn`` that gives the child SIGKILL when the toolkit dies (None where it cannot).

    The kernel sends it when the *thread* that forked the child ends, so only children started from
    the main thread get it; the watchdog covers the rest.
    """
    if not (ENABLED and LINUX) or _prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    parent, prctl = os.getpid(), _prctl
    sigkill = ctypes.c_ulong(signal.SIGKILL)
    zero = ctypes.c_ulong(0)

    def in_child() -> None:
        prctl(ctypes.c_int(PR_SET_PDEATHSIG), sigkill, zero, zero, zero)
        if os.getppid() != parent:  # the toolkit died between the fork and the line above
            os._exit(137)

    return in_child


def marked(token: str = TOKEN) -> list[int]:
    """Live processes that carry ``token`` in their environment (Linux; [] elsewhere)."""
    if not os.path.isdir("/proc"):
        return []
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                items = handle.read().split(b"\0")
        except OSError:
            continue
        prefix = f"{MARK}=".encode()
        if any(i.startswith(prefix) and token.encode() in i[len(prefix) :].split(b" ") for i in items):
            found.append(int(name))
    return found


def sweep(spare: Iterable[int] = ()) -> list[int]:
    """Kill every process that still carries this toolkit's mark, and reap those that were re-parented
    to it (a daemon's double fork); ``spare`` (children still tracked elsewhere) are left alone."""
    if not ENABLED:
        return []
    kept = set(spare)
    dog = _watchdog
    if dog is not None:
        kept.add(dog.pid)
    killed: list[int] = []
    for _ in range(20):
        # marked ones, and any process re-parented to us (a daemon that dropped the mark from its
        # environment still comes here: the toolkit is its subreaper)
        found = [pid for pid in {*marked(), *adopted()} if pid not in kept]
        if not found:
            break
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        killed.extend(p for p in found if p not in killed)
        time.sleep(0.02)
    _reap(killed, spare=kept)
    return killed


def adopted() -> list[int]:
    """Live processes whose parent is this one (Linux; [] elsewhere): our children, and as a child
    subreaper, every orphan of our descendants."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None and stat[1] == me and stat[0] != "Z":
                found.append(int(name))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def _reap(killed: list[int], *, spare: set[int]) -> None:
    """Collect the zombies re-parented to this process (the subreaper), until every killed process is
    gone or another parent's: none stays behind as a zombie of a long-running toolkit."""
    me = os.getpid()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        pending = False
        for pid in killed:
            stat = _stat(pid)
            if stat is None:
                continue
            state, parent = stat
            if parent == me and pid not in spare:
                if state == "Z":
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, 0)
                    continue
                pending = True
            elif state != "Z":
                pending = True  # not yet re-parented to us after its parent died
        if not pending:
            return
        time.sleep(0.01)
