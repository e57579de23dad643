"""/share-networks."""

from __future__ import annotations

from typing import Any

from lockstep.api import queries, views
from lockstep.api.paging import index_reply
from lockstep.api.routing import ApiRequest, Envelope, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.service.commands import ShareNetworkFields
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import MAX_NAME

NETWORK = Envelope("share_network")
_TEXT_FIELDS = {"name": MAX_NAME, "description": MAX_NAME, "neutron_net_id": 36, "neutron_subnet_id": 36,
                "network_type": 32, "cidr": 64, "gateway": 64}
_INT_FIELDS = ("segmentation_id", "ip_version", "mtu")
_MAX_INT = 2**31 - 1


def network_fields(entity: dict[str, Any]) -> ShareNetworkFields:
    if "nova_net_id" in entity:
        raise Invalid("nova networking is not supported starting in Ocata.")
    values: dict[str, Any] = {}
    for key, limit in _TEXT_FIELDS.items():
        if key in entity:
            values[key] = _text(key, entity[key], limit)
    for key in _INT_FIELDS:
        if key in entity:
            values[key] = _integer(entity[key])
    return ShareNetworkFields(**values)


def _text(key: str, value: object, limit: int) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Invalid(f"Invalid input received: '{key}' must be a string.")
    if isinstance(value, str) and len(value) > limit:
        raise Invalid(f"Invalid input received: '{key}' is longer than {limit} characters.")
    return value


def _integer(value: object) -> int | None:
    """What the INTEGER column can hold; Manila answered its database's refusal."""
    if value is None:
        return None
    refused = Invalid("Could not save supplied data due to database error")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise refused
    try:
        number = int(value)
    except (ValueError, OverflowError):
        raise refused from None
    if abs(number) > _MAX_INT:
        raise refused
    return number


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        return index_reply(req, "share_networks",
                           lambda offset, limit:
                               s.networks.list_all(req.ctx, queries.share_networks(req, offset, limit)),
                           lambda net: views.share_network(req, net, detail=detail))

    def create(req: ApiRequest) -> Reply:
        net = s.networks.create(req.ctx, network_fields(req.entity))
        return Reply(200, {"share_network": views.share_network(req, net, detail=True)})

    def show(req: ApiRequest) -> Reply:
        net = s.networks.get(req.ctx, req.params["id"])
        return Reply(200, {"share_network": views.share_network(req, net, detail=True)})

    def update(req: ApiRequest) -> Reply:
        net = s.networks.update(req.ctx, req.params["id"], network_fields(req.entity))
        return Reply(200, {"share_network": views.share_network(req, net, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.networks.delete(req.ctx, req.params["id"])
        return Reply(202)

    # Listing other projects' networks is checked by the use case (share_network:get_all_share_networks).
    router.add("GET", "/share-networks", lambda r: index(r, False), rule=Rule.NETWORK_INDEX, paged=True)
    router.add("GET", "/share-networks/detail", lambda r: index(r, True), rule=Rule.NETWORK_DETAIL, paged=True)
    router.add("POST", "/share-networks", create, rule=Rule.NETWORK_CREATE, envelope=NETWORK)
    router.add("GET", "/share-networks/{id}", show, rule=Rule.NETWORK_SHOW)
    router.add("PUT", "/share-networks/{id}", update, rule=Rule.NETWORK_UPDATE, envelope=NETWORK)
    router.add("DELETE", "/share-networks/{id}", delete, rule=Rule.NETWORK_DELETE)
