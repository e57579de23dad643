"""/security-services: records of the directory services a share network names (no share servers use them)."""

from __future__ import annotations

from typing import Any

from lockstep.api import queries, views
from lockstep.api.errors import HTTPFault
from lockstep.api.paging import index_reply
from lockstep.api.routing import ApiRequest, Envelope, OnTarget, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.domain.model import SECURITY_SERVICE_TYPES, SecurityService
from lockstep.service.commands import Checked, CreateSecurityService, SecurityServiceFields
from lockstep.service.policy import Rule
from lockstep.service.services import Services

SECURITY_SERVICE = Envelope("security_service")
# Column sizes (Manila's); decision 3: a longer value or a wrong type answers 400 naming the field.
_TEXT = {"name": 255, "description": 255, "dns_ip": 64, "ou": 255, "server": 255, "domain": 255, "user": 255,
         "password": 255, "default_ad_site": 255}
AD_SITE_TOO_EARLY = '"default_ad_site" is only supported from API version 2.76.'


def service_fields(entity: dict[str, Any]) -> SecurityServiceFields:
    values: dict[str, str | None] = {}
    for key, limit in _TEXT.items():
        if key not in entity:
            continue
        value = entity[key]
        if value is not None and not isinstance(value, str):
            raise Invalid(f"Invalid input received: '{key}' must be a string.")
        if isinstance(value, str) and len(value) > limit:
            raise Invalid(f"Invalid input received: '{key}' is longer than {limit} characters.")
        values[key] = value
    return SecurityServiceFields(**values)


def create_command(req: ApiRequest) -> CreateSecurityService:
    kind = req.entity.get("type")
    if kind not in SECURITY_SERVICE_TYPES:
        raise Invalid(f"Invalid input received: Invalid type {kind} specified for security service. Valid types "
                      f"are {','.join(SECURITY_SERVICE_TYPES)}")
    if req.entity.get("default_ad_site") and not req.at_least(2, 76):
        raise HTTPFault(400, AD_SITE_TOO_EARLY)
    assert isinstance(kind, str)
    return CreateSecurityService(kind, service_fields(req.entity))


def update_fields(req: ApiRequest) -> Checked[SecurityServiceFields]:
    """The fields an update may change (not the type); refused only once the service is found."""
    try:
        if req.entity.get("default_ad_site") and not req.at_least(2, 76):
            raise Invalid(AD_SITE_TOO_EARLY)
        return service_fields(req.entity)
    except Invalid as error:
        return error


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        networks: dict[str, list[str]] = {}

        def fetch(offset: int, limit: int) -> list[SecurityService]:
            query, asks_all = queries.security_services(req, offset, limit)
            found = s.security_services.list_all(req.ctx, query, asks_all)
            if detail:
                networks.update(s.security_services.networks(req.ctx, [ss.id for ss in found]))
            return found

        def view(ss: SecurityService) -> dict[str, Any]:
            body = views.security_service(req, ss, detail=detail)
            if detail:
                body["share_networks"] = networks.get(ss.id, [])
            return body

        return index_reply(req, "security_services", fetch, view)

    def create(req: ApiRequest) -> Reply:
        created = s.security_services.create(req.ctx, create_command(req))
        return Reply(200, {"security_service": views.security_service(req, created, detail=True)})

    def show(req: ApiRequest) -> Reply:
        found = s.security_services.get(req.ctx, req.params["id"])
        return Reply(200, {"security_service": views.security_service(req, found, detail=True)})

    def update(req: ApiRequest) -> Reply:
        updated = s.security_services.update(req.ctx, req.params["id"], update_fields(req))
        return Reply(200, {"security_service": views.security_service(req, updated, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.security_services.delete(req.ctx, req.params["id"])
        return Reply(202)

    # Listing every project's (all_tenants) is checked by the use case, and ignored when refused.
    router.add("GET", "/security-services", lambda r: index(r, False), rule=Rule.SECURITY_SERVICE_INDEX,
               paged=True)
    router.add("GET", "/security-services/detail", lambda r: index(r, True), rule=Rule.SECURITY_SERVICE_DETAIL,
               paged=True)
    router.add("POST", "/security-services", create, rule=Rule.SECURITY_SERVICE_CREATE, envelope=SECURITY_SERVICE)
    # Checked on the service's project once it is found: a missing one answers 404 first.
    router.add("GET", "/security-services/{id}", show, rule=OnTarget(Rule.SECURITY_SERVICE_SHOW))
    router.add("PUT", "/security-services/{id}", update, rule=OnTarget(Rule.SECURITY_SERVICE_UPDATE),
               envelope=SECURITY_SERVICE)
    router.add("DELETE", "/security-services/{id}", delete, rule=OnTarget(Rule.SECURITY_SERVICE_DELETE))
