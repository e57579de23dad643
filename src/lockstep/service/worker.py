"""The worker: claims recorded operations and settles them through the drivers.

Many workers (threads of one process, or processes on many hosts) can share one database:
each claims an operation with a compare-and-set and a lease, so no operation runs twice at
once; a worker that dies stops renewing its leases and another worker picks the work up
after the lease runs out. Each worker owns some backends (`host@backend`); operations for
other backends are left to their owners, and unplaced ones (backend NULL) may be placed by
anyone.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
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
from lockstep.service.fencing import Fence, FencedDatabase, LostLease, process_identity, process_of
from lockstep.service.host_services import DEFAULT_DOWN_AFTER
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
        "storage_protocol": driver.storage_protocol,
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
                 nfs: NfsExports | None = None, service_down_time: float = DEFAULT_DOWN_AFTER) -> None:
        self.db = db
        self.drivers = dict(drivers)
        self.availability_zone = availability_zone
        self.telemetry = telemetry or NoTelemetry()
        self.context = Context(db, self.drivers, Scheduler(service_down_time), availability_zone, message_ttl,
                               self.telemetry, nfs)
        # `<machine>:<pid>:<process nonce>/<worker nonce>`: the process part is what drivers tag their
        # clients of shared storage with (service/fencing.process_identity).
        self.owner = f"{process_identity()}/{uuid.uuid4().hex[:8]}"
        self.lease = lease_seconds
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.threads = threads
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._running: dict[int, int] = {}  # claimed operations (id: epoch), whose leases are renewed
        self._in_flight: set[int] = set()  # those the dispatcher handed to a thread
        self._lost: set[int] = set()  # claimed operations whose lease another worker took over
        self._beats: dict[tuple[str, str], dt.datetime] = {}  # (host, binary): the last heartbeat written
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
                if self.context.nfs is not None and not driver.native_access:
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
                self._beats[(host, binary)] = uow.services.heartbeat(host, binary, self.availability_zone)
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

    def claim(self, limit: int) -> list[Operation]:
        """Claim up to `limit` ready operations of this worker's backends (and unplaced ones); their leases
        are renewed until each has run."""
        with self.db.write() as uow:
            ops = uow.operations.claim_ready(list(self.drivers), self.owner, self.lease, limit)
            uow.commit()
        with self._running_lock:
            self._running.update({op.id: op.epoch for op in ops})
        return ops

    def run_once(self) -> int:
        """Claim and run, one at a time in this thread, every operation that is ready now; returns how many
        ran (the in-process tests' deterministic worker; `start` runs them on threads)."""
        self._maybe_purge_recycle_bin()
        if time.monotonic() - self._last_report >= self.report_interval:
            self.report_pools()  # the heartbeat, as the report thread of a started worker keeps it
        ran = 0
        while not self._stop.is_set():
            ops = self.claim(1)
            if not ops:
                return ran
            self.run(ops[0])
            ran += 1
        return ran

    def run(self, op: Operation) -> str:
        """One run of a claimed operation; returns its outcome (see `_settle`). Its log lines carry its id
        and the request that asked for it."""
        with working_on(op.id, op.request_id):
            if op.taken_over:
                log.warning("took over operation %s %s on %s (epoch %s): the lease of %s ran out",
                            op.id, op.kind, op.target_id, op.epoch, op.previous_owner)
                self.telemetry.lease_taken_over(str(op.kind))
            started = time.perf_counter()
            try:
                outcome = self._settle(op)
            finally:
                with self._running_lock:
                    self._running.pop(op.id, None)
                    self._lost.discard(op.id)
            self.telemetry.operation_finished(str(op.kind), outcome, time.perf_counter() - started)
            return outcome

    def _settle(self, op: Operation) -> str:
        """Runs the handler and records the outcome in the queue; returns it (succeeded, retried, failed,
        handed_off, lost_lease). Every write goes through the fence: once another worker has taken the
        operation over, this one writes nothing more."""
        fence = Fence(op.id, self.owner, op.epoch)
        fenced = FencedDatabase(self.db, fence)
        context = dataclasses.replace(self.context, db=fenced)
        try:
            if not self._fence_previous_owner(op, fenced):
                return "retried"
            try:
                HANDLERS[op.kind](context, op)
            except Handoff as handoff:
                with fenced.write() as uow:
                    uow.operations.release(op.id, self.owner, op.epoch, backend=handoff.backend)
                    uow.commit()
                return "handed_off"
            except RetryLater as later:
                delay = min(2.0 ** min(op.attempts, 10), MAX_RETRY_DELAY)
                with fenced.write() as uow:
                    uow.operations.release(op.id, self.owner, op.epoch, delay=delay, error=str(later))
                    uow.commit()
                return "retried"
            except LostLease:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is recorded; the loop must survive
                log.exception("operation %s %s on %s raised", op.id, op.kind, op.target_id)
                if op.attempts >= self.max_attempts:
                    give_up(context, op, repr(exc))
                    with fenced.write() as uow:
                        uow.operations.finish(op.id, self.owner, op.epoch, error=repr(exc))
                        uow.commit()
                    return "failed"
                with fenced.write() as uow:
                    uow.operations.release(op.id, self.owner, op.epoch, delay=min(2.0 ** op.attempts, 60),
                                           error=repr(exc))
                    uow.commit()
                return "retried"
            if not fence.completed:
                with fenced.write() as uow:
                    uow.operations.finish(op.id, self.owner, op.epoch)
                    uow.commit()
            return "succeeded"
        except LostLease as lost:
            log.warning("%s; this worker wrote nothing for it and leaves it to its new owner", lost)
            return "lost_lease"

    def _fence_previous_owner(self, op: Operation, fenced: FencedDatabase) -> bool:
        """Before a taken-over operation runs, its previous owner's clients of the backend are fenced
        (`ShareDriver.fence`: a no-op for local storage); True when the operation may run. If fencing fails
        the operation is released for later, still naming the unfenced owner, so that whoever claims it
        next fences first too: it never runs while the previous owner may still write."""
        driver = self.drivers.get(op.backend or "")
        previous = op.previous_owner
        if not op.taken_over or previous is None or driver is None or process_of(previous) == process_identity():
            return True
        started = time.perf_counter()
        try:
            driver.fence(previous)
        except Exception as exc:  # noqa: BLE001 - any failure to fence is a reason not to run, never to crash
            delay = min(2.0 ** min(op.attempts, 10), MAX_RETRY_DELAY)
            log.error("could not fence %s on %s before taking over operation %s %s: %s; released, retrying "
                      "in %.0f s", previous, op.backend, op.id, op.kind, exc, delay)
            with fenced.write() as uow:
                uow.operations.release(op.id, self.owner, op.epoch, delay=delay, unfenced=previous,
                                       error=f"could not fence {previous}: {exc}")
                uow.commit()
            return False
        log.warning("fenced %s on %s in %.2f s before taking over operation %s %s on %s", previous, op.backend,
                    time.perf_counter() - started, op.id, op.kind, op.target_id)
        return True

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
                held = dict(self._running)
            if held:
                try:
                    with self.db.write() as uow:
                        lost = uow.operations.renew(held, self.owner, self.lease)
                        uow.commit()
                except Exception:  # noqa: BLE001
                    log.exception("could not renew leases")
                    continue
                for op_id in (lost & set(self._running)) - self._lost:
                    # Its writes will be refused by the fence; say so now rather than at the end.
                    self._lost.add(op_id)
                    log.warning("lease on operation %s lost (epoch %s): another worker took it over after "
                                "this one stopped renewing", op_id, held[op_id])

    def _housekeeping(self) -> None:
        """Sweeps, the recycle bin and the NFS server, on a thread of their own so that claims never
        wait for an inventory of storage."""
        while not self._stop.is_set():
            try:
                self._maybe_sweep()
                self._maybe_purge_recycle_bin()
                if self.context.nfs is not None:
                    self.context.nfs.supervise()
            except Exception:  # noqa: BLE001 - retried at the next pass; the loop must survive
                log.exception("worker housekeeping error; retrying")
            self._stop.wait(max(self.poll_interval, 1.0))

    def _loop(self) -> None:
        """The dispatcher: claims as many ready operations as it has idle threads, in one statement, and
        hands them to the threads. Woken by an enqueue (NOTIFY, or the supervisor's datagram) or a
        finished operation; polls every `poll_interval` in any case."""
        with concurrent.futures.ThreadPoolExecutor(self.threads, thread_name_prefix="lockstep-op") as pool:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    idle = self.threads - len(self._in_flight)
                    for op in self.claim(idle) if idle > 0 else []:
                        self._in_flight.add(op.id)
                        pool.submit(self._run_in_pool, op)
                except Exception:  # noqa: BLE001 - keep the loop alive through database hiccups
                    log.exception("worker loop error; retrying")
                    self._stop.wait(1.0)
                self._wake.wait(self.poll_interval)

    def _run_in_pool(self, op: Operation) -> None:
        try:
            self.run(op)
        except Exception:  # noqa: BLE001 - a thread of the pool must not die silently
            log.exception("operation %s %s on %s: the worker could not record its outcome", op.id, op.kind,
                          op.target_id)
        finally:
            self._in_flight.discard(op.id)
            self._wake.set()  # a thread is free: claim more at once

    def expire_dead_leases(self) -> int:
        """End the leases of workers of this machine whose process is gone (a worker killed and started
        again), so that their operations are taken over now rather than when the leases run out.
        Only this machine's: a process elsewhere cannot be seen. A pid reused since is taken for alive
        (its leases run out as usual); the fence covers anything else."""
        machine = socket.gethostname()
        with self.db.write() as uow:
            dead = [owner for owner in uow.operations.running_owners() if _dead_here(owner, machine)]
            expired = sum(uow.operations.expire_leases(owner) for owner in dead)
            uow.commit()
        if expired:
            log.warning("took back %s operation(s) from %s: their process on this machine is gone", expired,
                        ", ".join(sorted(dead)))
        return expired

    def start(self) -> None:
        self.report_pools()
        self.restore_exports()
        try:
            self.expire_dead_leases()
        except Exception:  # noqa: BLE001 - an optimisation: the leases run out by themselves
            log.exception("could not look for leases of dead workers on this machine")
        self._threads = [threading.Thread(target=self._renew_leases, name="lockstep-lease", daemon=True),
                         threading.Thread(target=self._report_loop, name="lockstep-pool-report", daemon=True),
                         threading.Thread(target=self._housekeeping, name="lockstep-housekeeping", daemon=True),
                         threading.Thread(target=self._loop, name="lockstep-dispatch", daemon=True)]
        for thread in self._threads:
            thread.start()
        log.info("worker %s started for backends %s", self.owner, ", ".join(self.drivers) or "(none)")

    def stop(self, timeout: float = STOP_TIMEOUT) -> list[int]:
        """Stop claiming, wait at most `timeout` seconds in all for the threads, and record the stop.

        An operation still running then is abandoned to its lease (its storage call cannot be interrupted):
        the threads are daemons, so the process exits anyway, and the operation is run again by the next
        worker once the lease, no longer renewed, runs out (or at once by the next worker started on this
        machine, which ends the leases of its dead processes), exactly as after a kill -9."""
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
        if self.context.nfs is not None:
            # Before the drivers close: a bind mount of an exported subvolume would keep its file system mounted.
            self.context.nfs.close()
        try:
            with self.db.write() as uow:
                for host, binary in self.services():
                    uow.services.stop(host, binary, self._beats.get((host, binary)))
                uow.commit()
        except Exception:  # noqa: BLE001 - a stopping worker whose database is gone shows as down instead
            log.exception("could not record that the worker stopped")
        return abandoned


def _dead_here(owner: str, machine: str) -> bool:
    """Whether `owner` (`<machine>:<pid>:<nonce>/<worker nonce>`, as Worker.owner) is a process of this machine
    that is gone."""
    name, _, rest = owner.rpartition(":")[0].rpartition(":")
    if name != machine or not rest.isdigit() or int(rest) == os.getpid():
        return False
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except OSError:  # not ours to signal (PermissionError): alive
        return False
    return False
