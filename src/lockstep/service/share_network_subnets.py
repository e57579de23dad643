"""Share network subnets (2.51): where a network reaches an availability zone (records only).

A subnet without a zone is a default subnet and serves every zone. Before 2.70 a network holds at
most one subnet per zone (one default); from 2.70 several.
"""

from __future__ import annotations

from lockstep.domain.errors import Conflict, NotFound
from lockstep.domain.model import MetadataOwner, ShareNetwork, ShareNetworkSubnet, utcnow
from lockstep.service.commands import Checked, CreateSubnet, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.share_networks import find_network
from lockstep.service.unit_of_work import Database
from lockstep.service.validation import new_id


def _subnet(network: ShareNetwork, subnet_id: str) -> ShareNetworkSubnet:
    for subnet in network.subnets:
        if subnet.id == subnet_id:
            return subnet
    raise NotFound(f"Share network subnet {subnet_id} could not be found.")


class ShareNetworkSubnetService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list_all(self, ctx: RequestContext, network_id: str) -> list[ShareNetworkSubnet]:
        with self.db.read() as uow:
            return find_network(uow, ctx, network_id).subnets

    def get(self, ctx: RequestContext, network_id: str, subnet_id: str) -> ShareNetworkSubnet:
        with self.db.read() as uow:
            return _subnet(find_network(uow, ctx, network_id), subnet_id)

    def create(self, ctx: RequestContext, cmd: CreateSubnet) -> ShareNetworkSubnet:
        with self.db.write() as uow:
            network = find_network(uow, ctx, cmd.share_network_id)
            zone = unwrap(cmd.availability_zone)  # an unknown zone is reported once the network is found
            _check_zone(network, zone, cmd.several_per_zone)
            subnet_id = new_id()
            uow.share_network_subnets.insert_row(id=subnet_id, share_network_id=network.id,
                                                 availability_zone=zone, created_at=utcnow(),
                                                 updated_at=None, **cmd.fields.values())
            if cmd.metadata:
                uow.metadata.set(MetadataOwner.SUBNET, subnet_id, cmd.metadata, replace=True)
            created = uow.share_network_subnets.get(subnet_id)
            uow.commit()
        assert created is not None
        return created

    def check_create(self, ctx: RequestContext, network_id: str, zone: Checked[str | None],
                     reset: Checked[bool]) -> None:
        """share_network_subnet_create_check (2.70): several subnets per zone are allowed then."""
        with self.db.read() as uow:
            find_network(uow, ctx, network_id)
            unwrap(zone)
            unwrap(reset)

    def delete(self, ctx: RequestContext, network_id: str, subnet_id: str) -> None:
        with self.db.write() as uow:
            subnet = _subnet(find_network(uow, ctx, network_id), subnet_id)
            uow.share_network_subnets.delete(subnet.id)
            uow.commit()


def _check_zone(network: ShareNetwork, zone: str | None, several_per_zone: bool) -> None:
    if several_per_zone:
        return
    if any(s.availability_zone == zone for s in network.subnets):
        raise Conflict("Another share network subnet was found in the specified availability zone. Only one share "
                       f"network subnet is allowed per availability zone for share network {network.id}.")
