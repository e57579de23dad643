"""Snapshot access rules (table `snapshot_access_rules`) and where snapshots and cgsnapshot members are
mounted from (`snapshot_export_locations`, `cgsnapshot_member_export_locations`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from lockstep.adapters.db import tables as t
from lockstep.domain.access import SnapshotAccessRule, SnapshotTarget
from lockstep.domain.model import SnapshotExportLocation, Status, utcnow

_FIELDS = tuple(SnapshotAccessRule.__dataclass_fields__)


def _on(backends: Sequence[str]) -> list[Any]:
    return [t.shares.c.host.startswith(f"{key}#", autoescape=True) | (t.shares.c.host == key) for key in backends]


class SnapshotAccessRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # rules -----------------------------------------------------------------------------------------
    def hold(self, target_id: str, kind: str) -> None:
        """A row lock on the snapshot or member (PostgreSQL), so two grants cannot both find no duplicate."""
        table = t.snapshots if kind == SnapshotTarget.SNAPSHOT else t.cgsnapshot_members
        self.conn.execute(select(table.c.id).where(table.c.id == target_id).with_for_update())

    def get(self, rule_id: str) -> SnapshotAccessRule | None:
        row = self.conn.execute(select(t.snapshot_access_rules).where(t.snapshot_access_rules.c.id == rule_id)
                                ).mappings().first()
        return SnapshotAccessRule(**{f: row[f] for f in _FIELDS}) if row else None

    def for_target(self, target_id: str) -> list[SnapshotAccessRule]:
        rules = t.snapshot_access_rules
        rows = self.conn.execute(select(rules).where(rules.c.target_id == target_id)
                                 .order_by(rules.c.created_at, rules.c.id)).mappings()
        return [SnapshotAccessRule(**{f: r[f] for f in _FIELDS}) for r in rows]

    def by_target_on(self, backends: Sequence[str], states: Iterable[str]) -> dict[str, list[SnapshotAccessRule]]:
        """The rules in these states of every snapshot and member whose share is on one of these backends."""
        hosts = _on(backends)
        if not hosts:
            return {}
        rules = t.snapshot_access_rules
        wanted = rules.c.state.in_([str(s) for s in states])
        of_snapshots = (select(rules).join(t.snapshots, t.snapshots.c.id == rules.c.target_id)
                        .join(t.shares, t.shares.c.id == t.snapshots.c.share_id)
                        .where(rules.c.target_kind == str(SnapshotTarget.SNAPSHOT), wanted, or_(*hosts)))
        of_members = (select(rules).join(t.cgsnapshot_members, t.cgsnapshot_members.c.id == rules.c.target_id)
                      .join(t.shares, t.shares.c.id == t.cgsnapshot_members.c.share_id)
                      .where(rules.c.target_kind == str(SnapshotTarget.MEMBER), wanted, or_(*hosts)))
        found: dict[str, list[SnapshotAccessRule]] = {}
        for query in (of_snapshots, of_members):
            for r in self.conn.execute(query.order_by(rules.c.created_at, rules.c.id)).mappings():
                found.setdefault(r["target_id"], []).append(SnapshotAccessRule(**{f: r[f] for f in _FIELDS}))
        return found

    def add(self, rule: SnapshotAccessRule) -> None:
        self.conn.execute(insert(t.snapshot_access_rules), {f: getattr(rule, f) for f in _FIELDS})

    def cas(self, rule_id: str, expected: Iterable[str] | None, **values: Any) -> bool:
        stmt = update(t.snapshot_access_rules).where(t.snapshot_access_rules.c.id == rule_id)
        if expected is not None:
            stmt = stmt.where(t.snapshot_access_rules.c.state.in_([str(s) for s in expected]))
        return self.conn.execute(stmt.values(updated_at=utcnow(), **values)).rowcount == 1

    def delete(self, rule_id: str, expected: Iterable[str] | None = None) -> bool:
        stmt = delete(t.snapshot_access_rules).where(t.snapshot_access_rules.c.id == rule_id)
        if expected is not None:
            stmt = stmt.where(t.snapshot_access_rules.c.state.in_([str(s) for s in expected]))
        return self.conn.execute(stmt).rowcount == 1

    def delete_for(self, target_ids: Sequence[str]) -> None:
        """The rules go with their snapshot or member."""
        if target_ids:
            self.conn.execute(delete(t.snapshot_access_rules)
                              .where(t.snapshot_access_rules.c.target_id.in_(list(target_ids))))

    # where they are mounted from ---------------------------------------------------------------------
    def member_export_locations(self, member_id: str) -> list[SnapshotExportLocation]:
        els = t.cgsnapshot_member_export_locations
        # Where clients mount it first, the admin-only directory after.
        rows = self.conn.execute(select(els).where(els.c.member_id == member_id)
                                 .order_by(els.c.is_admin_only, els.c.created_at, els.c.id)).mappings()
        return [SnapshotExportLocation(id=r["id"], snapshot_id=r["member_id"], path=r["path"],
                                       is_admin_only=r["is_admin_only"], created_at=r["created_at"],
                                       updated_at=r["updated_at"]) for r in rows]

    def replace_member_export_locations(self, member_id: str, locations: Sequence[dict[str, Any]]) -> None:
        els = t.cgsnapshot_member_export_locations
        self.conn.execute(delete(els).where(els.c.member_id == member_id))
        now = utcnow()
        rows = [{"member_id": member_id, "created_at": now, "updated_at": now, **loc} for loc in locations]
        if rows:
            self.conn.execute(insert(els), rows)

    def directories(self, target_ids: Sequence[str]) -> dict[str, str]:
        """The local directory of each of these snapshots and members that can be exported now: it is
        `available` (not being deleted) and has an admin-only location that is a path on this host."""
        found: dict[str, str] = {}
        if not target_ids:
            return found
        ids = list(target_ids)
        snaps, snap_els = t.snapshots, t.snapshot_export_locations
        of_snapshots = (select(snaps.c.id, snap_els.c.path).join(snap_els, snap_els.c.snapshot_id == snaps.c.id)
                        .where(snaps.c.id.in_(ids), snaps.c.status == str(Status.AVAILABLE),
                               snap_els.c.is_admin_only.is_(True), snap_els.c.path.startswith("/")))
        members, cuts, member_els = t.cgsnapshot_members, t.cgsnapshots, t.cgsnapshot_member_export_locations
        of_members = (select(members.c.id, member_els.c.path)
                      .join(member_els, member_els.c.member_id == members.c.id)
                      .join(cuts, cuts.c.id == members.c.cgsnapshot_id)
                      .where(members.c.id.in_(ids), cuts.c.status == str(Status.AVAILABLE),
                             member_els.c.is_admin_only.is_(True), member_els.c.path.startswith("/")))
        for query in (of_snapshots, of_members):
            for target_id, path in self.conn.execute(query):
                found.setdefault(target_id, path)
        return found
