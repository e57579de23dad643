"""The unit of work: one database transaction that rolls back unless `commit()` is called.

These are the interfaces the service layer holds; `lockstep.adapters.db.unit_of_work` implements
them, and `lockstep.bootstrap` picks the implementation.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol

from lockstep.service.ports import (
    AccessRuleRepository,
    CGSnapshotRepository,
    ExportIdRepository,
    GroupRepository,
    HostServiceRepository,
    MessageRepository,
    MetadataRepository,
    OperationRepository,
    PoolRepository,
    QuotaRepository,
    SecurityServiceRepository,
    ShareGroupTypeRepository,
    ShareNetworkRepository,
    ShareNetworkSubnetRepository,
    ShareRepository,
    ShareTypeRepository,
    SnapshotAccessRepository,
    SnapshotRepository,
)


class UnitOfWork(Protocol):
    # Read-only properties, so that an implementation may hold its own repository classes.
    @property
    def share_types(self) -> ShareTypeRepository: ...

    @property
    def share_networks(self) -> ShareNetworkRepository: ...

    @property
    def share_group_types(self) -> ShareGroupTypeRepository: ...

    @property
    def shares(self) -> ShareRepository: ...

    @property
    def snapshots(self) -> SnapshotRepository: ...

    @property
    def groups(self) -> GroupRepository: ...

    @property
    def cgsnapshots(self) -> CGSnapshotRepository: ...

    @property
    def access_rules(self) -> AccessRuleRepository: ...

    @property
    def export_ids(self) -> ExportIdRepository: ...

    @property
    def snapshot_access(self) -> SnapshotAccessRepository: ...

    @property
    def operations(self) -> OperationRepository: ...

    @property
    def pools(self) -> PoolRepository: ...

    @property
    def share_network_subnets(self) -> ShareNetworkSubnetRepository: ...

    @property
    def security_services(self) -> SecurityServiceRepository: ...

    @property
    def metadata(self) -> MetadataRepository: ...

    @property
    def quotas(self) -> QuotaRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def services(self) -> HostServiceRepository: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Roll back unless committed, and let go of the connection."""

    def commit(self) -> None: ...


class Database(Protocol):
    """Hands out units of work (`with db.write() as uow:`); the only object the service layer holds of
    the database."""

    def read(self) -> AbstractContextManager[UnitOfWork]: ...

    def write(self) -> AbstractContextManager[UnitOfWork]:
        """A unit of work that will write: on SQLite it takes the write lock up front."""
