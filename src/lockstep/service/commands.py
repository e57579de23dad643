"""What the use cases take: values parsed and checked at the edge (the API), never request JSON.

Manila made some pure checks only after a lookup (a share's metadata is checked after its share
type is found), and clients see which 400 wins. A parser cannot report such a failure early without
changing that order, so it records it as a `Checked` value: either the parsed value or the `Invalid`
to raise. The use case calls `unwrap` at the step where Manila checked it.

Versions never reach the service: where a microversion changes behaviour, the route sets a flag.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Literal, TypeAlias, TypeVar

from lockstep.domain.errors import Invalid
from lockstep.domain.model import Status
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


@dataclass(frozen=True)
class ShareChanges(TextChanges):
    is_public: Change[bool] = KEEP


@dataclass(frozen=True)
class Resize:
    share_id: str
    new_size: int


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


# Consistency groups and cgsnapshots ---------------------------------------------------------
@dataclass(frozen=True)
class CreateConsistencyGroup:
    name: str | None
    description: str | None
    share_types: tuple[str, ...]  # ids
    use_default_type: bool  # neither share types nor a source cgsnapshot were named
    source_cgsnapshot_id: str | None  # a uuid
    share_network_id: Checked[str | None]  # a uuid


@dataclass(frozen=True)
class CreateCGSnapshot:
    consistency_group_id: str  # a uuid
    name: str | None
    description: str | None


# Share types ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateShareType:
    name: str
    extra_specs: dict[str, str]
    is_public: bool


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
