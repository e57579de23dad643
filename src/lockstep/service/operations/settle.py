"""The shape every handler shares: load the record, call the driver, record the outcome.

Handlers are safe to run again after a crash: `settle` skips a record that is no longer in its
operation's in-progress status, drivers are idempotent, and every status change is a
compare-and-set. No database transaction is open while a driver works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeGuard, TypeVar

from lockstep.domain.hosts import backend_key, pool_of
from lockstep.domain.model import Share, Status
from lockstep.domain.operations import TRANSITIONS, Entity, Operation, OperationKind, Reclaim
from lockstep.service.exports import NfsExports
from lockstep.service.operations import failures
from lockstep.service.operations.failures import Failure
from lockstep.service.scheduler import Scheduler
from lockstep.service.storage import DriverError, ShareDriver, ShareResult, ShareSpec
from lockstep.service.telemetry import NoTelemetry, Telemetry
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id

log = logging.getLogger("lockstep.worker")

R = TypeVar("R")


class Handoff(Exception):
    """The operation now belongs to another backend's worker (set after placement)."""

    def __init__(self, backend: str) -> None:
        super().__init__(backend)
        self.backend = backend


class RetryLater(Exception):
    """Nothing failed, but the operation cannot finish yet (e.g. a reclaim that must wait)."""


@dataclass
class Context:
    """What handlers work with: the database, this worker's drivers, placement."""

    db: Database
    drivers: Mapping[str, ShareDriver]  # keyed by host@backend
    scheduler: Scheduler
    availability_zone: str
    message_ttl: float = failures.DEFAULT_TTL  # seconds the user messages of failures are kept
    telemetry: Telemetry = field(default_factory=NoTelemetry)
    nfs: NfsExports | None = None  # the NFS server that enforces access rules, where one is configured
    # The worker that claimed the operations run with this context: `settle` deletes an operation in the
    # transaction that settles its record (one write transaction fewer per operation, and no window in
    # which the record is settled but its operation is still queued), and says so in `finished`.
    owner: str | None = None
    finished: set[int] = field(default_factory=set)

    def finish_in(self, uow: UnitOfWork, op: Operation) -> None:
        """Finish `op` (claimed by this context's worker) in the caller's transaction: it is done once that
        transaction commits. The worker then does not finish it again."""
        if self.owner is None:
            return
        uow.operations.finish(op.id, self.owner)
        self.finished.add(op.id)

    def driver(self, host: str | None) -> ShareDriver:
        backend = backend_key(host)
        if backend not in self.drivers:
            raise Handoff(backend)
        return self.drivers[backend]

    def enqueue_reclaim(self, entity: Entity, object_id: str, host: str | None) -> None:
        if not host:
            return
        with self.db.write() as uow:
            uow.operations.enqueue(OperationKind.RECLAIM, object_id, backend=backend_key(host),
                                   payload=Reclaim(entity))
            uow.commit()


Handler = Callable[[Context, Operation], None]


class _Record(Protocol):
    @property
    def status(self) -> str: ...


T = TypeVar("T", bound=_Record)


def in_progress(record: T | None, op: Operation) -> TypeGuard[T]:
    """The record exists and still waits for this operation (else it was settled, reset or deleted)."""
    return record is not None and record.status == TRANSITIONS[op.kind].in_progress


class _Owned(Protocol):
    @property
    def project_id(self) -> str: ...


class _Records(Protocol):
    def get(self, row_id: str, /) -> _Owned | None: ...
    def cas(self, row_id: str, expected: Iterable[str] | None, **values: Any) -> bool: ...
    def delete(self, row_id: str, expected: Iterable[str] | None = None) -> bool: ...
    def exists(self, row_id: str) -> bool: ...
    def in_status(self, statuses: Iterable[str], limit: int = 1000) -> list[tuple[str, str]]: ...


def records(uow: UnitOfWork, entity: Entity) -> _Records:
    repos: dict[Entity, _Records] = {Entity.SHARE: uow.shares, Entity.SNAPSHOT: uow.snapshots,
                                      Entity.GROUP: uow.groups, Entity.CGSNAPSHOT: uow.cgsnapshots}
    return repos[entity]


def fail(uow: UnitOfWork, kind: OperationKind, target_id: str, why: Failure | None = None, *,
         request_id: str | None = None, message_ttl: float = failures.DEFAULT_TTL) -> None:
    """Move the target to its failure status (used on a driver error and when the worker gives up), and
    tell its project why in a user message (once: only the caller that moved it records one)."""
    transition = TRANSITIONS[kind]
    repo = records(uow, transition.entity)
    target = repo.get(target_id)
    if target is None or not repo.cas(target_id, [transition.in_progress], status=transition.failed):
        return
    action = failures.action_of(kind)
    failures.record(uow, project_id=target.project_id, entity=transition.entity, target_id=target_id,
                    action=action, failure=why or failures.unexplained(kind, target_id), request_id=request_id,
                    ttl=message_ttl)
    if kind is OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT:
        # The clones were recorded with the group; none of them will be made now.
        group = uow.groups.get(target_id)
        for share in uow.shares.in_group(target_id):
            if uow.shares.cas(share.id, [Status.CREATING], status=Status.ERROR):
                failures.record(uow, project_id=share.project_id, entity=Entity.SHARE, target_id=share.id,
                                action=action, request_id=request_id, ttl=message_ttl,
                                failure=failures.clone_failed(share.id, target_id, group.source_cgsnapshot_id
                                                              if group else None, group_failed=True))


def drop_and_reclaim(uow: UnitOfWork, entity: Entity, target_id: str, host: str | None) -> None:
    """A forced delete the driver failed: the record goes now; its storage is reclaimed later."""
    records(uow, entity).delete(target_id)
    uow.operations.enqueue(OperationKind.RECLAIM, target_id, backend=backend_key(host), payload=Reclaim(entity))


def planned(build: Callable[[], R]) -> R | DriverError:
    """Build a driver request now (in the read transaction); a failure fails the operation later."""
    try:
        return build()
    except DriverError as exc:
        return exc


def _no_values(_: object) -> dict[str, object]:
    return {}


@dataclass
class Job(Generic[R]):
    """One driver call and what to record around it.

    `drive` runs outside any transaction; a DriverError it raises is the operation's failure.
    `values` are written with the success status; `recorded(uow, result, won)` runs in that same
    transaction (`won`: this operation moved the record). `failed` replaces the failure
    compare-and-set (e.g. a forced delete drops the record instead). `explain` words the user
    message of a failure where the kind's own words would say less.
    """

    target_id: str
    host: str | None
    drive: Callable[[], R]
    values: Callable[[R], dict[str, object]] = _no_values
    recorded: Callable[[UnitOfWork, R, bool], None] | None = None
    failed: Callable[[UnitOfWork], None] | None = None
    explain: Callable[[DriverError], Failure] | None = None


def settle(ctx: Context, op: Operation, prepare: Callable[[UnitOfWork], Job[R] | None]) -> None:
    """Load (`prepare` returns None to skip), drive, then compare-and-set to success or failure."""
    transition = TRANSITIONS[op.kind]
    with ctx.db.read() as uow:
        job = prepare(uow)
    if job is None:
        return
    try:
        result = job.drive()
    except DriverError as exc:
        log.warning("%s %s: %s failed: %s", transition.entity, job.target_id, op.kind, exc)
        with ctx.db.write() as uow:
            if job.failed is not None:
                job.failed(uow)
            else:
                why = job.explain(exc) if job.explain else failures.driver_failed(op.kind, job.target_id, exc)
                fail(uow, op.kind, job.target_id, why, request_id=op.request_id, message_ttl=ctx.message_ttl)
            ctx.finish_in(uow, op)
            uow.commit()
        return
    with ctx.db.write() as uow:
        repo = records(uow, transition.entity)
        if transition.succeeded is None:
            won = repo.delete(job.target_id, [transition.in_progress])
        else:
            won = repo.cas(job.target_id, [transition.in_progress], status=transition.succeeded,
                           **job.values(result))
        if job.recorded is not None:
            job.recorded(uow, result, won)
        gone = transition.makes_storage and not won and not repo.exists(job.target_id)
        if not gone:
            ctx.finish_in(uow, op)
        uow.commit()
    if gone:
        # Deleted while the driver worked: the storage just made has no record to delete it.
        ctx.enqueue_reclaim(transition.entity, job.target_id, job.host)


def share_spec(share: Share) -> ShareSpec:
    return ShareSpec(id=share.id, size_gb=share.size, proto=share.share_proto, pool=pool_of(share.host),
                     group_id=share.consistency_group_id)


def locations(result: ShareResult, share_id: str, nfs: NfsExports | None = None) -> list[dict[str, object]]:
    """The share's export locations. Behind an NFS server, `<address>:<pseudo path>` is the preferred one
    and the local directory stays as an admin-only location for operators."""
    found: list[dict[str, object]] = [
        {"id": new_id(), "path": loc.path, "is_admin_only": loc.is_admin_only, "preferred": loc.preferred}
        for loc in result.export_locations]
    if nfs is None or not any(str(loc["path"]).startswith("/") for loc in found):
        return found
    for loc in found:
        if str(loc["path"]).startswith("/"):
            loc.update(is_admin_only=True, preferred=False)
    return [{"id": new_id(), "path": nfs.location(share_id), "is_admin_only": False, "preferred": True}, *found]
