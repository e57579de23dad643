"""The processes `lockstep serve` runs: API processes and the worker process.

The supervisor (`supervisor.py`) forks each child after it has imported everything and bound the port,
so a child starts in a fraction of a second and inherits, as open sockets:

- its own listening socket (API processes; SO_REUSEPORT, one per API process, see `supervisor.listener`):
  the supervisor keeps a copy, so a crashed one is replaced without its socket ever closing;
- one end of a datagram socket pair (the wake channel): API processes send a byte after each commit
  that recorded work, and the worker process wakes at once instead of at its next poll. Nothing is
  lost if a byte is dropped (a full buffer, a worker restarting): the worker still polls;
- a pipe it writes one line to once it serves, so that the supervisor announces "serving" only when
  every child is up, and reports a child's start-up error instead.

A child dies with its supervisor (PR_SET_PDEATHSIG), so a `kill -9` of the supervisor never leaves
children serving on their own. `/proc/<pid>/comm` names each: `lockstep-api`, `lockstep-worker`.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from lockstep.config import Settings
from lockstep.startup import check_database, explain

log = logging.getLogger("lockstep")

# How long an idle keep-alive connection stays open. uvicorn's default (5 s) equals the interval at which
# `openstack ... --wait` polls, so the server closed connections just as the client reused them and
# the client saw "connection reset" (Manila's eventlet server keeps idle connections for minutes).
KEEP_ALIVE_SECONDS = 75
# The worker process keeps the default CPU priority: niced, it held SQLite's write lock while the
# scheduler preferred other processes, and API writes waited for it (share-create p50 5.8 -> 13.9 ms
# on a loaded 2-core machine).

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15


def configure_logging(settings: Settings) -> None:
    from lockstep.observability import logs

    logs.configure(settings.log_level, settings.log_format)
    # Alembic says "Context impl SQLiteImpl" at every schema check; only `db upgrade` wants its steps.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _prctl(option: int, value: int | bytes) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def die_with(parent: int) -> None:
    """Ask the kernel for SIGTERM when `parent` dies; exit now if it already has."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the request: the signal will never come
        os._exit(0)


def _ready(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.write(fd, b"ready\n")
            os.close(fd)


# the wake-up channel --------------------------------------------------------------------------------
def wake_sender(sock: socket.socket) -> Callable[[], None]:
    """What an API process calls after a commit that recorded work: one datagram to the worker."""
    sock.setblocking(False)

    def send() -> None:
        # A full buffer means the worker has wake-ups pending already; a worker being restarted
        # polls the table when it starts. Either way the byte is not needed.
        with contextlib.suppress(OSError):
            sock.send(b"w")
    return send


def listen_for_wakes(sock: socket.socket, wake: Callable[[], None]) -> threading.Thread:
    """Call `wake` for every datagram the API processes send (a daemon thread)."""
    sock.setblocking(True)

    def loop() -> None:
        while True:
            try:
                sock.recv(64)
            except OSError:
                return
            wake()
    thread = threading.Thread(target=loop, name="lockstep-wake", daemon=True)
    thread.start()
    return thread


# the API process -------------------------------------------------------------------------------------
def uvicorn_config(app: Any, settings: Settings) -> Any:
    """The uvicorn settings of every API process (one place, so that limits and timeouts are set once):
    the HTTP protocol with the request timeout and the connection bound (api/limits.py)."""
    import uvicorn

    from lockstep.api.limits import ConnectionLimits, protocol_factory

    return uvicorn.Config(app, log_level="warning", access_log=False, log_config=None,
                          timeout_keep_alive=KEEP_ALIVE_SECONDS,
                          http=protocol_factory(ConnectionLimits(settings.request_timeout, settings.max_connections)))


# PostgreSQL connections an API process opens before it serves: a new one costs a few milliseconds (a
# backend process is forked), and the first burst of concurrent requests paid that on its critical path.
WARM_CONNECTIONS = 4


def warm_pool(engine: Any, count: int) -> None:
    """Open `count` pooled connections now (PostgreSQL; SQLite's cost nothing to open) and keep them pooled."""
    if engine.dialect.name != "postgresql":
        return
    opened = []
    try:
        for _ in range(count):
            opened.append(engine.connect())
    finally:
        for conn in opened:
            conn.close()


def run_api(settings: Settings, listener: socket.socket, wake: socket.socket | None, ready: int | None) -> None:
    import uvicorn

    from lockstep.bootstrap import build_app, build_services, engine_for

    engine = engine_for(settings)
    app = build_app(settings, build_services(settings, engine, on_enqueued=wake_sender(wake) if wake else None))
    warm_pool(engine, WARM_CONNECTIONS)
    server = uvicorn.Server(uvicorn_config(app, settings))
    _ready(ready)
    try:
        server.run(sockets=[listener])
    finally:
        engine.dispose()


# the worker process ----------------------------------------------------------------------------------
def run_worker(settings: Settings, *, wake: socket.socket | None = None, ready: int | None = None,
               announce: bool = True) -> None:
    """Set up the drivers, settle operations until SIGTERM/SIGINT, then release what the drivers hold."""
    from lockstep.bootstrap import build_drivers, build_wake_listener, build_worker, close_drivers, engine_for

    stop = StopSignal()
    abandoned: list[int] = []
    check_database(settings)  # before the drivers: a backend may mount storage as it is built
    engine = engine_for(settings)
    drivers = build_drivers(settings)
    try:
        worker = build_worker(settings, engine, drivers)
        if wake is not None:
            listen_for_wakes(wake, worker.wake)
        listener = build_wake_listener(engine, worker)
        if listener is not None:
            listener.start()
        worker.start()
        for name, driver in drivers.items():
            for pool in driver.pools():
                log.info("backend %s#%s: driver %s, %.1f GiB free of %.1f GiB, atomic cgsnapshots: %s",
                         name, pool.name, driver.kind, pool.free_capacity_gb, pool.total_capacity_gb,
                         pool.atomic_cgsnapshot)
        if announce:
            print(f"lockstep: worker {worker.owner} serving backends {', '.join(drivers)}", flush=True)
        _ready(ready)
        stop.wait()
        # A stop that takes longer than the supervisor's patience shows where it hangs (in the log).
        faulthandler.dump_traceback_later(20, exit=False)
        if listener is not None:
            listener.stop()
        abandoned = worker.stop()
    finally:
        try:
            close_drivers(drivers)
            engine.dispose()
        finally:
            faulthandler.cancel_dump_traceback_later()
            stop.close()
    if abandoned:
        # Their threads are still in storage calls, and the interpreter would wait for them at exit (the
        # operation threads are a pool's, which Python joins): leave now; their leases say what to redo.
        logging.shutdown()
        os._exit(0)


class StopSignal:
    """SIGTERM/SIGINT as something the main thread waits for, installed at once.

    The handler takes no lock: it writes a byte to a pipe. (A handler that sets a `threading.Event` takes
    the event's lock, which the main thread may hold at the moment the signal is handled, or which a
    second signal's handler, run inside the first's, finds taken: the process then never stops.)"""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self.received = False
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, _signum: int, _frame: Any) -> None:
        self.received = True
        with contextlib.suppress(OSError):  # a full pipe already holds a byte: enough
            os.write(self._write, b"s")

    def wait(self) -> None:
        while not self.received:
            os.read(self._read, 64)  # interrupted by the signal (the handler runs), then reads its byte

    def close(self) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)


# in the forked child --------------------------------------------------------------------------------
def run_child(role: str, settings: Settings, parent: int, listener: socket.socket | None,
              wake: socket.socket | None, ready: int | None) -> None:
    """The body of a forked child: what it does not need of the supervisor's sockets, it closes."""
    die_with(parent)
    _prctl(_PR_SET_NAME, f"lockstep-{role}".encode())
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)  # the supervisor's handlers are not ours
    # The supervisor forks with SIGTERM and SIGINT blocked (`supervisor.STOP_SIGNALS`): one that came since
    # the fork waited, and is delivered now, to the default action, instead of to the supervisor's handler
    # in this process (which would have swallowed it: the child then served on, until killed 30 s later).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        if role == "api":
            assert listener is not None
            run_api(settings, listener, wake, ready)
        else:
            run_worker(settings, wake=wake, ready=ready, announce=False)
    except Exception as exc:
        message = explain(exc, settings)
        if message is None:
            raise
        sys.exit(f"lockstep: {message}")
