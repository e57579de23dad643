"""Share networks: records that shares and groups name; Lockstep's drivers use no share servers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import false

from lockstep.adapters.db import tables as t
from lockstep.domain.errors import Conflict, Invalid, NotFound
from lockstep.domain.model import ShareNetwork, parse_bool, utcnow
from lockstep.service.commands import ShareNetworkFields
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database
from lockstep.service.validation import MAX_NAME, new_id

_TEXT_FIELDS = {"name": MAX_NAME, "description": MAX_NAME, "neutron_net_id": 36, "neutron_subnet_id": 36,
                "network_type": 32, "cidr": 64, "gateway": 64}
_INT_FIELDS = ("segmentation_id", "ip_version", "mtu")
_MAX_INT = 2**31 - 1
_FILTERABLE = set(_TEXT_FIELDS) | set(_INT_FIELDS) | {"project_id", "user_id", "id"}


class ShareNetworkService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    def create(self, ctx: RequestContext, fields: ShareNetworkFields) -> ShareNetwork:
        values = fields.values()
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

    def list_all(self, ctx: RequestContext, params: dict[str, str], offset: int, limit: int) -> list[ShareNetwork]:
        params = dict(params)
        all_tenants = params.pop("all_tenants", None)
        project = params.pop("project_id", None)
        if all_tenants is not None or (project is not None and project != ctx.project_id):
            self.policy.authorize(ctx, Rule.NETWORK_GET_ALL)
        conditions = []
        if project is not None:
            conditions.append(t.share_networks.c.project_id == project)
        elif all_tenants is None or not parse_bool(all_tenants):
            conditions.append(t.share_networks.c.project_id == ctx.project_id)
        for key in ("created_since", "created_before"):
            value = params.pop(key, None)
            if value is None:
                continue
            try:
                day = dt.datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                raise Invalid(f"{value} is not in yyyy-mm-dd format.") from None
            if key == "created_since":
                conditions.append(t.share_networks.c.created_at >= day)
            else:
                conditions.append(t.share_networks.c.created_at < day + dt.timedelta(days=1))
        if params.pop("security_service_id", None) is not None:
            conditions.append(false())  # no security services exist, so no network is linked to one
        for key in ("limit", "offset", "marker", "sort_key", "sort_dir"):
            params.pop(key, None)
        for key, value in params.items():
            if key not in _FILTERABLE:
                raise Invalid(f"Invalid input received: Unknown filter '{key}'.")
            if key in _INT_FIELDS:
                try:
                    number = int(value)
                except ValueError:
                    raise Invalid(f"Invalid input received: '{key}' must be an integer.") from None
                conditions.append(t.share_networks.c[key] == number if abs(number) <= _MAX_INT else false())
            else:
                conditions.append(t.share_networks.c[key] == value)
        with self.db.read() as uow:
            return uow.share_networks.find(conditions, offset, limit)
