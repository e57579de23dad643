"""Settling single-share snapshots: create and delete."""

from __future__ import annotations

import dataclasses

from lockstep.domain.operations import Deletion, Entity, Operation
from lockstep.service.operations.settle import Context, Job, drop_and_reclaim, in_progress, settle, share_spec
from lockstep.service.storage import DriverError, ExportLocation, SnapshotResult, SnapshotSpec
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
            driver = ctx.driver(share.host)
            spec = SnapshotSpec(id=snapshot.id, share=share_spec(share))
            result = driver.create_snapshot(spec)
            directory = driver.snapshot_directory(spec) if ctx.nfs is not None and share.mount_snapshot_support \
                else None
            if ctx.nfs is None or directory is None:
                return result
            # 2.32: mounted read-only from the NFS server once a rule lets a client in; the directory
            # stays as an admin-only location (operators, and what the NFS server exports).
            return dataclasses.replace(result, export_locations=[
                ExportLocation(ctx.nfs.snapshot_location(snapshot.id)),
                ExportLocation(directory, is_admin_only=True, preferred=False), *result.export_locations])

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
                driver = ctx.driver(share.host)
                if ctx.nfs is not None:  # clients lose the export (the snapshot is `deleting`) before the data
                    ctx.nfs.refresh(list(ctx.drivers))
                driver.delete_snapshot(SnapshotSpec(id=snapshot.id, share=share_spec(share)))

        def forget(uow: UnitOfWork) -> None:
            uow.snapshot_access.delete_for([snapshot.id])
            drop_and_reclaim(uow, Entity.SNAPSHOT, snapshot.id, host)

        def recorded(uow: UnitOfWork, _: None, won: bool) -> None:
            if won:
                uow.snapshot_access.delete_for([snapshot.id])  # the rules go with their snapshot

        return Job(snapshot.id, host, drive, recorded=recorded, failed=forget if force else None)

    settle(ctx, op, prepare)


def _record_export_locations(uow: UnitOfWork, snapshot_id: str, result: SnapshotResult, won: bool) -> None:
    """What the driver says clients mount the snapshot from, recorded with its `available` status."""
    if won:
        uow.snapshots.replace_export_locations(snapshot_id, [
            {"id": new_id(), "path": loc.path, "is_admin_only": loc.is_admin_only} for loc in result.export_locations
        ])
