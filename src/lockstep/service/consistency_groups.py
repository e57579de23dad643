"""Consistency groups: create (from share types or from a cgsnapshot), update, delete, admin actions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lockstep.domain.errors import Conflict, Invalid, NotFound, SilentNotFound
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
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.scheduler import Scheduler
from lockstep.service.share_types import ShareTypeService
from lockstep.service.shares import _backend_of, check_reset_status
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import is_uuid_like, new_id, optional_text

CREATE_FIELDS = ("name", "description", "share_types", "source_cgsnapshot_id", "share_network_id")
UPDATE_FIELDS = ("name", "description")


def set_repr(keys: list[str]) -> str:
    """Python's repr of a set of strings, as Manila's messages print it."""
    return "{" + ", ".join(repr(k) for k in sorted(keys)) + "}"


def text_fields(entity: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in entity:
            values[key] = optional_text(entity, key)
    return values


class ConsistencyGroupService:
    def __init__(self, db: Database, policy: Policy, types: ShareTypeService, scheduler: Scheduler,
                 require_atomic: bool) -> None:
        self.db = db
        self.policy = policy
        self.types = types
        self.scheduler = scheduler
        self.require_atomic = require_atomic

    def find(self, uow: UnitOfWork, ctx: RequestContext, group_id: str) -> ConsistencyGroup:
        group = uow.groups.get(group_id, ctx.scope())
        if group is None:
            raise NotFound(f"Consistency group {group_id} not found.")
        return group

    def get(self, ctx: RequestContext, group_id: str) -> ConsistencyGroup:
        self.policy.authorize(ctx, Rule.CG_GET)
        with self.db.read() as uow:
            return self.find(uow, ctx, group_id)

    def list_all(self, ctx: RequestContext, query: GroupQuery, *, detail: bool) -> list[ConsistencyGroup]:
        self.policy.authorize(ctx, Rule.CG_GET_ALL)
        with self.db.read() as uow:
            return uow.groups.find(query, detail=detail)

    def create(self, ctx: RequestContext, entity: dict[str, Any]) -> ConsistencyGroup:
        self.policy.authorize(ctx, Rule.CG_CREATE)
        invalid = [k for k in entity if k not in CREATE_FIELDS]
        if invalid:
            raise Invalid(f"The fields {set_repr(invalid)} are invalid.")
        if "share_types" in entity and "source_cgsnapshot_id" in entity:
            raise Invalid("Cannot supply both 'share_types' and 'source_cgsnapshot_id' attributes.")
        texts = text_fields(entity)
        source_id = entity.get("source_cgsnapshot_id")
        network_id = entity.get("share_network_id")
        type_ids: list[str] = []
        with self.db.write() as uow:
            raw_types = entity.get("share_types")
            if not raw_types and "source_cgsnapshot_id" not in entity:
                default = self.types.default_type(uow)
                if default is None:
                    raise Invalid("Must specify at least one share type as a default share type has not been "
                                  "configured.")
                type_ids = [default.id]
            elif raw_types:
                if not isinstance(raw_types, list) or not all(is_uuid_like(x) for x in raw_types):
                    raise Invalid("The 'share_types' attribute must be a list of uuids")
                type_ids = list(raw_types)
            if network_id and source_id:
                raise Invalid("Cannot supply both 'share_network_id' and 'source_cgsnapshot_id' attributes as "
                              "the share network is inherited from the source.")
            if source_id is not None and not is_uuid_like(source_id):
                raise Invalid("The 'source_cgsnapshot_id' attribute must be a uuid.")
            if network_id is not None and not is_uuid_like(network_id):
                raise Invalid("The 'share_network_id' attribute must be a uuid.")
            host = None
            source_group = None
            members: list[CGSnapshotMember] = []
            if source_id:
                cgsnapshot = uow.cgsnapshots.get(source_id, ctx.scope())
                if cgsnapshot is None:
                    raise Invalid(f"Consistency group snapshot {source_id} could not be found.")
                if cgsnapshot.status != Status.AVAILABLE:
                    raise Conflict("Invalid CGSnapshot: Consistency group snapshot status must be available")
                source_group = uow.groups.get(cgsnapshot.consistency_group_id)
                if source_group is None:
                    raise Conflict(f"Invalid CGSnapshot: the consistency group of cgsnapshot {source_id} no longer "
                                   "exists; its storage may already be reclaimed.")
                type_ids = list(source_group.share_types)
                network_id = source_group.share_network_id
                host = source_group.host
                members = uow.cgsnapshots.members(source_id)
            share_types: list[ShareType] = []
            for type_id in type_ids:
                found = self.types.visible(uow, ctx, type_id)
                if found is None:
                    raise Invalid(f"Share type with id {type_id} could not be found")
                share_types.append(found)
            dhss = {st.dhss for st in share_types}
            if len(dhss) > 1:
                raise Invalid("Invalid input received: The specified share_types cannot have conflicting values "
                              "for the driver_handles_share_servers extra spec.")
            if dhss == {False} and network_id and not source_id:
                raise Invalid("Invalid input received: When using a share types with the "
                              "driver_handles_share_servers extra spec as False, a share_network_id must not be "
                              "provided.")
            if network_id and uow.share_networks.get(network_id, None if source_id else ctx.scope()) is None:
                raise Invalid("Invalid input received: The specified share network does not exist.")
            if dhss == {True} and not network_id and not source_id:
                raise Invalid("Invalid input received: When using a share type with the "
                              "driver_handles_share_servers extra spec as True, a share_network_id must be "
                              "provided.")
            needs_atomic = self.require_atomic or any(st.spec_bool(ATOMIC_CGSNAPSHOT_SPEC) for st in share_types)
            if not source_id:
                self.scheduler.check_group_placeable(uow, share_types, needs_atomic)
            now = utcnow()
            group = ConsistencyGroup(
                id=new_id(), project_id=ctx.project_id, user_id=ctx.user_id, name=texts.get("name"),
                description=texts.get("description"), status=Status.CREATING, host=host,
                source_cgsnapshot_id=source_id, share_network_id=network_id,
                share_server_id=source_group.share_server_id if source_group else None, created_at=now,
                updated_at=now, share_types=type_ids,
            )
            uow.groups.create(group)
            if source_id:
                for member in members:
                    source_share = uow.shares.get(member.share_id)
                    uow.shares.insert_row(
                        id=new_id(), project_id=ctx.project_id, user_id=ctx.user_id, name=None, description=None,
                        size=member.size, share_proto=member.share_proto, status=Status.CREATING,
                        host=source_share.host if source_share else host or "",
                        availability_zone=source_share.availability_zone if source_share else None,
                        share_type_id=member.share_type_id, share_network_id=network_id, snapshot_id=None,
                        is_public=False, consistency_group_id=group.id, source_cgsnapshot_member_id=member.id,
                        task_state=None,
                        snapshot_support=source_share.snapshot_support if source_share else False,
                        create_share_from_snapshot_support=(
                            source_share.create_share_from_snapshot_support if source_share else False),
                        revert_to_snapshot_support=(
                            source_share.revert_to_snapshot_support if source_share else False),
                        created_at=now, updated_at=now,
                    )
                uow.operations.enqueue(OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT, group.id, backend=_backend_of(host))
            else:
                uow.operations.enqueue(OperationKind.CREATE_GROUP, group.id,
                                       backend=None, payload=GroupPlacement(needs_atomic))
            created = uow.groups.get(group.id)
            uow.commit()
        assert created is not None
        return created

    def update(self, ctx: RequestContext, group_id: str, entity: dict[str, Any]) -> ConsistencyGroup:
        self.policy.authorize(ctx, Rule.CG_UPDATE)
        invalid = [k for k in entity if k not in UPDATE_FIELDS]
        if invalid:
            raise Invalid(f"The fields {set_repr(invalid)} are invalid or not allowed to be updated.")
        values = text_fields(entity)
        with self.db.write() as uow:
            self.find(uow, ctx, group_id)
            if values:
                uow.groups.cas(group_id, None, **values)
            updated = uow.groups.get(group_id)
            uow.commit()
        assert updated is not None
        return updated

    def delete(self, ctx: RequestContext, group_id: str) -> None:
        self.policy.authorize(ctx, Rule.CG_DELETE)
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
            uow.operations.enqueue(OperationKind.DELETE_GROUP, group_id, backend=_backend_of(group.host))
            uow.commit()

    def reset_status(self, ctx: RequestContext, group_id: str, value: object) -> None:
        self.policy.authorize(ctx, Rule.CG_RESET_STATUS)
        status = check_reset_status(value)
        with self.db.write() as uow:
            if uow.groups.get(group_id, ctx.scope()) is None:
                raise SilentNotFound()
            uow.groups.cas(group_id, None, status=status)
            uow.commit()

    def force_delete(self, ctx: RequestContext, group_id: str) -> None:
        """Decision 5: the record goes at once; its storage is reclaimed once nothing needs it."""
        self.policy.authorize(ctx, Rule.CG_FORCE_DELETE)
        with self.db.write() as uow:
            group = uow.groups.get(group_id, ctx.scope())
            if group is None:
                raise SilentNotFound()
            uow.groups.delete(group_id)
            if group.host:
                uow.operations.enqueue(OperationKind.RECLAIM, group_id,
                                       backend=_backend_of(group.host), payload=Reclaim(Entity.GROUP))
            uow.commit()
