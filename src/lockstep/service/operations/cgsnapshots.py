"""Settling cgsnapshots: create (the consistent cut across a group's shares) and delete."""

from __future__ import annotations

import time

from lockstep.domain.hosts import backend_key, pool_of
from lockstep.domain.model import ConsistencyGroup, Status, utcnow
from lockstep.domain.operations import Entity, Operation
from lockstep.service.operations.settle import Context, Job, in_progress, planned, settle, share_spec
from lockstep.service.storage import (
    CGSnapshotMemberSpec,
    CGSnapshotResult,
    CGSnapshotSpec,
    DriverError,
    GroupSpec,
)
from lockstep.service.unit_of_work import UnitOfWork
from lockstep.service.validation import new_id


def cgsnapshot_spec(uow: UnitOfWork, cgsnapshot_id: str, group: ConsistencyGroup | None,
                    group_id: str) -> CGSnapshotSpec:
    """What a driver needs to cut (or find) a cgsnapshot; DriverError if a member share is gone."""
    members = []
    host = group.host if group else None
    rows = uow.cgsnapshots.members(cgsnapshot_id)
    shares = uow.shares.get_many([m.share_id for m in rows])
    for member in rows:
        share = shares.get(member.share_id)
        if share is None:
            raise DriverError(f"member share {member.share_id} is gone")
        # A group force-deleted before its cgsnapshot: the members still say where it lives.
        host = host or share.host
        members.append(CGSnapshotMemberSpec(id=member.id, share=share_spec(share)))
    return CGSnapshotSpec(id=cgsnapshot_id, group=GroupSpec(id=group_id, pool=pool_of(host)), members=members)


def create_cgsnapshot(ctx: Context, op: Operation) -> None:
    def prepare(uow: UnitOfWork) -> Job[CGSnapshotResult] | None:
        cgsnapshot = uow.cgsnapshots.get(op.target_id)
        if not in_progress(cgsnapshot, op):
            return None
        group = uow.groups.get(cgsnapshot.consistency_group_id)
        host = group.host if group else None
        spec = planned(lambda: cgsnapshot_spec(uow, cgsnapshot.id, group, cgsnapshot.consistency_group_id))
        mountable = _mountable_members(uow, cgsnapshot.id) if ctx.nfs is not None else set()
        directories: dict[str, str] = {}

        def drive() -> CGSnapshotResult:
            if isinstance(spec, DriverError):
                raise spec
            driver = ctx.driver(host)
            started = time.perf_counter()
            result = driver.create_cgsnapshot(spec)
            ctx.telemetry.cut(backend_key(host), str(result.method), time.perf_counter() - started)
            for member in spec.members:
                directory = driver.cgsnapshot_member_directory(spec.id, member) if member.id in mountable else None
                if directory is not None:
                    directories[member.id] = directory
            return result

        def recorded(uow: UnitOfWork, _: CGSnapshotResult, won: bool) -> None:
            if won:
                uow.cgsnapshots.set_members_status(cgsnapshot.id, Status.AVAILABLE)
                if ctx.nfs is not None:
                    for member_id, directory in directories.items():
                        # Lockstep's extension of 2.32: a member is mounted read-only like a snapshot.
                        uow.snapshot_access.replace_member_export_locations(member_id, [
                            {"id": new_id(), "path": ctx.nfs.snapshot_location(member_id), "is_admin_only": False},
                            {"id": new_id(), "path": directory, "is_admin_only": True}])

        return Job(cgsnapshot.id, host, drive, recorded=recorded,
                   values=lambda result: {"cut_method": str(result.method), "cut_spread_ms": float(result.spread_ms),
                                          "created_at": utcnow()})

    settle(ctx, op, prepare)


def delete_cgsnapshot(ctx: Context, op: Operation) -> None:
    def prepare(uow: UnitOfWork) -> Job[None] | None:
        cgsnapshot = uow.cgsnapshots.get(op.target_id)
        if not in_progress(cgsnapshot, op):
            return None
        group = uow.groups.get(cgsnapshot.consistency_group_id)
        spec = planned(lambda: cgsnapshot_spec(uow, cgsnapshot.id, group, cgsnapshot.consistency_group_id))
        member_ids = [member.id for member in uow.cgsnapshots.members(cgsnapshot.id)]

        def drive() -> None:
            driver = ctx.driver(op.backend)
            if ctx.nfs is not None:  # clients lose the members' exports (it is `deleting`) before the data
                ctx.nfs.refresh(list(ctx.drivers))
            if not isinstance(spec, DriverError):
                driver.delete_cgsnapshot(spec)
            elif not driver.reclaim(Entity.CGSNAPSHOT, cgsnapshot.id):
                # A member share is gone, so the cut cannot be described; reclaim removes it by id.
                raise DriverError("cgsnapshot storage is still needed by clones")

        def recorded(uow: UnitOfWork, _: None, won: bool) -> None:
            if won:
                uow.snapshot_access.delete_for(member_ids)  # the members' rules go with them

        return Job(cgsnapshot.id, op.backend, drive, recorded=recorded)

    settle(ctx, op, prepare)


def _mountable_members(uow: UnitOfWork, cgsnapshot_id: str) -> set[str]:
    """The members whose share's type lets its snapshots be mounted (2.32)."""
    members = uow.cgsnapshots.members(cgsnapshot_id)
    shares = uow.shares.get_many([m.share_id for m in members])
    return {m.id for m in members if (share := shares.get(m.share_id)) is not None and share.mount_snapshot_support}
