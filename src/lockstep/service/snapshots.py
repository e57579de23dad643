"""Single-share snapshots."""

from __future__ import annotations

from lockstep.domain.errors import Forbidden, InvalidState, NotFound, SilentNotFound, Unprocessable
from lockstep.domain.hosts import owning_backend
from lockstep.domain.model import SNAPSHOT_DELETABLE, MetadataOwner, Snapshot, SnapshotExportLocation, Status, utcnow
from lockstep.domain.operations import Deletion, Entity, OperationKind
from lockstep.service import resets
from lockstep.service.commands import CreateSnapshot, ResetStatus, TextChanges, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.quotas import Quotas
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id


class SnapshotService:
    def __init__(self, db: Database, policy: Policy, quotas: Quotas | None = None) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas or Quotas()

    def _find(self, uow: UnitOfWork, ctx: RequestContext, snapshot_id: str) -> Snapshot:
        snapshot = uow.snapshots.get(snapshot_id, ctx.scope())
        if snapshot is None:
            raise SilentNotFound()
        return snapshot

    def get(self, ctx: RequestContext, snapshot_id: str) -> Snapshot:
        with self.db.read() as uow:
            return self._find(uow, ctx, snapshot_id)

    def create(self, ctx: RequestContext, cmd: CreateSnapshot) -> Snapshot:
        share_id = cmd.share_id
        with self.db.write() as uow:
            share = uow.shares.get(share_id, ctx.scope())
            if share is None:
                raise NotFound("NotFound: Resource could not be found.")
            self.policy.authorize(ctx, Rule.SHARE_CREATE_SNAPSHOT, share.project_id)
            if not share.snapshot_support:
                raise Unprocessable(f"Snapshot cannot be created from share '{share_id}', because share back end "
                                    "does not support it.")
            if share.is_soft_deleted:
                raise Forbidden(f"Snapshots cannot be created for share '{share_id}' since it has been soft "
                                "deleted.")
            metadata = unwrap(cmd.metadata)
            if share.status != Status.AVAILABLE:
                raise InvalidState("Invalid share: Source share status must be available.")
            self.quotas.charge_snapshot(uow, ctx.project_id, ctx.user_id, share.share_type_id, share.size)
            snapshot_id = new_id()
            now = utcnow()
            uow.snapshots.insert_row(
                id=snapshot_id, project_id=ctx.project_id, user_id=ctx.user_id, share_id=share_id, name=cmd.name,
                description=cmd.description, size=share.size, share_size=share.size, share_proto=share.share_proto,
                status=Status.CREATING, progress="0%", provider_location=None, created_at=now, updated_at=now,
            )
            if metadata:
                uow.metadata.set(MetadataOwner.SNAPSHOT, snapshot_id, metadata, replace=True)
            uow.operations.enqueue(OperationKind.CREATE_SNAPSHOT, snapshot_id, backend=owning_backend(share.host))
            created = uow.snapshots.get(snapshot_id)
            uow.commit()
        assert created is not None
        return created

    def update(self, ctx: RequestContext, snapshot_id: str, changes: TextChanges) -> Snapshot:
        values = changes.values()
        with self.db.write() as uow:
            self._find(uow, ctx, snapshot_id)
            if values:
                uow.snapshots.cas(snapshot_id, None, **values)
            updated = uow.snapshots.get(snapshot_id)
            uow.commit()
        assert updated is not None
        return updated

    def delete(self, ctx: RequestContext, snapshot_id: str, *, force: bool = False) -> None:
        with self.db.write() as uow:
            snapshot = self._find(uow, ctx, snapshot_id)
            if force:
                self.policy.authorize(ctx, Rule.SNAPSHOT_FORCE_DELETE)
            else:
                self.policy.authorize(ctx, Rule.SHARE_DELETE_SNAPSHOT, snapshot.project_id)
            expected = None if force else SNAPSHOT_DELETABLE
            if not uow.snapshots.cas(snapshot_id, expected, status=Status.DELETING):
                raise InvalidState("Invalid share snapshot: Share Snapshot status must be one of ('available', "
                                   "'error').")
            share = uow.shares.get(snapshot.share_id)
            uow.operations.enqueue(OperationKind.DELETE_SNAPSHOT, snapshot_id,
                                   backend=owning_backend(share.host if share else None), payload=Deletion(force))
            uow.commit()

    def export_locations(self, ctx: RequestContext, snapshot_id: str) -> list[SnapshotExportLocation]:
        """Every export location of the snapshot (2.32); the view hides admin-only ones from others."""
        with self.db.read() as uow:
            if uow.snapshots.get(snapshot_id, ctx.scope()) is None:
                raise NotFound(f"Snapshot '{snapshot_id}' not found.")
            return uow.snapshots.export_locations(snapshot_id)

    def reset_status(self, ctx: RequestContext, cmd: ResetStatus) -> None:
        with self.db.write() as uow:
            snapshot = self._find(uow, ctx, cmd.target_id)
            resets.reset_status(uow, uow.snapshots, Entity.SNAPSHOT, snapshot.id, snapshot.status, cmd.status)
            uow.commit()
