"""The one typed contract every storage backend implements (a port of the service layer; the
implementations live in `lockstep.adapters.drivers`).

Drivers take typed inputs and return typed results. They never touch the database or HTTP:
the worker reads records, calls a driver, and writes what the driver returned.

Every operation is **idempotent**. The worker records its work in the database before calling
a driver and may call the same operation again after a crash (a lease expired, a process was
killed): creating something that already exists with the same id succeeds and returns the
same result; deleting something that is already gone succeeds. This is what makes "a request
answered 202 always ends in a final state" possible without distributed transactions.

Layout of names: every object a driver creates is named by the id of the record it belongs to
(share id, snapshot id, group id, cgsnapshot id), so `inventory()` can tell which storage
objects no record references any more (leaks) and the reclaimer can remove them.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class DriverError(Exception):
    """A backend operation failed. The message is shown to operators (logs), not to tenants."""


class ShareDoesNotFit(DriverError):
    """The requested size does not fit in the pool's free capacity."""


class GroupSupport(enum.StrEnum):
    """The wire values of the `consistency_group_support` capability."""

    POOL = "pool"  # the group and every share of it live on one pool
    HOST = "host"  # the group's shares may use any pool of the same backend


class CutMethod(enum.StrEnum):
    """How a cgsnapshot was cut; reported as `lockstep:consistency.method`."""

    ATOMIC = "atomic"  # one backend operation cut every member at the same instant
    SEQUENTIAL = "sequential"  # members were copied one after the other; writes may tear


@dataclass(frozen=True)
class ExportLocation:
    path: str
    is_admin_only: bool = False
    preferred: bool = True


@dataclass(frozen=True)
class ShareSpec:
    """A share as the driver needs to see it."""

    id: str
    size_gb: int
    proto: str
    pool: str
    group_id: str | None = None


@dataclass(frozen=True)
class ShareResult:
    export_locations: Sequence[ExportLocation]


@dataclass(frozen=True)
class SnapshotSpec:
    """A single-share snapshot."""

    id: str
    share: ShareSpec


@dataclass(frozen=True)
class SnapshotResult:
    size_gb: int
    provider_location: str | None = None
    # Where clients can mount the snapshot (2.32); none when the backend has no front end for it.
    export_locations: Sequence[ExportLocation] = ()


@dataclass(frozen=True)
class GroupSpec:
    """A consistency group."""

    id: str
    pool: str


@dataclass(frozen=True)
class CGSnapshotMemberSpec:
    id: str
    share: ShareSpec


@dataclass(frozen=True)
class CGSnapshotSpec:
    id: str
    group: GroupSpec
    members: Sequence[CGSnapshotMemberSpec]


@dataclass(frozen=True)
class CGSnapshotResult:
    method: CutMethod
    # Milliseconds between the first and the last member's cut; 0 for an atomic cut.
    spread_ms: float


@dataclass(frozen=True)
class CloneSpec:
    """One share of a group created from a cgsnapshot, and the member it is made from."""

    share: ShareSpec
    member: CGSnapshotMemberSpec


@dataclass(frozen=True)
class AccessRuleSpec:
    """One rule of the set a share's backend must enforce."""

    id: str
    access_type: str  # ip, user, cert, cephx
    access_to: str
    access_level: str  # rw, ro


@dataclass(frozen=True)
class AccessResult:
    """What became of one rule: enforced (with the cephx secret, if the backend makes one), or
    not, and why (shown to operators)."""

    applied: bool
    reason: str | None = None
    access_key: str | None = None


def records_only(rules: Sequence[AccessRuleSpec]) -> dict[str, AccessResult]:
    """The result of a backend with no network front end: it cannot enforce a rule, so each rule
    is a record only (the pool says `access_enforced: false`)."""
    return {rule.id: AccessResult(applied=True) for rule in rules}


@dataclass(frozen=True)
class PoolInfo:
    name: str
    total_capacity_gb: float
    free_capacity_gb: float
    group_support: GroupSupport | None
    atomic_cgsnapshot: bool
    snapshot_support: bool = True
    create_share_from_snapshot_support: bool = True
    # Whether `update_access` makes the backend enforce rules (a network export front end), or rules
    # are records only; shown as `lockstep:access_enforced`.
    access_enforced: bool = False
    # Sizes are limits and space is used as it is written (btrfs qgroups, zfs quotas, posix
    # directories), so a pool may promise more than it holds (max_over_subscription_ratio); False:
    # every size is taken from the pool when the share is made.
    thin_provisioning: bool = False
    # A share made from a snapshot, or a group restored from a cgsnapshot, shares the source's
    # blocks (btrfs and zfs snapshots) and costs nothing at first; False: it is a full copy.
    copy_on_write_clones: bool = False
    # Extra capabilities shown in /scheduler-stats/pools/detail (e.g. "lockstep:storage": "btrfs").
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Inventory:
    """Ids of every storage object this backend holds, by kind."""

    shares: frozenset[str] = frozenset()
    snapshots: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    cgsnapshots: frozenset[str] = frozenset()
    #: (kind, id) of the remains of interrupted work: a half-made copy, a tree renamed for deletion
    #: and not yet removed (a crash in between). They are not objects, but they hold space, and
    #: `reclaim(kind, id)` removes them with the object; the sweep reclaims those no record names.
    leftovers: frozenset[tuple[str, str]] = frozenset()


class ShareDriver(abc.ABC):
    """A storage backend. One instance serves one configured backend (`host@backend`)."""

    #: The name the driver is registered under in `registry.DRIVERS`; shown as `lockstep:driver`.
    kind: str = "abstract"
    driver_handles_share_servers: bool = False
    #: Clients reach the backend by its own protocol and it enforces access rules itself (cephfs: cephx
    #: caps): no NFS server is put in front of its shares, and `update_access`'s results are final.
    native_access: bool = False
    #: The protocols clients reach its shares by, in Manila's `storage_protocol` spelling; the scheduler
    #: places a share only on a pool whose backend serves the share's protocol.
    storage_protocol: str = "NFS_CIFS"
    vendor_name: str = "Lockstep"
    driver_version: str = "1.0"

    @abc.abstractmethod
    def pools(self) -> list[PoolInfo]:
        """Current pools with capacity and capabilities."""

    def setup(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Prepare the backend (mount, create directories). Called once at process start."""

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release what `setup` (or the factory) acquired for this process, e.g. a loop mount.
        Called once when the worker process stops cleanly; never between operations."""

    def fence(self, previous_owner: str) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Cut the storage clients of the worker process `previous_owner` (an operation's owner string; its
        process part is `service.fencing.process_of`) off from this backend, for good: its lease ran out and
        this worker is about to run its operation, but it may be only paused and resume mid-write. Called
        before every taken-over operation of this backend; must be idempotent (a process already fenced, or
        with no clients left, is fenced). Raise DriverError if it cannot be done: the operation is then
        released and tried again later, never run unfenced.

        A no-op for storage that only this host reaches (posix, btrfs, zfs...): a process of this host whose
        lease ran out shares nothing with another host, and the database's fence (epochs) covers its writes.
        Drivers of storage several hosts reach (cephfs) evict the process's clients."""

    # Shares -----------------------------------------------------------------
    @abc.abstractmethod
    def create_share(self, share: ShareSpec) -> ShareResult: ...

    @abc.abstractmethod
    def delete_share(self, share: ShareSpec) -> None: ...

    @abc.abstractmethod
    def extend_share(self, share: ShareSpec, new_size_gb: int) -> None: ...

    @abc.abstractmethod
    def shrink_share(self, share: ShareSpec, new_size_gb: int) -> None:
        """Raise DriverError if the data in use does not fit in new_size_gb."""

    # Single-share snapshots -------------------------------------------------
    @abc.abstractmethod
    def create_snapshot(self, snapshot: SnapshotSpec) -> SnapshotResult: ...

    @abc.abstractmethod
    def delete_snapshot(self, snapshot: SnapshotSpec) -> None: ...

    @abc.abstractmethod
    def create_share_from_snapshot(self, share: ShareSpec, snapshot: SnapshotSpec) -> ShareResult: ...

    # Mounting snapshots (2.32) ----------------------------------------------
    def snapshot_directory(self, snapshot: SnapshotSpec) -> str | None:
        """The directory on this host that holds the snapshot's data (read-only), for an NFS server to
        export; None where the backend keeps none. Called after the snapshot was created."""
        return None

    def cgsnapshot_member_directory(self, cgsnapshot_id: str, member: CGSnapshotMemberSpec) -> str | None:
        """The same for one member of a cgsnapshot: its share's data at the cut."""
        return None

    # Consistency groups -----------------------------------------------------
    @abc.abstractmethod
    def create_group(self, group: GroupSpec) -> None: ...

    @abc.abstractmethod
    def delete_group(self, group: GroupSpec) -> None:
        """Remove the group's own storage. Its shares are deleted before, one by one."""

    @abc.abstractmethod
    def create_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> CGSnapshotResult: ...

    @abc.abstractmethod
    def delete_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> None: ...

    @abc.abstractmethod
    def create_group_from_cgsnapshot(
        self, group: GroupSpec, cgsnapshot: CGSnapshotSpec, clones: Sequence[CloneSpec]
    ) -> Mapping[str, ShareResult]:
        """Create the group and one share per clone holding the member's data at the cut.

        Returns the result for every clone, keyed by the new share's id.
        """

    # Access rules -----------------------------------------------------------
    @abc.abstractmethod
    def update_access(self, share: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        """Make the share reachable by exactly `rules` (the whole set, not a change), and say for
        each rule whether it is enforced, keyed by rule id.

        A rule that cannot be enforced is a result with `applied=False` and a reason; it must not
        stop the others. DriverError means nothing could be done at all. Rules missing from the
        set are no longer enforced afterwards. Idempotent: the same set again changes nothing.
        """

    # Housekeeping -----------------------------------------------------------
    @abc.abstractmethod
    def inventory(self) -> Inventory:
        """What storage objects exist, so that unreferenced ones can be reclaimed."""

    @abc.abstractmethod
    def reclaim(self, kind: str, object_id: str) -> bool:
        """Remove a storage object that no record references any more.

        `kind` is one of "share", "snapshot", "group", "cgsnapshot". Returns False when the
        object cannot be removed yet without destroying data something else still needs (a
        group that still holds shares; a snapshot that clones depend on); the reclaimer tries
        again later. Never raises for an object that is already gone.
        """
