"""Helpers shared by the repositories: paging, keyset markers, compare-and-set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, literal, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from lockstep.domain.model import utcnow
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
    stmt = update(table).where(table.c.id == row_id)
    if expected is not None:
        stmt = stmt.where(table.c.status.in_([str(s) for s in expected]))
    if "updated_at" in table.c and "updated_at" not in values:
        values["updated_at"] = utcnow()
    result = conn.execute(stmt.values(**values))
    return result.rowcount == 1


def chunks(ids: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
