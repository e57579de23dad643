"""Typed list queries (`lockstep.domain.queries`) as SQL conditions."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, exists, false, or_, select

from lockstep.adapters.db import tables as t
from lockstep.domain.queries import (
    CGSnapshotQuery,
    GroupQuery,
    MessageQuery,
    ShareNetworkQuery,
    ShareQuery,
    SnapshotQuery,
)

Conditions = list[ColumnElement[bool]]


def _scoped(table: Table, scope: str | None) -> Conditions:
    return [] if scope is None else [table.c.project_id == scope]


def _equal(table: Table, pairs: tuple[tuple[str, str | int], ...]) -> Conditions:
    return [table.c[str(field)] == value for field, value in pairs]


def shares(query: ShareQuery) -> Conditions:
    conditions: Conditions = []
    if query.scope is not None:
        own = t.shares.c.project_id == query.scope
        conditions.append(or_(own, t.shares.c.is_public.is_(True)) if query.include_public else own)
    if query.matches_nothing:
        conditions.append(false())
    for key, value in query.metadata:
        conditions.append(exists(select(t.share_metadata.c.share_id).where(
            t.share_metadata.c.share_id == t.shares.c.id, t.share_metadata.c.key == key,
            t.share_metadata.c.value == value)))
    specs = t.share_type_extra_specs
    for key, spellings in query.extra_specs:
        conditions.append(exists(select(specs.c.share_type_id).where(
            specs.c.share_type_id == t.shares.c.share_type_id, specs.c.key == key,
            specs.c.value.in_(spellings))))
    return conditions + _equal(t.shares, query.equals)


def snapshots(query: SnapshotQuery) -> Conditions:
    conditions = _scoped(t.snapshots, query.scope)
    if query.used is not None:
        used = exists(select(t.shares.c.id).where(t.shares.c.snapshot_id == t.snapshots.c.id))
        conditions.append(used if query.used else ~used)
    if query.matches_nothing:
        conditions.append(false())
    return conditions + _equal(t.snapshots, query.equals)


def groups(query: GroupQuery) -> Conditions:
    return _scoped(t.consistency_groups, query.scope)


def cgsnapshots(query: CGSnapshotQuery) -> Conditions:
    return _scoped(t.cgsnapshots, query.scope)


def share_networks(query: ShareNetworkQuery) -> Conditions:
    conditions = _scoped(t.share_networks, query.scope)
    if query.created_since is not None:
        conditions.append(t.share_networks.c.created_at >= query.created_since)
    if query.created_before is not None:
        conditions.append(t.share_networks.c.created_at < query.created_before)
    if query.matches_nothing:
        conditions.append(false())
    return conditions + _equal(t.share_networks, query.equals)


def messages(query: MessageQuery) -> Conditions:
    conditions = _scoped(t.messages, query.scope)
    if query.created_since is not None:
        conditions.append(t.messages.c.created_at >= query.created_since)
    if query.created_before is not None:
        conditions.append(t.messages.c.created_at <= query.created_before)
    return conditions + [t.messages.c[str(field)] == value for field, value in query.equals]
