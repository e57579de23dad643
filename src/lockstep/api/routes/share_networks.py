"""/share-networks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockstep.api import queries, views
from lockstep.api.routing import ApiRequest, Reply, Router

if TYPE_CHECKING:
    from lockstep.service.services import Services


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        offset, limit = req.paging()
        found = s.networks.list_all(req.ctx, queries.share_networks(req, offset, limit))
        return Reply(200, {"share_networks": [views.share_network(req, n, detail=detail) for n in found]})

    def create(req: ApiRequest) -> Reply:
        net = s.networks.create(req.ctx, req.entity("share_network"))
        return Reply(200, {"share_network": views.share_network(req, net, detail=True)})

    def show(req: ApiRequest) -> Reply:
        net = s.networks.get(req.ctx, req.params["id"])
        return Reply(200, {"share_network": views.share_network(req, net, detail=True)})

    def update(req: ApiRequest) -> Reply:
        net = s.networks.update(req.ctx, req.params["id"], req.entity("share_network"))
        return Reply(200, {"share_network": views.share_network(req, net, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.networks.delete(req.ctx, req.params["id"])
        return Reply(202)

    router.add("GET", "/share-networks", lambda r: index(r, False))
    router.add("GET", "/share-networks/detail", lambda r: index(r, True))
    router.add("POST", "/share-networks", create)
    router.add("GET", "/share-networks/{id}", show)
    router.add("PUT", "/share-networks/{id}", update)
    router.add("DELETE", "/share-networks/{id}", delete)
