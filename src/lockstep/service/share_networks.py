"""Share networks: records that shares and groups name; Lockstep's drivers use no share servers."""

from __future__ import annotations

from typing import Any

from lockstep.domain.errors import Conflict, Invalid, NotFound
from lockstep.domain.model import ShareNetwork, utcnow
from lockstep.domain.queries import ShareNetworkQuery
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database
from lockstep.service.validation import MAX_NAME, new_id

_TEXT_FIELDS = {"name": MAX_NAME, "description": MAX_NAME, "neutron_net_id": 36, "neutron_subnet_id": 36,
                "network_type": 32, "cidr": 64, "gateway": 64}
_INT_FIELDS = ("segmentation_id", "ip_version", "mtu")
_MAX_INT = 2**31 - 1


def _fields(entity: dict[str, Any]) -> dict[str, Any]:
    if "nova_net_id" in entity:
        raise Invalid("nova networking is not supported starting in Ocata.")
    values: dict[str, Any] = {}
    for key, limit in _TEXT_FIELDS.items():
        if key in entity:
            value = entity[key]
            if value is not None and not isinstance(value, str):
                raise Invalid(f"Invalid input received: '{key}' must be a string.")
            if isinstance(value, str) and len(value) > limit:
                raise Invalid(f"Invalid input received: '{key}' is longer than {limit} characters.")
            values[key] = value
    for key in _INT_FIELDS:
        if key in entity:
            value = entity[key]
            if value is not None:
                if isinstance(value, bool):
                    raise Invalid("Could not save supplied data due to database error")
                try:
                    value = int(value)
                except (TypeError, ValueError, OverflowError):
                    raise Invalid("Could not save supplied data due to database error") from None
                if abs(value) > _MAX_INT:  # what the INTEGER column cannot hold
                    raise Invalid("Could not save supplied data due to database error")
            values[key] = value
    return values


class ShareNetworkService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    def create(self, ctx: RequestContext, entity: dict[str, Any]) -> ShareNetwork:
        self.policy.authorize(ctx, Rule.NETWORK_CREATE)
        values = _fields(entity)
        now = utcnow()
        network_id = new_id()
        with self.db.write() as uow:
            uow.share_networks.insert_row(id=network_id, project_id=ctx.project_id, user_id=ctx.user_id,
                                          created_at=now, updated_at=None, **values)
            found = uow.share_networks.get(network_id)
            uow.commit()
        assert found is not None
        return found

    def get(self, ctx: RequestContext, network_id: str) -> ShareNetwork:
        self.policy.authorize(ctx, Rule.NETWORK_SHOW)
        with self.db.read() as uow:
            found = uow.share_networks.get(network_id, ctx.scope())
        if found is None:
            raise NotFound(f"Share network {network_id} could not be found.")
        return found

    def update(self, ctx: RequestContext, network_id: str, entity: dict[str, Any]) -> ShareNetwork:
        self.policy.authorize(ctx, Rule.NETWORK_UPDATE)
        values = _fields(entity)
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
        self.policy.authorize(ctx, Rule.NETWORK_DELETE)
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
