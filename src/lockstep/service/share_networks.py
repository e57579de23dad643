"""Share networks: records that shares and groups name; Lockstep's drivers use no share servers.

A network's neutron fields live in its subnets, as in Manila from 2.51: every network is created
with a default subnet (no availability zone) holding them, and an update of those fields goes to
that subnet.
"""

from __future__ import annotations

from typing import Any

from lockstep.domain.errors import Conflict, Invalid, NotFound
from lockstep.domain.model import SUBNET_FIELDS, NetworkStatus, ShareNetwork, utcnow
from lockstep.domain.queries import ShareNetworkQuery
from lockstep.service.commands import CreateShareNetwork, ResetNetworkStatus, ShareNetworkFields
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.quotas import Quotas
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id

_NEUTRON_IDS = ("neutron_net_id", "neutron_subnet_id")


def missing(network_id: str) -> NotFound:
    return NotFound(f"Share network {network_id} could not be found.")


def find_network(uow: UnitOfWork, ctx: RequestContext, network_id: str) -> ShareNetwork:
    """The network as the caller may see it (decision 1: another project's is not found)."""
    found = uow.share_networks.get(network_id, ctx.scope())
    if found is None:
        raise missing(network_id)
    return found


def check_active(network: ShareNetwork) -> None:
    """Changes that involve a network wait while it is not `active` (2.63 statuses; only an admin's reset
    makes it anything else, since no share server ever changes it)."""
    if network.status != NetworkStatus.ACTIVE:
        raise Invalid(f"The share network {network.id} used isn't in an 'active' state. Current status is "
                      f"{network.status}. The action may be retried after the share network has changed its state.")


def split(values: dict[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """A body's values: the network's own, and those its subnets hold."""
    own = {k: v for k, v in values.items() if k not in SUBNET_FIELDS}
    return own, {k: v for k, v in values.items() if k in SUBNET_FIELDS}


class ShareNetworkService:
    def __init__(self, db: Database, policy: Policy, quotas: Quotas | None = None) -> None:
        self.db = db
        self.policy = policy
        self.quotas = quotas or Quotas()

    def create(self, ctx: RequestContext, cmd: CreateShareNetwork) -> ShareNetwork:
        own, subnet = split(cmd.fields.values())
        now = utcnow()
        network_id = new_id()
        with self.db.write() as uow:
            self.quotas.charge_share_network(uow, ctx.project_id, ctx.user_id)
            uow.share_networks.insert_row(id=network_id, project_id=ctx.project_id, user_id=ctx.user_id,
                                          status=NetworkStatus.ACTIVE, created_at=now, updated_at=None, **own)
            uow.share_network_subnets.insert_row(id=new_id(), share_network_id=network_id,
                                                 availability_zone=cmd.availability_zone, created_at=now,
                                                 updated_at=None, **subnet)
            found = uow.share_networks.get(network_id)
            uow.commit()
        assert found is not None
        return found

    def get(self, ctx: RequestContext, network_id: str) -> ShareNetwork:
        with self.db.read() as uow:
            return find_network(uow, ctx, network_id)

    def update(self, ctx: RequestContext, network_id: str, fields: ShareNetworkFields) -> ShareNetwork:
        own, subnet = split(fields.values())
        with self.db.write() as uow:
            network = find_network(uow, ctx, network_id)
            if subnet:
                _update_default_subnet(uow, network, subnet)
            uow.share_networks.cas(network_id, None, **own)
            found = uow.share_networks.get(network_id)
            uow.commit()
        assert found is not None
        return found

    def delete(self, ctx: RequestContext, network_id: str) -> None:
        with self.db.write() as uow:
            network = find_network(uow, ctx, network_id)
            shares = uow.share_networks.count_shares(network_id)
            if shares:
                raise Conflict(f"Can not delete share network {network_id}, it has {shares} share(s).")
            groups = uow.share_networks.count_groups(network_id)
            if groups:
                raise Conflict(f"Can not delete share network {network_id}, it has {groups} consistency group(s).")
            if len(network.subnets) > 1:
                raise Conflict(f"The share network {network_id} has more than one subnet attached. Please remove "
                               "the subnets untill you have one or no subnets remaining.")
            uow.share_networks.delete(network_id)  # its subnets and security service links go with it
            uow.commit()

    def list_all(self, ctx: RequestContext, query: ShareNetworkQuery) -> list[ShareNetwork]:
        if query.asks_all_tenants or (query.scope is not None and query.scope != ctx.project_id):
            self.policy.authorize(ctx, Rule.NETWORK_GET_ALL)
        with self.db.read() as uow:
            return uow.share_networks.find(query)

    def reset_status(self, ctx: RequestContext, cmd: ResetNetworkStatus) -> None:
        with self.db.write() as uow:
            network = find_network(uow, ctx, cmd.share_network_id)
            self.policy.authorize(ctx, Rule.NETWORK_RESET_STATUS, network.project_id)
            uow.share_networks.cas(network.id, None, status=cmd.status)
            uow.commit()


def _update_default_subnet(uow: UnitOfWork, network: ShareNetwork, values: dict[str, Any]) -> None:
    """Network fields in an update go to the one default subnet (Manila's checks and wording)."""
    defaults = network.default_subnets
    named = ("('neutron_net_id', 'neutron_subnet_id')" if any(k in values for k in _NEUTRON_IDS)
             else "(" + ", ".join(repr(k) for k in values) + ")")
    if not defaults:
        raise Invalid(f"The share network {network.id} does not have a 'default' subnet that serves all "
                      f"availability zones, so subnet details {named} cannot be updated.")
    if len(defaults) > 1:
        raise Invalid(f"The share network {network.id} does not have an unique 'default' subnet that serves all "
                      f"availability zones, so subnet details {named} cannot be updated.")
    subnet = defaults[0]
    touches_ids = any(k in values for k in _NEUTRON_IDS)
    both_empty = subnet.neutron_net_id is None and subnet.neutron_subnet_id is None
    if touches_ids and both_empty and (values.get("neutron_net_id") is None or values.get("neutron_subnet_id") is None):
        raise Invalid(f"To update the share network {network.id} you need to specify both 'neutron_net_id' and "
                      "'neutron_subnet_id'.")
    uow.share_network_subnets.cas(subnet.id, None, **values)
