"""Hold the stop signals (Ctrl-C, SIGTERM, SIGHUP) while a few steps must not be cut in two."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def deferred(why: str) -> Iterator[None]:
    """Remember a stop signal instead of acting on it, then raise KeyboardInterrupt on the way out.

    Python-level handlers, not a blocked signal mask: a child started meanwhile must not inherit
    blocked signals (a mask survives exec), or it could not be stopped politely later.
    Handlers can only be set from the main thread; elsewhere this holds nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            raise KeyboardInterrupt(f"signal {received[0]} (held until {why})")
