"""Settling single-share snapshots: create and delete."""

from __future__ import annotations

from lockstep.domain.operations import Deletion, Entity, Operation
from lockstep.service.operations.settle import Context, Job, drop_and_reclaim, in_progress, settle, share_spec
from lockstep.service.storage import DriverError, SnapshotResult, SnapshotSpec
from lockstep.service.unit_of_work import UnitOfWork
from lockstep.service.validation import new_id


def create_snapshot(ctx: Context, op: Operation) -> None:
    def prepare(uow: UnitOfWork) -> Job[SnapshotResult] | None:
        snapshot = uow.snapshots.get(op.target_id)
        if not in_progress(snapshot, op):
            return None
        share = uow.shares.get(snapshot.share_id)

        def drive() -> SnapshotResult:
            if share is None:
                raise DriverError(f"share {snapshot.share_id} is gone")
            return ctx.driver(share.host).create_snapshot(SnapshotSpec(id=snapshot.id, share=share_spec(share)))

        return Job(snapshot.id, share.host if share else None, drive,
                   values=lambda result: {"progress": "100%", "provider_location": result.provider_location},
                   recorded=lambda uow, result, won: _record_export_locations(uow, snapshot.id, result, won))

    settle(ctx, op, prepare)


def delete_snapshot(ctx: Context, op: Operation) -> None:
    force = op.payload_as(Deletion).force

    def prepare(uow: UnitOfWork) -> Job[None] | None:
        snapshot = uow.snapshots.get(op.target_id)
        if not in_progress(snapshot, op):
            return None
        share = uow.shares.get(snapshot.share_id)
        host = share.host if share else None

        def drive() -> None:
            if share is not None and share.host:
                ctx.driver(share.host).delete_snapshot(SnapshotSpec(id=snapshot.id, share=share_spec(share)))

        def forget(uow: UnitOfWork) -> None:
            drop_and_reclaim(uow, Entity.SNAPSHOT, snapshot.id, host)

        return Job(snapshot.id, host, drive, failed=forget if force else None)

    settle(ctx, op, prepare)


def _record_export_locations(uow: UnitOfWork, snapshot_id: str, result: SnapshotResult, won: bool) -> None:
    """What the driver says clients mount the snapshot from, recorded with its `available` status."""
    if won:
        uow.snapshots.replace_export_locations(snapshot_id, [
            {"id": new_id(), "path": loc.path, "is_admin_only": loc.is_admin_only} for loc in result.export_locations
        ])
