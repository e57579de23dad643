"""What the use cases take: values parsed and checked at the edge (the API), never request JSON.

Manila made some pure checks only after a lookup (a share's metadata is checked after its share
type is found), and clients see which 400 wins. A parser cannot report such a failure early without
changing that order, so it records it as a `Checked` value: either the parsed value or the `Invalid`
to raise. The use case calls `unwrap` at the step where Manila checked it.

Versions never reach the service: where a microversion changes behaviour, the route sets a flag.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Literal, TypeAlias, TypeVar

from lockstep.domain.errors import Invalid
from lockstep.domain.model import MetadataOwner, SchedulerHints, Status
from lockstep.domain.quotas import Resource

T = TypeVar("T")

Checked: TypeAlias = T | Invalid


def unwrap(value: Checked[T]) -> T:
    if isinstance(value, Invalid):
        raise value
    return value


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP
#: A field of an update: the new value, or KEEP when the body did not name it.
Change: TypeAlias = T | Literal[_Keep.KEEP]


@dataclass(frozen=True)
class Changes:
    """Update values; `values()` holds the fields the body named, for a compare-and-set write."""

    def values(self) -> dict[str, object]:
        named = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value for name, value in named if value is not KEEP}


@dataclass(frozen=True)
class TextChanges(Changes):
    name: Change[str | None] = KEEP
    description: Change[str | None] = KEEP


class GroupApi(enum.Enum):
    """Which API names a group: one store, seen as consistency groups and cgsnapshots at 2.4-2.30 and as
    share groups and share group snapshots from 2.31. They differ in words and in a few rules."""

    CONSISTENCY_GROUPS = "consistency-groups"
    SHARE_GROUPS = "share-groups"


@dataclass(frozen=True)
class ResetStatus:
    target_id: str
    status: Status


# Shares --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestedSize:
    value: int | None  # None: not a whole number
    text: str  # as the body gave it, for messages
    given: bool  # false for 0, "" and null: a share from a snapshot then takes the snapshot's size


@dataclass(frozen=True)
class CreateShare:
    share_proto: Checked[str]  # upper case
    size: RequestedSize
    name: str | None
    description: str | None
    consistency_group_id: str | None  # always None before 2.4
    availability_zone: str | None
    share_network_id: str | None
    snapshot_id: str | None
    share_type: str | None  # a name or an id
    metadata: Checked[dict[str, str]]
    is_public: Checked[bool]
    # From 2.24 a share may be created from a snapshot only if its parent share has that capability.
    snapshot_capability_required: bool
    # From 2.48 the type's `availability_zones` must include the zone the share is created in: this
    # one (the zone asked for, else the zone this service serves); None below 2.48.
    zone_for_type_check: str | None = None
    scheduler_hints: SchedulerHints | None = None  # 2.65 (only_host from 2.67, for admins)
    mount_point_name: str | None = None  # 2.84
    encryption_key_ref: str | None = None  # 2.90
    # Which API named the group (`consistency_group_id` up to 2.30, `share_group_id` from 2.31).
    group_api: GroupApi = GroupApi.CONSISTENCY_GROUPS


@dataclass(frozen=True)
class ShareChanges(TextChanges):
    is_public: Change[bool] = KEEP


@dataclass(frozen=True)
class Resize:
    share_id: str
    new_size: int
    force: bool = False  # extend (2.64): an admin skips the capacity check of the share's pool


@dataclass(frozen=True)
class SetMetadata:
    share_id: str
    metadata: dict[str, str]
    replace: bool


# Snapshots -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateSnapshot:
    share_id: str
    name: str | None
    description: str | None
    metadata: Checked[dict[str, str]] = field(default_factory=dict)  # 2.73; checked after the share's state


# Consistency groups and cgsnapshots ---------------------------------------------------------
@dataclass(frozen=True)
class CreateConsistencyGroup:
    name: str | None
    description: str | None
    share_types: tuple[str, ...]  # ids
    use_default_type: bool  # neither share types nor a source cgsnapshot were named
    source_cgsnapshot_id: str | None  # a uuid
    share_network_id: Checked[str | None]  # a uuid
    api: GroupApi = GroupApi.CONSISTENCY_GROUPS
    # Share groups only: None asks for the default group type (or, from a snapshot, the source group's).
    share_group_type_id: Checked[str | None] = None  # a uuid
    availability_zone: str | None = None  # a name or an id


@dataclass(frozen=True)
class CreateCGSnapshot:
    consistency_group_id: str  # a uuid
    name: str | None
    description: str | None
    api: GroupApi = GroupApi.CONSISTENCY_GROUPS


# Share group types ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateShareGroupType:
    name: str
    share_types: tuple[str, ...]  # names or ids
    group_specs: dict[str, str]
    is_public: bool


@dataclass(frozen=True)
class SetGroupSpecs:
    share_group_type_id: str
    # Checked after the type is found, as Manila did (a missing type is 404 before a bad spec's 400).
    group_specs: Checked[dict[str, str]]


@dataclass(frozen=True)
class ChangeGroupTypeAccess:
    share_group_type_id: str
    project_id: str
    add: bool


# Share types ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateShareType:
    name: str
    extra_specs: dict[str, str]
    is_public: bool
    description: str | None = None  # 2.41


@dataclass(frozen=True)
class ShareTypeChanges(Changes):
    """`PUT /types/{id}` (2.50)."""

    name: Change[str] = KEEP
    description: Change[str | None] = KEEP
    is_public: Change[bool] = KEEP


@dataclass(frozen=True)
class SetExtraSpecs:
    share_type_id: str
    extra_specs: dict[str, str]


@dataclass(frozen=True)
class ChangeTypeAccess:
    share_type_id: str
    project_id: str
    add: bool


# Share networks ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShareNetworkFields(Changes):
    name: Change[str | None] = KEEP
    description: Change[str | None] = KEEP
    neutron_net_id: Change[str | None] = KEEP
    neutron_subnet_id: Change[str | None] = KEEP
    network_type: Change[str | None] = KEEP
    cidr: Change[str | None] = KEEP
    gateway: Change[str | None] = KEEP
    segmentation_id: Change[int | None] = KEEP
    ip_version: Change[int | None] = KEEP
    mtu: Change[int | None] = KEEP


# Access rules --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grantee:
    access_type: str
    access_to: str


@dataclass(frozen=True)
class AccessLocks:
    """The locks a grant asks for (2.82)."""

    deletion: bool = False
    visibility: bool = False
    reason: str | None = None

    @property
    def any(self) -> bool:
        return self.deletion or self.visibility


@dataclass(frozen=True)
class GrantAccess:
    share_id: str
    # Checked in Manila's order after the share is found: locks, grantee, level, metadata.
    locks: Checked[AccessLocks]
    grantee: Checked[Grantee]
    access_level: Checked[str]
    metadata: Checked[dict[str, str]]
    refuse_if_rules_failed: bool  # below 2.28: no new rule while the share's rules are in error
    refuse_if_share_failed: bool  # below 2.74: no new rule while the share is in error


@dataclass(frozen=True)
class DenyAccess:
    share_id: str
    access_id: str
    unrestrict: bool  # 2.82: lift the rule's deletion lock (its placer's or an admin's)
    refuse_if_share_failed: bool  # below 2.74


@dataclass(frozen=True)
class SetAccessMetadata:
    access_id: str
    metadata: Checked[dict[str, str]]  # checked once the rule is found


@dataclass(frozen=True)
class CreateShareNetwork:
    fields: ShareNetworkFields
    availability_zone: str | None  # of its default subnet: a known zone's name (2.51+), else None


@dataclass(frozen=True)
class SubnetFields(Changes):
    neutron_net_id: Change[str | None] = KEEP
    neutron_subnet_id: Change[str | None] = KEEP
    network_type: Change[str | None] = KEEP
    cidr: Change[str | None] = KEEP
    gateway: Change[str | None] = KEEP
    segmentation_id: Change[int | None] = KEEP
    ip_version: Change[int | None] = KEEP
    mtu: Change[int | None] = KEEP


@dataclass(frozen=True)
class CreateSubnet:
    share_network_id: str
    availability_zone: Checked[str | None]  # a known zone's name, None for a default subnet; checked late
    fields: SubnetFields
    metadata: dict[str, str]
    several_per_zone: bool  # from 2.70 a zone may have several subnets


@dataclass(frozen=True)
class SecurityServiceLink:
    """add_security_service / remove_security_service (and the check of adding one)."""

    share_network_id: str
    security_service_id: Checked[str]  # a malformed body is reported once the network is found


@dataclass(frozen=True)
class ReplaceSecurityService:
    """update_security_service (2.63): a linked service replaced by another of the same type."""

    share_network_id: str
    current_and_new: Checked[tuple[str, str]]  # ids; a malformed body is reported once the network is found


@dataclass(frozen=True)
class ResetNetworkStatus:
    share_network_id: str
    status: str


# Security services ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SecurityServiceFields(Changes):
    name: Change[str | None] = KEEP
    description: Change[str | None] = KEEP
    dns_ip: Change[str | None] = KEEP
    ou: Change[str | None] = KEEP
    server: Change[str | None] = KEEP
    domain: Change[str | None] = KEEP
    user: Change[str | None] = KEEP
    password: Change[str | None] = KEEP
    default_ad_site: Change[str | None] = KEEP


@dataclass(frozen=True)
class CreateSecurityService:
    type: str
    fields: SecurityServiceFields


# Metadata of shares, snapshots and share network subnets ---------------------------------------
@dataclass(frozen=True)
class MetadataRef:
    """Whose metadata: a record, and for a subnet the network the URL names it under."""

    owner: MetadataOwner
    owner_id: str
    parent_id: str | None = None


@dataclass(frozen=True)
class ChangeMetadata:
    ref: MetadataRef
    metadata: dict[str, str]
    replace: bool  # replace the whole set, else merge into it


# Share actions ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResetTaskState:
    share_id: str
    task_state: Checked[str | None]  # a missing value is reported once the share is found


# Quotas --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuotaTarget:
    """Whose quota set: a project, or (`?user_id=` / `?share_type=`, mutually exclusive) a part of it."""

    project_id: str
    user_id: str | None = None
    share_type: str | None = None  # a name or an id


@dataclass(frozen=True)
class UpdateQuotas:
    target: QuotaTarget
    # The new limits in the body's order; the body's other faults come after the share type's lookup.
    limits: Checked[dict[Resource, int]]
    force: bool
    names_groups: bool  # share_groups or share_group_snapshots given (a share type's quota cannot have them)


# Services ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChangeService:
    """Enable or disable one service (`PUT /services/enable|disable`)."""

    host: str
    binary: str
    disabled: bool
    reason: str | None = None


@dataclass(frozen=True)
class SnapshotRef:
    """A snapshot, or one member of a cgsnapshot (`cgsnapshot_id` set), whose access rules are asked for."""

    target_id: str
    cgsnapshot_id: str | None = None


@dataclass(frozen=True)
class GrantSnapshotAccess:
    target: SnapshotRef
    grantee: Grantee


@dataclass(frozen=True)
class DenySnapshotAccess:
    target: SnapshotRef
    access_id: str
