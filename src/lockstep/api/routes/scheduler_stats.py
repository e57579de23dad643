"""/scheduler-stats/pools (admin) and /availability-zones."""

from __future__ import annotations

import re

from lockstep.api import views
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.service.policy import Rule
from lockstep.service.scheduler import matches_type
from lockstep.service.services import Services

_FIELDS = ("name", "host", "backend", "pool")


def register(router: Router, s: Services) -> None:
    def pools(req: ApiRequest, detail: bool) -> Reply:
        query = dict(req.query)
        type_ref = query.pop("share_type", None) if req.at_least(2, 23) else None
        with s.db.read() as uow:
            records = s.scheduler.live_pools(uow)
            share_type = None
            if type_ref:
                share_type = uow.share_types.get(type_ref) or uow.share_types.get_by_name(type_ref)
                if share_type is None:
                    raise Invalid(f"Share type {type_ref} not found.")
        result = []
        for record in records:
            values = {"name": record.name, "host": record.host, "backend": record.backend, "pool": record.pool}
            if any(k not in _FIELDS for k in query):
                break
            try:
                if not all(re.match(v, values[k]) for k, v in query.items()):
                    continue
            except re.error:
                raise Invalid("Invalid input received: a pool filter is not a valid regular expression.") from None
            if share_type is not None and not matches_type(record, share_type):
                continue
            result.append(views.pool(req, record, detail=detail))
        return Reply(200, {"pools": result})

    router.add("GET", "/scheduler-stats/pools", lambda r: pools(r, False), rule=Rule.POOLS_INDEX)
    router.add("GET", "/scheduler-stats/pools/detail", lambda r: pools(r, True), rule=Rule.POOLS_DETAIL)

    def zones(req: ApiRequest) -> Reply:
        return Reply(200, {"availability_zones": [{"id": s.availability_zone_id, "name": s.availability_zone,
                                                   "created_at": "2015-08-27T11:33:21.000000",
                                                   "updated_at": None}]})

    router.add("GET", "/os-availability-zone", zones, rule=Rule.AVAILABILITY_ZONE_INDEX,
               scope=ALL_VERSIONS.until("2.6"))
    router.add("GET", "/availability-zones", zones, rule=Rule.AVAILABILITY_ZONE_INDEX, scope=ALL_VERSIONS.since("2.7"))
