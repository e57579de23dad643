"""The durable work queue (table `operations`) and the pool registry (table `pools`)."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from lockstep.adapters.db import tables as t
from lockstep.domain.model import utcnow
from lockstep.domain.operations import (
    Enqueue,
    Operation,
    OperationKind,
    Payload,
    QueueStat,
    Resize,
    dump_payload,
    load_payload,
)
from lockstep.domain.pools import PoolRecord, PoolUsage
from lockstep.service.context import current_request_id

# A finished operation is deleted, so "done" is never stored.
PENDING, RUNNING, FAILED = "pending", "running", "failed"
# pg_advisory_xact_lock key of placement (a constant: every placement counts every pool it may choose).
PLACEMENT_LOCK = int.from_bytes(hashlib.sha256(b"lockstep-placement").digest()[:8], "big", signed=True)
#: The PostgreSQL channel an enqueue notifies (payload: the `host@backend` that must run it, "" for any).
WAKE_CHANNEL = "lockstep_work"

# The database's clock, in seconds since the epoch: leases and due times are judged by it, so workers on
# machines whose clocks disagree still agree on whose lease ran out. SQLite is one machine's file: its
# writers share that machine's clock, which the statements receive as the bound `now`.
_PG_NOW = cast(func.extract("epoch", func.clock_timestamp()), Float)
_NOW = bindparam("now", type_=Float)


def _clock(dialect: str) -> ColumnElement[float]:
    return _PG_NOW if dialect == "postgresql" else _NOW


def _clock_params(dialect: str) -> dict[str, float]:
    return {} if dialect == "postgresql" else {"now": time.time()}


def _ready(ops: Any, now: ColumnElement[float]) -> ColumnElement[bool]:
    """Operations of `ops` (the table or an alias) a worker may claim at `now`: pending and due, or
    running with a lease run out (its owner died or stopped: a takeover); and nothing else on the same
    target is running, nor due before it (one operation per share/group at a time, in order)."""
    other = t.operations.alias("other")
    due = and_(ops.c.state == PENDING, ops.c.not_before <= now)
    abandoned = and_(ops.c.state == RUNNING, ops.c.lease_expires_at < now)
    busy = exists(select(other.c.id).where(
        other.c.target_id == ops.c.target_id, other.c.id != ops.c.id, other.c.state == RUNNING))
    earlier = exists(select(other.c.id).where(
        other.c.target_id == ops.c.target_id, other.c.id < ops.c.id, other.c.state == PENDING,
        other.c.not_before <= now))
    return and_(or_(due, abandoned), ~busy, ~earlier)


_RETURNED = (t.operations.c.id, t.operations.c.kind, t.operations.c.target_id, t.operations.c.backend,
             t.operations.c.attempts, t.operations.c.payload, t.operations.c.request_id, t.operations.c.epoch,
             t.operations.c.previous_owner)


@functools.lru_cache(maxsize=64)
def _claim_statement(dialect: str, backends: tuple[str, ...] | None, limit: int) -> Any:
    """One statement claims up to `limit` ready operations: the rows are chosen and locked by a subquery
    that skips rows another worker is claiming (PostgreSQL's FOR UPDATE SKIP LOCKED; SQLite has one
    writer at a time), and each claim raises the row's epoch. Built once per worker (its backends never
    change): a fresh statement per pass would be compiled again on every pass of every worker."""
    now = _clock(dialect)
    cand = t.operations.alias("cand")
    picked = select(cand.c.id).where(_ready(cand, now), cand.c.kind.in_([str(k) for k in OperationKind]))
    if backends is not None:
        picked = picked.where(or_(cand.c.backend.is_(None), cand.c.backend.in_(backends)))
    picked = picked.order_by(cand.c.id).limit(limit).with_for_update(skip_locked=True)
    ops = t.operations.c
    return (update(t.operations).where(ops.id.in_(picked.scalar_subquery()))
            .values(state=RUNNING, owner=bindparam("owner"), previous_owner=ops.owner,
                    lease_expires_at=now + bindparam("lease", type_=Float), attempts=ops.attempts + 1,
                    epoch=ops.epoch + 1, updated_at=bindparam("stamp", type_=DateTime))
            .returning(*_RETURNED))


class OperationRepo(Enqueue):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def _now(self) -> ColumnElement[float]:
        return _PG_NOW if self.dialect == "postgresql" else literal(time.time(), Float)

    def _notify(self, backend: str | None) -> None:
        """Wake the workers LISTENing (PostgreSQL delivers it at commit, and not at all on rollback)."""
        if self.dialect == "postgresql":
            self.conn.execute(select(func.pg_notify(WAKE_CHANNEL, backend or "")))

    def record(self, kind: OperationKind, target_id: str, *, backend: str | None, payload: Payload | None) -> None:
        now = utcnow()
        self.conn.execute(insert(t.operations).values(
            kind=str(kind), target_id=target_id, backend=backend, state=PENDING, attempts=0, epoch=0,
            not_before=self._now(), payload=json.dumps(dump_payload(payload)), created_at=now,
            updated_at=now, request_id=current_request_id()))
        self._notify(backend)

    def claim_ready(self, backends: list[str] | None, owner: str, lease: float, limit: int = 1) -> list[Operation]:
        """Claim up to `limit` ready operations for `owner` (its backends, and unplaced work); each claim
        raises the row's epoch, which the owner's later writes are conditioned on (`hold`).

        A kind this code does not know (a row written by a newer version) is left to a worker that does.
        Two workers that claim different operations of one target at the same instant meet the unique
        index on running targets: the loser claims nothing this time and tries again.
        """
        stmt = _claim_statement(self.dialect, None if backends is None else tuple(backends), limit)
        params = {"owner": owner, "lease": lease, "stamp": utcnow(), **_clock_params(self.dialect)}
        try:
            with self.conn.begin_nested():
                rows = self.conn.execute(stmt, params).mappings().all()
        except IntegrityError:
            return []
        return sorted((self._operation(row) for row in rows), key=lambda op: op.id)

    @staticmethod
    def _operation(row: Any) -> Operation:
        kind = OperationKind(row["kind"])
        try:
            payload = load_payload(kind, json.loads(row["payload"]))
        except (KeyError, TypeError, ValueError):
            # Let the handler fail on it (Operation.payload_as) like on any other error, so the worker
            # retries and then gives up, instead of this claim failing on every pass of the loop.
            payload = None
        return Operation(id=row["id"], kind=kind, target_id=row["target_id"], backend=row["backend"],
                         attempts=row["attempts"], payload=payload, request_id=row["request_id"],
                         taken_over=row["previous_owner"] is not None, epoch=row["epoch"],
                         previous_owner=row["previous_owner"])

    def _held(self, op_id: int, owner: str, epoch: int) -> ColumnElement[bool]:
        ops = t.operations.c
        return and_(ops.id == op_id, ops.owner == owner, ops.epoch == epoch, ops.state == RUNNING)

    def hold(self, op_id: int, owner: str, epoch: int) -> bool:
        """True, and the row locked until the transaction ends, if `owner` still holds the operation at
        `epoch`: no other worker has claimed it since, and none can while this transaction lasts (its
        claims skip locked rows). The fence every write of a running operation goes through."""
        query = select(t.operations.c.id).where(self._held(op_id, owner, epoch)).with_for_update()
        return self.conn.execute(query).first() is not None

    def summary(self) -> list[QueueStat]:
        ops = t.operations
        rows = self.conn.execute(
            select(ops.c.kind, ops.c.state, func.count(), func.min(ops.c.created_at)).group_by(ops.c.kind, ops.c.state)
        ).all()
        return [QueueStat(kind=kind, state=state, count=count, oldest_created_at=oldest)
                for kind, state, count, oldest in rows]

    def renew(self, held: Mapping[int, int], owner: str, lease: float) -> set[int]:
        """Extend the leases `owner` holds ({id: epoch}) to `lease` seconds from the database's now;
        returns the ids it no longer holds (taken over after its lease ran out, or finished)."""
        if not held:
            return set()
        ops = t.operations.c
        which = or_(*(and_(ops.id == op_id, ops.epoch == epoch) for op_id, epoch in held.items()))
        renewed = set(self.conn.execute(update(t.operations).where(which, ops.owner == owner, ops.state == RUNNING)
                                        .values(lease_expires_at=self._now() + lease).returning(ops.id)).scalars())
        return set(held) - renewed

    def running_owners(self) -> set[str]:
        """The owners of running operations."""
        return set(self.conn.execute(select(t.operations.c.owner).distinct().where(
            t.operations.c.state == RUNNING, t.operations.c.owner.is_not(None))).scalars())

    def expire_leases(self, owner: str) -> int:
        """End the leases `owner` holds now (it is known to be dead): its operations are claimable at once."""
        return int(self.conn.execute(update(t.operations).where(
            t.operations.c.owner == owner, t.operations.c.state == RUNNING).values(lease_expires_at=0.0)).rowcount)

    def finish(self, op_id: int, owner: str, epoch: int, *, error: str | None = None) -> bool:
        """Done operations are deleted: the table holds only work still to do (and failures). False if
        `owner` no longer holds it at `epoch` (nothing is written)."""
        if error is None:
            return self.conn.execute(delete(t.operations).where(self._held(op_id, owner, epoch))).rowcount > 0
        return self.conn.execute(update(t.operations).where(self._held(op_id, owner, epoch)).values(
            state=FAILED, last_error=error[:4000], updated_at=utcnow())).rowcount > 0

    def release(self, op_id: int, owner: str, epoch: int, *, backend: str | None = None, delay: float = 0.0,
                error: str | None = None, unfenced: str | None = None) -> bool:
        """Hand the operation back (to another backend's worker, or to retry later); False if `owner` no
        longer holds it at `epoch`. A pending row keeps an `owner` only when it is `unfenced`, a previous
        owner whose storage clients could not be fenced: the next claim sees it as `previous_owner` (a
        takeover), and fences it before running."""
        values: dict[str, Any] = {"state": PENDING, "owner": unfenced, "lease_expires_at": None,
                                  "not_before": self._now() + delay, "updated_at": utcnow()}
        if backend is not None:
            values["backend"] = backend
            values["attempts"] = 0
        if error is not None:
            values["last_error"] = error[:4000]
        released = self.conn.execute(update(t.operations).where(self._held(op_id, owner, epoch))
                                     .values(**values)).rowcount > 0
        if released and backend is not None:
            self._notify(backend)
        return released

    def expedite(self, target_id: str, kind: OperationKind) -> None:
        """Make pending work on a target due now (a reclaim that waited for something that just went)."""
        self.conn.execute(update(t.operations).where(
            t.operations.c.target_id == target_id, t.operations.c.kind == str(kind), t.operations.c.state == PENDING,
        ).values(not_before=0.0))

    def targets(self) -> set[str]:
        """Ids that unfinished operations name."""
        return set(self.conn.execute(select(t.operations.c.target_id).where(
            t.operations.c.state.in_([PENDING, RUNNING]))).scalars())

    def hurry(self, target_id: str, kind: OperationKind) -> bool:
        # An UPDATE, not a read: on PostgreSQL it waits for a claim of the same row in progress and
        # then sees the row running, so the caller records new work instead of relying on a run
        # that may already have read the records.
        hurried = self.conn.execute(update(t.operations).where(
            t.operations.c.target_id == target_id, t.operations.c.kind == str(kind), t.operations.c.state == PENDING,
        ).values(not_before=0.0).returning(t.operations.c.backend)).scalars().all()
        for backend in set(hurried):
            self._notify(backend)
        return bool(hurried)

    def unfinished(self, target_ids: list[str]) -> list[tuple[int, OperationKind, str]]:
        """(id, kind, target) of the pending or running operations on the targets (kinds this code knows)."""
        rows = self.conn.execute(select(t.operations.c.id, t.operations.c.kind, t.operations.c.target_id).where(
            t.operations.c.target_id.in_(target_ids), t.operations.c.state.in_([PENDING, RUNNING]),
            t.operations.c.kind.in_([str(k) for k in OperationKind])).order_by(t.operations.c.id)).all()
        return [(row.id, OperationKind(row.kind), row.target_id) for row in rows]

    def pending_for(self, target_id: str) -> int:
        return len(self.conn.execute(select(t.operations.c.id).where(
            t.operations.c.target_id == target_id, t.operations.c.state.in_([PENDING, RUNNING]))).all())


class PoolRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def upsert(self, record: PoolRecord) -> None:
        values = dict(host=record.host, backend=record.backend, pool=record.pool,
                      capabilities=json.dumps(record.capabilities, sort_keys=True),
                      total_capacity_gb=record.total_capacity_gb, free_capacity_gb=record.free_capacity_gb,
                      updated_at=record.updated_at or utcnow())
        # One statement: two workers reporting the same pool for the first time must not both insert.
        dialect_insert = pg_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        stmt = dialect_insert(t.pools).values(name=record.name, **values)
        self.conn.execute(stmt.on_conflict_do_update(index_elements=[t.pools.c.name], set_=values))

    def all(self) -> list[PoolRecord]:
        rows = self.conn.execute(select(t.pools).order_by(t.pools.c.name)).mappings()
        return [PoolRecord(name=r["name"], host=r["host"], backend=r["backend"], pool=r["pool"],
                           capabilities=json.loads(r["capabilities"]), total_capacity_gb=r["total_capacity_gb"],
                           free_capacity_gb=r["free_capacity_gb"],
                           updated_at=r["updated_at"]) for r in rows]

    def lock_placement(self) -> None:
        """Serialise placements until the transaction ends: a placement counts what is provisioned
        and inserts its record before the next one counts (as QuotaRepo.lock does for quotas)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(select(func.pg_advisory_xact_lock(PLACEMENT_LOCK)))
        elif not self.conn.get_execution_options().get("lockstep_write"):
            # SQLite serialises only transactions that began as writers (BEGIN IMMEDIATE).
            raise RuntimeError("placement needs a writing unit of work (Database.write())")

    def usage(self, pools: Sequence[PoolRecord]) -> dict[str, PoolUsage]:
        """Per pool, counted from the share records: the sizes placed there, and the real space full
        copies have promised that the pool's last report could not have seen."""
        names = [p.name for p in pools]
        if not names:
            return {}
        s = t.shares.c
        provisioned: dict[str, int] = {host: int(total) for host, total in self.conn.execute(
            select(s.host, func.coalesce(func.sum(s.size), 0)).where(s.host.in_(names)).group_by(s.host))}
        for host, growth in self._extending(names).items():
            provisioned[host] = provisioned.get(host, 0) + growth
        found = {}
        for pool in pools:
            pending = 0
            if pool.thin and not pool.cow_clones:
                pending = self.conn.execute(select(func.coalesce(func.sum(s.size), 0)).where(
                    s.host == pool.name, or_(s.snapshot_id.is_not(None), s.source_cgsnapshot_member_id.is_not(None)),
                    or_(s.status == "creating", s.updated_at >= pool.updated_at))).scalar_one()
            found[pool.name] = PoolUsage(int(provisioned.get(pool.name, 0)), int(pending))
        return found

    def _extending(self, names: Sequence[str]) -> dict[str, int]:
        """Per pool, the gigabytes extends that have not settled yet promise (the record's size
        changes only when the extend settles)."""
        rows = self.conn.execute(
            select(t.shares.c.host, t.operations.c.payload, t.shares.c.size)
            .select_from(t.operations.join(t.shares, t.shares.c.id == t.operations.c.target_id))
            .where(t.operations.c.kind == str(OperationKind.EXTEND_SHARE),
                   t.operations.c.state.in_([PENDING, RUNNING]), t.shares.c.status == "extending",
                   t.shares.c.host.in_(names)))
        growth: dict[str, int] = {}
        for host, payload, size in rows:
            try:
                new_size = Resize.load(json.loads(payload)).new_size
            except (KeyError, TypeError, ValueError):
                continue  # the worker will fail this operation; it promises nothing
            growth[host] = growth.get(host, 0) + max(new_size - int(size), 0)
        return growth
