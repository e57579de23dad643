"""Share networks: records that shares and groups name; Lockstep's drivers use no share servers."""

from __future__ import annotations

from lockstep.domain.errors import Conflict, NotFound
from lockstep.domain.model import ShareNetwork, utcnow
from lockstep.domain.queries import ShareNetworkQuery
from lockstep.service.commands import ShareNetworkFields
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.quotas import Quotas
from lockstep.service.unit_of_work import Database
from lockstep.service.validation import new_id


class ShareNetworkService:
    def __init__(self, db: Database, policy: Policy, quotas: Quotas | None = None) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas or Quotas()

    def create(self, ctx: RequestContext, fields: ShareNetworkFields) -> ShareNetwork:
        values = fields.values()
        now = utcnow()
        network_id = new_id()
        with self.db.write() as uow:
            self.quotas.charge_share_network(uow, ctx.project_id, ctx.user_id)
            uow.share_networks.insert_row(id=network_id, project_id=ctx.project_id, user_id=ctx.user_id,
                                          created_at=now, updated_at=None, **values)
            found = uow.share_networks.get(network_id)
            uow.commit()
        assert found is not None
        return found

    def get(self, ctx: RequestContext, network_id: str) -> ShareNetwork:
        with self.db.read() as uow:
            found = uow.share_networks.get(network_id, ctx.scope())
        if found is None:
            raise NotFound(f"Share network {network_id} could not be found.")
        return found

    def update(self, ctx: RequestContext, network_id: str, fields: ShareNetworkFields) -> ShareNetwork:
        values = fields.values()
        with self.db.write() as uow:
            if uow.share_networks.get(network_id, ctx.scope()) is None:
                raise NotFound(f"Share network {network_id} could not be found.")
            if values:
                uow.share_networks.cas(network_id, None, **values)
            found = uow.share_networks.get(network_id)
            uow.commit()
        assert found is not None
        return found

    def delete(self, ctx: RequestContext, network_id: str) -> None:
        with self.db.write() as uow:
            if uow.share_networks.get(network_id, ctx.scope()) is None:
                raise NotFound(f"Share network {network_id} could not be found.")
            shares = uow.share_networks.count_shares(network_id)
            if shares:
                raise Conflict(f"Can not delete share network {network_id}, it has {shares} share(s).")
            groups = uow.share_networks.count_groups(network_id)
            if groups:
                raise Conflict(f"Can not delete share network {network_id}, it has {groups} consistency group(s).")
            uow.share_networks.delete(network_id)
            uow.commit()

    def list_all(self, ctx: RequestContext, query: ShareNetworkQuery) -> list[ShareNetwork]:
        if query.asks_all_tenants or (query.scope is not None and query.scope != ctx.project_id):
            self.policy.authorize(ctx, Rule.NETWORK_GET_ALL)
        with self.db.read() as uow:
            return uow.share_networks.find(query)
