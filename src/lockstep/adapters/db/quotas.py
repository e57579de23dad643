"""Quota limits (table `quotas`) and usage, counted from the records themselves.

Why count instead of keeping usage rows: every path that creates or removes a share, snapshot,
network, group or group snapshot (the API, the worker's settling, force-deletes, reclaims, a
create that failed placement and was deleted at once) would have to adjust a usage row in its own
transaction, and one forgotten path makes the numbers drift for good (Manila's `quota_usages`
needed a periodic resync for that reason). Counting is always what exists, and the counts use the
`project_id` indexes. What makes counting safe under concurrency is `lock`: a create takes its
project's lock before it counts and keeps it until it has inserted its record and committed, so a
second create of the same project counts after the first one's record is visible.

- PostgreSQL: a transaction-scoped advisory lock on a 64-bit key derived from the project id. In
  READ COMMITTED every statement after the lock sees what the previous holder committed.
- SQLite: a writing unit of work begins with BEGIN IMMEDIATE, which already holds the database's
  single write lock for the whole transaction; nothing more is needed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from lockstep.adapters.db import tables as t
from lockstep.adapters.db.work import PENDING, RUNNING
from lockstep.domain.model import Status, utcnow
from lockstep.domain.operations import OperationKind, Resize
from lockstep.domain.quotas import Resource, Subject, Usage

_NONE = ""  # a level that does not apply (see the table's comment)
_RESOURCES = {str(r): r for r in Resource}


def lock_key(project_id: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock (collisions only serialise two projects)."""
    digest = hashlib.sha256(b"lockstep-quota:" + project_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class QuotaRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        # project id -> every limit set in it, at any level: read once per unit of work (a share create
        # looks at the project's, the user's and the type's limits, twice), forgotten when one is changed.
        self._limits: dict[str, list[tuple[str, str, str, int]]] = {}

    def lock(self, project_id: str) -> None:
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(select(func.pg_advisory_xact_lock(lock_key(project_id))))
        elif not self.conn.get_execution_options().get("lockstep_write"):
            # SQLite serialises only transactions that began as writers (BEGIN IMMEDIATE).
            raise RuntimeError("quota checks need a writing unit of work (Database.write())")

    # limits ------------------------------------------------------------------------------------
    @staticmethod
    def _level(subject: Subject) -> list[ColumnElement[bool]]:
        return [t.quotas.c.project_id == subject.project_id, t.quotas.c.user_id == (subject.user_id or _NONE),
                t.quotas.c.share_type_id == (subject.share_type_id or _NONE)]

    def limits(self, subject: Subject) -> dict[Resource, int]:
        """The limits set at exactly this level (a project's, or one user's or share type's of it)."""
        rows = self._limits.get(subject.project_id)
        if rows is None:
            q = t.quotas.c
            rows = self._limits[subject.project_id] = [
                (user, share_type, resource, int(limit)) for user, share_type, resource, limit in self.conn.execute(
                    select(q.user_id, q.share_type_id, q.resource, q.hard_limit).where(
                        q.project_id == subject.project_id))]
        user, share_type = subject.user_id or _NONE, subject.share_type_id or _NONE
        return {_RESOURCES[name]: limit for u, st, name, limit in rows
                if u == user and st == share_type and name in _RESOURCES}

    def user_limit_totals(self, project_id: str) -> dict[Resource, int]:
        rows = self.conn.execute(
            select(t.quotas.c.resource, func.sum(t.quotas.c.hard_limit))
            .where(t.quotas.c.project_id == project_id, t.quotas.c.user_id != _NONE,
                   t.quotas.c.share_type_id == _NONE, t.quotas.c.hard_limit >= 0)
            .group_by(t.quotas.c.resource))
        known = {str(r) for r in Resource}
        return {Resource(name): int(total) for name, total in rows if name in known}

    def set_limit(self, subject: Subject, resource: Resource, limit: int) -> None:
        self._limits.pop(subject.project_id, None)
        now = utcnow()
        where = [*self._level(subject), t.quotas.c.resource == str(resource)]
        if not self.conn.execute(update(t.quotas).where(*where).values(hard_limit=limit, updated_at=now)).rowcount:
            self.conn.execute(insert(t.quotas), {
                "project_id": subject.project_id, "user_id": subject.user_id or _NONE,
                "share_type_id": subject.share_type_id or _NONE, "resource": str(resource), "hard_limit": limit,
                "created_at": now, "updated_at": now})

    def reset(self, subject: Subject) -> None:
        self._limits.pop(subject.project_id, None)
        where = [t.quotas.c.project_id == subject.project_id]
        if subject.user_id:
            where.append(t.quotas.c.user_id == subject.user_id)
        elif subject.share_type_id:
            where.append(t.quotas.c.share_type_id == subject.share_type_id)
        else:
            where.append(t.quotas.c.share_type_id == _NONE)  # the project's and its users' limits
        self.conn.execute(delete(t.quotas).where(*where))

    # usage -------------------------------------------------------------------------------------
    def usage(self, subject: Subject, resources: Iterable[Resource]) -> dict[Resource, Usage]:
        wanted = set(resources)
        found: dict[Resource, Usage] = {r: Usage() for r in wanted}
        if wanted & {Resource.SHARES, Resource.GIGABYTES}:
            count, size = self._shares(subject)
            found[Resource.SHARES] = Usage(count)
            found[Resource.GIGABYTES] = Usage(size, self._extending(subject))
        if wanted & {Resource.SNAPSHOTS, Resource.SNAPSHOT_GIGABYTES}:
            count, size = self._snapshots(subject)
            found[Resource.SNAPSHOTS] = Usage(count)
            found[Resource.SNAPSHOT_GIGABYTES] = Usage(size)
        if subject.share_type_id is None:
            # Networks, groups and group snapshots belong to no share type.
            for resource, table in ((Resource.SHARE_NETWORKS, t.share_networks),
                                    (Resource.SHARE_GROUPS, t.consistency_groups),
                                    (Resource.SHARE_GROUP_SNAPSHOTS, t.cgsnapshots)):
                if resource in wanted:
                    found[resource] = Usage(self._count(table, subject))
        return {r: u for r, u in found.items() if r in wanted}

    def _share_conditions(self, subject: Subject) -> list[ColumnElement[bool]]:
        conditions = [t.shares.c.project_id == subject.project_id]
        if subject.user_id is not None:
            conditions.append(t.shares.c.user_id == subject.user_id)
        if subject.share_type_id is not None:
            conditions.append(t.shares.c.share_type_id == subject.share_type_id)
        return conditions

    def _shares(self, subject: Subject) -> tuple[int, int]:
        row = self.conn.execute(select(func.count(), func.coalesce(func.sum(t.shares.c.size), 0))
                                .where(*self._share_conditions(subject))).one()
        return int(row[0]), int(row[1])

    def _extending(self, subject: Subject) -> int:
        """Gigabytes promised to extends that have not finished: reserved, as Manila reports them."""
        rows = self.conn.execute(
            select(t.operations.c.payload, t.shares.c.size)
            .select_from(t.operations.join(t.shares, t.shares.c.id == t.operations.c.target_id))
            .where(t.operations.c.kind == str(OperationKind.EXTEND_SHARE),
                   t.operations.c.state.in_([PENDING, RUNNING]), t.shares.c.status == Status.EXTENDING,
                   *self._share_conditions(subject)))
        reserved = 0
        for payload, size in rows:
            try:
                new_size = Resize.load(json.loads(payload)).new_size
            except (KeyError, TypeError, ValueError):
                continue  # the worker will fail this operation; it promises nothing
            reserved += max(new_size - int(size), 0)
        return reserved

    def _snapshots(self, subject: Subject) -> tuple[int, int]:
        conditions: list[ColumnElement[bool]] = [t.snapshots.c.project_id == subject.project_id]
        if subject.user_id is not None:
            conditions.append(t.snapshots.c.user_id == subject.user_id)
        if subject.share_type_id is not None:
            # A snapshot counts against its share's type (as in Manila).
            typed = select(t.shares.c.id).where(t.shares.c.share_type_id == subject.share_type_id)
            conditions.append(t.snapshots.c.share_id.in_(typed))
        row = self.conn.execute(select(func.count(), func.coalesce(func.sum(t.snapshots.c.size), 0))
                                .where(*conditions)).one()
        return int(row[0]), int(row[1])

    def _count(self, table: Table, subject: Subject) -> int:
        conditions = [table.c.project_id == subject.project_id]
        if subject.user_id is not None:
            conditions.append(table.c.user_id == subject.user_id)
        return int(self.conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one())
