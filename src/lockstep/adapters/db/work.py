"""The durable work queue (table `operations`) and the pool registry (table `pools`)."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql import Select

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


def _clauses() -> tuple[ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """(due, abandoned, not busy) at `:now`.

    Built once with `now` as a bound parameter: a fresh alias per call would give every claim query a new
    cache key, and SQLAlchemy would compile the statement again on every pass of every worker.
    """
    now = bindparam("now", type_=Float)
    other = t.operations.alias("other")
    not_busy = ~exists(select(other.c.id).where(
        other.c.target_id == t.operations.c.target_id, other.c.id != t.operations.c.id,
        other.c.state == RUNNING, other.c.lease_expires_at >= now,
    ))
    due = and_(t.operations.c.state == PENDING, t.operations.c.not_before <= now)
    # Running, but its owner stopped renewing the lease (a takeover when claimed).
    abandoned = and_(t.operations.c.state == RUNNING, t.operations.c.lease_expires_at < now)
    return due, abandoned, not_busy


_DUE, _ABANDONED, _NOT_BUSY = _clauses()
# Due and unowned (or owned by a worker whose lease ran out), and its target is not busy.
_READY = and_(or_(_DUE, _ABANDONED), _NOT_BUSY)


def _claim_statement(state: ColumnElement[bool]) -> Any:
    """One compare-and-set claim that returns the row it took (built once, parameters bound per call)."""
    ops = t.operations
    return (update(ops).where(ops.c.id == bindparam("op_id"), state, _NOT_BUSY)
            .values(state=RUNNING, owner=bindparam("new_owner"), lease_expires_at=bindparam("new_lease", type_=Float),
                    attempts=ops.c.attempts + 1, updated_at=bindparam("now_dt"))
            .returning(ops.c.id, ops.c.kind, ops.c.target_id, ops.c.backend, ops.c.attempts, ops.c.payload,
                       ops.c.request_id))


_CLAIM_DUE, _CLAIM_ABANDONED = _claim_statement(_DUE), _claim_statement(_ABANDONED)


@functools.lru_cache(maxsize=64)
def _claimable_query(backends: tuple[str, ...] | None, limit: int) -> Select[Any]:
    """The claim query of a worker (its backends never change), built once."""
    query = select(t.operations.c.id).where(_READY, t.operations.c.kind.in_([str(k) for k in OperationKind]))
    if backends is not None:
        query = query.where(or_(t.operations.c.backend.is_(None), t.operations.c.backend.in_(backends)))
    return query.order_by(t.operations.c.id).limit(limit)


class OperationRepo(Enqueue):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(self, kind: OperationKind, target_id: str, *, backend: str | None, payload: Payload | None) -> None:
        now = utcnow()
        self.conn.execute(insert(t.operations), {
            "kind": str(kind), "target_id": target_id, "backend": backend, "state": PENDING, "attempts": 0,
            "not_before": time.time(), "payload": json.dumps(dump_payload(payload)), "created_at": now,
            "updated_at": now, "request_id": current_request_id(),
        })

    def claimable(self, backends: list[str] | None, now: float, limit: int = 8) -> list[int]:
        """Ids of operations this worker may try to claim (pending and due, or lease run out).

        A kind this code does not know (a row written by a newer version) is left to a worker that does.
        """
        query = _claimable_query(None if backends is None else tuple(backends), limit)
        return list(self.conn.execute(query, {"now": now}).scalars())

    def claim(self, op_id: int, owner: str, now: float, lease: float) -> Operation | None:
        """Compare-and-set claim: exactly one worker wins a given operation.

        Two statements, each a compare-and-set, so that the winner knows whether it took the row over
        from a worker whose lease ran out (the operator's lease-takeover count) without reading first.
        """
        taken_over = False
        row = self._claim_where(op_id, owner, now, lease, _CLAIM_DUE)
        if row is None:
            row = self._claim_where(op_id, owner, now, lease, _CLAIM_ABANDONED)
            taken_over = row is not None
        if row is None:
            return None
        kind = OperationKind(row["kind"])
        try:
            payload = load_payload(kind, json.loads(row["payload"]))
        except (KeyError, TypeError, ValueError):
            # Let the handler fail on it (Operation.payload_as) like on any other error, so the worker
            # retries and then gives up, instead of this claim failing on every pass of the loop.
            payload = None
        return Operation(id=row["id"], kind=kind, target_id=row["target_id"], backend=row["backend"],
                         attempts=row["attempts"], payload=payload, request_id=row["request_id"],
                         taken_over=taken_over)

    def _claim_where(self, op_id: int, owner: str, now: float, lease: float, claim: Any) -> RowMapping | None:
        """The claimed row (as it is after the claim), or None if the compare-and-set lost."""
        return self.conn.execute(claim, {"now": now, "op_id": op_id, "new_owner": owner,
                                         "new_lease": now + lease, "now_dt": utcnow()}).mappings().first()

    def summary(self) -> list[QueueStat]:
        ops = t.operations
        rows = self.conn.execute(
            select(ops.c.kind, ops.c.state, func.count(), func.min(ops.c.created_at)).group_by(ops.c.kind, ops.c.state)
        ).all()
        return [QueueStat(kind=kind, state=state, count=count, oldest_created_at=oldest)
                for kind, state, count, oldest in rows]

    def renew(self, op_ids: list[int], owner: str, until: float) -> None:
        if op_ids:
            self.conn.execute(update(t.operations).where(
                t.operations.c.id.in_(op_ids), t.operations.c.owner == owner, t.operations.c.state == RUNNING
            ).values(lease_expires_at=until))

    def finish(self, op_id: int, owner: str, *, error: str | None = None) -> None:
        """Done operations are deleted: the table holds only work still to do (and failures)."""
        if error is None:
            self.conn.execute(delete(t.operations).where(t.operations.c.id == op_id, t.operations.c.owner == owner))
        else:
            self.conn.execute(update(t.operations).where(t.operations.c.id == op_id, t.operations.c.owner == owner)
                              .values(state=FAILED, last_error=error[:4000], updated_at=utcnow()))

    def release(self, op_id: int, owner: str, *, backend: str | None = None, delay: float = 0.0,
                error: str | None = None) -> None:
        """Hand the operation back (to another backend's worker, or to retry later)."""
        values: dict[str, Any] = {"state": PENDING, "owner": None, "lease_expires_at": None,
                                  "not_before": time.time() + delay, "updated_at": utcnow()}
        if backend is not None:
            values["backend"] = backend
            values["attempts"] = 0
        if error is not None:
            values["last_error"] = error[:4000]
        self.conn.execute(update(t.operations).where(t.operations.c.id == op_id, t.operations.c.owner == owner)
                          .values(**values))

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
        return self.conn.execute(update(t.operations).where(
            t.operations.c.target_id == target_id, t.operations.c.kind == str(kind), t.operations.c.state == PENDING,
        ).values(not_before=0.0)).rowcount > 0

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
