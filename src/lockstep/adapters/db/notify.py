"""PostgreSQL LISTEN/NOTIFY: a worker wakes as soon as work is recorded for it, on any machine.

`OperationRepo.record` (and a hand-off to another backend) sends `NOTIFY lockstep_work, '<host@backend>'`
in the transaction that records the work, so PostgreSQL delivers it only if that transaction commits.
Each worker LISTENs on a connection of its own (a pooled connection would be handed to other work and
miss notifications) and wakes its dispatcher for work on its backends or unplaced work ("").

A notification only wakes: correctness never depends on it. If the listening connection dies (a
restarted PostgreSQL, an operator's pg_terminate_backend), the worker goes on polling every
`poll_interval` and the listener connects again after `retry` seconds; on reconnecting it wakes the
worker once, for whatever was recorded while nobody listened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import psycopg
from sqlalchemy import Engine

from lockstep.adapters.db.work import WAKE_CHANNEL

log = logging.getLogger("lockstep.worker")


class WakeListener:
    def __init__(self, engine: Engine, wake: Callable[[], None], backends: Iterable[str], *,
                 retry: float = 1.0) -> None:
        self.dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.wake = wake
        self.wanted = {"", *backends}
        self.retry = retry
        self.backend_pid: int | None = None  # the listening connection's server process (tests end it)
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lockstep-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                self.connected.clear()
                log.warning("the LISTEN connection to PostgreSQL was lost (%s); polling every interval "
                            "until it is back", str(exc).strip().splitlines()[0] if str(exc).strip() else exc)
            self._stop.wait(self.retry)

    def _listen(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"LISTEN {WAKE_CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            self.connected.set()
            log.info("listening for work on PostgreSQL (channel %s, server pid %s)", WAKE_CHANNEL, self.backend_pid)
            self.wake()  # work recorded while nobody listened
            while not self._stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    if note.payload in self.wanted:
                        self.wake()
