"""The operation queue's claims, leases and epochs (adapters/db/work.py), on SQLite and PostgreSQL.

What many workers on one database rely on: a claim takes several ready operations in one statement and
raises each row's epoch; two claims in flight never take the same row (PostgreSQL: SKIP LOCKED, SQLite:
one writer); at most one operation per target runs, even when two claims race; a lease is judged by the
database's clock; and a worker whose lease was taken over can neither renew, release, finish nor `hold`
the operation any more.
"""

from __future__ import annotations

import concurrent.futures
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.domain.operations import Entity, Operation, OperationKind, Reclaim
from lockstep.service.fencing import Fence, FencedDatabase, LostLease
from lockstep.service.worker import Worker
from tests.support import migrated_database

RECLAIM = Reclaim(Entity.SHARE)


def _engine(kind: str, tmp_path: Path) -> Iterator[Engine]:
    with migrated_database(kind, tmp_path) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(request.param, tmp_path)


@pytest.fixture
def pg_engine(tmp_path: Path) -> Iterator[Engine]:
    """PostgreSQL only: for what SQLite cannot have (machines with different clocks, claims in flight
    together: it is one machine's file with one writer at a time)."""
    yield from _engine("postgresql", tmp_path)


def _enqueue(db: SqlAlchemyDatabase, *targets: str, backend: str | None = None) -> None:
    with db.write() as uow:
        for target in targets:
            uow.operations.enqueue(OperationKind.RECLAIM, target, backend=backend, payload=RECLAIM)
        uow.commit()


def _claim(db: SqlAlchemyDatabase, owner: str, *, lease: float = 30.0, limit: int = 8,
           backends: list[str] | None = None) -> list[Operation]:
    with db.write() as uow:
        ops = uow.operations.claim_ready(backends, owner, lease, limit)
        uow.commit()
    return ops


def _expire(engine: Engine, op_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE operations SET lease_expires_at = 0 WHERE id = :id"), {"id": op_id})


def test_one_statement_claims_several_once_each_and_one_per_target(engine: Engine) -> None:
    db = SqlAlchemyDatabase(engine)
    _enqueue(db, "a", "b", "c", "a", backend="h1@x")
    _enqueue(db, "d", backend="h2@x")
    _enqueue(db, "e")  # unplaced: any worker
    ops = _claim(db, "w1", backends=["h1@x"])
    assert sorted(op.target_id for op in ops) == ["a", "b", "c", "e"]  # the second "a" waits for the first
    assert {op.epoch for op in ops} == {1} and not any(op.taken_over for op in ops)
    assert _claim(db, "w2", backends=["h1@x"]) == []  # nothing left for h1, and "a" is busy
    assert [op.target_id for op in _claim(db, "w2", backends=["h2@x"])] == ["d"]
    first_a = min(op.id for op in ops if op.target_id == "a")
    with db.write() as uow:
        assert uow.operations.finish(first_a, "w1", 1)
        uow.commit()
    assert [op.target_id for op in _claim(db, "w2", backends=["h1@x"])] == ["a"]


def test_a_lease_taken_over_fences_its_old_owner(engine: Engine) -> None:
    db = SqlAlchemyDatabase(engine)
    _enqueue(db, "t")
    [mine] = _claim(db, "old")
    assert _claim(db, "new") == []  # leased
    _expire(engine, mine.id)
    [theirs] = _claim(db, "new")
    assert (theirs.id, theirs.epoch, theirs.taken_over, theirs.previous_owner) == (mine.id, 2, True, "old")
    with db.write() as uow:
        assert not uow.operations.hold(mine.id, "old", mine.epoch)
        assert uow.operations.renew({mine.id: mine.epoch}, "old", 30.0) == {mine.id}
        assert not uow.operations.release(mine.id, "old", mine.epoch, delay=5)
        assert not uow.operations.finish(mine.id, "old", mine.epoch)
        assert not uow.operations.hold(mine.id, "new", mine.epoch)  # the right owner with a stale epoch
        assert uow.operations.hold(theirs.id, "new", theirs.epoch)
        assert uow.operations.renew({theirs.id: theirs.epoch}, "new", 30.0) == set()
        uow.commit()
    fenced = FencedDatabase(db, Fence(mine.id, "old", mine.epoch))
    with pytest.raises(LostLease), fenced.write() as uow:
        uow.operations.enqueue(OperationKind.RECLAIM, "written-by-a-fenced-worker", backend=None, payload=RECLAIM)
        uow.commit()
    with db.read() as uow:
        assert uow.operations.targets() == {"t"}  # the fenced write left nothing
    fenced = FencedDatabase(db, Fence(theirs.id, "new", theirs.epoch))
    with fenced.write() as uow:
        fenced.complete(uow)
        uow.commit()
    assert fenced.fence.completed
    with db.read() as uow:
        assert uow.operations.targets() == set()


def test_leases_are_judged_by_the_database_clock(pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker whose clock runs an hour ahead does not take over a lease the database says is running."""
    engine = pg_engine
    db = SqlAlchemyDatabase(engine)
    _enqueue(db, "t")
    assert len(_claim(db, "honest", lease=30.0)) == 1
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 3600)
    assert _claim(db, "ahead") == []
    with engine.connect() as conn:
        left = conn.execute(text("SELECT lease_expires_at - extract(epoch FROM clock_timestamp()) FROM operations"))
        assert 20 < float(left.scalar_one()) <= 30


def test_concurrent_claims_skip_rows_being_claimed(pg_engine: Engine) -> None:
    """A claim does not wait for another claim in flight; it takes other rows."""
    engine = pg_engine
    db = SqlAlchemyDatabase(engine)
    _enqueue(db, *[f"t{i}" for i in range(6)])
    with db.write() as first:
        mine = first.operations.claim_ready(None, "w1", 30.0, 3)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            theirs = pool.submit(_claim, db, "w2", limit=3).result(timeout=10)  # would block without SKIP LOCKED
        first.commit()
    assert len(mine) == len(theirs) == 3
    assert not {op.id for op in mine} & {op.id for op in theirs}


def test_racing_claims_of_one_target_run_one_operation(engine: Engine) -> None:
    """Two claims, each blind to the other's uncommitted row, choose two operations of one target: the
    unique index on running targets lets one of them run, and the other claim takes nothing."""
    db = SqlAlchemyDatabase(engine)
    _enqueue(db, "t", "t")
    with engine.begin() as conn:  # the first operation is not due yet: the second is claimable alone
        conn.execute(text("UPDATE operations SET not_before = 1e12 WHERE id = (SELECT min(id) FROM operations)"))
    if engine.dialect.name == "postgresql":
        with db.write() as first:
            [second] = first.operations.claim_ready(None, "w1", 30.0, 8)
            with engine.begin() as conn:
                conn.execute(text("UPDATE operations SET not_before = 0 WHERE id < :id"), {"id": second.id})
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                racing = pool.submit(_claim, db, "w2")
                time.sleep(0.3)  # it waits on the unique index for the first claim to end
                first.commit()
                assert racing.result(timeout=10) == []
    else:
        [second] = _claim(db, "w1")
    with engine.connect() as conn:
        running = conn.execute(text("SELECT count(*) FROM operations WHERE state = 'running'")).scalar_one()
        assert running == 1
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE operations SET state = 'running' WHERE id != :id"), {"id": second.id})


def test_a_restarted_worker_takes_back_the_leases_of_dead_workers_of_its_machine(engine: Engine) -> None:
    """A worker killed and started again need not wait for its predecessor's leases to run out."""
    db = SqlAlchemyDatabase(engine)
    machine = socket.gethostname()
    gone = subprocess.Popen(["true"])
    gone.wait()
    _enqueue(db, "of-the-dead", "of-the-living")
    [dead] = _claim(db, f"{machine}:{gone.pid}:old", limit=1)
    [alive] = _claim(db, f"{machine}:1:init", limit=1)  # pid 1 is alive
    worker = Worker(db, {}, availability_zone="nova")
    assert worker.claim(2) == []  # both leased
    assert worker.expire_dead_leases() == 1
    [again] = worker.claim(2)
    assert (again.id, again.taken_over, again.epoch) == (dead.id, True, 2)
    assert alive.target_id == "of-the-living"
