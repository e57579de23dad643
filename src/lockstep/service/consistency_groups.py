"""Consistency groups: create (from share types or from a cgsnapshot), update, delete, admin actions."""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.errors import Conflict, Invalid, NotFound, SilentNotFound
from lockstep.domain.hosts import owning_backend
from lockstep.domain.model import (
    ATOMIC_CGSNAPSHOT_SPEC,
    GROUP_DELETABLE,
    CGSnapshotMember,
    ConsistencyGroup,
    ShareType,
    Status,
    utcnow,
)
from lockstep.domain.operations import Entity, GroupPlacement, OperationKind, Reclaim
from lockstep.domain.queries import GroupQuery
from lockstep.service.commands import CreateConsistencyGroup, ResetStatus, TextChanges, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.quotas import NewShare, Quotas
from lockstep.service.scheduler import Scheduler
from lockstep.service.share_types import ShareTypeService
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id


@dataclass(frozen=True)
class _Source:
    """What a group created from a cgsnapshot copies: the cgsnapshot's group and its members."""

    group: ConsistencyGroup
    members: list[CGSnapshotMember]


class ConsistencyGroupService:
    def __init__(self, db: Database, types: ShareTypeService, scheduler: Scheduler, require_atomic: bool,
                 quotas: Quotas | None = None) -> None:
        self.db = db
        self.quotas = quotas or Quotas()
        self.types = types
        self.scheduler = scheduler
        self.require_atomic = require_atomic

    def find(self, uow: UnitOfWork, ctx: RequestContext, group_id: str) -> ConsistencyGroup:
        group = uow.groups.get(group_id, ctx.scope())
        if group is None:
            raise NotFound(f"Consistency group {group_id} not found.")
        return group

    def get(self, ctx: RequestContext, group_id: str) -> ConsistencyGroup:
        with self.db.read() as uow:
            return self.find(uow, ctx, group_id)

    def list_all(self, ctx: RequestContext, query: GroupQuery, *, detail: bool) -> list[ConsistencyGroup]:
        with self.db.read() as uow:
            return uow.groups.find(query, detail=detail)

    # The steps run in Manila's order of checks: which 400 wins when several things are wrong is pinned.
    def create(self, ctx: RequestContext, cmd: CreateConsistencyGroup) -> ConsistencyGroup:
        with self.db.write() as uow:
            type_ids = list(cmd.share_types)
            if cmd.use_default_type:
                type_ids = [self._default_type_id(uow)]
            network_id = unwrap(cmd.share_network_id)
            source = self._source(uow, ctx, cmd.source_cgsnapshot_id)
            if source is not None:
                type_ids, network_id = list(source.group.share_types), source.group.share_network_id
            share_types = self._share_types(uow, ctx, type_ids)
            self._check_network(uow, ctx, share_types, network_id, from_source=source is not None)
            needs_atomic = self.require_atomic or any(st.spec_bool(ATOMIC_CGSNAPSHOT_SPEC) for st in share_types)
            if source is None:
                self.scheduler.check_group_placeable(uow, share_types, needs_atomic)
            # One store: these are the share-group quotas whichever API creates the group.
            self.quotas.charge_group(uow, ctx.project_id, ctx.user_id)
            if source is not None:
                self.quotas.charge_shares(uow, ctx.project_id, ctx.user_id,
                                          [NewShare(m.share_type_id, m.size) for m in source.members])
            now = utcnow()
            group = ConsistencyGroup(
                id=new_id(), project_id=ctx.project_id, user_id=ctx.user_id, name=cmd.name,
                description=cmd.description, status=Status.CREATING,
                host=source.group.host if source else None, source_cgsnapshot_id=cmd.source_cgsnapshot_id,
                share_network_id=network_id, share_server_id=source.group.share_server_id if source else None,
                created_at=now, updated_at=now, share_types=type_ids,
            )
            uow.groups.create(group)
            if source is not None:
                for member in source.members:
                    self._insert_member_share(uow, ctx, group, member)
                uow.operations.enqueue(OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT, group.id,
                                       backend=owning_backend(group.host))
            else:
                uow.operations.enqueue(OperationKind.CREATE_GROUP, group.id,
                                       backend=None, payload=GroupPlacement(needs_atomic))
            created = uow.groups.get(group.id)
            uow.commit()
        assert created is not None
        return created

    def _default_type_id(self, uow: UnitOfWork) -> str:
        default = self.types.default_type(uow)
        if default is None:
            raise Invalid("Must specify at least one share type as a default share type has not been "
                          "configured.")
        return default.id

    @staticmethod
    def _source(uow: UnitOfWork, ctx: RequestContext, source_id: str | None) -> _Source | None:
        """The available cgsnapshot a group is created from, its group, and the members to copy."""
        if not source_id:
            return None
        cgsnapshot = uow.cgsnapshots.get(source_id, ctx.scope())
        if cgsnapshot is None:
            raise Invalid(f"Consistency group snapshot {source_id} could not be found.")
        if cgsnapshot.status != Status.AVAILABLE:
            raise Conflict("Invalid CGSnapshot: Consistency group snapshot status must be available")
        group = uow.groups.get(cgsnapshot.consistency_group_id)
        if group is None:
            raise Conflict(f"Invalid CGSnapshot: the consistency group of cgsnapshot {source_id} no longer "
                           "exists; its storage may already be reclaimed.")
        return _Source(group, uow.cgsnapshots.members(source_id))

    def _share_types(self, uow: UnitOfWork, ctx: RequestContext, type_ids: list[str]) -> list[ShareType]:
        share_types: list[ShareType] = []
        for type_id in type_ids:
            found = self.types.visible(uow, ctx, type_id)
            if found is None:
                raise Invalid(f"Share type with id {type_id} could not be found")
            share_types.append(found)
        return share_types

    @staticmethod
    def _check_network(uow: UnitOfWork, ctx: RequestContext, share_types: list[ShareType], network_id: str | None,
                       *, from_source: bool) -> None:
        """The share network must exist, and be given exactly when the types' drivers handle share servers."""
        dhss = {st.dhss for st in share_types}
        if len(dhss) > 1:
            raise Invalid("Invalid input received: The specified share_types cannot have conflicting values "
                          "for the driver_handles_share_servers extra spec.")
        if dhss == {False} and network_id and not from_source:
            raise Invalid("Invalid input received: When using a share types with the "
                          "driver_handles_share_servers extra spec as False, a share_network_id must not be "
                          "provided.")
        # A source's network may belong to another project (an admin's cgsnapshot); it is inherited as is.
        if network_id and uow.share_networks.get(network_id, None if from_source else ctx.scope()) is None:
            raise Invalid("Invalid input received: The specified share network does not exist.")
        if dhss == {True} and not network_id and not from_source:
            raise Invalid("Invalid input received: When using a share type with the "
                          "driver_handles_share_servers extra spec as True, a share_network_id must be "
                          "provided.")

    @staticmethod
    def _insert_member_share(uow: UnitOfWork, ctx: RequestContext, group: ConsistencyGroup,
                             member: CGSnapshotMember) -> None:
        """A new share of the group, made from one member of the source cgsnapshot (on its share's host)."""
        source_share = uow.shares.get(member.share_id)
        now = group.created_at
        uow.shares.insert_row(
            id=new_id(), project_id=ctx.project_id, user_id=ctx.user_id, name=None, description=None,
            size=member.size, share_proto=member.share_proto, status=Status.CREATING,
            host=source_share.host if source_share else group.host or "",
            availability_zone=source_share.availability_zone if source_share else None,
            share_type_id=member.share_type_id, share_network_id=group.share_network_id, snapshot_id=None,
            is_public=False, consistency_group_id=group.id, source_cgsnapshot_member_id=member.id,
            task_state=None,
            snapshot_support=source_share.snapshot_support if source_share else False,
            create_share_from_snapshot_support=(
                source_share.create_share_from_snapshot_support if source_share else False),
            revert_to_snapshot_support=(
                source_share.revert_to_snapshot_support if source_share else False),
            created_at=now, updated_at=now,
        )

    def update(self, ctx: RequestContext, group_id: str, changes: TextChanges) -> ConsistencyGroup:
        values = changes.values()
        with self.db.write() as uow:
            self.find(uow, ctx, group_id)
            if values:
                uow.groups.cas(group_id, None, **values)
            updated = uow.groups.get(group_id)
            uow.commit()
        assert updated is not None
        return updated

    def delete(self, ctx: RequestContext, group_id: str) -> None:
        with self.db.write() as uow:
            group = self.find(uow, ctx, group_id)
            if not group.host:
                # Never placed: nothing exists on any backend (as in Manila, whatever the status). A
                # create still queued finds no record and stops; one caught mid-placement reclaims
                # what it made (see operations.groups.create_group).
                uow.groups.delete(group_id)
                uow.commit()
                return
            if group.status not in GROUP_DELETABLE:
                raise Conflict("Invalid ConsistencyGroup: Consistency group status must be one of ('available', "
                               "'error')")
            if uow.groups.count_cgsnapshots(group_id):
                raise Conflict("Invalid ConsistencyGroup: Cannot delete a consistency group with cgsnapshots")
            if uow.groups.count_shares(group_id):
                raise Conflict("Invalid ConsistencyGroup: Cannot delete a consistency group with shares")
            if not uow.groups.cas(group_id, GROUP_DELETABLE, status=Status.DELETING):
                raise Conflict("Invalid ConsistencyGroup: Consistency group status must be one of ('available', "
                               "'error')")
            uow.operations.enqueue(OperationKind.DELETE_GROUP, group_id, backend=owning_backend(group.host))
            uow.commit()

    def reset_status(self, ctx: RequestContext, cmd: ResetStatus) -> None:
        with self.db.write() as uow:
            if uow.groups.get(cmd.target_id, ctx.scope()) is None:
                raise SilentNotFound()
            uow.groups.cas(cmd.target_id, None, status=cmd.status)
            uow.commit()

    def force_delete(self, ctx: RequestContext, group_id: str) -> None:
        """Decision 5: the record goes at once; its storage is reclaimed once nothing needs it."""
        with self.db.write() as uow:
            group = uow.groups.get(group_id, ctx.scope())
            if group is None:
                raise SilentNotFound()
            uow.groups.delete(group_id)
            if group.host:
                uow.operations.enqueue(OperationKind.RECLAIM, group_id,
                                       backend=owning_backend(group.host), payload=Reclaim(Entity.GROUP))
            uow.commit()
