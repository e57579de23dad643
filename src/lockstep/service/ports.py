"""The repositories the use cases and the worker read and write through.

`lockstep.adapters.db` implements them with SQLAlchemy; nothing here knows SQL. Status changes
go through `cas` (one `UPDATE … WHERE status IN (…)`), so that two racing requests cannot both
win. List queries take the typed values of `lockstep.domain.queries`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from lockstep.domain.host_services import HostService
from lockstep.domain.messages import Message
from lockstep.domain.model import (
    CGSnapshot,
    CGSnapshotMember,
    ConsistencyGroup,
    Share,
    ShareNetwork,
    ShareType,
    Snapshot,
)
from lockstep.domain.operations import Enqueue, Operation, OperationKind
from lockstep.domain.pools import PoolRecord
from lockstep.domain.queries import (
    CGSnapshotQuery,
    GroupQuery,
    MessageQuery,
    Page,
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


class ShareTypeRepository(Rows, Protocol):
    def get(self, type_id: str) -> ShareType | None: ...

    def get_by_name(self, name: str) -> ShareType | None: ...

    def get_many(self, ids: Iterable[str]) -> dict[str, ShareType]: ...

    def find(self, *, public: bool | None, project_id: str | None) -> list[ShareType]:
        """public None: every type; True: public + granted to project; False: private only."""

    def is_visible(self, share_type: ShareType, project_id: str) -> bool: ...

    def create(self, share_type: ShareType) -> None: ...

    def set_specs(self, type_id: str, specs: Mapping[str, str]) -> None: ...

    def delete_spec(self, type_id: str, key: str) -> bool: ...

    def projects(self, type_id: str) -> list[str]: ...

    def add_project(self, type_id: str, project_id: str) -> bool: ...

    def remove_project(self, type_id: str, project_id: str) -> bool: ...

    def in_use(self, type_id: str) -> bool: ...


class ShareNetworkRepository(Rows, Protocol):
    def get(self, network_id: str, project_id: str | None = None) -> ShareNetwork | None: ...

    def find(self, query: ShareNetworkQuery) -> list[ShareNetwork]: ...

    def count_shares(self, network_id: str) -> int: ...

    def count_groups(self, network_id: str) -> int: ...


class ShareRepository(Rows, Protocol):
    def get(self, share_id: str, project_id: str | None = None) -> Share | None: ...

    def find(self, query: ShareQuery, *, detail: bool) -> list[Share]:
        """detail: with metadata, export locations and the type's name."""

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
    def get(self, snapshot_id: str, project_id: str | None = None) -> Snapshot | None: ...

    def find(self, query: SnapshotQuery) -> list[Snapshot]: ...


class GroupRepository(Rows, Protocol):
    """Consistency groups."""

    def get(self, group_id: str, project_id: str | None = None) -> ConsistencyGroup | None: ...

    def find(self, query: GroupQuery, *, detail: bool) -> list[ConsistencyGroup]:
        """detail: with the groups' share types."""

    def create(self, group: ConsistencyGroup) -> None: ...

    def count_cgsnapshots(self, group_id: str) -> int: ...

    def count_shares(self, group_id: str) -> int: ...


class CGSnapshotRepository(Rows, Protocol):
    def get(self, cgsnapshot_id: str, project_id: str | None = None) -> CGSnapshot | None: ...

    def find(self, query: CGSnapshotQuery) -> list[CGSnapshot]: ...

    def members(self, cgsnapshot_id: str, page: Page | None = None) -> list[CGSnapshotMember]:
        """All members in creation order, or one page of them."""

    def add_member(self, member: CGSnapshotMember) -> None: ...

    def set_members_status(self, cgsnapshot_id: str, status: str) -> None: ...


class OperationRepository(Enqueue, Protocol):
    """The durable work queue: operations recorded with the status change that asks for them
    (`enqueue`, typed per kind, comes from `Enqueue`)."""

    def claimable(self, backends: list[str] | None, now: float, limit: int = 8) -> list[int]: ...

    def claim(self, op_id: int, owner: str, now: float, lease: float) -> Operation | None:
        """Compare-and-set claim: exactly one worker wins a given operation."""

    def renew(self, op_ids: list[int], owner: str, until: float) -> None: ...

    def finish(self, op_id: int, owner: str, *, error: str | None = None) -> None: ...

    def release(self, op_id: int, owner: str, *, backend: str | None = None, delay: float = 0.0,
                error: str | None = None) -> None: ...

    def expedite(self, target_id: str, kind: OperationKind) -> None: ...

    def targets(self) -> set[str]: ...

    def pending_for(self, target_id: str) -> int: ...


class PoolRepository(Protocol):
    """The pools the backends last reported."""

    def upsert(self, record: PoolRecord) -> None: ...

    def all(self) -> list[PoolRecord]: ...

    def allocate(self, name: str, gigabytes: float) -> None: ...


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

    def heartbeat(self, host: str, binary: str, availability_zone: str) -> None:
        """Record that the service is alive now (creating its row the first time)."""

    def stop(self, host: str, binary: str) -> None: ...

    def all(self) -> list[HostService]: ...

    def get(self, host: str, binary: str) -> HostService | None: ...

    def set_disabled(self, service_id: int, disabled: bool, reason: str | None) -> None: ...

    def disabled_hosts(self, binary: str) -> set[str]: ...
