"""The SQLAlchemy unit of work: rolls back unless committed, and wakes a worker after a commit that recorded work."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.migrate import upgrade
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.domain.operations import Entity, OperationKind, Reclaim
from lockstep.service.unit_of_work import Database
from tests.support import database

RECLAIM_SHARE = Reclaim(Entity.SHARE)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_wakes_only_after_a_commit_that_enqueued(kind: str, tmp_path: Path) -> None:
    woken: list[int] = []
    with database(kind, tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            db: Database = SqlAlchemyDatabase(engine, on_enqueued=lambda: woken.append(1))
            with db.write() as uow:
                uow.operations.enqueue(OperationKind.RECLAIM, "never-committed", backend=None, payload=RECLAIM_SHARE)
            assert woken == []  # rolled back: nothing to do
            with db.read() as uow:
                assert uow.operations.targets() == set()
            with db.write() as uow:
                uow.shares.exists("x")
                uow.commit()
            assert woken == []  # committed, but no work recorded
            with db.write() as uow:
                uow.operations.enqueue(OperationKind.RECLAIM, "t1", backend=None, payload=RECLAIM_SHARE)
                uow.operations.enqueue(OperationKind.RECLAIM, "t2", backend=None, payload=RECLAIM_SHARE)
                assert woken == []  # not before the commit: the worker would find nothing
                uow.commit()
            assert woken == [1]  # once per commit
            with db.read() as uow:
                assert uow.operations.targets() == {"t1", "t2"}
        finally:
            engine.dispose()
