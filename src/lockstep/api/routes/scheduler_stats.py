"""/scheduler-stats/pools (admin) and /availability-zones."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockstep.api import queries, views
from lockstep.api.routing import ApiRequest, Reply, Router
from lockstep.service.policy import Rule

if TYPE_CHECKING:
    from lockstep.service.services import Services


def register(router: Router, s: Services) -> None:
    def pools(req: ApiRequest, detail: bool) -> Reply:
        s.policy.authorize(req.ctx, Rule.POOLS_DETAIL if detail else Rule.POOLS_INDEX)
        records = s.pools.list_all(queries.pools(req))
        return Reply(200, {"pools": [views.pool(req, record, detail=detail) for record in records]})

    router.add("GET", "/scheduler-stats/pools", lambda r: pools(r, False))
    router.add("GET", "/scheduler-stats/pools/detail", lambda r: pools(r, True))

    def zones(req: ApiRequest) -> Reply:
        s.policy.authorize(req.ctx, Rule.AVAILABILITY_ZONE_INDEX)
        return Reply(200, {"availability_zones": [{"id": s.availability_zone_id, "name": s.availability_zone,
                                                   "created_at": "2015-08-27T11:33:21.000000",
                                                   "updated_at": None}]})

    router.add("GET", "/os-availability-zone", zones, max="2.6")
    router.add("GET", "/availability-zones", zones, min="2.7")
