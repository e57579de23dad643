"""Shares: create (also into a consistency group, also from a snapshot), update, delete, actions."""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.errors import Forbidden, Invalid, InvalidState, NotFound, SilentNotFound
from lockstep.domain.hosts import owning_backend
from lockstep.domain.model import (
    MOUNT_SNAPSHOT_SPEC,
    SHARE_DELETABLE,
    SHRINKABLE,
    SNAPSHOT_INHERIT_ACCESS_SPEC,
    ConsistencyGroup,
    MetadataOwner,
    SchedulerHints,
    Share,
    ShareNetwork,
    ShareType,
    Snapshot,
    Status,
    utcnow,
)
from lockstep.domain.operations import Deletion, Entity, OperationKind
from lockstep.domain.operations import Resize as ResizeTo
from lockstep.service import affinity, resets
from lockstep.service.affinity import ADMIN_ONLY_METADATA
from lockstep.service.commands import (
    CreateShare,
    GroupApi,
    MetadataRef,
    RequestedSize,
    ResetStatus,
    ResetTaskState,
    Resize,
    SetMetadata,
    ShareChanges,
    unwrap,
)
from lockstep.service.context import RequestContext
from lockstep.service.group_terms import TERMS, GroupTerms
from lockstep.service.metadata import MetadataService
from lockstep.service.policy import Policy, Rule
from lockstep.service.quotas import NewShare, Quotas
from lockstep.service.scheduler import Scheduler
from lockstep.service.share_networks import check_active
from lockstep.service.share_rules import SizeCheck, check_encryption, check_mount_point_name, check_size, check_zone
from lockstep.service.share_types import ShareTypeService
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id

MAX_SIZE = 2**31 - 1  # GiB; what the size columns hold


class ShareService:
    def __init__(self, db: Database, policy: Policy, types: ShareTypeService, scheduler: Scheduler,
                 quotas: Quotas | None = None) -> None:
        self.db = db
        self.quotas = quotas or Quotas()
        self.scheduler = scheduler
        self.policy = policy
        self.types = types
        self._metadata = MetadataService(db, policy)

    # lookups ---------------------------------------------------------------
    def find(self, uow: UnitOfWork, ctx: RequestContext, share_id: str) -> Share:
        share = uow.shares.get(share_id, ctx.scope())
        if share is None:
            raise SilentNotFound()
        return share

    def get(self, ctx: RequestContext, share_id: str) -> Share:
        with self.db.read() as uow:
            share = uow.shares.get(share_id)
            if share is None or (not ctx.is_admin and share.project_id != ctx.project_id and not share.is_public):
                raise SilentNotFound()
        if not share.is_public:
            self.policy.authorize(ctx, Rule.SHARE_GET, share.project_id)
        return share

    # create ------------------------------------------------------------------
    # The steps run in Manila's order of checks: which 400 wins when several things are wrong is pinned.
    def create(self, ctx: RequestContext, cmd: CreateShare) -> Share:
        terms = TERMS[cmd.group_api]
        with self.db.write() as uow:
            zone = self._zone_in_group(uow, ctx, cmd)
            source = self._source(uow, ctx, cmd)
            if source.network_id:
                _check_network(uow.share_networks.get(source.network_id, ctx.scope()), source.network_id,
                               cmd.availability_zone)
            share_type = self._requested_type(uow, ctx, cmd, source)
            _check_type_rules(uow, cmd, share_type, source.parent)
            metadata = unwrap(cmd.metadata)  # service-layer checks come after the type's
            if source.snapshot is not None and source.snapshot.status != Status.AVAILABLE:
                raise InvalidState("Invalid share snapshot: status must be 'available'.")
            size = _size(cmd.size, source.snapshot)
            share_type = _type_of_parent(uow, share_type, source.parent)
            check_size(share_type, size, SizeCheck.CREATE)
            proto = unwrap(cmd.share_proto)
            check_mount_point_name(share_type, cmd.mount_point_name)
            self.quotas.charge_shares(uow, ctx.project_id, ctx.user_id,
                                      [NewShare(share_type.id if share_type else None, size)])
            is_public = unwrap(cmd.is_public)
            hints = affinity.resolve(uow, ctx, cmd.scheduler_hints)
            group = self._group(uow, ctx, cmd.consistency_group_id, share_type, source.network_id, terms)
            host = source.parent.host if source.parent is not None else ""
            if host:
                self.scheduler.check_clones_fit(uow, host, [size])
            else:
                # The record written below, with its pool, is the reservation: placement holds its lock
                # until this transaction commits, so concurrent creates count each other's.
                host = self.scheduler.place_new_share(uow, size, share_type,
                                                      group.host if group is not None else None, hints=hints,
                                                      proto=proto)
            now = utcnow()
            share_id = new_id()
            uow.shares.insert_row(
                id=share_id, project_id=ctx.project_id, user_id=ctx.user_id, name=cmd.name,
                description=cmd.description, size=size, share_proto=proto, status=Status.CREATING, host=host,
                availability_zone=zone, share_type_id=share_type.id if share_type else None,
                share_network_id=source.network_id, snapshot_id=cmd.snapshot_id or None, is_public=is_public,
                consistency_group_id=cmd.consistency_group_id or None, source_cgsnapshot_member_id=None,
                task_state=None, **_capabilities(share_type), created_at=now, updated_at=now,
                **_later_attributes(share_type, hints),
            )
            if metadata:
                uow.shares.set_metadata(share_id, metadata, replace=True)
            affinity.record(uow, share_id, hints)
            uow.operations.enqueue(OperationKind.CREATE_SHARE, share_id, backend=owning_backend(host))
            uow.commit()
        # Read after the commit: the placement lock (held to the commit) serialises every share create, and
        # the view's four reads were a third of the time it was held.
        with self.db.read() as uow:
            created = uow.shares.get(share_id)
        if created is None:  # deleted between the commit and this read (by someone who guessed its id)
            raise NotFound(f"Share {share_id} could not be found.")
        return created

    @staticmethod
    def _zone_in_group(uow: UnitOfWork, ctx: RequestContext, cmd: CreateShare) -> str | None:
        """A share in a share group (2.31+) is in the group's zone: a missing group is 404 here, before
        anything else is checked, and a zone asked for must be the group's (Manila's API checks)."""
        if cmd.group_api is not GroupApi.SHARE_GROUPS or not cmd.consistency_group_id:
            return cmd.availability_zone or None
        group = uow.groups.get(cmd.consistency_group_id, ctx.scope())
        if group is None:
            raise NotFound(TERMS[cmd.group_api].share_group_missing.format(id=cmd.consistency_group_id))
        if cmd.availability_zone and cmd.availability_zone != group.availability_zone:
            raise Invalid(f"Share cannot have AZ ('{cmd.availability_zone}') different than share group's one "
                          f"({group.availability_zone}).")
        return group.availability_zone or cmd.availability_zone or None

    def _source(self, uow: UnitOfWork, ctx: RequestContext, cmd: CreateShare) -> _Source:
        """The snapshot a share is created from, its parent share, and the network the share joins."""
        if not cmd.snapshot_id:
            return _Source(None, None, cmd.share_network_id)
        snapshot_id = cmd.snapshot_id
        snapshot = uow.snapshots.get(snapshot_id, ctx.scope())
        parent = uow.shares.get(snapshot.share_id) if snapshot is not None else None
        if snapshot is None or parent is None:
            raise NotFound(f"ShareSnapshotNotFound: Snapshot {snapshot_id} could not be found.")
        network_id = cmd.share_network_id
        if network_id and network_id != parent.share_network_id:
            raise Invalid("Share network ID should be the same as snapshot's parent share's or empty")
        if cmd.snapshot_capability_required and not parent.create_share_from_snapshot_support:
            raise Invalid(f"A new share may not be created from snapshot '{snapshot_id}', because the "
                          "snapshot's parent share does not have that capability.")
        return _Source(snapshot, parent, network_id or parent.share_network_id)

    def _requested_type(self, uow: UnitOfWork, ctx: RequestContext, cmd: CreateShare,
                        source: _Source) -> ShareType | None:
        share_type: ShareType | None = None
        if cmd.share_type:
            share_type = self.types.resolve(uow, ctx, cmd.share_type)
        elif source.parent is None:
            share_type = self.types.default_type(uow)
        if (share_type and share_type.dhss and not source.network_id and not source.snapshot
                and not cmd.consistency_group_id):
            raise Invalid("Share network must be set when the driver_handles_share_servers is true.")
        return share_type

    @staticmethod
    def _group(uow: UnitOfWork, ctx: RequestContext, group_id: str | None, share_type: ShareType | None,
               network_id: str | None, terms: GroupTerms) -> ConsistencyGroup | None:
        """The group the share joins, which must accept its type and network."""
        if not group_id:
            return None
        group = uow.groups.get(group_id, ctx.scope())
        if group is None:
            raise terms.share_group_missing_error(terms.share_group_missing.format(id=group_id))
        if group.status != Status.AVAILABLE:
            raise InvalidState(terms.share_group_status.format(status=group.status))
        if share_type is not None and share_type.id not in group.share_types:
            raise Invalid(terms.share_type_unsupported.format(type=share_type.id, group=group_id))
        if (network_id or None) != (group.share_network_id or None):
            raise Invalid(terms.share_network_unsupported.format(network=network_id, group=group_id))
        return group

    # update / delete ---------------------------------------------------------
    def update(self, ctx: RequestContext, share_id: str, changes: ShareChanges) -> Share:
        values = changes.values()
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            if share.is_soft_deleted:
                raise Forbidden(f"Share '{share_id} cannot be updated, since it has been soft deleted.")
            self.policy.authorize(ctx, Rule.SHARE_UPDATE, share.project_id)
            if values:
                uow.shares.cas(share_id, None, **values)
            updated = uow.shares.get(share_id)
            uow.commit()
        assert updated is not None
        return updated

    def delete(self, ctx: RequestContext, share_id: str, group_param: str | None, *, force: bool = False,
               api: GroupApi = GroupApi.CONSISTENCY_GROUPS) -> None:
        """`group_param`: the group the request names (`api` says by which parameter)."""
        terms = TERMS[api]
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            if force:
                self.policy.authorize(ctx, Rule.SHARE_FORCE_DELETE, share.project_id)
                _check_access_locks(uow, share_id, Invalid)
            else:
                _check_group_param(share, group_param, terms)
                _check_access_locks(uow, share_id, Forbidden)
                self.policy.authorize(ctx, Rule.SHARE_DELETE, share.project_id)
                if share.status not in SHARE_DELETABLE:
                    raise Forbidden("Invalid share: Share status must be one of ('available', 'error', "
                                    "'inactive').")
            check_no_dependents(uow, share_id, Invalid if force else Forbidden, terms)
            begin_deletion(uow, share, force=force)
            uow.commit()

    def reset_status(self, ctx: RequestContext, cmd: ResetStatus) -> None:
        with self.db.write() as uow:
            share = self.find(uow, ctx, cmd.target_id)
            if share.is_soft_deleted:
                raise Forbidden(f"status cannot be reset for share '{share.id}' since it has been soft deleted.")
            restored_into = share.consistency_group_id if share.source_cgsnapshot_member_id else None
            resets.reset_status(uow, uow.shares, Entity.SHARE, share.id, share.status, cmd.status,
                                restored_into=restored_into)
            uow.commit()

    def reset_task_state(self, ctx: RequestContext, cmd: ResetTaskState) -> None:
        """Manila checks `share:reset_status` on the share too (the route checked reset_task_state)."""
        with self.db.write() as uow:
            share = uow.shares.get(cmd.share_id, ctx.scope())
            if share is None:
                raise NotFound(f"Share {cmd.share_id} could not be found.")
            self.policy.authorize(ctx, Rule.SHARE_RESET_STATUS, share.project_id)
            uow.shares.cas(cmd.share_id, None, task_state=unwrap(cmd.task_state))
            uow.commit()

    def extend(self, ctx: RequestContext, cmd: Resize) -> None:
        share_id, new_size = cmd.share_id, cmd.new_size
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            if share.is_soft_deleted:
                raise Forbidden(f"Cannot extend share '{share_id}' since it has been soft deleted.")
            if cmd.force:
                self.policy.authorize(ctx, Rule.SHARE_FORCE_EXTEND, share.project_id)
            if share.status != Status.AVAILABLE:
                raise InvalidState(f"Invalid share: Share {share_id} status must be 'available' to extend, but "
                                   f"current status is: {share.status}..")
            if new_size <= share.size:
                raise Invalid(f"Invalid input received: New size for extend must be greater than current size. "
                              f"(current: {share.size}, extended: {new_size})..")
            if new_size > MAX_SIZE:
                raise Invalid(f"Invalid input received: New size for extend must not be larger than {MAX_SIZE} "
                              "GiB.")
            beyond_max = self.policy.allowed(ctx, Rule.SHARE_EXTEND_BEYOND_MAX_SIZE, share.project_id)
            check_size(_type_of(uow, share), new_size, SizeCheck.ADMIN_EXTEND if beyond_max else SizeCheck.EXTEND)
            # Charged to the share's owner, whoever asks (an admin extending a tenant's share).
            self.quotas.charge_extend(uow, share.project_id, share.user_id, NewShare(share.share_type_id, new_size),
                                      new_size - share.size)
            if not cmd.force:  # after the quota lock: every path takes it before the placement lock
                self.scheduler.check_extend_fits(uow, share.host, new_size - share.size)
            if not uow.shares.cas(share_id, [Status.AVAILABLE], status=Status.EXTENDING):
                raise InvalidState(f"Invalid share: Share {share_id} status must be 'available' to extend.")
            uow.operations.enqueue(OperationKind.EXTEND_SHARE, share_id,
                                   backend=owning_backend(share.host), payload=ResizeTo(new_size))
            uow.commit()

    def shrink(self, ctx: RequestContext, cmd: Resize) -> None:
        share_id, new_size = cmd.share_id, cmd.new_size
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            if share.is_soft_deleted:
                raise Forbidden(f"Cannot shrink share '{share_id}' since it has been soft deleted.")
            if share.status not in SHRINKABLE:
                raise InvalidState(f"Invalid share: Share {share_id} status must in (available, "
                                   f"shrinking_possible_data_loss_error) to shrink, but current status is: "
                                   f"{share.status}..")
            if new_size >= share.size or new_size <= 0:
                raise Invalid(f"Invalid input received: New size for shrink must be less than current size and "
                              f"greater than 0 (current: {share.size}, new: {new_size}).")
            check_size(_type_of(uow, share), new_size, SizeCheck.SHRINK)
            if not uow.shares.cas(share_id, SHRINKABLE, status=Status.SHRINKING):
                raise InvalidState(f"Invalid share: Share {share_id} status changed; try again.")
            uow.operations.enqueue(OperationKind.SHRINK_SHARE, share_id,
                                   backend=owning_backend(share.host), payload=ResizeTo(new_size))
            uow.commit()

    # metadata (reads through lockstep.service.metadata, as snapshots' and subnets'; writes add the
    # admin-only keys' guard of 2.68) -----------------------------------------------------------------
    def metadata(self, ctx: RequestContext, share_id: str) -> dict[str, str]:
        return self._metadata.get(ctx, MetadataRef(MetadataOwner.SHARE, share_id))

    def _metadata_share(self, uow: UnitOfWork, ctx: RequestContext, share_id: str, rule: Rule) -> Share:
        share = uow.shares.get(share_id, ctx.scope())
        if share is None:
            raise NotFound("share does not exist")
        self.policy.authorize(ctx, rule, share.project_id)
        return share

    def set_metadata(self, ctx: RequestContext, cmd: SetMetadata) -> dict[str, str]:
        with self.db.write() as uow:
            share = self._metadata_share(uow, ctx, cmd.share_id, Rule.SHARE_UPDATE_METADATA)
            metadata = self._guard_admin_only(ctx, share, cmd)
            uow.shares.set_metadata(cmd.share_id, metadata, replace=cmd.replace)
            updated = uow.shares.get(cmd.share_id)
            uow.commit()
        assert updated is not None
        return updated.metadata

    def _guard_admin_only(self, ctx: RequestContext, share: Share, cmd: SetMetadata) -> dict[str, str]:
        """Only admins set the admin-only keys (2.68, applied at every version as Manila does); a
        replacement that does not name them keeps the ones the share has."""
        if set(cmd.metadata) & set(ADMIN_ONLY_METADATA):
            if not self.policy.allowed(ctx, Rule.SHARE_UPDATE_ADMIN_ONLY_METADATA, share.project_id):
                raise Forbidden("Cannot set or update admin only metadata.")
            return cmd.metadata
        kept = {k: v for k, v in share.metadata.items() if k in ADMIN_ONLY_METADATA} if cmd.replace else {}
        return {**cmd.metadata, **kept}

    def delete_metadata(self, ctx: RequestContext, share_id: str, key: str) -> None:
        with self.db.write() as uow:
            share = self._metadata_share(uow, ctx, share_id, Rule.SHARE_DELETE_METADATA)
            if key in ADMIN_ONLY_METADATA:
                self.policy.authorize(ctx, Rule.SHARE_UPDATE_ADMIN_ONLY_METADATA, share.project_id)
            if not uow.shares.delete_metadata(share_id, key):
                raise NotFound("Metadata item was not found")
            uow.commit()


def begin_deletion(uow: UnitOfWork, share: Share, *, force: bool) -> None:
    """Delete a share whose checks passed: at once if it was never placed, else through its backend."""
    affinity.forget(uow, share)
    expected = None if force else SHARE_DELETABLE
    if not share.host and uow.operations.pending_for(share.id) == 0:
        # Never placed: nothing exists on any backend.
        if not uow.shares.delete(share.id, expected):
            raise Forbidden("Invalid share: Share status changed while deleting it; try again.")
        return
    if not uow.shares.cas(share.id, expected, status=Status.DELETING):
        raise Forbidden("Invalid share: Share status must be one of ('available', 'error', 'inactive').")
    uow.operations.enqueue(OperationKind.DELETE_SHARE, share.id, backend=owning_backend(share.host),
                           payload=Deletion(force))


def _type_of(uow: UnitOfWork, share: Share) -> ShareType | None:
    return uow.share_types.get(share.share_type_id) if share.share_type_id else None


@dataclass(frozen=True)
class _Source:
    snapshot: Snapshot | None
    parent: Share | None  # the snapshot's share
    network_id: str | None


def _check_network(network: ShareNetwork | None, network_id: str, zone: str | None) -> None:
    """The network exists, is active (2.63 statuses), and reaches the zone asked for (2.51 subnets)."""
    if network is None:
        raise NotFound(f"Share network {network_id} could not be found.")
    check_active(network)
    if zone and not any(s.availability_zone in (zone, None) for s in network.subnets):
        raise Invalid("A share network subnet was not found for the requested availability zone.")


def _size(requested: RequestedSize, snapshot: Snapshot | None) -> int:
    size = snapshot.size if snapshot is not None and not requested.given else requested.value
    if size is None or size <= 0:
        raise Invalid(f"Invalid input received: Share size '{requested.text}' must be an integer and greater "
                      "than 0.")
    if size > MAX_SIZE:
        raise Invalid(f"Invalid input received: Share size '{requested.text}' is larger than {MAX_SIZE} GiB.")
    if snapshot is not None and size < snapshot.size:
        raise Invalid(f"Invalid input received: Share size '{size}' must be equal or greater than "
                      "snapshot size.")
    return size


def _type_of_parent(uow: UnitOfWork, share_type: ShareType | None, parent: Share | None) -> ShareType | None:
    """A share from a snapshot has its parent's type: inherited if none was named, else it must match."""
    if parent is None:
        return share_type
    if share_type is None and parent.share_type_id:
        return uow.share_types.get(parent.share_type_id)
    if share_type is not None and share_type.id != parent.share_type_id:
        raise Invalid("Invalid input received: Invalid share type specified: the requested share "
                      "type must match the type of the source share. If a share type is not "
                      "specified when requesting a new share from a snapshot, the share type of "
                      "the source share will be applied to the new share.")
    return share_type


def _check_type_rules(uow: UnitOfWork, cmd: CreateShare, share_type: ShareType | None, parent: Share | None) -> None:
    """What the type (or, from a snapshot, its parent's type) must allow: the zone (2.48), encryption (2.90)."""
    chosen, label = share_type, cmd.share_type or ""
    if chosen is None and parent is not None and parent.share_type_id:
        chosen = uow.share_types.get(parent.share_type_id)
        label = f"{chosen.name if chosen else parent.share_type_id} (from source snapshot)"
    if cmd.zone_for_type_check is not None:
        check_zone(chosen, label or (chosen.name if chosen else ""), cmd.zone_for_type_check,
                   asked=bool(cmd.availability_zone))
    check_encryption(share_type, cmd.encryption_key_ref)


def _later_attributes(share_type: ShareType | None, hints: SchedulerHints | None) -> dict[str, object]:
    """Columns of a new share that versions after 2.30 added."""
    inherit = share_type.spec_bool(SNAPSHOT_INHERIT_ACCESS_SPEC) if share_type else False
    return {"progress": None, "snapshot_inherit_share_access_support": inherit, "scheduler_hints": hints}


def _capabilities(share_type: ShareType | None) -> dict[str, bool]:
    """What a new share can do, copied from its type's extra specs when it is created."""
    keys = ("snapshot_support", "create_share_from_snapshot_support", "revert_to_snapshot_support",
            MOUNT_SNAPSHOT_SPEC)
    return {key: share_type.spec_bool(key) if share_type else False for key in keys}


def _check_group_param(share: Share, group_param: str | None, terms: GroupTerms) -> None:
    """A share in a group is deleted only by naming the group too (Manila's guard)."""
    if not share.consistency_group_id:
        return
    if not group_param:
        raise Invalid(terms.delete_param_missing)
    if group_param != share.consistency_group_id:
        raise Invalid(terms.delete_param_mismatch)


def _check_access_locks(uow: UnitOfWork, share_id: str, refusal: type[Invalid] | type[Forbidden]) -> None:
    """A rule granted with a deletion lock (2.82) locks its share's deletion too, until the rule is gone."""
    locks = uow.access_rules.share_locks(share_id)
    if locks:
        raise refusal(f"Resource lock/s [{', '.join(locks)}] prevent delete action.")


def check_no_dependents(uow: UnitOfWork, share_id: str, refusal: type[Invalid] | type[Forbidden],
                        terms: GroupTerms) -> None:
    """No snapshot and no group snapshot member still needs the share (`terms`: how the API names them)."""
    snapshots = uow.shares.count_snapshots(share_id)
    if snapshots:
        raise refusal(f"Invalid share: Share still has {snapshots} dependent snapshots.")
    members = uow.shares.count_cgsnapshot_members(share_id)
    if members:
        raise refusal(terms.dependent_members.format(count=members))

