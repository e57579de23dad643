"""Group snapshots: one cut across every share of a group.

The cgsnapshots of the CG API (2.4-2.30) and the share group snapshots of 2.31+ are the same
records and use cases; `GroupApi` picks Manila's words for each.
"""

from __future__ import annotations

from lockstep.domain.errors import Conflict, Invalid, NotFound, SilentNotFound
from lockstep.domain.hosts import owning_backend
from lockstep.domain.model import CGSNAPSHOT_DELETABLE, CGSnapshot, CGSnapshotMember, Status, utcnow
from lockstep.domain.operations import Entity, OperationKind, Reclaim
from lockstep.domain.queries import CGSnapshotQuery, Page
from lockstep.service import resets
from lockstep.service.commands import CreateCGSnapshot, GroupApi, ResetStatus, TextChanges
from lockstep.service.context import RequestContext
from lockstep.service.group_terms import TERMS
from lockstep.service.quotas import Quotas
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id


class CGSnapshotService:
    def __init__(self, db: Database, quotas: Quotas | None = None) -> None:
        self.db = db
        self.quotas = quotas or Quotas()

    def find(self, uow: UnitOfWork, ctx: RequestContext, cgsnapshot_id: str,
             api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> CGSnapshot:
        found = uow.cgsnapshots.get(cgsnapshot_id, ctx.scope())
        if found is None:
            raise NotFound(TERMS[api].snapshot_not_found.format(id=cgsnapshot_id))
        return found

    @staticmethod
    def _with_members(uow: UnitOfWork, snapshots: list[CGSnapshot]) -> list[CGSnapshot]:
        members = uow.cgsnapshots.members_of([snap.id for snap in snapshots])
        for snap in snapshots:
            snap.members = members[snap.id]
        return snapshots

    def get(self, ctx: RequestContext, cgsnapshot_id: str, api: GroupApi = GroupApi.CONSISTENCY_GROUPS, *,
            with_members: bool = False) -> CGSnapshot:
        with self.db.read() as uow:
            found = self.find(uow, ctx, cgsnapshot_id, api)
            return self._with_members(uow, [found])[0] if with_members else found

    def list_all(self, ctx: RequestContext, query: CGSnapshotQuery, *, with_members: bool = False) -> list[CGSnapshot]:
        with self.db.read() as uow:
            found = uow.cgsnapshots.find(query)
            return self._with_members(uow, found) if with_members else found

    def members(self, ctx: RequestContext, cgsnapshot_id: str, page: Page,
                api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> list[CGSnapshotMember]:
        with self.db.read() as uow:
            self.find(uow, ctx, cgsnapshot_id, api)
            return uow.cgsnapshots.members(cgsnapshot_id, page)

    def create(self, ctx: RequestContext, cmd: CreateCGSnapshot) -> CGSnapshot:
        """One member per share of the group (none for an empty group), cut later by the group's backend."""
        terms = TERMS[cmd.api]
        group_id = cmd.consistency_group_id
        with self.db.write() as uow:
            group = uow.groups.get(group_id, ctx.scope())
            if group is None:
                raise Invalid(terms.snapshot_group_not_found.format(id=group_id))
            if group.status != Status.AVAILABLE:
                raise Conflict(terms.snapshot_group_not_available)
            shares = uow.shares.in_group(group_id)
            for share in shares:
                if share.status != Status.AVAILABLE:
                    raise Conflict(terms.snapshot_share_not_available.format(id=share.id))
            # The share-group-snapshot quota, whichever API (cgsnapshots or share group snapshots) asks.
            self.quotas.charge_group_snapshot(uow, ctx.project_id, ctx.user_id)
            now = utcnow()
            cgsnapshot_id = new_id()
            uow.cgsnapshots.insert_row(
                id=cgsnapshot_id, consistency_group_id=group_id, project_id=ctx.project_id, user_id=ctx.user_id,
                name=cmd.name, description=cmd.description, status=Status.CREATING,
                cut_method=None, cut_spread_ms=None, created_at=now, updated_at=now,
            )
            for share in shares:
                uow.cgsnapshots.add_member(CGSnapshotMember(
                    id=new_id(), cgsnapshot_id=cgsnapshot_id, share_id=share.id, share_type_id=share.share_type_id,
                    size=share.size, share_proto=share.share_proto, status=Status.CREATING,
                    project_id=ctx.project_id, user_id=ctx.user_id, created_at=now,
                ))
            uow.operations.enqueue(OperationKind.CREATE_CGSNAPSHOT, cgsnapshot_id, backend=owning_backend(group.host))
            created = uow.cgsnapshots.get(cgsnapshot_id)
            assert created is not None
            self._with_members(uow, [created])
            uow.commit()
        return created

    def update(self, ctx: RequestContext, cgsnapshot_id: str, changes: TextChanges,
               api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> CGSnapshot:
        values = changes.values()
        with self.db.write() as uow:
            self.find(uow, ctx, cgsnapshot_id, api)
            if values:
                uow.cgsnapshots.cas(cgsnapshot_id, None, **values)
            updated = uow.cgsnapshots.get(cgsnapshot_id)
            assert updated is not None
            self._with_members(uow, [updated])
            uow.commit()
        return updated

    def delete(self, ctx: RequestContext, cgsnapshot_id: str, api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> None:
        """A snapshot that is the source of a live group may go: the group keeps the id, not the data."""
        with self.db.write() as uow:
            cgsnapshot = self.find(uow, ctx, cgsnapshot_id, api)
            if not uow.cgsnapshots.cas(cgsnapshot_id, CGSNAPSHOT_DELETABLE, status=Status.DELETING):
                raise Conflict(TERMS[api].snapshot_status)
            uow.operations.enqueue(OperationKind.DELETE_CGSNAPSHOT, cgsnapshot_id,
                                   backend=self._backend(uow, cgsnapshot))
            uow.commit()

    @staticmethod
    def _backend(uow: UnitOfWork, cgsnapshot: CGSnapshot) -> str | None:
        group = uow.groups.get(cgsnapshot.consistency_group_id)
        if group is not None:
            return owning_backend(group.host)
        for member in uow.cgsnapshots.members(cgsnapshot.id):
            share = uow.shares.get(member.share_id)
            if share is not None and share.host:
                return owning_backend(share.host)
        return None

    def reset_status(self, ctx: RequestContext, cmd: ResetStatus) -> None:
        with self.db.write() as uow:
            cgsnapshot = uow.cgsnapshots.get(cmd.target_id, ctx.scope())
            if cgsnapshot is None:
                raise SilentNotFound()
            resets.reset_status(uow, uow.cgsnapshots, Entity.CGSNAPSHOT, cgsnapshot.id, cgsnapshot.status,
                                cmd.status)
            uow.commit()

    def force_delete(self, ctx: RequestContext, cgsnapshot_id: str) -> None:
        with self.db.write() as uow:
            cgsnapshot = uow.cgsnapshots.get(cgsnapshot_id, ctx.scope())
            if cgsnapshot is None:
                raise SilentNotFound()
            backend = self._backend(uow, cgsnapshot)
            uow.snapshot_access.delete_for([m.id for m in uow.cgsnapshots.members(cgsnapshot_id)])
            uow.cgsnapshots.delete(cgsnapshot_id)
            if backend:
                uow.operations.enqueue(OperationKind.RECLAIM, cgsnapshot_id,
                                       backend=backend, payload=Reclaim(Entity.CGSNAPSHOT))
            uow.commit()
