"""A unit of work: one database transaction that rolls back unless `commit()` is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from lockstep.adapters.db.engine import WRITE
from lockstep.adapters.db.repository import (
    CGSnapshotRepo,
    GroupRepo,
    ShareNetworkRepo,
    ShareRepo,
    ShareTypeRepo,
    SnapshotRepo,
)
from lockstep.adapters.db.work import OperationRepo, PoolRepo


class UnitOfWork:
    conn: Connection

    def __init__(self, engine: Engine, *, write: bool = False) -> None:
        self._engine = engine
        self._write = write
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        conn = self._engine.connect()
        if self._write:
            conn = conn.execution_options(**WRITE)
        self.conn = conn
        self._txn = conn.begin()
        self.share_types = ShareTypeRepo(conn)
        self.share_networks = ShareNetworkRepo(conn)
        self.shares = ShareRepo(conn)
        self.snapshots = SnapshotRepo(conn)
        self.groups = GroupRepo(conn)
        self.cgsnapshots = CGSnapshotRepo(conn)
        self.operations = OperationRepo(conn)
        self.pools = PoolRepo(conn)
        return self

    def commit(self) -> None:
        self._txn.commit()
        self._committed = True

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed and self._txn.is_active:
                self._txn.rollback()
        finally:
            self.conn.close()


class Database:
    """Hands out units of work; the only object the service layer holds of the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def read(self) -> UnitOfWork:
        return UnitOfWork(self.engine)

    def write(self) -> UnitOfWork:
        return UnitOfWork(self.engine, write=True)
