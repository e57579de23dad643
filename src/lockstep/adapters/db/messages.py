"""User messages (table `messages`) and the services registry (table `services`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from lockstep.adapters.db import filters
from lockstep.adapters.db import tables as t
from lockstep.adapters.db.common import paged
from lockstep.domain.host_services import HostService
from lockstep.domain.messages import Message
from lockstep.domain.model import utcnow
from lockstep.domain.queries import MessageQuery

_MESSAGE_FIELDS = tuple(f.name for f in fields(Message))


class MessageRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _to(row: RowMapping) -> Message:
        return Message(**{name: row[name] for name in _MESSAGE_FIELDS})

    def add(self, message: Message) -> None:
        self.conn.execute(insert(t.messages), {name: getattr(message, name) for name in _MESSAGE_FIELDS})

    def get(self, message_id: str, project_id: str | None = None) -> Message | None:
        query = select(t.messages).where(t.messages.c.id == message_id)
        if project_id is not None:
            query = query.where(t.messages.c.project_id == project_id)
        row = self.conn.execute(query).mappings().first()
        return self._to(row) if row else None

    def find(self, query: MessageQuery) -> list[Message]:
        selected = select(t.messages).where(*filters.messages(query))
        return [self._to(r) for r in self.conn.execute(paged(self.conn, t.messages, selected, query.page)).mappings()]

    def delete(self, message_id: str) -> bool:
        return self.conn.execute(delete(t.messages).where(t.messages.c.id == message_id)).rowcount == 1

    def delete_expired(self, now: dt.datetime) -> int:
        return int(self.conn.execute(delete(t.messages).where(t.messages.c.expires_at < now)).rowcount)


class HostServiceRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _to(row: RowMapping) -> HostService:
        return HostService(id=row["id"], host=row["host"], binary=row["binary"],
                           availability_zone=row["availability_zone"], disabled=row["disabled"],
                           disabled_reason=row["disabled_reason"], stopped=row["stopped"],
                           updated_at=row["updated_at"] or row["created_at"])

    def clock(self) -> dt.datetime:
        """Now (naive UTC) by the database's clock: heartbeats are written and judged by it, so share
        hosts and API processes on machines whose clocks disagree still agree on who is alive. SQLite is
        one machine's file: that machine's clock."""
        if self.conn.dialect.name == "postgresql":
            moment: dt.datetime = self.conn.execute(select(func.timezone("UTC", func.clock_timestamp()))).scalar_one()
            return moment
        return utcnow()

    def heartbeat(self, host: str, binary: str, availability_zone: str) -> dt.datetime:
        now = self.clock()
        beat = update(t.services).where(t.services.c.host == host, t.services.c.binary == binary).values(
            availability_zone=availability_zone, stopped=False, report_count=t.services.c.report_count + 1,
            updated_at=now)
        if not self.conn.execute(beat).rowcount:
            self.conn.execute(insert(t.services), {
                "host": host, "binary": binary, "availability_zone": availability_zone, "disabled": False,
                "disabled_reason": None, "stopped": False, "report_count": 1, "created_at": now, "updated_at": now})
        return now

    def stop(self, host: str, binary: str, last_beat: dt.datetime | None = None) -> None:
        which = [t.services.c.host == host, t.services.c.binary == binary]
        if last_beat is not None:
            which.append(t.services.c.updated_at == last_beat)
        self.conn.execute(update(t.services).where(*which).values(stopped=True, updated_at=self.clock()))

    def all(self) -> list[HostService]:
        rows = self.conn.execute(select(t.services).order_by(t.services.c.id)).mappings()
        return [self._to(r) for r in rows]

    def get(self, host: str, binary: str) -> HostService | None:
        row = self.conn.execute(select(t.services).where(
            t.services.c.host == host, t.services.c.binary == binary)).mappings().first()
        return self._to(row) if row else None

    def set_disabled(self, service_id: int, disabled: bool, reason: str | None) -> None:
        # The heartbeat time is left alone: updated_at is when the service last reported.
        self.conn.execute(update(t.services).where(t.services.c.id == service_id)
                          .values(disabled=disabled, disabled_reason=reason))

    def disabled_hosts(self, binary: str) -> set[str]:
        return set(self.conn.execute(select(t.services.c.host).where(
            t.services.c.binary == binary, t.services.c.disabled.is_(True))).scalars())
