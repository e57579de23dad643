"""The SQLAlchemy unit of work and the database that hands them out."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from lockstep.adapters.db.access import AccessRuleRepo
from lockstep.adapters.db.engine import WRITE
from lockstep.adapters.db.exports import ExportIdRepo
from lockstep.adapters.db.messages import HostServiceRepo, MessageRepo
from lockstep.adapters.db.quotas import QuotaRepo
from lockstep.adapters.db.records import MetadataRepo, SecurityServiceRepo, ShareNetworkSubnetRepo
from lockstep.adapters.db.repository import (
    CGSnapshotRepo,
    GroupRepo,
    ShareNetworkRepo,
    ShareRepo,
    ShareTypeRepo,
    SnapshotRepo,
)
from lockstep.adapters.db.share_group_types import ShareGroupTypeRepo
from lockstep.adapters.db.snapshot_access import SnapshotAccessRepo
from lockstep.adapters.db.work import OperationRepo, PoolRepo
from lockstep.domain.operations import OperationKind, Payload


class _WatchedOperationRepo(OperationRepo):
    """Remembers that work was recorded, so that a worker can be woken once it is committed."""

    enqueued = False

    def record(self, kind: OperationKind, target_id: str, *, backend: str | None, payload: Payload | None) -> None:
        super().record(kind, target_id, backend=backend, payload=payload)
        self.enqueued = True

    def hurry(self, target_id: str, kind: OperationKind) -> bool:
        hurried = super().hurry(target_id, kind)
        self.enqueued = self.enqueued or hurried
        return hurried


class SqlAlchemyUnitOfWork:
    conn: Connection

    def __init__(self, engine: Engine, *, write: bool = False,
                 on_enqueued: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._write = write
        self._on_enqueued = on_enqueued
        self._committed = False

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        conn = self._engine.connect()
        self._autocommit: Any = None
        if self._write:
            conn = conn.execution_options(**WRITE)
        elif self._engine.dialect.name == "postgresql":
            # Reads in autocommit (see engine.py): set on the driver's connection directly and set back
            # before it returns to the pool (SQLAlchemy's isolation-level option resets it with more work).
            self._autocommit = conn.connection.dbapi_connection
            self._autocommit.autocommit = True
        self.conn = conn
        self._txn = conn.begin()
        return self

    # The repositories, made when first used (a request uses two or three of the seventeen).
    @cached_property
    def share_types(self) -> ShareTypeRepo:
        return ShareTypeRepo(self.conn)

    @cached_property
    def share_networks(self) -> ShareNetworkRepo:
        return ShareNetworkRepo(self.conn)

    @cached_property
    def share_group_types(self) -> ShareGroupTypeRepo:
        return ShareGroupTypeRepo(self.conn)

    @cached_property
    def shares(self) -> ShareRepo:
        return ShareRepo(self.conn)

    @cached_property
    def snapshots(self) -> SnapshotRepo:
        return SnapshotRepo(self.conn)

    @cached_property
    def groups(self) -> GroupRepo:
        return GroupRepo(self.conn)

    @cached_property
    def cgsnapshots(self) -> CGSnapshotRepo:
        return CGSnapshotRepo(self.conn)

    @cached_property
    def access_rules(self) -> AccessRuleRepo:
        return AccessRuleRepo(self.conn)

    @cached_property
    def export_ids(self) -> ExportIdRepo:
        return ExportIdRepo(self.conn)

    @cached_property
    def snapshot_access(self) -> SnapshotAccessRepo:
        return SnapshotAccessRepo(self.conn)

    @cached_property
    def operations(self) -> _WatchedOperationRepo:
        return _WatchedOperationRepo(self.conn)

    @cached_property
    def pools(self) -> PoolRepo:
        return PoolRepo(self.conn)

    @cached_property
    def share_network_subnets(self) -> ShareNetworkSubnetRepo:
        return ShareNetworkSubnetRepo(self.conn)

    @cached_property
    def security_services(self) -> SecurityServiceRepo:
        return SecurityServiceRepo(self.conn)

    @cached_property
    def metadata(self) -> MetadataRepo:
        return MetadataRepo(self.conn)

    @cached_property
    def quotas(self) -> QuotaRepo:
        return QuotaRepo(self.conn)

    @cached_property
    def messages(self) -> MessageRepo:
        return MessageRepo(self.conn)

    @cached_property
    def services(self) -> HostServiceRepo:
        return HostServiceRepo(self.conn)

    def commit(self) -> None:
        self._txn.commit()
        self._committed = True
        if "operations" in self.__dict__ and self.operations.enqueued and self._on_enqueued is not None:
            self.operations.enqueued = False
            self._on_enqueued()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed and self._txn.is_active:
                self._txn.rollback()
            if self._autocommit is not None and not self._autocommit.closed:
                self._autocommit.autocommit = False
        finally:
            self.conn.close()


class SqlAlchemyDatabase:
    """on_enqueued: called after a commit that recorded operations (the embedded worker's wake-up)."""

    def __init__(self, engine: Engine, *, on_enqueued: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self._on_enqueued = on_enqueued

    def read(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, on_enqueued=self._on_enqueued)

    def write(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.engine, write=True, on_enqueued=self._on_enqueued)
