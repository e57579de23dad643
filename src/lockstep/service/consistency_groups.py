"""Groups: create (from share types or from a group snapshot), update, delete, admin actions.

One store, two APIs: consistency groups (2.4-2.30) and share groups (2.31+) are the same records
and go through the same use cases; `GroupApi` picks the words (`group_terms`) and the few rules
that differ (share group types, availability zones, force_delete of a group that holds shares).
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.errors import Conflict, Invalid, NotFound, SilentNotFound
from lockstep.domain.group_types import ShareGroupType
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
from lockstep.domain.queries import CGSnapshotField, CGSnapshotQuery, GroupQuery, Page
from lockstep.service import resets
from lockstep.service.commands import CreateConsistencyGroup, GroupApi, ResetStatus, TextChanges, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.group_terms import TERMS, GroupTerms
from lockstep.service.quotas import NewShare, Quotas
from lockstep.service.scheduler import Scheduler
from lockstep.service.share_group_types import ShareGroupTypeService
from lockstep.service.share_types import ShareTypeService
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id


@dataclass(frozen=True)
class _Source:
    """What a group created from a group snapshot copies: the snapshot's group and its members."""

    group: ConsistencyGroup
    members: list[CGSnapshotMember]


@dataclass
class _Plan:
    """A new group as the checks settle it, step by step."""

    type_ids: list[str]
    network_id: str | None = None
    zone: str | None = None
    group_type: ShareGroupType | None = None
    source: _Source | None = None
    share_types: tuple[ShareType, ...] = ()


@dataclass(frozen=True)
class Zone:
    """The availability zone Lockstep serves, by name and id."""

    name: str
    id: str


class ConsistencyGroupService:
    def __init__(self, db: Database, types: ShareTypeService, group_types: ShareGroupTypeService,
                 scheduler: Scheduler, require_atomic: bool, zone: Zone, quotas: Quotas | None = None) -> None:
        self.db = db
        self.quotas = quotas or Quotas()
        self.types = types
        self.group_types = group_types
        self.scheduler = scheduler
        self.require_atomic = require_atomic
        self.zone = zone

    def find(self, uow: UnitOfWork, ctx: RequestContext, group_id: str,
             api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> ConsistencyGroup:
        group = uow.groups.get(group_id, ctx.scope())
        if group is None:
            raise NotFound(TERMS[api].group_not_found.format(id=group_id))
        return group

    def get(self, ctx: RequestContext, group_id: str, api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> ConsistencyGroup:
        with self.db.read() as uow:
            return self.find(uow, ctx, group_id, api)

    def list_all(self, ctx: RequestContext, query: GroupQuery, *, detail: bool) -> list[ConsistencyGroup]:
        with self.db.read() as uow:
            return uow.groups.find(query, detail=detail)

    # create ------------------------------------------------------------------
    # The steps run in Manila's order of checks: which 400 wins when several things are wrong is pinned.
    def create(self, ctx: RequestContext, cmd: CreateConsistencyGroup) -> ConsistencyGroup:
        terms = TERMS[cmd.api]
        with self.db.write() as uow:
            plan = _Plan(list(cmd.share_types))
            if cmd.use_default_type:
                plan.type_ids = [self._default_type_id(uow)]
            plan.zone = self._zone(cmd.availability_zone)
            plan.network_id = unwrap(cmd.share_network_id)
            type_ref = self._group_type_ref(uow, cmd)
            plan.source = self._source(uow, ctx, cmd.source_cgsnapshot_id, terms)
            if plan.source is not None:
                source_group = plan.source.group
                plan.type_ids, plan.network_id = list(source_group.share_types), source_group.share_network_id
                plan.zone = source_group.availability_zone
            plan.share_types = tuple(self._share_types(uow, ctx, plan.type_ids, terms))
            self._check_network(uow, ctx, list(plan.share_types), plan.network_id, from_source=plan.source is not None)
            plan.group_type = self._group_type(uow, ctx, cmd, plan, type_ref)
            group = self._record(uow, ctx, cmd, plan)
            uow.commit()
        # What was just written, field for field (GroupRepo.create writes every field): not read back.
        return group

    def _record(self, uow: UnitOfWork, ctx: RequestContext, cmd: CreateConsistencyGroup,
                plan: _Plan) -> ConsistencyGroup:
        """Write the group (and, from a snapshot, its shares) with the operation that settles it."""
        source = plan.source
        needs_atomic = self.require_atomic or any(st.spec_bool(ATOMIC_CGSNAPSHOT_SPEC) for st in plan.share_types)
        consistent = plan.group_type.consistent_snapshot_support if plan.group_type else None
        if source is None:
            self.scheduler.check_group_placeable(uow, list(plan.share_types), needs_atomic, consistent)
        # One store: these are the share-group quotas whichever API creates the group.
        self.quotas.charge_group(uow, ctx.project_id, ctx.user_id)
        if source is not None:
            self.quotas.charge_shares(uow, ctx.project_id, ctx.user_id,
                                      [NewShare(m.share_type_id, m.size) for m in source.members])
            self._check_restore_fits(uow, source)
        now = utcnow()
        group = ConsistencyGroup(
            id=new_id(), project_id=ctx.project_id, user_id=ctx.user_id, name=cmd.name,
            description=cmd.description, status=Status.CREATING,
            host=source.group.host if source else None, source_cgsnapshot_id=cmd.source_cgsnapshot_id,
            share_network_id=plan.network_id, share_server_id=source.group.share_server_id if source else None,
            created_at=now, updated_at=now, share_types=plan.type_ids,
            share_group_type_id=plan.group_type.id if plan.group_type else None, availability_zone=plan.zone,
            consistent_snapshot_support=source.group.consistent_snapshot_support if source else None,
        )
        uow.groups.create(group)
        if source is not None:
            for member in source.members:
                self._insert_member_share(uow, ctx, group, member)
            uow.operations.enqueue(OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT, group.id,
                                   backend=owning_backend(group.host))
        else:
            uow.operations.enqueue(OperationKind.CREATE_GROUP, group.id,
                                   backend=None, payload=GroupPlacement(needs_atomic, consistent))
        return group

    def _default_type_id(self, uow: UnitOfWork) -> str:
        default = self.types.default_type(uow)
        if default is None:
            raise Invalid("Must specify at least one share type as a default share type has not been "
                          "configured.")
        return default.id

    def _zone(self, asked: str | None) -> str | None:
        if not asked:
            return None
        if asked not in (self.zone.name, self.zone.id):
            raise NotFound(f"Availability zone {asked} could not be found.")
        return self.zone.name

    def _group_type_ref(self, uow: UnitOfWork, cmd: CreateConsistencyGroup) -> str | None:
        """The share group type a share-group request names; without one (and without a source), the
        default must exist. Consistency groups name none: they get the default, if there is one."""
        type_ref = unwrap(cmd.share_group_type_id)
        if (cmd.api is GroupApi.SHARE_GROUPS and type_ref is None and cmd.source_cgsnapshot_id is None
                and self.group_types.default_type(uow) is None):
            raise Invalid("Must specify a share group type as a default share group type has not been "
                          "configured.")
        return type_ref

    def _group_type(self, uow: UnitOfWork, ctx: RequestContext, cmd: CreateConsistencyGroup, plan: _Plan,
                    type_ref: str | None) -> ShareGroupType | None:
        """The new group's type. A group from a snapshot without one named inherits its source group's
        (Lockstep's extension: Manila asks for the default); only a named or default type must support
        the group's share types, as a consistency group has no type to honour."""
        if type_ref is not None:
            group_type = self.group_types.visible(uow, ctx, type_ref)
            if group_type is None:
                raise Invalid(f"Invalid input received: The specified share group type {type_ref} does not exist.")
        elif plan.source is not None and plan.source.group.share_group_type_id:
            return uow.share_group_types.get(plan.source.group.share_group_type_id)
        else:
            group_type = self.group_types.default_type(uow)
            if group_type is None or cmd.api is GroupApi.CONSISTENCY_GROUPS:
                return group_type
        if not set(plan.type_ids) <= set(group_type.share_types):
            raise Invalid("Invalid input received: The specified share types must be a subset of the share types "
                          "supported by the share group type.")
        _check_zone_of_types(plan.share_types, plan.zone if plan.source is None else None)
        return group_type

    @staticmethod
    def _source(uow: UnitOfWork, ctx: RequestContext, source_id: str | None, terms: GroupTerms) -> _Source | None:
        """The available group snapshot a group is created from, its group, and the members to copy."""
        if not source_id:
            return None
        cgsnapshot = uow.cgsnapshots.get(source_id, ctx.scope())
        if cgsnapshot is None:
            raise Invalid(terms.source_not_found.format(id=source_id))
        if cgsnapshot.status != Status.AVAILABLE:
            raise Conflict(terms.source_not_available)
        group = uow.groups.get(cgsnapshot.consistency_group_id)
        if group is None:
            raise Conflict(terms.source_group_gone.format(id=source_id))
        return _Source(group, uow.cgsnapshots.members(source_id))

    def _share_types(self, uow: UnitOfWork, ctx: RequestContext, type_ids: list[str],
                     terms: GroupTerms) -> list[ShareType]:
        share_types: list[ShareType] = []
        for type_id in type_ids:
            found = self.types.visible(uow, ctx, type_id)
            if found is None:
                raise Invalid(terms.share_type_not_found.format(id=type_id))
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

    def _check_restore_fits(self, uow: UnitOfWork, source: _Source) -> None:
        """The restored shares land where their sources are; each pool must take them at what they
        really cost there (a btrfs or zfs clone: nothing; a posix copy: their size)."""
        sources = uow.shares.get_many([m.share_id for m in source.members])
        sizes: dict[str, list[int]] = {}
        for member in source.members:
            found = sources.get(member.share_id)
            host = found.host if found is not None and found.host else source.group.host or ""
            sizes.setdefault(host, []).append(member.size)
        for host, on_pool in sorted(sizes.items()):
            if host:
                self.scheduler.check_clones_fit(uow, host, on_pool)

    @staticmethod
    def _insert_member_share(uow: UnitOfWork, ctx: RequestContext, group: ConsistencyGroup,
                             member: CGSnapshotMember) -> None:
        """A new share of the group, made from one member of the source snapshot (on its share's host)."""
        source_share = uow.shares.get(member.share_id)
        now = group.created_at
        uow.shares.insert_row(
            id=new_id(), project_id=ctx.project_id, user_id=ctx.user_id, name=None, description=None,
            size=member.size, share_proto=member.share_proto, status=Status.CREATING,
            host=source_share.host if source_share else group.host or "",
            availability_zone=source_share.availability_zone if source_share else group.availability_zone,
            share_type_id=member.share_type_id, share_network_id=group.share_network_id, snapshot_id=None,
            is_public=False, consistency_group_id=group.id, source_cgsnapshot_member_id=member.id,
            task_state=None,
            snapshot_support=source_share.snapshot_support if source_share else False,
            create_share_from_snapshot_support=(
                source_share.create_share_from_snapshot_support if source_share else False),
            revert_to_snapshot_support=(
                source_share.revert_to_snapshot_support if source_share else False),
            mount_snapshot_support=source_share.mount_snapshot_support if source_share else False,
            created_at=now, updated_at=now,
        )

    # update / delete -----------------------------------------------------------
    def update(self, ctx: RequestContext, group_id: str, changes: TextChanges,
               api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> ConsistencyGroup:
        values = changes.values()
        with self.db.write() as uow:
            self.find(uow, ctx, group_id, api)
            if values:
                uow.groups.cas(group_id, None, **values)
            updated = uow.groups.get(group_id)
            uow.commit()
        assert updated is not None
        return updated

    def delete(self, ctx: RequestContext, group_id: str, api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> None:
        terms = TERMS[api]
        with self.db.write() as uow:
            group = self.find(uow, ctx, group_id, api)
            if not group.host:
                # Never placed: nothing exists on any backend (as in Manila, whatever the status). A
                # create still queued finds no record and stops; one caught mid-placement reclaims
                # what it made (see operations.groups.create_group).
                uow.groups.delete(group_id)
                uow.commit()
                return
            if group.status not in GROUP_DELETABLE:
                raise Conflict(terms.group_status)
            cgsnapshots, shares = uow.groups.dependents(group_id)
            if cgsnapshots:
                raise Conflict(terms.group_has_snapshots)
            if shares:
                raise Conflict(terms.group_has_shares)
            if not uow.groups.cas(group_id, GROUP_DELETABLE, status=Status.DELETING):
                raise Conflict(terms.group_status)
            uow.operations.enqueue(OperationKind.DELETE_GROUP, group_id, backend=owning_backend(group.host))
            uow.commit()

    def reset_status(self, ctx: RequestContext, cmd: ResetStatus) -> None:
        with self.db.write() as uow:
            group = uow.groups.get(cmd.target_id, ctx.scope())
            if group is None:
                raise SilentNotFound()
            resets.reset_status(uow, uow.groups, Entity.GROUP, group.id, group.status, cmd.status)
            uow.commit()

    def force_delete(self, ctx: RequestContext, group_id: str, api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> None:
        """Decision 5: the record goes at once; its storage is reclaimed once nothing needs it.

        A consistency group goes even while it holds shares (they keep its id, as in Manila 2.30). A
        share group holding shares is refused, as Manila 23 refuses it, but before anything is
        destroyed; without shares, its group snapshots (which then have no members) go with it.
        """
        with self.db.write() as uow:
            group = uow.groups.get(group_id, ctx.scope())
            if group is None:
                raise SilentNotFound()
            snapshot_ids: list[str] = []
            if api is GroupApi.SHARE_GROUPS:
                shares = uow.shares.in_group(group_id)
                if shares:
                    raise Invalid(f"Share {shares[0].id} has 1 share instances.")
                snapshot_ids = [snap.id for snap in uow.cgsnapshots.find(CGSnapshotQuery(
                    page=Page(limit=2**31 - 1), scope=None,
                    equals=((CGSnapshotField.CONSISTENCY_GROUP_ID, group_id),)))]
            uow.groups.delete(group_id)
            for snapshot_id in snapshot_ids:
                uow.cgsnapshots.delete(snapshot_id)
            if group.host:
                for object_id, kind in [(group_id, Entity.GROUP)] + [(i, Entity.CGSNAPSHOT) for i in snapshot_ids]:
                    uow.operations.enqueue(OperationKind.RECLAIM, object_id,
                                           backend=owning_backend(group.host), payload=Reclaim(kind))
            uow.commit()


def _check_zone_of_types(share_types: tuple[ShareType, ...], zone: str | None) -> None:
    """A zone asked for must be one every share type with an `availability_zones` spec lists (2.48)."""
    if zone is None:
        return
    refused = []
    for st in share_types:
        zones = [z.strip() for z in st.extra_specs.get("availability_zones", "").split(",") if z.strip()]
        if zones and zone not in zones:
            refused.append(f"{st.name} (ID: {st.id})")
    if refused:
        raise Invalid(f"Invalid input received: Share group cannot be created since the following share types "
                      f"are not supported within the availability zone '{zone}': ({', '.join(refused)})")
