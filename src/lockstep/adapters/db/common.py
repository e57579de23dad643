"""Helpers shared by the repositories: paging, keyset markers, compare-and-set, metadata and subnets."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ClauseElement

from lockstep.adapters.db import tables as t
from lockstep.domain.model import ShareNetworkSubnet, utcnow
from lockstep.domain.queries import Page


def paged(conn: Connection, table: Table, query: Select[Any], page: Page) -> Select[Any]:
    """Order by the sort key (then id), resume after `marker` if given, then offset/limit."""
    column = table.c[page.sort_key]
    descending = page.sort_dir == "desc"
    if page.marker is not None:
        marker_row = conn.execute(select(column).where(table.c.id == page.marker)).first()
        if marker_row is not None:
            value = marker_row[0]
            if value is None:
                # A NULL sort value (rare for the keys offered) takes the plain form.
                if descending:
                    after: ColumnElement[bool] = and_(column.is_(None), table.c.id < page.marker)
                else:
                    after = or_(column.is_not(None), and_(column.is_(None), table.c.id > page.marker))
            elif descending:
                # A row-value comparison lets both databases walk the (key, id) index from the marker.
                after = tuple_(column, table.c.id) < tuple_(literal(value, column.type), literal(page.marker))
            else:
                after = tuple_(column, table.c.id) > tuple_(literal(value, column.type), literal(page.marker))
            query = query.where(after)
    order = [column.desc(), table.c.id.desc()] if descending else [column.asc(), table.c.id.asc()]
    return query.order_by(*order).offset(page.offset).limit(page.limit)


def compare_and_set(
    conn: Connection,
    table: Table,
    row_id: str,
    expected: Iterable[str] | None,
    **values: Any,
) -> bool:
    """One `UPDATE … WHERE id = ? AND status IN (…)`; True if this caller won."""
    if "updated_at" in table.c and "updated_at" not in values:
        values["updated_at"] = utcnow()
    statuses = None if expected is None else tuple(str(s) for s in expected)
    if any(isinstance(v, ClauseElement) for v in values.values()):  # an SQL expression: built for this call
        stmt = update(table).where(table.c.id == row_id)
        if statuses is not None:
            stmt = stmt.where(table.c.status.in_(statuses))
        return conn.execute(stmt.values(**values)).rowcount == 1
    params = {f"new_{k}": v for k, v in values.items()}
    params["cas_id"] = row_id
    return conn.execute(_cas_statement(table, statuses, tuple(sorted(values))), params).rowcount == 1


@functools.lru_cache(maxsize=512)
def _cas_statement(table: Table, statuses: tuple[str, ...] | None, columns: tuple[str, ...]) -> Any:
    """A compare-and-set of these columns from these statuses, built once (the settles of every operation
    use a handful): building and hashing a new statement per call was a sixth of the worker's time."""
    stmt = update(table).where(table.c.id == bindparam("cas_id"))
    if statuses is not None:
        stmt = stmt.where(table.c.status.in_(statuses))
    return stmt.values({c: bindparam(f"new_{c}", type_=table.c[c].type) for c in columns})


def chunks(ids: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def write_metadata(conn: Connection, table: Table, owner_column: str, owner_id: str, metadata: Mapping[str, str],
                   *, replace: bool) -> None:
    """Merge metadata into a record's (or replace it): the one writer of every metadata table."""
    owner = table.c[owner_column]
    if replace:
        conn.execute(delete(table).where(owner == owner_id))
    for key, value in metadata.items():
        done = conn.execute(update(table).where(owner == owner_id, table.c.key == key).values(value=value)).rowcount
        if not done:
            conn.execute(insert(table), {owner_column: owner_id, "key": key, "value": value})


_SUBNET_FIELDS = tuple(f for f in ShareNetworkSubnet.__dataclass_fields__
                       if f not in ("metadata", "share_network_name"))


def load_subnets(conn: Connection, condition: ColumnElement[bool]) -> list[ShareNetworkSubnet]:
    """Subnets (with their metadata and network's name) in creation order."""
    subnets_t, meta = t.share_network_subnets, t.share_network_subnet_metadata
    query = (select(subnets_t, t.share_networks.c.name.label("share_network_name"))
             .select_from(subnets_t.join(t.share_networks, t.share_networks.c.id == subnets_t.c.share_network_id))
             .where(condition).order_by(subnets_t.c.created_at, subnets_t.c.id))
    subnets = [ShareNetworkSubnet(**{f: r[f] for f in _SUBNET_FIELDS}, share_network_name=r["share_network_name"])
               for r in conn.execute(query).mappings()]
    by_id = {s.id: s for s in subnets}
    for part in chunks(list(by_id)):
        for m in conn.execute(select(meta).where(meta.c.share_network_subnet_id.in_(part))).mappings():
            by_id[m["share_network_subnet_id"]].metadata[m["key"]] = m["value"]
    return subnets
