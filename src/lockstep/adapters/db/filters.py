"""Typed list queries (`lockstep.domain.queries`) as SQL conditions."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, exists, false, or_, select

from lockstep.adapters.db import tables as t
from lockstep.domain.queries import (
    SUBNET_NETWORK_FIELDS,
    AccessRuleQuery,
    CGSnapshotQuery,
    GroupQuery,
    MessageQuery,
    SecurityServiceQuery,
    ShareNetworkQuery,
    ShareQuery,
    SnapshotQuery,
)

Conditions = list[ColumnElement[bool]]


def _scoped(table: Table, scope: str | None) -> Conditions:
    return [] if scope is None else [table.c.project_id == scope]


def _equal(table: Table, pairs: tuple[tuple[str, str | int], ...]) -> Conditions:
    return [table.c[str(field)] == value for field, value in pairs]


def _contains(table: Table, column: str, text: str | None) -> Conditions:
    """A substring, whatever its case; `%` and `_` in it are literal."""
    return [] if text is None else [table.c[column].icontains(text, autoescape=True)]


def shares(query: ShareQuery) -> Conditions:
    conditions: Conditions = [t.shares.c.is_soft_deleted.is_(query.soft_deleted)]
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
    locations = t.export_locations
    if query.export_location_id is not None or query.export_location_path is not None:
        located = [locations.c.share_id == t.shares.c.id]
        if query.export_location_id is not None:
            located.append(locations.c.id == query.export_location_id)
        if query.export_location_path is not None:
            located.append(locations.c.path == query.export_location_path)
        conditions.append(exists(select(locations.c.id).where(*located)))
    conditions += _contains(t.shares, "name", query.name_contains)
    conditions += _contains(t.shares, "description", query.description_contains)
    return conditions + _equal(t.shares, query.equals)


def snapshots(query: SnapshotQuery) -> Conditions:
    conditions = _scoped(t.snapshots, query.scope)
    if query.used is not None:
        used = exists(select(t.shares.c.id).where(t.shares.c.snapshot_id == t.snapshots.c.id))
        conditions.append(used if query.used else ~used)
    if query.matches_nothing:
        conditions.append(false())
    conditions += _contains(t.snapshots, "name", query.name_contains)
    conditions += _contains(t.snapshots, "description", query.description_contains)
    for key, value in query.metadata:
        conditions.append(exists(select(t.snapshot_metadata.c.snapshot_id).where(
            t.snapshot_metadata.c.snapshot_id == t.snapshots.c.id, t.snapshot_metadata.c.key == key,
            t.snapshot_metadata.c.value == value)))
    return conditions + _equal(t.snapshots, query.equals)


def groups(query: GroupQuery) -> Conditions:
    table = t.consistency_groups
    # As Manila's `name~`: LIKE with the value as given (its wildcards too), case-insensitive on both databases.
    contains = [table.c[str(field)].ilike(f"%{value}%") for field, value in query.contains]
    return _scoped(table, query.scope) + _equal(table, query.equals) + contains


def cgsnapshots(query: CGSnapshotQuery) -> Conditions:
    return _scoped(t.cgsnapshots, query.scope) + _equal(t.cgsnapshots, query.equals)


def share_networks(query: ShareNetworkQuery) -> Conditions:
    conditions = _scoped(t.share_networks, query.scope)
    if query.created_since is not None:
        conditions.append(t.share_networks.c.created_at >= query.created_since)
    if query.created_before is not None:
        conditions.append(t.share_networks.c.created_at < query.created_before)
    if query.matches_nothing:
        conditions.append(false())
    conditions += _contains(t.share_networks, "name", query.name_contains)
    conditions += _contains(t.share_networks, "description", query.description_contains)
    if query.security_service_id is not None:
        links = t.share_network_security_services
        conditions.append(exists(select(links.c.share_network_id).where(
            links.c.share_network_id == t.share_networks.c.id,
            links.c.security_service_id == query.security_service_id)))
    subnets = t.share_network_subnets
    for field, value in query.equals:
        if field in SUBNET_NETWORK_FIELDS:
            conditions.append(exists(select(subnets.c.id).where(
                subnets.c.share_network_id == t.share_networks.c.id, subnets.c[str(field)] == value)))
        else:
            conditions.append(t.share_networks.c[str(field)] == value)
    return conditions


def security_services(query: SecurityServiceQuery) -> Conditions:
    conditions = _scoped(t.security_services, query.scope)
    if query.share_network_id is not None:
        links = t.share_network_security_services
        conditions.append(t.security_services.c.id.in_(select(links.c.security_service_id).where(
            links.c.share_network_id == query.share_network_id)))
    if query.matches_nothing:
        conditions.append(false())
    return conditions + [t.security_services.c[str(field)] == value for field, value in query.equals]


def access_rules(query: AccessRuleQuery) -> Conditions:
    conditions: Conditions = [t.access_rules.c.share_id == query.share_id]
    for key, value in query.metadata:
        conditions.append(exists(select(t.access_rule_metadata.c.access_id).where(
            t.access_rule_metadata.c.access_id == t.access_rules.c.id, t.access_rule_metadata.c.key == key,
            t.access_rule_metadata.c.value == value)))
    return conditions + [t.access_rules.c[str(field)] == value for field, value in query.equals]


def messages(query: MessageQuery) -> Conditions:
    conditions = _scoped(t.messages, query.scope)
    if query.created_since is not None:
        conditions.append(t.messages.c.created_at >= query.created_since)
    if query.created_before is not None:
        conditions.append(t.messages.c.created_at <= query.created_before)
    return conditions + [t.messages.c[str(field)] == value for field, value in query.equals]
