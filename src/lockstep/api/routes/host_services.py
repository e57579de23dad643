"""/services (`/os-services` up to 2.6): Lockstep's workers as manila-share and manila-scheduler (admin)."""

from __future__ import annotations

from typing import Any

from lockstep.api import queries, supporting_views
from lockstep.api.errors import GENERIC_400, HTTPFault
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.service.commands import ChangeService
from lockstep.service.policy import Rule
from lockstep.service.services import Services


def change_command(req: ApiRequest) -> ChangeService:
    action = req.params["action"]
    if action not in ("enable", "disable"):
        raise HTTPFault(404, "The resource could not be found.")
    body: Any = req.body if isinstance(req.body, dict) else {}
    reason = None
    if action == "disable" and body.get("disabled_reason"):
        given = body["disabled_reason"]
        if not req.at_least(2, 83):
            raise Invalid("'disabled_reason' option is not supported by this microversion. Use 2.83 or greater "
                          "microversion to be able to set 'disabled_reason'.")
        if not isinstance(given, str) or not 1 <= len(given.strip()) <= 255:
            raise Invalid("Disabled reason contains invalid characters or is too long")
        reason = given.strip()
    host, binary = body.get("host"), body.get("binary")
    if not isinstance(host, str) or not isinstance(binary, str):
        raise HTTPFault(400, GENERIC_400)
    return ChangeService(host, binary, disabled=action == "disable", reason=reason)


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        found = s.host_services.list_all(queries.host_services(req))
        return Reply(200, {"services": [supporting_views.host_service(req, f) for f in found]})

    def change(req: ApiRequest) -> Reply:
        return Reply(200, supporting_views.service_change(req, s.host_services.change(change_command(req))))

    for path, scope in (("/os-services", ALL_VERSIONS.until("2.6")), ("/services", ALL_VERSIONS.since("2.7"))):
        router.add("GET", path, index, rule=Rule.SERVICE_INDEX, scope=scope)
        router.add("PUT", path + "/{action}", change, rule=Rule.SERVICE_UPDATE, scope=scope)
