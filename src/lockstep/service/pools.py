"""The pools the backends report, as the scheduler sees them (the admin's scheduler-stats)."""

from __future__ import annotations

import re

from lockstep.domain.errors import Invalid
from lockstep.domain.model import ShareType
from lockstep.domain.pools import Capacity, PoolRecord
from lockstep.domain.queries import PoolQuery
from lockstep.service.scheduler import Scheduler, matches_type
from lockstep.service.unit_of_work import Database

_FIELDS = ("name", "host", "backend", "pool")


class PoolService:
    def __init__(self, db: Database, scheduler: Scheduler) -> None:
        self.db = db
        self.scheduler = scheduler

    def list_all(self, query: PoolQuery) -> list[Capacity]:
        """Live pools whose name parts match every pattern (from the start) and that suit the share type,
        with what the records place on them."""
        with self.db.read() as uow:
            records = self.scheduler.live_pools(uow)
            share_type: ShareType | None = None
            if query.share_type:
                share_type = uow.share_types.get(query.share_type) or uow.share_types.get_by_name(query.share_type)
                if share_type is None:
                    raise Invalid(f"Share type {query.share_type} not found.")
            if any(field not in _FIELDS for field, _ in query.patterns):
                return []  # as Manila: an unknown filter matches no pool
            records = [r for r in records if _matches(r, query.patterns)
                       and (share_type is None or matches_type(r, share_type))]
            usage = uow.pools.usage(records)
        return [Capacity(r, usage[r.name]) for r in records]


def _matches(record: PoolRecord, patterns: tuple[tuple[str, str], ...]) -> bool:
    values = {"name": record.name, "host": record.host, "backend": record.backend, "pool": record.pool}
    try:
        return all(re.match(pattern, values[field]) for field, pattern in patterns)
    except re.error:
        raise Invalid("Invalid input received: a pool filter is not a valid regular expression.") from None
