"""Settling shares: create (placing it first if needed), delete, extend, shrink."""

from __future__ import annotations

import logging

from lockstep.domain.errors import NoValidHost
from lockstep.domain.model import Share, Status
from lockstep.domain.operations import Deletion, Entity, Operation, OperationKind, Resize
from lockstep.domain.pools import PoolRecord
from lockstep.service.operations import failures
from lockstep.service.operations.settle import (
    Context,
    Job,
    drop_and_reclaim,
    fail,
    in_progress,
    locations,
    settle,
    share_spec,
)
from lockstep.service.storage import DriverError, ShareDoesNotFit, ShareResult, SnapshotSpec
from lockstep.service.unit_of_work import UnitOfWork

log = logging.getLogger("lockstep.worker")


def create_share(ctx: Context, op: Operation) -> None:
    go_on, loaded = _place(ctx, op)
    if go_on:
        settle(ctx, op, lambda uow: _create_job(ctx, op, uow, loaded))


def _place(ctx: Context, op: Operation) -> tuple[bool, Share | None]:
    """Give an unplaced share a pool. (False, None) when there is nothing (more) to do; (True, the share) when
    it was placed already (the API places most shares), read once for the job; (True, None) when placed now."""
    with ctx.db.read() as uow:
        share = uow.shares.get(op.target_id)
    if not in_progress(share, op):
        return False, None
    if share.host:
        return True, share
    return _place_now(ctx, op), None


def _place_now(ctx: Context, op: Operation) -> bool:
    with ctx.db.write() as uow:
        share = uow.shares.get(op.target_id)
        if not in_progress(share, op):
            return False
        if share.host:
            return True
        uow.pools.lock_placement()  # the record's pool is its reservation: counted by the next placement
        try:
            pool = _choose_pool(ctx, uow, share)
        except NoValidHost as exc:
            log.warning("share %s: %s", share.id, exc.message)
            fail(uow, op.kind, share.id, failures.no_valid_host(Entity.SHARE, share.id, exc.message),
                 request_id=op.request_id, message_ttl=ctx.message_ttl)
            uow.commit()
            return False
        if not uow.shares.cas(share.id, [Status.CREATING], host=pool.name):
            return False  # deleted (or reset) while it waited to be placed
        uow.commit()
        return True


def _choose_pool(ctx: Context, uow: UnitOfWork, share: Share) -> PoolRecord:
    """The pool the share goes to; NoValidHost says why there is none."""
    group_host = None
    if share.consistency_group_id:
        group = uow.groups.get(share.consistency_group_id)
        group_host = group.host if group else None
    share_type = uow.share_types.get(share.share_type_id) if share.share_type_id else None
    if share.consistency_group_id and not group_host:
        raise NoValidHost("No valid host was found: the share's consistency group is not placed.")
    return ctx.scheduler.place_share(uow, share.size, share_type, group_host, hints=share.scheduler_hints,
                                     proto=share.share_proto)


def _create_job(ctx: Context, op: Operation, uow: UnitOfWork, loaded: Share | None = None) -> Job[ShareResult] | None:
    share = loaded or uow.shares.get(op.target_id)
    if not in_progress(share, op):
        return None
    snapshot = uow.snapshots.get(share.snapshot_id) if share.snapshot_id else None
    parent = uow.shares.get(snapshot.share_id) if snapshot else None

    def drive() -> ShareResult:
        driver = ctx.driver(share.host)
        if not share.snapshot_id:
            return driver.create_share(share_spec(share))
        if snapshot is None or parent is None:
            raise DriverError(f"source snapshot {share.snapshot_id} is gone")
        return driver.create_share_from_snapshot(share_spec(share),
                                                 SnapshotSpec(id=snapshot.id, share=share_spec(parent)))

    def recorded(uow: UnitOfWork, result: ShareResult, won: bool) -> None:
        if won:
            uow.shares.replace_export_locations(share.id, locations(result, share.id, ctx.nfs))

    def explain(error: DriverError) -> failures.Failure:
        if share.snapshot_id and not isinstance(error, ShareDoesNotFit):
            return failures.share_from_snapshot_failed(share.id, share.snapshot_id)
        return failures.driver_failed(op.kind, share.id, error)

    return Job(share.id, share.host, drive, recorded=recorded, explain=explain,
               values=lambda _: {"availability_zone": share.availability_zone or ctx.availability_zone,
                                 "progress": "100%"})


def delete_share(ctx: Context, op: Operation) -> None:
    force = op.payload_as(Deletion).force

    def prepare(uow: UnitOfWork) -> Job[None] | None:
        share = uow.shares.get(op.target_id)
        if not in_progress(share, op):
            return None

        def drive() -> None:
            if share.host:
                driver = ctx.driver(share.host)
                if ctx.nfs is not None:  # clients lose the export before the data goes
                    ctx.nfs.withdraw(list(ctx.drivers), share.id)
                driver.delete_share(share_spec(share))

        def recorded(uow: UnitOfWork, _: None, won: bool) -> None:
            if share.consistency_group_id and uow.groups.get(share.consistency_group_id) is None:
                # The group was force-deleted; its storage may have waited for this share to go.
                uow.operations.expedite(share.consistency_group_id, OperationKind.RECLAIM)

        def forget(uow: UnitOfWork) -> None:
            drop_and_reclaim(uow, Entity.SHARE, share.id, share.host)

        return Job(share.id, share.host, drive, recorded=recorded, failed=forget if force else None)

    settle(ctx, op, prepare)


def resize_share(ctx: Context, op: Operation) -> None:
    """extend_share and shrink_share."""
    new_size = op.payload_as(Resize).new_size

    def prepare(uow: UnitOfWork) -> Job[None] | None:
        share = uow.shares.get(op.target_id)
        if not in_progress(share, op):
            return None

        def drive() -> None:
            driver = ctx.driver(share.host)
            if op.kind is OperationKind.SHRINK_SHARE:
                driver.shrink_share(share_spec(share), new_size)
            else:
                driver.extend_share(share_spec(share), new_size)

        def explain(error: DriverError) -> failures.Failure:
            return failures.driver_failed(op.kind, share.id, error, change=f" from {share.size} GiB to {new_size} GiB")

        return Job(share.id, share.host, drive, values=lambda _: {"size": new_size}, explain=explain)

    settle(ctx, op, prepare)
