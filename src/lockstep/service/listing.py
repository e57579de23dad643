"""Share and snapshot lists: the typed queries the API parsed, run under the callers' rights."""

from __future__ import annotations

from lockstep.domain.model import Share, Snapshot
from lockstep.domain.queries import ShareQuery, SnapshotQuery
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database


class ListingService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    def shares(self, ctx: RequestContext, query: ShareQuery, *, detail: bool) -> list[Share]:
        if query.by_share_server:
            self.policy.authorize(ctx, Rule.SHARE_LIST_BY_SERVER)
        with self.db.read() as uow:
            return uow.shares.find(query, detail=detail)

    def count_shares(self, ctx: RequestContext, query: ShareQuery) -> int:
        """How many shares the list's filters select, over all its pages (`with_count`)."""
        with self.db.read() as uow:
            return uow.shares.count(query)

    def snapshots(self, ctx: RequestContext, query: SnapshotQuery) -> list[Snapshot]:
        with self.db.read() as uow:
            return uow.snapshots.find(query)

    def count_snapshots(self, ctx: RequestContext, query: SnapshotQuery) -> int:
        with self.db.read() as uow:
            return uow.snapshots.count(query)
