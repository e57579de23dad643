"""Entities and their states. Pure: no I/O.

Status strings are the wire strings. Every status change in the system is one compare-and-set
write from an allowed set of current statuses (see `lockstep.adapters.db.repository`), never a
read-then-write; the sets below are the preconditions the service layer names.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field


class Status(enum.StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    ERROR = "error"
    DELETING = "deleting"
    ERROR_DELETING = "error_deleting"
    EXTENDING = "extending"
    EXTENDING_ERROR = "extending_error"
    SHRINKING = "shrinking"
    SHRINKING_ERROR = "shrinking_error"
    SHRINKING_POSSIBLE_DATA_LOSS_ERROR = "shrinking_possible_data_loss_error"
    INACTIVE = "inactive"
    MIGRATING = "migrating"
    MIGRATING_TO = "migrating_to"
    SERVER_MIGRATING = "server_migrating"


#: Values an admin may set with reset_status (shares, snapshots, groups, cgsnapshots).
RESET_STATUSES: tuple[Status, ...] = (
    Status.CREATING,
    Status.AVAILABLE,
    Status.DELETING,
    Status.ERROR,
    Status.ERROR_DELETING,
    Status.MIGRATING,
    Status.MIGRATING_TO,
)

#: What share groups and share group snapshots accept (2.31+): Manila's later list.
GROUP_RESET_STATUSES: tuple[Status, ...] = (*RESET_STATUSES, Status.SERVER_MIGRATING)

SHARE_DELETABLE = (Status.AVAILABLE, Status.ERROR, Status.INACTIVE)
SNAPSHOT_DELETABLE = (Status.AVAILABLE, Status.ERROR)
GROUP_DELETABLE = (Status.AVAILABLE, Status.ERROR)
CGSNAPSHOT_DELETABLE = (Status.AVAILABLE, Status.ERROR)
SHRINKABLE = (Status.AVAILABLE, Status.SHRINKING_POSSIBLE_DATA_LOSS_ERROR)

#: The protocols enabled unless configured (Manila's `enabled_share_protocols` default).
SHARE_PROTOCOLS = ("NFS", "CIFS")
#: The protocols Lockstep can serve: CEPHFS on a backend whose pools report it (the cephfs driver).
KNOWN_SHARE_PROTOCOLS = ("NFS", "CIFS", "CEPHFS")


def serves_protocol(storage_protocol: object, proto: str) -> bool:
    """Whether a pool's `storage_protocol` capability (Manila's spelling: `NFS_CIFS`, `CEPHFS`) covers `proto`."""
    return proto.upper() in str(storage_protocol or "").upper().split("_")

#: Extra specs every tenant may see on a share type.
TENANT_VISIBLE_SPECS = (
    "driver_handles_share_servers",
    "snapshot_support",
    "create_share_from_snapshot_support",
    "revert_to_snapshot_support",
    "replication_type",
    # Manila 23's standard optional specs are tenant-visible too.
    "mount_snapshot_support",
    "mount_point_name_support",
    "snapshot_inherit_share_access_support",
    "availability_zones",
    "encryption_support",
    "provisioning:max_share_size",
    "provisioning:min_share_size",
    "provisioning:max_share_extend_size",
    "provisioning:mount_point_prefix",
    "default_qos_type",
)
BOOLEAN_SPECS = (
    "snapshot_support",
    "create_share_from_snapshot_support",
    "revert_to_snapshot_support",
    "lockstep:atomic_cgsnapshot",
)
DHSS = "driver_handles_share_servers"
MOUNT_SNAPSHOT_SPEC = "mount_snapshot_support"  # 2.32
ATOMIC_CGSNAPSHOT_SPEC = "lockstep:atomic_cgsnapshot"
AVAILABILITY_ZONES_SPEC = "availability_zones"  # 2.48: the zones shares of the type may be created in
MAX_SHARE_SIZE_SPEC = "provisioning:max_share_size"  # 2.61
MIN_SHARE_SIZE_SPEC = "provisioning:min_share_size"  # 2.61
MAX_SHARE_EXTEND_SIZE_SPEC = "provisioning:max_share_extend_size"  # what admins may extend to
SNAPSHOT_INHERIT_ACCESS_SPEC = "snapshot_inherit_share_access_support"  # 2.99
MOUNT_POINT_NAME_SPEC = "mount_point_name_support"  # 2.84
ENCRYPTION_SPEC = "encryption_support"  # 2.90


def utcnow() -> dt.datetime:
    """Naive UTC with microseconds, as Manila stores and shows dates."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class ShareType:
    id: str
    name: str
    is_public: bool
    extra_specs: dict[str, str] = field(default_factory=dict)
    created_at: dt.datetime | None = None
    description: str | None = None

    @property
    def dhss(self) -> bool:
        return parse_bool(self.extra_specs.get(DHSS, "false"))

    def spec_bool(self, key: str, default: bool = False) -> bool:
        value = self.extra_specs.get(key)
        if value is None:
            return default
        return spec_value_true(value)


#: The fields of a share network that live in its subnets (from 2.51 the API shows them there).
SUBNET_FIELDS = ("neutron_net_id", "neutron_subnet_id", "network_type", "segmentation_id", "cidr", "ip_version",
                 "gateway", "mtu")


@dataclass
class ShareNetworkSubnet:
    """Where a share network reaches one availability zone; a default subnet (no zone) serves every zone."""

    id: str
    share_network_id: str
    availability_zone: str | None
    neutron_net_id: str | None
    neutron_subnet_id: str | None
    network_type: str | None
    segmentation_id: int | None
    cidr: str | None
    ip_version: int | None
    gateway: str | None
    mtu: int | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    metadata: dict[str, str] = field(default_factory=dict)
    share_network_name: str | None = None

    @property
    def is_default(self) -> bool:
        return self.availability_zone is None


class NetworkStatus(enum.StrEnum):
    """Share network statuses (shown from 2.63)."""

    ACTIVE = "active"
    ERROR = "error"
    NETWORK_CHANGE = "network_change"


@dataclass
class ShareNetwork:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime | None
    subnets: list[ShareNetworkSubnet] = field(default_factory=list)  # in creation order

    @property
    def default_subnets(self) -> list[ShareNetworkSubnet]:
        return [s for s in self.subnets if s.is_default]

    @property
    def default_subnet(self) -> ShareNetworkSubnet | None:
        """The subnet whose fields the view below 2.51 shows at the network's top level."""
        defaults = self.default_subnets
        return defaults[0] if defaults else None


@dataclass
class ExportLocation:
    id: str
    path: str
    is_admin_only: bool
    preferred: bool
    created_at: dt.datetime
    updated_at: dt.datetime | None


@dataclass
class Share:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    size: int
    share_proto: str
    status: str
    host: str
    availability_zone: str | None
    share_type_id: str | None
    share_network_id: str | None
    snapshot_id: str | None
    is_public: bool
    consistency_group_id: str | None
    source_cgsnapshot_member_id: str | None
    task_state: str | None
    snapshot_support: bool
    create_share_from_snapshot_support: bool
    revert_to_snapshot_support: bool
    created_at: dt.datetime
    updated_at: dt.datetime | None
    metadata: dict[str, str] = field(default_factory=dict)
    export_locations: list[ExportLocation] = field(default_factory=list)
    share_type_name: str | None = None
    progress: str | None = None  # "100%" once created
    is_soft_deleted: bool = False  # in the recycle bin (2.69)
    scheduled_to_be_deleted_at: dt.datetime | None = None
    snapshot_inherit_share_access_support: bool = False
    scheduler_hints: SchedulerHints | None = None
    mount_snapshot_support: bool = False  # 2.32: its snapshots may be given access rules and mounted
    # Computed from the share's access rules (domain/access.rules_status) when it is loaded in detail.
    access_rules_status: str = "active"


@dataclass(frozen=True)
class SchedulerHints:
    """Where a share may be placed (2.65, 2.67): on the pool of every share in `same_host`, on none
    of the pools of `different_host`, and, for admins, on exactly the `only_host` pool."""

    same_host: tuple[str, ...] = ()
    different_host: tuple[str, ...] = ()
    only_host: str | None = None

    def __bool__(self) -> bool:
        return bool(self.same_host or self.different_host or self.only_host)


@dataclass
class Snapshot:
    id: str
    project_id: str
    user_id: str
    share_id: str
    name: str | None
    description: str | None
    size: int
    share_size: int
    share_proto: str
    status: str
    progress: str
    provider_location: str | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class ConsistencyGroup:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    status: str
    host: str | None
    source_cgsnapshot_id: str | None
    share_network_id: str | None
    share_server_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    share_types: list[str] = field(default_factory=list)
    # What the share-group API (2.31+) shows of the same record.
    share_group_type_id: str | None = None
    availability_zone: str | None = None
    consistent_snapshot_support: str | None = None  # "pool", "host" or None: what its backend guarantees


@dataclass
class CGSnapshot:
    id: str
    consistency_group_id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    status: str
    cut_method: str | None
    cut_spread_ms: float | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    members: list[CGSnapshotMember] = field(default_factory=list)  # loaded only where a view shows them


@dataclass
class CGSnapshotMember:
    id: str
    cgsnapshot_id: str
    share_id: str
    share_type_id: str | None
    size: int
    share_proto: str
    status: str
    project_id: str
    user_id: str
    created_at: dt.datetime


@dataclass(frozen=True)
class BoolSpelling:
    """Which words a boolean parser reads as true / false (case-insensitive)."""

    true: frozenset[str]
    false: frozenset[str]
    trim: bool = True  # ignore surrounding whitespace


#: oslo's bool_from_string, as Manila reads API values, extra specs and headers.
OSLO_BOOL = BoolSpelling(
    true=frozenset({"1", "t", "true", "on", "y", "yes"}), false=frozenset({"0", "f", "false", "off", "n", "no"})
)
#: What Lockstep's own switches (configuration, driver options) have always read as true: fewer
#: words than oslo ("t"/"y" are false there) and untrimmed; everything else is false.
SWITCH_BOOL = BoolSpelling(frozenset({"1", "true", "yes", "on"}), frozenset(), trim=False)


def parse_bool(value: object, *, strict: bool = False, spelling: BoolSpelling = OSLO_BOOL) -> bool:
    """The one boolean parser. A bool is itself; the strict form raises ValueError on any word
    that `spelling` does not know, the lenient form reads it as false."""
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if spelling.trim:
        text = text.strip()
    if text in spelling.true:
        return True
    if text in spelling.false or not strict:
        return False
    raise ValueError(
        f"Unrecognized value '{value}', acceptable values are: {sorted(spelling.true | spelling.false)}"
    )


def spec_value_true(value: str) -> bool:
    """Extra-spec booleans may be plain ("True") or scoped ("<is> True")."""
    text = value.strip()
    if text.lower().startswith("<is>"):
        text = text[4:].strip()
    return parse_bool(text)


# Records without storage (Lockstep's drivers handle no share servers) ----------------------------
#: The types a security service may have.
SECURITY_SERVICE_TYPES = ("active_directory", "ldap", "kerberos")


@dataclass
class SecurityService:
    id: str
    project_id: str
    type: str
    name: str | None
    description: str | None
    dns_ip: str | None
    ou: str | None
    server: str | None
    domain: str | None
    user: str | None
    password: str | None
    default_ad_site: str | None
    created_at: dt.datetime
    updated_at: dt.datetime | None


@dataclass
class SnapshotExportLocation:
    """Where a snapshot (or a cgsnapshot member: `snapshot_id` is then the member's id) is mounted."""

    id: str
    snapshot_id: str
    path: str
    is_admin_only: bool
    created_at: dt.datetime
    updated_at: dt.datetime | None


#: The values reset_task_state accepts, in Manila's order (None clears the task state).
TASK_STATES: tuple[str | None, ...] = (
    "migration_starting",
    "migration_in_progress",
    "migration_completing",
    "migration_success",
    "migration_error",
    "migration_cancelled",
    "migration_driver_in_progress",
    "migration_driver_phase1_done",
    "data_copying_starting",
    "data_copying_in_progress",
    "data_copying_completing",
    "data_copying_completed",
    "data_copying_cancelled",
    "data_copying_error",
    None,
)


class MetadataOwner(enum.StrEnum):
    """The kinds of record that hold key/value metadata through one implementation."""

    SHARE = "share"
    SNAPSHOT = "share_snapshot"
    SUBNET = "share_network_subnet"
