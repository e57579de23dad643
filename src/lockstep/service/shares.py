"""Shares: create (also into a consistency group, also from a snapshot), update, delete, actions."""

from __future__ import annotations

import math
from typing import Any

from lockstep.domain.errors import Conflict, Forbidden, Invalid, InvalidState, NotFound, SilentNotFound
from lockstep.domain.model import (
    RESET_STATUSES,
    SHARE_DELETABLE,
    SHARE_PROTOCOLS,
    SHRINKABLE,
    Share,
    ShareType,
    Status,
    parse_bool,
    utcnow,
)
from lockstep.domain.operations import Deletion, OperationKind, Resize
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.scheduler import Scheduler
from lockstep.service.share_types import ShareTypeService
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import check_metadata, new_id, optional_text

MAX_SIZE = 2**31 - 1  # GiB; what the size columns hold


def parse_size(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


class ShareService:
    def __init__(self, db: Database, policy: Policy, types: ShareTypeService, availability_zone: str,
                 scheduler: Scheduler) -> None:
        self.db = db
        self.scheduler = scheduler
        self.policy = policy
        self.types = types
        self.availability_zone = availability_zone

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
    def create(self, ctx: RequestContext, entity: dict[str, Any], version: tuple[int, int]) -> Share:
        self.policy.authorize(ctx, Rule.SHARE_CREATE)
        name = optional_text(entity, "name", "display_name", field="name") or None
        description = optional_text(entity, "description", "display_description", field="description") or None
        if "share_proto" not in entity or not isinstance(entity["share_proto"], str):
            raise Invalid("Invalid input received: 'share_proto' must be given as a string.")
        if "size" not in entity:
            raise Invalid("Invalid input received: 'size' must be given.")
        group_id = entity.get("consistency_group_id") if version >= (2, 4) else None
        if group_id is not None and not isinstance(group_id, str):
            raise Invalid("Invalid input received: 'consistency_group_id' must be a string.")
        is_public_raw = entity.get("is_public", False)
        az = entity.get("availability_zone")
        if az is not None and not isinstance(az, str):
            raise Invalid("Invalid input received: 'availability_zone' must be a string.")
        if az and az != self.availability_zone:
            raise NotFound(f"Availability zone {az} could not be found.")
        network_id = entity.get("share_network_id")
        if network_id is not None and not isinstance(network_id, str):
            raise Invalid("Invalid input received: 'share_network_id' must be a string.")
        snapshot_id = entity.get("snapshot_id")
        if snapshot_id is not None and not isinstance(snapshot_id, str):
            raise Invalid("Invalid input received: 'snapshot_id' must be a string.")
        if "share_type" in entity and "volume_type" in entity:
            raise Invalid("Cannot specify both share_type and volume_type")
        type_ref = entity.get("share_type", entity.get("volume_type"))
        if type_ref is not None and not isinstance(type_ref, str):
            raise Invalid("Invalid input received: 'share_type' must be a string.")

        with self.db.write() as uow:
            snapshot = None
            parent: Share | None = None
            host = ""
            if snapshot_id:
                snapshot = uow.snapshots.get(snapshot_id, ctx.scope())
                if snapshot is None:
                    raise NotFound(f"ShareSnapshotNotFound: Snapshot {snapshot_id} could not be found.")
                parent = uow.shares.get(snapshot.share_id)
                if parent is None:
                    raise NotFound(f"ShareSnapshotNotFound: Snapshot {snapshot_id} could not be found.")
                if network_id and network_id != parent.share_network_id:
                    raise Invalid("Share network ID should be the same as snapshot's parent share's or empty")
                network_id = network_id or parent.share_network_id
                if version >= (2, 24) and not parent.create_share_from_snapshot_support:
                    raise Invalid(f"A new share may not be created from snapshot '{snapshot_id}', because the "
                                  "snapshot's parent share does not have that capability.")
                host = parent.host
            if network_id and uow.share_networks.get(network_id, ctx.scope()) is None:
                raise NotFound(f"Share network {network_id} could not be found.")
            share_type: ShareType | None = None
            if type_ref:
                share_type = self.types.resolve(uow, ctx, type_ref)
            elif parent is None:
                share_type = self.types.default_type(uow)
            if share_type and share_type.dhss and not network_id and not snapshot and not group_id:
                raise Invalid("Share network must be set when the driver_handles_share_servers is true.")
            metadata = check_metadata(entity.get("metadata"))  # service-layer checks come after the type's
            if snapshot is not None and snapshot.status != Status.AVAILABLE:
                raise InvalidState("Invalid share snapshot: status must be 'available'.")
            size_raw = entity.get("size")
            if snapshot is not None and not size_raw:
                size: int | None = snapshot.size
            else:
                size = parse_size(size_raw)
            if size is None or size <= 0:
                raise Invalid(f"Invalid input received: Share size '{size_raw}' must be an integer and greater "
                              "than 0.")
            if size > MAX_SIZE:
                raise Invalid(f"Invalid input received: Share size '{size_raw}' is larger than {MAX_SIZE} GiB.")
            if snapshot is not None and size < snapshot.size:
                raise Invalid(f"Invalid input received: Share size '{size}' must be equal or greater than "
                              "snapshot size.")
            if parent is not None:
                if share_type is None and parent.share_type_id:
                    share_type = uow.share_types.get(parent.share_type_id)
                elif share_type is not None and share_type.id != parent.share_type_id:
                    raise Invalid("Invalid input received: Invalid share type specified: the requested share "
                                  "type must match the type of the source share. If a share type is not "
                                  "specified when requesting a new share from a snapshot, the share type of "
                                  "the source share will be applied to the new share.")
            proto = entity["share_proto"]
            if proto.upper() not in SHARE_PROTOCOLS:
                raise Invalid(f"Invalid input received: Invalid share protocol provided: {proto}. It is either "
                              f"disabled or unsupported. Available protocols: {list(SHARE_PROTOCOLS)}.")
            try:
                is_public = parse_bool(is_public_raw, strict=True)
            except ValueError:
                raise Invalid(f"Invalid input received: Invalid value for is_public: {is_public_raw}.") from None
            group = None
            if group_id:
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
            if not host:
                group_host = group.host if group_id and group is not None else None
                self.scheduler.check_share_fits(uow, size, share_type, group_host)
            now = utcnow()
            share_id = new_id()
            uow.shares.insert_row(
                id=share_id, project_id=ctx.project_id, user_id=ctx.user_id, name=name, description=description,
                size=size, share_proto=proto.upper(), status=Status.CREATING, host=host,
                availability_zone=az or None, share_type_id=share_type.id if share_type else None,
                share_network_id=network_id, snapshot_id=snapshot_id or None, is_public=is_public,
                consistency_group_id=group_id or None, source_cgsnapshot_member_id=None, task_state=None,
                snapshot_support=share_type.spec_bool("snapshot_support") if share_type else False,
                create_share_from_snapshot_support=(
                    share_type.spec_bool("create_share_from_snapshot_support") if share_type else False),
                revert_to_snapshot_support=(
                    share_type.spec_bool("revert_to_snapshot_support") if share_type else False),
                created_at=now, updated_at=now,
            )
            if metadata:
                uow.shares.set_metadata(share_id, metadata, replace=True)
            uow.operations.enqueue(OperationKind.CREATE_SHARE, share_id, backend=_backend_of(host))
            created = uow.shares.get(share_id)
            uow.commit()
        assert created is not None
        return created

    # update / delete ---------------------------------------------------------
    def update(self, ctx: RequestContext, share_id: str, entity: dict[str, Any]) -> Share:
        values: dict[str, Any] = {}
        if "display_name" in entity:
            values["name"] = optional_text(entity, "display_name", field="display_name")
        if "display_description" in entity:
            values["description"] = optional_text(entity, "display_description", field="display_description")
        if "is_public" in entity:
            try:
                values["is_public"] = parse_bool(entity["is_public"], strict=True)
            except ValueError:
                raise Invalid(f"Invalid input received: Invalid value for is_public: {entity['is_public']}.") from None
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
            if not force and share.consistency_group_id:
                if not group_param:
                    raise Invalid("Must provide 'consistency_group_id' as a request parameter when deleting a "
                                  "share in a consistency group.")
                if group_param != share.consistency_group_id:
                    raise Invalid("The specified 'consistency_group_id' does not match the consistency group id "
                                  "of the share.")
            if force:
                self.policy.authorize(ctx, Rule.SHARE_FORCE_DELETE, share.project_id)
            else:
                self.policy.authorize(ctx, Rule.SHARE_DELETE, share.project_id)
                if share.status not in SHARE_DELETABLE:
                    raise Forbidden("Invalid share: Share status must be one of ('available', 'error', "
                                    "'inactive').")
            refusal = Invalid if force else Forbidden
            snapshots = uow.shares.count_snapshots(share_id)
            if snapshots:
                raise refusal(f"Invalid share: Share still has {snapshots} dependent snapshots.")
            members = uow.shares.count_cgsnapshot_members(share_id)
            if members:
                raise refusal(f"Invalid share: Share still has {members} dependent cgsnapshot members.")
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
                                       backend=_backend_of(share.host), payload=Deletion(force))
            uow.commit()

    def reset_status(self, ctx: RequestContext, share_id: str, status: object) -> None:
        self.policy.authorize(ctx, Rule.SHARE_RESET_STATUS)
        status = check_reset_status(status)
        with self.db.write() as uow:
            self.find(uow, ctx, share_id)
            uow.shares.cas(share_id, None, status=status)
            uow.commit()

    def extend(self, ctx: RequestContext, share_id: str, body: object) -> None:
        self.policy.authorize(ctx, Rule.SHARE_EXTEND)
        new_size = parse_size(body.get("new_size")) if isinstance(body, dict) else None
        if new_size is None:
            raise Invalid("New share size must be specified as an integer.")
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
            if not uow.shares.cas(share_id, [Status.AVAILABLE], status=Status.EXTENDING):
                raise InvalidState(f"Invalid share: Share {share_id} status must be 'available' to extend.")
            uow.operations.enqueue(OperationKind.EXTEND_SHARE, share_id,
                                   backend=_backend_of(share.host), payload=Resize(new_size))
            uow.commit()

    def shrink(self, ctx: RequestContext, share_id: str, body: object) -> None:
        self.policy.authorize(ctx, Rule.SHARE_SHRINK)
        new_size = parse_size(body.get("new_size")) if isinstance(body, dict) else None
        if new_size is None:
            raise Invalid("New share size must be specified as an integer.")
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
                                   backend=_backend_of(share.host), payload=Resize(new_size))
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

    def set_metadata(self, ctx: RequestContext, share_id: str, metadata: object, *, replace: bool) -> dict[str, str]:
        if not isinstance(metadata, dict):
            raise Invalid("Malformed request body")
        checked = check_metadata(metadata)
        with self.db.write() as uow:
            self._metadata_share(uow, ctx, share_id, Rule.SHARE_UPDATE_METADATA)
            uow.shares.set_metadata(share_id, checked, replace=replace)
            share = uow.shares.get(share_id)
            uow.commit()
        assert share is not None
        return share.metadata

    def delete_metadata(self, ctx: RequestContext, share_id: str, key: str) -> None:
        with self.db.write() as uow:
            self._metadata_share(uow, ctx, share_id, Rule.SHARE_DELETE_METADATA)
            if not uow.shares.delete_metadata(share_id, key):
                raise NotFound("Metadata item was not found")
            uow.commit()


def check_reset_status(value: object) -> str:
    status = value.get("status") if isinstance(value, dict) else None
    if status is None:
        raise Invalid("Must specify 'status'")
    if status not in [str(s) for s in RESET_STATUSES]:
        raise Invalid(f"Invalid state. Valid states: {', '.join(str(s) for s in RESET_STATUSES)}.")
    return str(status)


def _backend_of(host: str | None) -> str | None:
    """`host@backend#pool` -> `host@backend` (the worker that owns it); None if unplaced."""
    if not host:
        return None
    return host.split("#", 1)[0]


__all__ = ["ShareService", "check_reset_status", "Conflict"]
