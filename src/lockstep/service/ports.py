"""The repositories the use cases and the worker read and write through.

`lockstep.adapters.db` implements them with SQLAlchemy; nothing here knows SQL. Status changes
go through `cas` (one `UPDATE … WHERE status IN (…)`), so that two racing requests cannot both
win. List queries take the typed values of `lockstep.domain.queries`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from lockstep.domain.access import AccessRule, SnapshotAccessRule
from lockstep.domain.group_types import ShareGroupType
from lockstep.domain.host_services import HostService
from lockstep.domain.messages import Message
from lockstep.domain.model import (
    CGSnapshot,
    CGSnapshotMember,
    ConsistencyGroup,
    MetadataOwner,
    SecurityService,
    Share,
    ShareNetwork,
    ShareNetworkSubnet,
    ShareType,
    Snapshot,
    SnapshotExportLocation,
)
from lockstep.domain.operations import Enqueue, Operation, OperationKind, QueueStat
from lockstep.domain.pools import PoolRecord, PoolUsage
from lockstep.domain.queries import (
    AccessRuleQuery,
    CGSnapshotQuery,
    GroupQuery,
    MessageQuery,
    Page,
    SecurityServiceQuery,
    ShareNetworkQuery,
    ShareQuery,
    SnapshotQuery,
)
from lockstep.domain.quotas import Resource, Subject, Usage


class Rows(Protocol):
    """What every entity's repository offers on its rows, by id."""

    def cas(self, row_id: str, expected: Iterable[str] | None, **values: Any) -> bool:
        """Set values if the row's status is one of `expected` (any status if None); True if this caller won."""

    def delete(self, row_id: str, expected: Iterable[str] | None = None) -> bool: ...

    def insert_row(self, **values: Any) -> None: ...

    def exists(self, row_id: str) -> bool: ...

    def in_status(self, statuses: Iterable[str], limit: int = 1000) -> list[tuple[str, str]]:
        """(id, status) of the rows in one of `statuses` (entities with a status)."""


class ShareTypeRepository(Rows, Protocol):
    def get(self, type_id: str) -> ShareType | None: ...

    def get_by_name(self, name: str) -> ShareType | None: ...

    def get_many(self, ids: Iterable[str]) -> dict[str, ShareType]: ...

    def find(self, *, public: bool | None, project_id: str | None) -> list[ShareType]:
        """public None: every type; True: public + granted to project; False: private only."""

    def is_visible(self, share_type: ShareType, project_id: str) -> bool: ...

    def create(self, share_type: ShareType) -> None: ...

    def update(self, type_id: str, **values: Any) -> bool:
        """Set name, description and/or is_public; False if the type does not exist."""

    def set_specs(self, type_id: str, specs: Mapping[str, str]) -> None: ...

    def delete_spec(self, type_id: str, key: str) -> bool: ...

    def projects(self, type_id: str) -> list[str]: ...

    def add_project(self, type_id: str, project_id: str) -> bool: ...

    def remove_project(self, type_id: str, project_id: str) -> bool: ...

    def in_use(self, type_id: str) -> bool: ...


class ShareGroupTypeRepository(Rows, Protocol):
    def get(self, type_id: str) -> ShareGroupType | None: ...

    def get_by_name(self, name: str) -> ShareGroupType | None: ...

    def find(self, *, public: bool | None, project_id: str | None) -> list[ShareGroupType]:
        """public None: every type; True: public + granted to project; False: private only."""

    def is_visible(self, group_type: ShareGroupType, project_id: str) -> bool: ...

    def create(self, group_type: ShareGroupType) -> None: ...

    def set_specs(self, type_id: str, specs: Mapping[str, str]) -> None: ...

    def delete_spec(self, type_id: str, key: str) -> bool: ...

    def projects(self, type_id: str) -> list[str]: ...

    def add_project(self, type_id: str, project_id: str) -> bool: ...

    def remove_project(self, type_id: str, project_id: str) -> bool: ...

    def in_use(self, type_id: str) -> bool:
        """Some group has this type."""


class ShareNetworkRepository(Rows, Protocol):
    """Share networks, each with its subnets (creation order)."""

    def get(self, network_id: str, project_id: str | None = None) -> ShareNetwork | None: ...

    def find(self, query: ShareNetworkQuery) -> list[ShareNetwork]: ...

    def count_shares(self, network_id: str) -> int: ...

    def count_groups(self, network_id: str) -> int: ...

    def security_service_ids(self, network_id: str) -> list[str]: ...

    def link(self, network_id: str, security_service_id: str) -> bool:
        """Link a security service to the network; False if it already was."""

    def unlink(self, network_id: str, security_service_id: str) -> bool: ...


class ShareNetworkSubnetRepository(Rows, Protocol):
    def get(self, subnet_id: str) -> ShareNetworkSubnet | None:
        """With its metadata and its network's name."""


class SecurityServiceRepository(Rows, Protocol):
    def get(self, service_id: str, project_id: str | None = None) -> SecurityService | None: ...

    def find(self, query: SecurityServiceQuery) -> list[SecurityService]: ...

    def of_network(self, network_id: str) -> list[SecurityService]: ...

    def networks(self, service_ids: list[str], project_id: str | None = None) -> dict[str, list[str]]:
        """The networks each service is linked to (only `project_id`'s networks when given)."""

    def count_networks(self, service_id: str) -> int: ...


class MetadataRepository(Protocol):
    """Key/value metadata of shares, snapshots and share network subnets."""

    def get(self, owner: MetadataOwner, owner_id: str) -> dict[str, str]: ...

    def set(self, owner: MetadataOwner, owner_id: str, metadata: Mapping[str, str], *, replace: bool) -> None: ...

    def delete(self, owner: MetadataOwner, owner_id: str, key: str) -> bool: ...


class ShareRepository(Rows, Protocol):
    def get(self, share_id: str, project_id: str | None = None) -> Share | None: ...

    def find(self, query: ShareQuery, *, detail: bool) -> list[Share]:
        """detail: with metadata, export locations and the type's name."""

    def count(self, query: ShareQuery) -> int:
        """How many shares the query's filters select, whatever its page."""

    def soft_deleted_before(self, moment: dt.datetime, limit: int = 100) -> list[Share]:
        """Shares in the recycle bin whose time there ended by `moment`."""

    def settle_created(self, ids: Sequence[str], availability_zone: str) -> list[str]:
        """Move many `creating` shares to `available` at once; returns the ids that moved."""

    def add_export_locations(self, locations: Mapping[str, Sequence[dict[str, Any]]]) -> None: ...

    def get_many(self, ids: Sequence[str]) -> dict[str, Share]:
        """Several shares by id, without metadata or export locations."""

    def in_group(self, group_id: str) -> list[Share]: ...

    def count_snapshots(self, share_id: str) -> int: ...

    def count_cgsnapshot_members(self, share_id: str) -> int: ...

    def set_metadata(self, share_id: str, metadata: Mapping[str, str], *, replace: bool) -> None: ...

    def delete_metadata(self, share_id: str, key: str) -> bool: ...

    def replace_export_locations(self, share_id: str, locations: Sequence[dict[str, Any]]) -> None: ...


class SnapshotRepository(Rows, Protocol):
    def get(self, snapshot_id: str, project_id: str | None = None) -> Snapshot | None:
        """With its metadata."""

    def find(self, query: SnapshotQuery) -> list[Snapshot]: ...

    def export_locations(self, snapshot_id: str) -> list[SnapshotExportLocation]: ...

    def replace_export_locations(self, snapshot_id: str, locations: Sequence[dict[str, Any]]) -> None: ...

    def count(self, query: SnapshotQuery) -> int:
        """How many snapshots the query's filters select, whatever its page."""


class GroupRepository(Rows, Protocol):
    """Consistency groups."""

    def get(self, group_id: str, project_id: str | None = None) -> ConsistencyGroup | None: ...

    def find(self, query: GroupQuery, *, detail: bool) -> list[ConsistencyGroup]:
        """detail: with the groups' share types."""

    def create(self, group: ConsistencyGroup) -> None: ...

    def count_cgsnapshots(self, group_id: str) -> int: ...

    def count_shares(self, group_id: str) -> int: ...

    def dependents(self, group_id: str) -> tuple[int, int]:
        """(cgsnapshots, shares) of the group, counted in one statement."""
        ...

    def untyped(self) -> list[ConsistencyGroup]:
        """Groups without a share group type (made before share groups existed)."""


class CGSnapshotRepository(Rows, Protocol):
    def get(self, cgsnapshot_id: str, project_id: str | None = None) -> CGSnapshot | None: ...

    def find(self, query: CGSnapshotQuery) -> list[CGSnapshot]: ...

    def members(self, cgsnapshot_id: str, page: Page | None = None) -> list[CGSnapshotMember]:
        """All members in creation order, or one page of them."""

    def member(self, member_id: str) -> CGSnapshotMember | None: ...

    def members_of(self, cgsnapshot_ids: Sequence[str]) -> dict[str, list[CGSnapshotMember]]:
        """The members of several cgsnapshots, in creation order (every id is a key)."""

    def add_member(self, member: CGSnapshotMember) -> None: ...

    def set_members_status(self, cgsnapshot_id: str, status: str) -> None: ...


class AccessRuleRepository(Protocol):
    """Access rules; a rule's status column is `state` (domain/access.py)."""

    def hold(self, share_id: str) -> None:
        """Until the transaction ends, other transactions that hold the same share wait."""

    def get(self, rule_id: str) -> AccessRule | None: ...

    def for_share(self, share_id: str, query: AccessRuleQuery | None = None) -> list[AccessRule]:
        """The share's rules in the order they were granted, with their metadata (filtered by `query`)."""

    def by_share_on(self, backends: Sequence[str], states: Iterable[str]) -> dict[str, list[AccessRule]]:
        """The rules in these states of every share placed on one of these `host@backend`s, by share."""

    def add(self, rule: AccessRule) -> None:
        """Insert the rule with its metadata and locks."""

    def cas(self, rule_id: str, expected: Iterable[str] | None, **values: Any) -> bool:
        """Set values if the rule's state is one of `expected` (any if None); True if this caller won."""

    def delete(self, rule_id: str, expected: Iterable[str] | None = None) -> bool: ...

    def set_metadata(self, rule_id: str, metadata: Mapping[str, str]) -> None:
        """Upsert: keys not named stay."""

    def delete_metadata(self, rule_id: str, key: str) -> bool: ...

    def share_locks(self, share_id: str) -> list[str]:
        """The ids of the share-deletion locks its rules' deletion locks placed."""


class ExportIdRepository(Protocol):
    """NFS export ids: one per share (or snapshot), allocated once and never reused."""

    def find(self, target_id: str) -> int | None: ...

    def allocate(self, target_id: str) -> int:
        """The target's export id, allocated now if it has none (an id no other target ever had)."""

    def all(self) -> dict[str, int]:
        """Every target's export id."""


class SnapshotAccessRepository(Protocol):
    """Access rules of snapshots and cgsnapshot members (2.32), and where those are mounted from."""

    def hold(self, target_id: str, kind: str) -> None:
        """Until the transaction ends, other transactions that hold the same snapshot or member wait."""

    def get(self, rule_id: str) -> SnapshotAccessRule | None: ...

    def for_target(self, target_id: str) -> list[SnapshotAccessRule]:
        """The rules of one snapshot or member, in the order they were granted."""

    def by_target_on(self, backends: Sequence[str], states: Iterable[str]) -> dict[str, list[SnapshotAccessRule]]:
        """The rules in these states of every snapshot and member whose share is on one of these backends."""

    def add(self, rule: SnapshotAccessRule) -> None: ...

    def cas(self, rule_id: str, expected: Iterable[str] | None, **values: Any) -> bool:
        """Set values if the rule's state is one of `expected` (any if None); True if this caller won."""

    def delete(self, rule_id: str, expected: Iterable[str] | None = None) -> bool: ...

    def delete_for(self, target_ids: Sequence[str]) -> None:
        """Every rule of these snapshots or members."""

    def member_export_locations(self, member_id: str) -> list[SnapshotExportLocation]: ...

    def replace_member_export_locations(self, member_id: str, locations: Sequence[dict[str, Any]]) -> None: ...

    def directories(self, target_ids: Sequence[str]) -> dict[str, str]:
        """The local directory of each of these snapshots and members that is `available` to export."""


class OperationRepository(Enqueue, Protocol):
    """The durable work queue: operations recorded with the status change that asks for them
    (`enqueue`, typed per kind, comes from `Enqueue`)."""

    def claim_ready(self, backends: list[str] | None, owner: str, lease: float, limit: int = 1) -> list[Operation]:
        """Claim up to `limit` ready operations of these backends (and unplaced ones; None: any) with a
        lease of `lease` seconds by the database's clock; each claim raises the row's epoch."""

    def hold(self, op_id: int, owner: str, epoch: int) -> bool:
        """True, with the row locked until the transaction ends, if `owner` still holds it at `epoch`."""

    def renew(self, held: Mapping[int, int], owner: str, lease: float) -> set[int]:
        """Extend the leases held ({id: epoch}); returns the ids no longer held."""

    def running_owners(self) -> set[str]: ...

    def expire_leases(self, owner: str) -> int:
        """End the leases of an owner known to be dead; returns how many."""

    def finish(self, op_id: int, owner: str, epoch: int, *, error: str | None = None) -> bool: ...

    def release(self, op_id: int, owner: str, epoch: int, *, backend: str | None = None, delay: float = 0.0,
                error: str | None = None, unfenced: str | None = None) -> bool:
        """`unfenced`: a previous owner this worker could not fence; the next claim takes the operation
        over from it again (fences it first) rather than starting it afresh."""
        ...

    def expedite(self, target_id: str, kind: OperationKind) -> None: ...

    def targets(self) -> set[str]: ...

    def pending_for(self, target_id: str) -> int: ...

    def unfinished(self, target_ids: list[str]) -> list[tuple[int, OperationKind, str]]:
        """(id, kind, target id) of every pending or running operation on the targets."""

    def hurry(self, target_id: str, kind: OperationKind) -> bool:
        """Make a recorded, not yet claimed operation of `kind` on the target due now; False if there
        is none. One statement, so that it cannot miss a claim made meanwhile."""

    def summary(self) -> list[QueueStat]:
        """Counts per kind and state, with the oldest row's creation time (the operator's queue view)."""


class PoolRepository(Protocol):
    """The pools the backends last reported."""

    def upsert(self, record: PoolRecord) -> None: ...

    def all(self) -> list[PoolRecord]: ...

    def lock_placement(self) -> None:
        """Hold the placement lock until the transaction ends: a placement's count of what is
        provisioned and the record it then writes are serialised with every other placement."""

    def usage(self, pools: Sequence[PoolRecord]) -> dict[str, PoolUsage]:
        """Per pool, what the share records place there (see domain.pools.PoolUsage)."""


class QuotaRepository(Protocol):
    """Quota limits, and usage counted from the records."""

    def lock(self, project_id: str) -> None:
        """Hold the project's quota lock until the transaction ends: checks of its usage and the writes
        that change it are then serialised (no two creates both fit in the last free unit)."""

    def limits(self, subject: Subject) -> dict[Resource, int]:
        """The limits set at exactly this level (the project's own when no user or share type is named)."""

    def user_limit_totals(self, project_id: str) -> dict[Resource, int]:
        """Per resource, the sum of the limits set for the project's users."""

    def set_limit(self, subject: Subject, resource: Resource, limit: int) -> None: ...

    def reset(self, subject: Subject) -> None:
        """Forget the limits set at this level; for a project, its users' limits too."""

    def usage(self, subject: Subject, resources: Iterable[Resource]) -> dict[Resource, Usage]: ...


class MessageRepository(Protocol):
    def add(self, message: Message) -> None: ...

    def get(self, message_id: str, project_id: str | None = None) -> Message | None: ...

    def find(self, query: MessageQuery) -> list[Message]: ...

    def delete(self, message_id: str) -> bool: ...

    def delete_expired(self, now: dt.datetime) -> int: ...


class HostServiceRepository(Protocol):
    """The services table: Lockstep's workers as manila-share and manila-scheduler services."""

    def clock(self) -> dt.datetime:
        """Now (naive UTC) by the database's clock, which heartbeats are written and judged by."""

    def heartbeat(self, host: str, binary: str, availability_zone: str) -> dt.datetime:
        """Record that the service is alive now (creating its row the first time); returns the time written."""

    def stop(self, host: str, binary: str, last_beat: dt.datetime | None = None) -> None:
        """Mark the service stopped; with `last_beat`, only if no other worker of the same backend has
        written a heartbeat since this one's last (a backend several hosts serve stays up)."""

    def all(self) -> list[HostService]: ...

    def get(self, host: str, binary: str) -> HostService | None: ...

    def set_disabled(self, service_id: int, disabled: bool, reason: str | None) -> None: ...

    def disabled_hosts(self, binary: str) -> set[str]: ...
