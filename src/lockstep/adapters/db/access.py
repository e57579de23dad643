"""Access rules (table `access_rules`) and their metadata (`access_rule_metadata`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from lockstep.adapters.db import filters
from lockstep.adapters.db import tables as t
from lockstep.adapters.db.common import chunks
from lockstep.domain.access import AccessLock, AccessRule, AccessState, rules_status
from lockstep.domain.model import utcnow
from lockstep.domain.queries import AccessRuleQuery

_RULE_FIELDS = ("id", "share_id", "access_type", "access_to", "access_level", "state", "access_key", "created_at",
                "updated_at")


def access_rules_status(conn: Connection, share_ids: Sequence[str]) -> dict[str, str]:
    """The `access_rules_status` of each share that has a rule not `active` (the others are `active`)."""
    rules = t.access_rules
    seen: dict[str, set[str]] = {}
    query = select(rules.c.share_id, rules.c.state).where(
        rules.c.share_id.in_(share_ids), rules.c.state != str(AccessState.ACTIVE)).distinct()
    for share_id, state in conn.execute(query):
        seen.setdefault(share_id, set()).add(state)
    return {share_id: str(rules_status(states)) for share_id, states in seen.items()}


def _lock(row: RowMapping) -> AccessLock | None:
    if not (row["lock_deletion"] or row["lock_visibility"]):
        return None
    return AccessLock(deletion=row["lock_deletion"], visibility=row["lock_visibility"], user_id=row["lock_user_id"],
                      project_id=row["lock_project_id"], by_admin=row["lock_by_admin"], reason=row["lock_reason"],
                      share_lock_id=row["share_lock_id"])


class AccessRuleRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _load(self, rows: Sequence[RowMapping]) -> list[AccessRule]:
        rules = [AccessRule(**{f: r[f] for f in _RULE_FIELDS}, lock=_lock(r)) for r in rows]
        by_id = {rule.id: rule for rule in rules}
        meta = t.access_rule_metadata
        for part in chunks(list(by_id)):
            for row in self.conn.execute(select(meta).where(meta.c.access_id.in_(part)).order_by(meta.c.key)):
                by_id[row.access_id].metadata[row.key] = row.value
        return rules

    def hold(self, share_id: str) -> None:
        # A row lock on the share (PostgreSQL; SQLite's writers are serialised already), so that two
        # grants of one share cannot both find no duplicate.
        self.conn.execute(select(t.shares.c.id).where(t.shares.c.id == share_id).with_for_update())

    def get(self, rule_id: str) -> AccessRule | None:
        rows = self.conn.execute(select(t.access_rules).where(t.access_rules.c.id == rule_id)).mappings().all()
        return self._load(rows)[0] if rows else None

    def for_share(self, share_id: str, query: AccessRuleQuery | None = None) -> list[AccessRule]:
        conditions = filters.access_rules(query or AccessRuleQuery(share_id=share_id))
        rows = self.conn.execute(select(t.access_rules).where(*conditions).order_by(
            t.access_rules.c.created_at, t.access_rules.c.id)).mappings().all()
        return self._load(rows)

    def by_share_on(self, backends: Sequence[str], states: Iterable[str]) -> dict[str, list[AccessRule]]:
        """The rules in these states of every share placed on one of these `host@backend`s, by share."""
        hosts = [t.shares.c.host.startswith(f"{key}#", autoescape=True) | (t.shares.c.host == key) for key in backends]
        if not hosts:
            return {}
        rows = self.conn.execute(
            select(t.access_rules).join(t.shares, t.shares.c.id == t.access_rules.c.share_id)
            .where(or_(*hosts), t.access_rules.c.state.in_(list(states)))
            .order_by(t.access_rules.c.share_id, t.access_rules.c.created_at, t.access_rules.c.id)).mappings().all()
        found: dict[str, list[AccessRule]] = {}
        for rule in self._load(rows):
            found.setdefault(rule.share_id, []).append(rule)
        return found

    def add(self, rule: AccessRule) -> None:
        lock = rule.lock
        self.conn.execute(insert(t.access_rules), {
            **{f: getattr(rule, f) for f in _RULE_FIELDS},
            "lock_deletion": bool(lock and lock.deletion), "lock_visibility": bool(lock and lock.visibility),
            "lock_user_id": lock.user_id if lock else None, "lock_project_id": lock.project_id if lock else None,
            "lock_by_admin": bool(lock and lock.by_admin), "lock_reason": lock.reason if lock else None,
            "share_lock_id": lock.share_lock_id if lock else None,
        })
        self.set_metadata(rule.id, rule.metadata)

    def cas(self, rule_id: str, expected: Iterable[str] | None, **values: Any) -> bool:
        """Set values if the rule's *state* is one of `expected` (any if None); True if this caller won."""
        stmt = update(t.access_rules).where(t.access_rules.c.id == rule_id)
        if expected is not None:
            stmt = stmt.where(t.access_rules.c.state.in_([str(s) for s in expected]))
        return self.conn.execute(stmt.values(updated_at=utcnow(), **values)).rowcount == 1

    def delete(self, rule_id: str, expected: Iterable[str] | None = None) -> bool:
        stmt = delete(t.access_rules).where(t.access_rules.c.id == rule_id)
        if expected is not None:
            stmt = stmt.where(t.access_rules.c.state.in_([str(s) for s in expected]))
        return self.conn.execute(stmt).rowcount == 1

    def set_metadata(self, rule_id: str, metadata: Mapping[str, str]) -> None:
        meta = t.access_rule_metadata
        for key, value in metadata.items():
            done = self.conn.execute(update(meta).where(meta.c.access_id == rule_id, meta.c.key == key)
                                     .values(value=value)).rowcount
            if not done:
                self.conn.execute(insert(meta), {"access_id": rule_id, "key": key, "value": value})

    def delete_metadata(self, rule_id: str, key: str) -> bool:
        meta = t.access_rule_metadata
        return self.conn.execute(delete(meta).where(meta.c.access_id == rule_id, meta.c.key == key)).rowcount == 1

    def share_locks(self, share_id: str) -> list[str]:
        """The ids of the share-deletion locks its rules' deletion locks placed."""
        rules = t.access_rules
        return list(self.conn.execute(select(rules.c.share_lock_id).where(
            rules.c.share_id == share_id, rules.c.lock_deletion.is_(True), rules.c.share_lock_id.is_not(None))
            .order_by(rules.c.created_at, rules.c.id)).scalars())
