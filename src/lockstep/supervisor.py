"""`lockstep serve`: one parent that binds the port, runs the API and worker processes, and watches them.

Why processes: storage work (subprocesses, file walks, btrfs ioctls) and request handling in one
process share one GIL, and the API's latency followed the worker's load. So the parent

1. checks what start-up can check (`startup.preflight`), claims the address (`claim`: a bound socket
   that never listens, which keeps any other server off it) and binds one listening socket per API
   process (`listener`, SO_REUSEPORT: the kernel spreads connections over them), so that a port in use
   is one error line and "serving" is printed only once the port is ours;
2. imports the application once, then forks one worker process (when `worker` is on) and `processes`
   API processes (`child.py`), each of which inherits its own listening socket, and waits until
   each says it is ready (a child that fails to start ends the start-up with its error);
3. restarts a child that dies (after a back-off when it keeps dying young); the supervisor keeps every
   listening socket open, so a replaced API process takes over its socket and the connections queued on
   it (one that keeps dying gives it up until it is restarted, unless it is the last one);
4. on SIGTERM or SIGINT stops every child (SIGTERM, then SIGKILL after `STOP_GRACE` seconds) and exits.

Children die with the parent (PR_SET_PDEATHSIG, see `child.py`), so a `kill -9` of the parent does
not leave them serving. API processes wake the worker through a datagram socket pair the parent
creates (`child.wake_sender`), so work recorded by any API process starts at once.

Forking (not exec): a child then starts in well under a second instead of importing everything
again, which on a small machine is most of a start-up. The parent runs no threads, holds no database
connection when it forks, and each child builds its own engine, app or worker.

`child_env` is the hook for settings every child must see before anything is imported (e.g.
PROMETHEUS_MULTIPROC_DIR for multi-process metrics): the parent puts it in its own environment before
it imports the application, so the children are forked with it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from lockstep.child import STOP_SIGNALS, run_child
from lockstep.config import Settings
from lockstep.startup import StartupError, bind_error, close_quietly, preflight, redact

log = logging.getLogger("lockstep")

STOP_GRACE = 30.0  # seconds a child has to stop after SIGTERM before it is killed
START_TIMEOUT = 300.0  # seconds a child may take to start (a first btrfs image is made then)
HEALTHY_AFTER = 10.0  # a child that ran this long was healthy: its next crash restarts it at once
MAX_BACKOFF = 30.0


def default_processes() -> int:
    """One API process per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve(host: str, port: int) -> tuple[int, Any]:
    try:
        family, _kind, _proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise StartupError(f"cannot resolve the listen address {host!r} ({exc.strerror}); set listen / "
                           "LOCKSTEP_LISTEN to host:port") from None
    return family, address


def claim(host: str, port: int) -> socket.socket:
    """The supervisor's hold on the address: bound, never listening, without SO_REUSEPORT.

    It makes the address ours for as long as the supervisor runs: a second `lockstep serve` (whose own claim
    has no SO_REUSEPORT) or any server that does not ask for SO_REUSEPORT gets EADDRINUSE, even while every
    API process is being replaced. SO_REUSEADDR on it lets our SO_REUSEPORT listeners bind beside it (a
    socket that does not listen does not conflict with them). A program of the same user that binds with
    SO_REUSEPORT is not refused: Linux admits it to the group by design (tests/e2e/test_reuseport.py)."""
    family, address = resolve(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise bind_error(host, port, exc) from None
    return sock


def listener(host: str, port: int) -> socket.socket:
    """One API process's listening socket. Each API process has its own, with SO_REUSEPORT: the kernel spreads
    new connections over them by a hash of the addresses. (With one shared socket, uvloop accepted every
    pending connection at each wake-up, and the first process to wake took a client pool's connections
    7 or 8 out of 8.)"""
    family, address = resolve(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise bind_error(host, port, exc) from None
    sock.set_inheritable(True)
    return sock


#: What every child uses, imported once by the parent before it forks.
PRELOAD = ("uvicorn", "lockstep.bootstrap")


@dataclass
class Child:
    role: str  # "api" or "worker"
    index: int
    proc: BaseProcess | None = None
    started: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None

    @property
    def name(self) -> str:
        return "the worker process" if self.role == "worker" else f"API process {self.index + 1}"

    @property
    def exitcode(self) -> int | None:
        return None if self.proc is None else self.proc.exitcode


@dataclass
class Supervisor:
    settings: Settings
    processes: int
    child_env: Mapping[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = _StopFlag()
        self._claim: socket.socket | None = None
        self._listeners: dict[int, socket.socket] = {}  # API process index -> its listening socket
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._fork = multiprocessing.get_context("fork")

    # start-up ----------------------------------------------------------------------------------------
    def run(self) -> int:
        os.environ.update(self.child_env)
        preflight(self.settings)
        host, port = self.settings.listen_host_port
        self._claim = claim(host, port)
        self._install_signal_handlers()
        try:
            for index in range(self.processes):
                self._listeners[index] = listener(host, port)
            for module in PRELOAD:
                importlib.import_module(module)
            if self.settings.worker:
                self._wake = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
                self.children.append(Child("worker", 0))
            self.children += [Child("api", i) for i in range(self.processes)]
            self._start_all()
            if self._stop.is_set():
                return 0
            self._announce(host, port)
            self._watch()
            return 0
        finally:
            self._stop_all()
            for sock in self._listeners.values():
                sock.close()
            self._claim.close()
            for end in self._wake or ():
                end.close()

    def _announce(self, host: str, port: int) -> None:
        pids = ", ".join(f"{c.role} {c.proc.pid}" for c in self.children if c.proc is not None)
        print(f"lockstep: serving the Shared File Systems API v2 on http://{host}:{port}/v2 "
              f"(auth {self.settings.auth}, database {redact(self.settings.effective_database_url)}, "
              f"{self.processes} API process{'es' if self.processes != 1 else ''}, "
              f"{'a worker process' if self.settings.worker else 'no worker'}; pids: {pids})", flush=True)

    def _install_signal_handlers(self) -> None:
        def handler(_signum: int, _frame: Any) -> None:
            self._stop.set()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _start_all(self) -> None:
        """Start every child and wait until each is ready; a child that exits first ends the start-up."""
        pending: dict[int, Child] = {}
        for child in self.children:
            pending[self._spawn(child, ready=True)] = child
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while pending and not self._stop.is_set():
                if time.monotonic() > deadline:
                    names = ", ".join(c.name for c in pending.values())
                    raise StartupError(f"{names} did not start within {START_TIMEOUT:.0f} s; see the log above")
                readable, _, _ = select.select(list(pending), [], [], 0.2)
                for fd in readable:
                    child = pending.pop(fd)
                    said = os.read(fd, 64)
                    close_quietly(fd)
                    if said.startswith(b"ready"):
                        continue
                    code = self._exit_code(child)
                    if code is not None and code < 0 and not self._stop.is_set():
                        pending[self._spawn(child, ready=True)] = child  # killed from outside: not its fault
                        continue
                    raise StartupError(f"{child.name} could not start (exit status {code}); its error is above. "
                                       "Fix it and run `lockstep serve` again")
        finally:
            for fd in pending:
                close_quietly(fd)

    @staticmethod
    def _exit_code(child: Child) -> int | None:
        assert child.proc is not None
        child.proc.join(STOP_GRACE)
        return child.proc.exitcode

    def _spawn(self, child: Child, *, ready: bool) -> int:
        """Fork the child; with `ready`, returns the pipe it reports readiness on, else -1."""
        read_fd, write_fd = os.pipe() if ready else (-1, -1)
        wake = None
        if self._wake is not None:
            wake = self._wake[0] if child.role == "api" else self._wake[1]
        child.proc = self._fork.Process(
            target=_child_main, name=f"lockstep-{child.role}", daemon=False,
            args=(child.role, self.settings, os.getpid(), self._listening_socket(child), self._inherited(), wake,
                  self._wake, write_fd if ready else None, read_fd))
        # Forked with the stop signals blocked: until the child has its own handlers (`child.run_child`
        # unblocks them), a SIGTERM to it would run this process's handler there and be lost.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            child.proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            if write_fd >= 0:
                os.close(write_fd)  # the child's now: its exit closes the last copy, which the parent sees
        child.started = time.monotonic()
        child.restart_at = None
        return read_fd

    # running -----------------------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            now = time.monotonic()
            for child in self.children:
                self._tend(child, now)

    def _tend(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                try:
                    self._spawn(child, ready=False)
                except StartupError as exc:  # its address could not be bound again: try later
                    print(f"lockstep: cannot restart {child.name}: {exc}", file=sys.stderr, flush=True)
                    child.restart_at = now + MAX_BACKOFF
                    return
                print(f"lockstep: restarted {child.name} (pid {child.proc.pid if child.proc else '?'})", flush=True)
            return
        code = child.exitcode
        if child.proc is None or code is None:
            return
        if now - child.started >= HEALTHY_AFTER:
            child.quick_failures = 0
        delay = 0.0 if child.quick_failures == 0 else min(0.5 * 2 ** child.quick_failures, MAX_BACKOFF)
        child.quick_failures += 1
        how = f"signal {-code}" if code < 0 else f"status {code}"
        print(f"lockstep: {child.name} (pid {child.proc.pid}) exited with {how}; restarting it"
              + (f" in {delay:.1f} s" if delay else ""), file=sys.stderr, flush=True)
        child.restart_at = now + delay
        if delay and child.role == "api" and len(self._listeners) > 1:
            # A child that keeps dying gives up its socket until it is restarted, so that the kernel sends its
            # share of new connections to the other API processes meanwhile (those queued on it are reset).
            # Restarted at once, it takes the socket over with its queue: no connection is lost. The last
            # socket is kept: connections wait in its queue rather than be refused.
            sock = self._listeners.pop(child.index, None)
            if sock is not None:
                sock.close()

    def _listening_socket(self, child: Child) -> socket.socket | None:
        """The API child's socket (bound again if its previous process gave it up); None for the worker."""
        if child.role != "api":
            return None
        if child.index not in self._listeners:
            host, port = self.settings.listen_host_port
            self._listeners[child.index] = listener(host, port)
        return self._listeners[child.index]

    def _inherited(self) -> list[socket.socket]:
        """The supervisor's sockets on the address, which a child closes except its own: a copy kept open in
        another process would keep a given-up socket's queue alive with nobody accepting from it."""
        return [sock for sock in (self._claim, *self._listeners.values()) if sock is not None]

    # stopping ----------------------------------------------------------------------------------------
    def _stop_all(self) -> None:
        running = [c.proc for c in self.children if c.proc is not None and c.proc.exitcode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for proc in running:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.exitcode is None:
                print(f"lockstep: pid {proc.pid} did not stop within {STOP_GRACE:.0f} s; killing it",
                      file=sys.stderr, flush=True)
                proc.kill()
                proc.join()


class _StopFlag:
    """Set by the signal handler. Not a `threading.Event`: its handler would take the event's lock, which the
    main thread may hold when the signal is handled (the supervisor then never stops)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Sleep `timeout` seconds unless set (a signal's handler runs during the sleep); True if set."""
        if not self._set:
            time.sleep(timeout)
        return self._set


def _child_main(role: str, settings: Settings, parent: int, own: socket.socket | None, inherited: list[socket.socket],
                wake: socket.socket | None, pair: tuple[socket.socket, socket.socket] | None, ready: int | None,
                parent_end: int) -> None:
    """In the forked child: drop the supervisor's copies it does not need, then run the child."""
    close_quietly(parent_end)
    for sock in inherited:
        if sock is not own:
            sock.close()
    for end in pair or ():
        if end is not wake:
            end.close()
    run_child(role, settings, parent, own, wake, ready)


def serve(settings: Settings, *, processes: int | None = None, child_env: Mapping[str, str] | None = None) -> int:
    count = processes or settings.processes or default_processes()
    return Supervisor(settings, count, dict(child_env or {})).run()
