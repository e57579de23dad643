"""/scheduler-stats/pools (admin) and /availability-zones."""

from __future__ import annotations

from lockstep.api import queries, views
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Reply, Router
from lockstep.service.policy import Rule
from lockstep.service.services import Services


def register(router: Router, s: Services) -> None:
    def pools(req: ApiRequest, detail: bool) -> Reply:
        records = s.pools.list_all(queries.pools(req))
        return Reply(200, {"pools": [views.pool(req, record, detail=detail) for record in records]})

    router.add("GET", "/scheduler-stats/pools", lambda r: pools(r, False), rule=Rule.POOLS_INDEX)
    router.add("GET", "/scheduler-stats/pools/detail", lambda r: pools(r, True), rule=Rule.POOLS_DETAIL)

    def zones(req: ApiRequest) -> Reply:
        return Reply(200, {"availability_zones": [{"id": s.availability_zone_id, "name": s.availability_zone,
                                                   "created_at": "2015-08-27T11:33:21.000000",
                                                   "updated_at": None}]})

    router.add("GET", "/os-availability-zone", zones, rule=Rule.AVAILABILITY_ZONE_INDEX,
               scope=ALL_VERSIONS.until("2.6"))
    router.add("GET", "/availability-zones", zones, rule=Rule.AVAILABILITY_ZONE_INDEX, scope=ALL_VERSIONS.since("2.7"))
