"""A small threaded HTTP service that is slow under load: the patient of Lab 2.

It listens on 127.0.0.1 only and answers three endpoints from a fixed pool of
worker threads named ``worker-1`` … ``worker-N`` (the accept loop stays in
``MainThread``), so a profiler shows the same thread names on every run:

    /health   a tiny answer
    /cpu      pure-Python arithmetic for a few milliseconds (``cpu_work``)
    /locked   a little work, then an update of state shared by every worker
              under ONE lock (``update_shared_state``)
    /state    the shared counters: how many updates were applied, their total, and how many
              records ``write_record`` wrote (counted under a lock of its own)

The bug: ``update_shared_state`` keeps the lock while it writes a record (a
20 ms sleep standing for disk or network I/O), so the ``/locked`` requests of
all workers queue up behind one another. ``--fixed`` writes the record first,
with no lock held, and keeps the lock only for the tiny shared update. The
answers of both versions are identical.

    python labs/web_service/service.py --port 8001          # the slow service
    python labs/web_service/service.py --port 0 --fixed     # the repaired one, on a free port
    python labs/web_service/service.py --port 0 --update exercises/lab-2/shared_state.py:update_shared_state

``--update FILE.py:FUNCTION`` runs another ``update_shared_state`` (a learner's fix, for
`make grade-2`); that file may ``from service import SharedState, write_record``.

It prints one line when it is ready, e.g.
``web service (slow) listening on http://127.0.0.1:8001 with 8 workers``,
and stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

HOST = "127.0.0.1"
DEFAULT_WORKERS = 8
CPU_ITERATIONS = 45_000  # about 5-10 ms of pure-Python arithmetic on a laptop core
LOCKED_ITERATIONS = 3_000  # the "little work" a /locked request does before the update
RECORD_SECONDS = 0.020  # the I/O that the slow version does while holding the lock

Request = tuple[socket.socket, Any]
Update = Callable[["SharedState", int], None]


def cpu_work(iterations: int) -> int:
    """Pure-Python arithmetic: holds the GIL the whole time, no C call to hide in."""
    total = 0
    for i in range(iterations):
        total = (total * 31 + i * i) % 1_000_003
    return total


class SharedState:
    """State that every worker updates: one lock guards both counters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.total = 0

    def apply(self, value: int) -> None:
        self.count += 1
        self.total += value


class Records:
    """How many records were written, under a lock of its own: an update that skips the write shows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written = 0

    def add(self) -> None:
        with self._lock:
            self._written += 1

    @property
    def written(self) -> int:
        with self._lock:
            return self._written


RECORDS = Records()


def write_record(value: int) -> None:
    """Stands for slow I/O (writing an audit record): the thread waits, using no CPU."""
    del value  # a real service would write it somewhere
    time.sleep(RECORD_SECONDS)
    RECORDS.add()


def update_shared_state(state: SharedState, value: int) -> None:
    """The bug: the slow write happens while the one shared lock is held."""
    with state.lock:  # every other /locked request waits here...
        write_record(value)  # ...while this one sleeps on I/O
        state.apply(value)


def update_shared_state_fixed(state: SharedState, value: int) -> None:
    """The fix: write first with no lock held; lock only for the tiny shared update."""
    write_record(value)
    with state.lock:
        state.apply(value)


def load_update(spec: str) -> Update:
    """``FILE.py:FUNCTION``: an update function from any file, which may import this module as ``service``."""
    file, sep, name = spec.rpartition(":")
    if not sep or not file.endswith(".py") or not name.isidentifier():
        raise ValueError(f"expected FILE.py:FUNCTION, got {spec!r}")
    path = Path(file).resolve()
    if not path.is_file():
        raise ValueError(f"{file}: no such Python file")
    sys.modules.setdefault("service", sys.modules[__name__])  # run as a script, this module is __main__
    loader = importlib.util.spec_from_file_location(f"update_{path.stem}", path)
    if loader is None or loader.loader is None:
        raise ValueError(f"{file}: cannot be loaded as a module")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    found = getattr(module, name, None)
    if not callable(found):
        raise ValueError(f"{file} defines no function {name!r}")
    update: Update = found
    return update


def answer(endpoint: str, result: int | str | dict[str, int]) -> bytes:
    return json.dumps({"endpoint": endpoint, "result": result}, sort_keys=True).encode() + b"\n"


class Handler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0 style), so any number of clients share the pool fairly."""

    server: WorkerPoolServer
    server_version = "LabWebService/1.0"
    timeout = 10  # a client that connects and says nothing does not keep a worker forever

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self.reply(200, answer("health", "ok"))
        elif path == "/cpu":
            self.reply(200, answer("cpu", cpu_work(CPU_ITERATIONS)))
        elif path == "/locked":
            value = cpu_work(LOCKED_ITERATIONS)
            self.server.update(self.server.state, value)
            self.reply(200, answer("locked", value))
        elif path == "/state":
            state = self.server.state
            with state.lock:
                counters = {"count": state.count, "total": state.total, "records": RECORDS.written}
            self.reply(200, answer("state", counters))
        else:
            self.reply(404, answer("not found", path))

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: a line per request would cost more than /health itself."""


class WorkerPoolServer(HTTPServer):
    """An HTTP server whose requests are handled by a fixed pool of named threads.

    ``ThreadingHTTPServer`` starts a new thread per request (``Thread-5678
    (process_request_thread)``); here the accept loop hands each connection to
    a queue that ``worker-1`` … ``worker-N`` take turns to serve.
    """

    request_queue_size = 128  # the listen backlog: a burst of clients must not be refused

    def __init__(
        self, port: int, *, workers: int = DEFAULT_WORKERS, fixed: bool = False, update: Update | None = None
    ) -> None:
        if workers < 1:
            raise ValueError("at least one worker is needed")
        self.workers: list[threading.Thread] = []  # a failed bind calls server_close() before any start
        super().__init__((HOST, port), Handler)
        self.fixed = fixed
        self.state = SharedState()
        self.update: Update = update or (update_shared_state_fixed if fixed else update_shared_state)
        self.requests: queue.Queue[Request | None] = queue.Queue()
        self.workers += [
            threading.Thread(target=self.work, name=f"worker-{number}", daemon=True)
            for number in range(1, workers + 1)
        ]
        for worker in self.workers:
            worker.start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        self.requests.put((request, client_address))

    def work(self) -> None:
        while True:
            item = self.requests.get()
            if item is None:
                return
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that hung up early is not the service's error
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        super().server_close()
        for _ in self.workers:
            self.requests.put(None)
        for worker in self.workers:
            worker.join(timeout=2)


class Stop(Exception):
    """Raised in the main thread by SIGINT or SIGTERM to leave the accept loop."""


def raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def serve(port: int, *, fixed: bool, workers: int, update: Update | None = None) -> None:
    server = WorkerPoolServer(port, workers=workers, fixed=fixed, update=update)
    label = "yours" if update else "fixed" if fixed else "slow"
    print(
        f"web service ({label}) listening on http://{HOST}:{server.port} with {workers} workers", flush=True
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except (Stop, KeyboardInterrupt):
        pass
    finally:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        server.server_close()
    print(f"web service ({label}) stopped", flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--fixed", action="store_true", help="keep the lock only for the shared update")
    parser.add_argument(
        "--update", metavar="FILE.py:FUNCTION", help="use this update_shared_state instead (e.g. yours)"
    )
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="worker threads (default 8)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.update and args.fixed:
        parser.error("--update and --fixed choose the update both: give one")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        update = load_update(args.update) if args.update else None
    except ValueError as exc:
        print(f"web service: --update: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, raise_stop)
    signal.signal(signal.SIGINT, raise_stop)
    try:
        serve(args.port, fixed=args.fixed, workers=args.workers, update=update)
    except OSError as error:
        print(f"web service: cannot listen on {HOST}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
