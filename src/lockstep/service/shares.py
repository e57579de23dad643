"""Shares: create (also into a consistency group, also from a snapshot), update, delete, actions."""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.errors import Forbidden, Invalid, InvalidState, NotFound, SilentNotFound
from lockstep.domain.hosts import owning_backend
from lockstep.domain.model import (
    SHARE_DELETABLE,
    SHRINKABLE,
    ConsistencyGroup,
    Share,
    ShareType,
    Snapshot,
    Status,
    utcnow,
)
from lockstep.domain.operations import Deletion, OperationKind
from lockstep.domain.operations import Resize as ResizeTo
from lockstep.service.commands import CreateShare, RequestedSize, ResetStatus, Resize, SetMetadata, ShareChanges, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.quotas import NewShare, Quotas
from lockstep.service.scheduler import Scheduler
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
        with self.db.write() as uow:
            source = self._source(uow, ctx, cmd)
            if source.network_id and uow.share_networks.get(source.network_id, ctx.scope()) is None:
                raise NotFound(f"Share network {source.network_id} could not be found.")
            share_type = self._requested_type(uow, ctx, cmd, source)
            metadata = unwrap(cmd.metadata)  # service-layer checks come after the type's
            if source.snapshot is not None and source.snapshot.status != Status.AVAILABLE:
                raise InvalidState("Invalid share snapshot: status must be 'available'.")
            size = _size(cmd.size, source.snapshot)
            share_type = _type_of_parent(uow, share_type, source.parent)
            proto = unwrap(cmd.share_proto)
            self.quotas.charge_shares(uow, ctx.project_id, ctx.user_id,
                                      [NewShare(share_type.id if share_type else None, size)])
            is_public = unwrap(cmd.is_public)
            group = self._group(uow, ctx, cmd.consistency_group_id, share_type, source.network_id)
            host = source.parent.host if source.parent is not None else ""
            if not host:
                self.scheduler.check_share_fits(uow, size, share_type, group.host if group is not None else None)
            now = utcnow()
            share_id = new_id()
            uow.shares.insert_row(
                id=share_id, project_id=ctx.project_id, user_id=ctx.user_id, name=cmd.name,
                description=cmd.description, size=size, share_proto=proto, status=Status.CREATING, host=host,
                availability_zone=cmd.availability_zone or None, share_type_id=share_type.id if share_type else None,
                share_network_id=source.network_id, snapshot_id=cmd.snapshot_id or None, is_public=is_public,
                consistency_group_id=cmd.consistency_group_id or None, source_cgsnapshot_member_id=None,
                task_state=None, **_capabilities(share_type), created_at=now, updated_at=now,
            )
            if metadata:
                uow.shares.set_metadata(share_id, metadata, replace=True)
            uow.operations.enqueue(OperationKind.CREATE_SHARE, share_id, backend=owning_backend(host))
            created = uow.shares.get(share_id)
            uow.commit()
        assert created is not None
        return created

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
               network_id: str | None) -> ConsistencyGroup | None:
        """The consistency group the share joins, which must accept its type and network."""
        if not group_id:
            return None
        group = uow.groups.get(group_id, ctx.scope())
        if group is None:
            raise Invalid(f"ConsistencyGroup {group_id} could not be found.")
        if group.status != Status.AVAILABLE:
            raise InvalidState(f"Consistency group status must be available, got{group.status}.")
        if share_type is not None and share_type.id not in group.share_types:
            raise Invalid(f"The specified share type ({share_type.id}) is not supported by the "
                          f"specified consistency group ({group_id}).")
        if (network_id or None) != (group.share_network_id or None):
            raise Invalid(f"The specified share network ({network_id}) is not supported by the "
                          f"specified consistency group ({group_id}).")
        return group

    # update / delete ---------------------------------------------------------
    def update(self, ctx: RequestContext, share_id: str, changes: ShareChanges) -> Share:
        values = changes.values()
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            self.policy.authorize(ctx, Rule.SHARE_UPDATE, share.project_id)
            if values:
                uow.shares.cas(share_id, None, **values)
            updated = uow.shares.get(share_id)
            uow.commit()
        assert updated is not None
        return updated

    def delete(self, ctx: RequestContext, share_id: str, group_param: str | None, *, force: bool = False) -> None:
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            if force:
                self.policy.authorize(ctx, Rule.SHARE_FORCE_DELETE, share.project_id)
            else:
                _check_group_param(share, group_param)
                self.policy.authorize(ctx, Rule.SHARE_DELETE, share.project_id)
                if share.status not in SHARE_DELETABLE:
                    raise Forbidden("Invalid share: Share status must be one of ('available', 'error', "
                                    "'inactive').")
            _check_no_dependents(uow, share_id, Invalid if force else Forbidden)
            expected = None if force else SHARE_DELETABLE
            if not share.host and uow.operations.pending_for(share_id) == 0:
                # Never placed: nothing exists on any backend.
                if not uow.shares.delete(share_id, expected):
                    raise Forbidden("Invalid share: Share status changed while deleting it; try again.")
            else:
                if not uow.shares.cas(share_id, expected, status=Status.DELETING):
                    raise Forbidden("Invalid share: Share status must be one of ('available', 'error', "
                                    "'inactive').")
                uow.operations.enqueue(OperationKind.DELETE_SHARE, share_id,
                                       backend=owning_backend(share.host), payload=Deletion(force))
            uow.commit()

    def reset_status(self, ctx: RequestContext, cmd: ResetStatus) -> None:
        with self.db.write() as uow:
            self.find(uow, ctx, cmd.target_id)
            uow.shares.cas(cmd.target_id, None, status=cmd.status)
            uow.commit()

    def extend(self, ctx: RequestContext, cmd: Resize) -> None:
        share_id, new_size = cmd.share_id, cmd.new_size
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            if share.status != Status.AVAILABLE:
                raise InvalidState(f"Invalid share: Share {share_id} status must be 'available' to extend, but "
                                   f"current status is: {share.status}..")
            if new_size <= share.size:
                raise Invalid(f"Invalid input received: New size for extend must be greater than current size. "
                              f"(current: {share.size}, extended: {new_size})..")
            if new_size > MAX_SIZE:
                raise Invalid(f"Invalid input received: New size for extend must not be larger than {MAX_SIZE} "
                              "GiB.")
            # Charged to the share's owner, whoever asks (an admin extending a tenant's share).
            self.quotas.charge_extend(uow, share.project_id, share.user_id, NewShare(share.share_type_id, new_size),
                                      new_size - share.size)
            if not uow.shares.cas(share_id, [Status.AVAILABLE], status=Status.EXTENDING):
                raise InvalidState(f"Invalid share: Share {share_id} status must be 'available' to extend.")
            uow.operations.enqueue(OperationKind.EXTEND_SHARE, share_id,
                                   backend=owning_backend(share.host), payload=ResizeTo(new_size))
            uow.commit()

    def shrink(self, ctx: RequestContext, cmd: Resize) -> None:
        share_id, new_size = cmd.share_id, cmd.new_size
        with self.db.write() as uow:
            share = self.find(uow, ctx, share_id)
            if share.status not in SHRINKABLE:
                raise InvalidState(f"Invalid share: Share {share_id} status must in (available, "
                                   f"shrinking_possible_data_loss_error) to shrink, but current status is: "
                                   f"{share.status}..")
            if new_size >= share.size or new_size <= 0:
                raise Invalid(f"Invalid input received: New size for shrink must be less than current size and "
                              f"greater than 0 (current: {share.size}, new: {new_size}).")
            if not uow.shares.cas(share_id, SHRINKABLE, status=Status.SHRINKING):
                raise InvalidState(f"Invalid share: Share {share_id} status changed; try again.")
            uow.operations.enqueue(OperationKind.SHRINK_SHARE, share_id,
                                   backend=owning_backend(share.host), payload=ResizeTo(new_size))
            uow.commit()

    # metadata ----------------------------------------------------------------
    def _metadata_share(self, uow: UnitOfWork, ctx: RequestContext, share_id: str, rule: Rule) -> Share:
        share = uow.shares.get(share_id, ctx.scope())
        if share is None:
            raise NotFound("share does not exist")
        self.policy.authorize(ctx, rule, share.project_id)
        return share

    def metadata(self, ctx: RequestContext, share_id: str) -> dict[str, str]:
        with self.db.read() as uow:
            return self._metadata_share(uow, ctx, share_id, Rule.SHARE_GET_METADATA).metadata

    def set_metadata(self, ctx: RequestContext, cmd: SetMetadata) -> dict[str, str]:
        with self.db.write() as uow:
            self._metadata_share(uow, ctx, cmd.share_id, Rule.SHARE_UPDATE_METADATA)
            uow.shares.set_metadata(cmd.share_id, cmd.metadata, replace=cmd.replace)
            share = uow.shares.get(cmd.share_id)
            uow.commit()
        assert share is not None
        return share.metadata

    def delete_metadata(self, ctx: RequestContext, share_id: str, key: str) -> None:
        with self.db.write() as uow:
            self._metadata_share(uow, ctx, share_id, Rule.SHARE_DELETE_METADATA)
            if not uow.shares.delete_metadata(share_id, key):
                raise NotFound("Metadata item was not found")
            uow.commit()


@dataclass(frozen=True)
class _Source:
    snapshot: Snapshot | None
    parent: Share | None  # the snapshot's share
    network_id: str | None


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


def _capabilities(share_type: ShareType | None) -> dict[str, bool]:
    """What a new share can do, copied from its type's extra specs when it is created."""
    keys = ("snapshot_support", "create_share_from_snapshot_support", "revert_to_snapshot_support")
    return {key: share_type.spec_bool(key) if share_type else False for key in keys}


def _check_group_param(share: Share, group_param: str | None) -> None:
    """A share in a consistency group is deleted only by naming the group too (Manila's guard)."""
    if not share.consistency_group_id:
        return
    if not group_param:
        raise Invalid("Must provide 'consistency_group_id' as a request parameter when deleting a "
                      "share in a consistency group.")
    if group_param != share.consistency_group_id:
        raise Invalid("The specified 'consistency_group_id' does not match the consistency group id "
                      "of the share.")


def _check_no_dependents(uow: UnitOfWork, share_id: str, refusal: type[Invalid] | type[Forbidden]) -> None:
    snapshots = uow.shares.count_snapshots(share_id)
    if snapshots:
        raise refusal(f"Invalid share: Share still has {snapshots} dependent snapshots.")
    members = uow.shares.count_cgsnapshot_members(share_id)
    if members:
        raise refusal(f"Invalid share: Share still has {members} dependent cgsnapshot members.")

