"""The worker: claims recorded operations and settles them through the drivers.

Many workers (threads of one process, or processes on many hosts) can share one database:
each claims an operation with a compare-and-set and a lease, so no operation runs twice at
once; a worker that dies stops renewing its leases and another worker picks the work up
after the lease runs out. Each worker owns some backends (`host@backend`); operations for
other backends are left to their owners, and unplaced ones (backend NULL) may be placed by
anyone.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping

from lockstep.domain.host_services import Binary
from lockstep.domain.hosts import PoolRef
from lockstep.domain.model import utcnow
from lockstep.domain.operations import Operation
from lockstep.domain.pools import COW_CLONES, Overcommit, PoolRecord
from lockstep.service.context import working_on
from lockstep.service.exports import NfsExports
from lockstep.service.operations import HANDLERS, Context, Handoff, RetryLater, fail_stranded, give_up, sweep
from lockstep.service.operations.failures import DEFAULT_TTL
from lockstep.service.recycle_bin import purge_expired
from lockstep.service.scheduler import Scheduler
from lockstep.service.storage import DriverError, PoolInfo, ShareDriver
from lockstep.service.telemetry import NoTelemetry, Telemetry
from lockstep.service.unit_of_work import Database

log = logging.getLogger("lockstep.worker")

POOL_REPORT_INTERVAL = 10.0
MAX_RETRY_DELAY = 600.0
# Seconds a stopping worker waits for its threads in all (not per thread): the supervisor allows a child
# 30 s, and a stop must be prompt even when storage calls are in flight.
STOP_TIMEOUT = 3.0


def capabilities(driver: ShareDriver, backend: str, pool: PoolInfo, overcommit: Overcommit) -> dict[str, object]:
    """What the scheduler-stats API shows for one pool of `backend` (`host@backend`); the figures
    counted from the records (provisioned, allocated) are added when it is shown."""
    caps: dict[str, object] = {
        "pool_name": pool.name,
        "total_capacity_gb": pool.total_capacity_gb,
        "free_capacity_gb": max(pool.free_capacity_gb, 0.0),
        "thin_provisioning": pool.thin_provisioning,
        # Manila's: a thick pool cannot be oversubscribed, whatever is configured.
        "max_over_subscription_ratio": overcommit.max_over_subscription_ratio if pool.thin_provisioning else 1.0,
        "reserved_percentage": overcommit.reserved_percentage,
        COW_CLONES: pool.copy_on_write_clones,
        "qos": False,
        "share_backend_name": PoolRef.parse(backend).backend,
        "storage_protocol": "NFS_CIFS",
        "vendor_name": driver.vendor_name,
        "driver_version": driver.driver_version,
        "timestamp": None,
        "driver_handles_share_servers": driver.driver_handles_share_servers,
        "snapshot_support": pool.snapshot_support,
        "create_share_from_snapshot_support": pool.create_share_from_snapshot_support,
        "revert_to_snapshot_support": False,
        "consistency_group_support": str(pool.group_support) if pool.group_support else False,
        # Share groups (2.34): the group snapshot guarantee, where the backend cuts every member atomically.
        "consistent_snapshot_support": (
            str(pool.group_support) if pool.group_support and pool.atomic_cgsnapshot else None),
        "dedupe": False,
        "compression": False,
        "replication_type": None,
        "replication_domain": None,
        "lockstep:atomic_cgsnapshot": pool.atomic_cgsnapshot,
        "lockstep:driver": driver.kind,
        "lockstep:access_enforced": pool.access_enforced,
    }
    caps.update(pool.extra)
    return caps


class Worker:
    def __init__(self, db: Database, drivers: Mapping[str, ShareDriver], *, availability_zone: str,
                 lease_seconds: float = 30.0, poll_interval: float = 0.5, max_attempts: int = 5,
                 threads: int = 2, sweep_interval: float = 600.0, recycle_bin_interval: float = 3600.0,
                 message_ttl: float = DEFAULT_TTL, telemetry: Telemetry | None = None,
                 overcommit: Overcommit | None = None, report_interval: float = POOL_REPORT_INTERVAL,
                 nfs: NfsExports | None = None) -> None:
        self.db = db
        self.drivers = dict(drivers)
        self.availability_zone = availability_zone
        self.telemetry = telemetry or NoTelemetry()
        self.context = Context(db, self.drivers, Scheduler(), availability_zone, message_ttl, self.telemetry, nfs)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.context.owner = self.owner
        self.lease = lease_seconds
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.threads = threads
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._running: set[int] = set()
        self._running_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_report = 0.0
        self.overcommit = overcommit or Overcommit()
        self.report_interval = report_interval
        self.sweep_interval = sweep_interval
        self._last_sweep = time.monotonic()
        self._sweep_lock = threading.Lock()
        self.recycle_bin_interval = recycle_bin_interval
        self._last_purge = float("-inf")

    # pools --------------------------------------------------------------------
    def report_pools(self) -> None:
        records = []
        for backend, driver in self.drivers.items():
            # When the filesystem was measured: copies settled after it are not in its free figure
            # (the scheduler charges them until the next report, domain.pools.PoolUsage).
            measured = utcnow()
            for pool in driver.pools():
                ref = PoolRef.of_backend(backend, pool.name)
                caps = capabilities(driver, backend, pool, self.overcommit)
                if self.context.nfs is not None:
                    caps.update(self.context.nfs.capabilities())
                caps["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000", time.gmtime())
                records.append(PoolRecord(
                    name=str(ref), host=ref.host, backend=ref.backend, pool=ref.pool,
                    capabilities=caps, total_capacity_gb=pool.total_capacity_gb,
                    free_capacity_gb=max(pool.free_capacity_gb, 0.0), updated_at=measured))
        with self.db.write() as uow:
            for record in records:
                uow.pools.upsert(record)
            # The heartbeats of /services, and housekeeping that needs no schedule of its own.
            for host, binary in self.services():
                uow.services.heartbeat(host, binary, self.availability_zone)
            uow.messages.delete_expired(utcnow())
            uow.commit()
        self._last_report = time.monotonic()

    def _report_loop(self) -> None:
        """Its own thread: the scheduler and /services must see the pools and heartbeats even while
        every worker thread is busy with long storage work."""
        while not self._stop.wait(self.report_interval):
            try:
                self.report_pools()
            except Exception:  # noqa: BLE001 - reported again at the next interval; the loop must survive
                log.exception("could not report pools")

    def services(self) -> list[tuple[str, str]]:
        """(host, binary) of what this worker is in /services: a manila-share per backend it owns, and a
        manila-scheduler for its host (any worker places unplaced work)."""
        found = [(backend, str(Binary.SHARE)) for backend in self.drivers]
        hosts = sorted({PoolRef.parse(backend).host for backend in self.drivers})
        return found + [(host, str(Binary.SCHEDULER)) for host in hosts]

    def restore_exports(self) -> None:
        """The NFS server serves what the database says, whichever of the two processes restarted."""
        if self.context.nfs is None:
            return
        try:
            self.context.nfs.reconcile(list(self.drivers))
        except DriverError as exc:
            log.error("could not restore the NFS exports: %s (rules applied from now on will say why)", exc)

    # claiming and running ---------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """Claim and run every operation that is ready now; returns how many ran."""
        self._maybe_purge_recycle_bin()
        ran = 0
        while not self._stop.is_set():
            now = time.time()
            with self.db.read() as uow:
                candidates = uow.operations.claimable(list(self.drivers), now)
            op = None
            for op_id in candidates:
                with self.db.write() as uow:
                    op = uow.operations.claim(op_id, self.owner, now, self.lease)
                    uow.commit()
                if op is not None:
                    break
            if op is None:
                return ran
            self._run(op)
            ran += 1
        return ran

    def _run(self, op: Operation) -> None:
        """One run of a claimed operation; its log lines carry its id and the request that asked for it."""
        with working_on(op.id, op.request_id):
            if op.taken_over:
                log.warning("took over operation %s %s on %s: its previous owner's lease ran out",
                            op.id, op.kind, op.target_id)
                self.telemetry.lease_taken_over(str(op.kind))
            started = time.perf_counter()
            outcome = self._settle(op)
            self.telemetry.operation_finished(str(op.kind), outcome, time.perf_counter() - started)

    def _settle(self, op: Operation) -> str:
        """Runs the handler and records the outcome in the queue; returns it (succeeded, retried, failed,
        handed_off)."""
        with self._running_lock:
            self._running.add(op.id)
        try:
            HANDLERS[op.kind](self.context, op)
        except Handoff as handoff:
            with self.db.write() as uow:
                uow.operations.release(op.id, self.owner, backend=handoff.backend)
                uow.commit()
            return "handed_off"
        except RetryLater as later:
            delay = min(2.0 ** min(op.attempts, 10), MAX_RETRY_DELAY)
            with self.db.write() as uow:
                uow.operations.release(op.id, self.owner, delay=delay, error=str(later))
                uow.commit()
            return "retried"
        except Exception as exc:  # noqa: BLE001 - any failure is recorded; the loop must survive
            log.exception("operation %s %s on %s raised", op.id, op.kind, op.target_id)
            if op.attempts >= self.max_attempts:
                give_up(self.context, op, repr(exc))
                with self.db.write() as uow:
                    uow.operations.finish(op.id, self.owner, error=repr(exc))
                    uow.commit()
                return "failed"
            with self.db.write() as uow:
                uow.operations.release(op.id, self.owner, delay=min(2.0 ** op.attempts, 60), error=repr(exc))
                uow.commit()
            return "retried"
        finally:
            with self._running_lock:
                self._running.discard(op.id)
            finished = op.id in self.context.finished
            self.context.finished.discard(op.id)
        if finished:  # deleted in the transaction that settled its record (`Context.finish_in`)
            return "succeeded"
        with self.db.write() as uow:
            uow.operations.finish(op.id, self.owner)
            uow.commit()
        return "succeeded"

    def _maybe_purge_recycle_bin(self) -> None:
        """Begin deleting the shares whose time in the recycle bin is up (any worker may; the
        deletions are compare-and-set, so two workers never both begin one)."""
        if time.monotonic() - self._last_purge < self.recycle_bin_interval:
            return
        self._last_purge = time.monotonic()
        try:
            purge_expired(self.db)
        except Exception:  # noqa: BLE001 - retried at the next interval; the loop must survive
            log.exception("could not purge the recycle bin")

    def _maybe_sweep(self) -> None:
        if time.monotonic() - self._last_sweep < self.sweep_interval or not self._sweep_lock.acquire(False):
            return
        try:
            self._last_sweep = time.monotonic()
            for backend in self.drivers:
                sweep(self.context, backend)
            fail_stranded(self.context)
        finally:
            self._sweep_lock.release()

    def _renew_leases(self) -> None:
        while not self._stop.wait(self.lease / 3):
            with self._running_lock:
                running = list(self._running)
            if running:
                try:
                    with self.db.write() as uow:
                        uow.operations.renew(running, self.owner, time.time() + self.lease)
                        uow.commit()
                except Exception:  # noqa: BLE001
                    log.exception("could not renew leases")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._maybe_sweep()
                if self.context.nfs is not None:
                    self.context.nfs.supervise()
                self.run_once()
            except Exception:  # noqa: BLE001 - keep the loop alive through database hiccups
                log.exception("worker loop error; retrying")
                self._stop.wait(1.0)
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def start(self) -> None:
        self.report_pools()
        self.restore_exports()
        self._threads = [threading.Thread(target=self._renew_leases, name="lockstep-lease", daemon=True),
                         threading.Thread(target=self._report_loop, name="lockstep-pool-report", daemon=True)]
        for i in range(self.threads):
            self._threads.append(threading.Thread(target=self._loop, name=f"lockstep-worker-{i}", daemon=True))
        for thread in self._threads:
            thread.start()
        log.info("worker %s started for backends %s", self.owner, ", ".join(self.drivers) or "(none)")

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop claiming, wait at most `timeout` seconds in all for the threads, and record the stop.

        An operation still running then is abandoned to its lease (its storage call cannot be interrupted):
        the threads are daemons, so the process exits anyway, and the operation is run again by the next
        worker once the lease, no longer renewed, runs out, exactly as after a kill -9."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._running_lock:
            abandoned = sorted(self._running)
        if abandoned:
            log.warning("stopping with %d operation(s) still running (%s); they are left to their leases and "
                        "run again by the next worker", len(abandoned), ", ".join(map(str, abandoned)))
        try:
            with self.db.write() as uow:
                for host, binary in self.services():
                    uow.services.stop(host, binary)
                uow.commit()
        except Exception:  # noqa: BLE001 - a stopping worker whose database is gone shows as down instead
            log.exception("could not record that the worker stopped")
