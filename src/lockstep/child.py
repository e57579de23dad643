"""The processes `lockstep serve` runs: API processes and the worker process (`python -m lockstep.child`).

The supervisor (`supervisor.py`) hands each child what it needs as inherited file descriptors named in
the environment:

- `LOCKSTEP_LISTEN_FD` (API): the listening socket the supervisor bound; every API process accepts
  from it, so a crashed one is replaced without the port ever closing.
- `LOCKSTEP_WAKE_FD`: one end of a datagram socket pair. API processes send a byte after each commit
  that recorded work; the worker process wakes at once instead of at its next poll. Nothing is lost
  if a byte is dropped (a full buffer, a worker restarting): the worker still polls.
- `LOCKSTEP_READY_FD`: a pipe the child writes one line to once it serves, so that the supervisor
  announces "serving" only when every child is up, and reports a child's start-up error instead.
- `LOCKSTEP_SUPERVISOR_PID`: a child dies with its supervisor (PR_SET_PDEATHSIG), so a `kill -9` of
  the supervisor never leaves children serving on their own.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from lockstep import config as config_mod
from lockstep.config import Settings
from lockstep.startup import StartupError, check_database, explain

log = logging.getLogger("lockstep")

LISTEN_FD_ENV = "LOCKSTEP_LISTEN_FD"
WAKE_FD_ENV = "LOCKSTEP_WAKE_FD"
READY_FD_ENV = "LOCKSTEP_READY_FD"
SUPERVISOR_PID_ENV = "LOCKSTEP_SUPERVISOR_PID"

# How long an idle keep-alive connection stays open. uvicorn's default (5 s) equals the interval at which
# `openstack ... --wait` polls, so the server closed connections just as the client reused them and
# the client saw "connection reset" (Manila's eventlet server keeps idle connections for minutes).
KEEP_ALIVE_SECONDS = 75

_PR_SET_PDEATHSIG = 1
WORKER_NICENESS = 10


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Alembic says "Context impl SQLiteImpl" at every schema check; only `db upgrade` wants its steps.
    logging.getLogger("alembic").setLevel(logging.WARNING)


# parent death -------------------------------------------------------------------------------------
def die_with_supervisor() -> None:
    """Ask the kernel for SIGTERM when the supervisor dies; exit now if it already has."""
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    if not expected:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(expected):  # died between fork and prctl: the signal will never come
        sys.exit(0)


def _ready() -> None:
    fd = os.environ.get(READY_FD_ENV)
    if fd:
        with contextlib.suppress(OSError):
            os.write(int(fd), b"ready\n")
            os.close(int(fd))


def _inherited_socket(env: str) -> socket.socket | None:
    fd = os.environ.get(env)
    return socket.socket(fileno=int(fd)) if fd else None


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
def uvicorn_config(app: Any) -> Any:
    """The uvicorn settings of every API process (one place, so that limits and timeouts are set once)."""
    import uvicorn

    return uvicorn.Config(app, log_level="warning", access_log=False, timeout_keep_alive=KEEP_ALIVE_SECONDS)


def run_api(settings: Settings) -> None:
    import uvicorn

    from lockstep.bootstrap import build_app, build_services, engine_for

    listener = _inherited_socket(LISTEN_FD_ENV)
    if listener is None:
        raise StartupError(f"an API process needs the listening socket in {LISTEN_FD_ENV}; "
                           "start it with `lockstep serve`")
    wake = _inherited_socket(WAKE_FD_ENV)
    engine = engine_for(settings)
    app = build_app(settings, build_services(settings, engine, on_enqueued=wake_sender(wake) if wake else None))
    server = uvicorn.Server(uvicorn_config(app))
    _ready()
    try:
        server.run(sockets=[listener])
    finally:
        engine.dispose()


# the worker process ----------------------------------------------------------------------------------
def run_worker(settings: Settings, *, announce: bool = True) -> None:
    """Set up the drivers, settle operations until SIGTERM/SIGINT, then release what the drivers hold."""
    from lockstep.bootstrap import build_drivers, build_worker, close_drivers, engine_for

    stop = threading.Event()

    def handler(_signum: int, _frame: Any) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    check_database(settings)  # before the drivers: a backend may mount storage as it is built
    engine = engine_for(settings)
    drivers = build_drivers(settings)
    try:
        worker = build_worker(settings, engine, drivers)
        wake = _inherited_socket(WAKE_FD_ENV)
        if wake is not None:
            listen_for_wakes(wake, worker.wake)
        worker.start()
        for name, driver in drivers.items():
            for pool in driver.pools():
                log.info("backend %s#%s: driver %s, %.1f GiB free of %.1f GiB, atomic cgsnapshots: %s",
                         name, pool.name, driver.kind, pool.free_capacity_gb, pool.total_capacity_gb,
                         pool.atomic_cgsnapshot)
        if announce:
            print(f"lockstep: worker {worker.owner} serving backends {', '.join(drivers)}", flush=True)
        _ready()
        stop.wait()
        worker.stop()
    finally:
        close_drivers(drivers)
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    role = args[0] if args else ""
    if role not in ("api", "worker"):
        sys.exit("lockstep: usage: python -m lockstep.child api|worker (started by `lockstep serve`)")
    die_with_supervisor()
    settings: Settings | None = None
    try:
        settings = config_mod.load(os.environ.get("LOCKSTEP_CONFIG"))
        configure_logging(settings)
        if role == "api":
            run_api(settings)
        else:
            # Storage work is background work: on a machine with few cores the API processes get the CPU
            # first (the commands the drivers run inherit the lower priority).
            os.nice(WORKER_NICENESS)
            run_worker(settings, announce=False)
    except config_mod.ConfigError as exc:
        sys.exit(f"lockstep: {exc}")
    except Exception as exc:
        message = explain(exc, settings)
        if message is None:
            raise
        sys.exit(f"lockstep: {message}")


if __name__ == "__main__":
    main()
