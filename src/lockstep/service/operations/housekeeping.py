"""Housekeeping: reclaiming storage no record references, and giving up on an operation."""

from __future__ import annotations

import logging

from lockstep.domain.model import Status
from lockstep.domain.operations import TRANSITIONS, Entity, Operation, OperationKind, Reclaim
from lockstep.service.operations import access, failures, snapshot_access
from lockstep.service.operations.settle import Context, Handoff, RetryLater, fail, records
from lockstep.service.unit_of_work import UnitOfWork

log = logging.getLogger("lockstep.worker")


def reclaim(ctx: Context, op: Operation) -> None:
    entity = op.payload_as(Reclaim).object_kind
    if op.backend is None or op.backend not in ctx.drivers:
        raise Handoff(op.backend or "")
    if ctx.nfs is not None and entity in (Entity.SHARE, Entity.SNAPSHOT, Entity.CGSNAPSHOT):
        # A record force-deleted without the worker: what NFS still exports from it goes before the data.
        ctx.nfs.refresh(list(ctx.drivers))
    if not ctx.drivers[op.backend].reclaim(entity, op.target_id):
        log.warning("reclaim of %s %s on %s waits: it still holds data that remaining records need",
                    entity, op.target_id, op.backend)
        raise RetryLater(f"{entity} {op.target_id} still holds data that records need; will try again")
    log.info("reclaimed %s %s on %s", entity, op.target_id, op.backend)


def sweep(ctx: Context, backend: str) -> int:
    """Queue a reclaim for every storage object of `backend` that no record references, and for the
    leftovers of interrupted work (temp copies, trash) of objects no record references.

    Records are always written before their storage is made, so an object without a record is
    an orphan (a force-deleted record whose reclaim was lost, a crash between steps).
    """
    inventory = ctx.drivers[backend].inventory()
    present = {Entity.SHARE: inventory.shares, Entity.SNAPSHOT: inventory.snapshots,
               Entity.GROUP: inventory.groups, Entity.CGSNAPSHOT: inventory.cgsnapshots}
    found = {(entity, object_id) for entity, ids in present.items() for object_id in ids}
    leftovers = {(Entity(kind), object_id) for kind, object_id in inventory.leftovers} - found
    queued = 0
    with ctx.db.write() as uow:
        busy = uow.operations.targets()
        for entity, object_id in sorted(found | leftovers):
            if object_id in busy or records(uow, entity).exists(object_id):
                continue
            what = "leftovers of" if (entity, object_id) in leftovers else "orphaned"
            log.warning("%s %s %s on %s: no record references it; reclaiming", what, entity, object_id, backend)
            uow.operations.enqueue(OperationKind.RECLAIM, object_id, backend=backend, payload=Reclaim(entity))
            busy.add(object_id)
            queued += 1
        uow.commit()
    return queued


#: Entity -> in-progress status -> the kind whose failure status it goes to when no operation is left.
_STRANDABLE: dict[Entity, dict[Status, OperationKind]] = {}
for _kind, _transition in TRANSITIONS.items():
    _STRANDABLE.setdefault(_transition.entity, {}).setdefault(_transition.in_progress, _kind)


def fail_stranded(ctx: Context) -> int:
    """Records in an in-progress status that no pending or running operation will settle (work lost
    before this release, an operation marked failed by a worker killed before it failed the record, an
    admin's reset to `creating`) go to their failure status, with a user message; nothing stays
    transitional for ever. Returns how many."""
    failed = 0
    with ctx.db.write() as uow:
        # Candidates first, operations after: an operation is written with its record's status, so
        # any candidate still waiting for one has it visible to the later read.
        candidates = [(entity, record_id, Status(status)) for entity, by_status in _STRANDABLE.items()
                      for record_id, status in records(uow, entity).in_status(list(by_status))]
        if not candidates:
            return 0
        busy = uow.operations.targets()
        for entity, record_id, status in candidates:
            if record_id in busy or _restored_by_busy_group(uow, entity, record_id, busy):
                continue
            kind = _STRANDABLE[entity][status]
            log.error("%s %s is %s but no operation will settle it; moving it to %s", entity, record_id, status,
                      TRANSITIONS[kind].failed)
            fail(uow, kind, record_id, failures.stranded(kind, record_id), message_ttl=ctx.message_ttl)
            failed += 1
        uow.commit()
    return failed


def _restored_by_busy_group(uow: UnitOfWork, entity: Entity, record_id: str, busy: set[str]) -> bool:
    """A share made by its group's restore waits for the group's operation."""
    if entity is not Entity.SHARE:
        return False
    share = uow.shares.get(record_id)
    return bool(share and share.consistency_group_id in busy and share.source_cgsnapshot_member_id)


def give_up(ctx: Context, op: Operation, error: str) -> None:
    """The operation cannot be completed: move its record to the kind's failure status."""
    log.error("operation %s %s on %s failed for good: %s", op.id, op.kind, op.target_id, error)
    if op.kind is OperationKind.UPDATE_ACCESS:
        access.give_up(ctx, op)
        return
    if op.kind is OperationKind.UPDATE_SNAPSHOT_ACCESS:
        snapshot_access.give_up(ctx, op)
        return
    if op.kind not in TRANSITIONS:
        return
    with ctx.db.write() as uow:
        fail(uow, op.kind, op.target_id, failures.gave_up(op.kind, op.target_id, op.attempts),
             request_id=op.request_id, message_ttl=ctx.message_ttl)
        uow.commit()
