"""/share-networks/{id}/subnets (2.51) and their metadata (2.78)."""

from __future__ import annotations

from lockstep.api import bodies, views
from lockstep.api.errors import HTTPFault
from lockstep.api.routes.metadata import register_metadata
from lockstep.api.routes.share_networks import check_neutron_pair, subnet_fields, zone
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Reply, Router
from lockstep.domain.model import MetadataOwner
from lockstep.service.commands import CreateSubnet, MetadataRef
from lockstep.service.policy import Rule
from lockstep.service.services import Services

BODY_KEY = "share-network-subnet"


def create_command(req: ApiRequest, s: Services) -> CreateSubnet:
    body = req.body
    if not isinstance(body, dict) or not isinstance(body.get(BODY_KEY), dict):
        raise HTTPFault(400, "Share Network Subnet is missing from the request body.")
    data = body[BODY_KEY]
    metadata = bodies.check_metadata(data.get("metadata")) if req.at_least(2, 78) else {}
    check_neutron_pair(data)
    return CreateSubnet(share_network_id=req.params["id"], availability_zone=zone(s, data.get("availability_zone")),
                        fields=subnet_fields(data), metadata=metadata, several_per_zone=req.at_least(2, 70))


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        subnets = s.subnets.list_all(req.ctx, req.params["id"])
        return Reply(200, {"share_network_subnets": [views.share_network_subnet(req, sub) for sub in subnets]})

    def create(req: ApiRequest) -> Reply:
        created = s.subnets.create(req.ctx, create_command(req, s))
        return Reply(200, {"share_network_subnet": views.share_network_subnet(req, created)})

    def show(req: ApiRequest) -> Reply:
        found = s.subnets.get(req.ctx, req.params["id"], req.params["subnet"])
        return Reply(200, {"share_network_subnet": views.share_network_subnet(req, found)})

    def delete(req: ApiRequest) -> Reply:
        s.subnets.delete(req.ctx, req.params["id"], req.params["subnet"])
        return Reply(202)

    since = ALL_VERSIONS.since("2.51")
    path = "/share-networks/{id}/subnets"
    router.add("GET", path, index, rule=Rule.SUBNET_INDEX, scope=since)
    router.add("POST", path, create, rule=Rule.SUBNET_CREATE, scope=since)
    router.add("GET", path + "/{subnet}", show, rule=Rule.SUBNET_SHOW, scope=since)
    router.add("DELETE", path + "/{subnet}", delete, rule=Rule.SUBNET_DELETE, scope=since)
    register_metadata(router, s, path + "/{subnet}",
                      lambda req: MetadataRef(MetadataOwner.SUBNET, req.params["subnet"], req.params["id"]),
                      read=Rule.SUBNET_GET_METADATA, update=Rule.SUBNET_UPDATE_METADATA,
                      delete=Rule.SUBNET_DELETE_METADATA, scope=ALL_VERSIONS.since("2.78"))
