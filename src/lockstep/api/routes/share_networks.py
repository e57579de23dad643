"""/share-networks: the networks, and their actions on security services and status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lockstep.api import queries, views
from lockstep.api.errors import GENERIC_400, HTTPFault
from lockstep.api.paging import index_reply
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Envelope, OnTarget, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.domain.model import NetworkStatus, parse_bool
from lockstep.service.commands import (
    Checked,
    CreateShareNetwork,
    ReplaceSecurityService,
    ResetNetworkStatus,
    SecurityServiceLink,
    ShareNetworkFields,
    SubnetFields,
)
from lockstep.service.policy import Rule
from lockstep.service.security_services import CheckResult
from lockstep.service.services import Services
from lockstep.service.validation import MAX_NAME

NETWORK = Envelope("share_network")
_TEXT_FIELDS = {"name": MAX_NAME, "description": MAX_NAME, "neutron_net_id": 36, "neutron_subnet_id": 36,
                "network_type": 32, "cidr": 64, "gateway": 64}
_SUBNET_TEXT = ("neutron_net_id", "neutron_subnet_id", "network_type", "cidr", "gateway")
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


def subnet_fields(entity: dict[str, Any]) -> SubnetFields:
    values: dict[str, Any] = {key: _text(key, entity[key], _TEXT_FIELDS[key]) for key in _SUBNET_TEXT if key in entity}
    values.update({key: _integer(entity[key]) for key in _INT_FIELDS if key in entity})
    return SubnetFields(**values)


def check_neutron_pair(entity: dict[str, Any]) -> None:
    if ("neutron_net_id" in entity) != ("neutron_subnet_id" in entity):
        raise Invalid("When creating a new share network subnet you need to specify both neutron_net_id and "
                      "neutron_subnet_id or none of them.")


def zone(s: Services, value: object) -> Checked[str | None]:
    """A subnet's availability zone by name or id: the zone's name, None for a default subnet."""
    if not value:
        return None
    if value in (s.availability_zone, s.availability_zone_id):
        return s.availability_zone
    return Invalid(f"The provided availability zone {value} does not exist.")


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


def create_command(req: ApiRequest, s: Services) -> CreateShareNetwork:
    fields = network_fields(req.entity)
    if not req.at_least(2, 51):
        return CreateShareNetwork(fields, None)
    chosen = zone(s, req.entity.get("availability_zone"))
    if isinstance(chosen, Invalid):
        raise chosen
    check_neutron_pair(req.entity)
    return CreateShareNetwork(fields, chosen)


# Action bodies: a malformed one is reported after the network is found (Manila's order).
def _argument(body: object, key: str, malformed: str) -> Checked[str]:
    if not isinstance(body, dict):
        return Invalid(GENERIC_400)
    value = body.get(key)
    if key not in body:
        return Invalid(malformed)
    if not isinstance(value, str):
        return Invalid(f"Invalid input received: '{key}' must be a string.")
    return value


def _pair(body: object) -> Checked[tuple[str, str]]:
    current = _argument(body, "current_service_id", "Malformed request body.")
    new = _argument(body, "new_service_id", "Malformed request body.")
    for value in (current, new):
        if isinstance(value, Invalid):
            return value
    assert isinstance(current, str) and isinstance(new, str)
    return current, new


def reset_operation(body: object) -> Checked[bool]:
    value = body.get("reset_operation", False) if isinstance(body, dict) else False
    try:
        return parse_bool(value, strict=True)
    except ValueError:
        return Invalid(f"Invalid value {value} for reset_operation. Expecting a boolean.")


def check_view(req: ApiRequest, result: CheckResult, operation: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"compatible": result.compatible}
    if operation is not None:
        body["requested_operation"] = operation
    if req.ctx.is_admin:
        body["hosts_check_result"] = {}  # no share server, so no host was asked
    return body


def requested_operation(body: object) -> dict[str, Any]:
    data = body if isinstance(body, dict) else {}
    current = data.get("current_service_id")
    return {"operation": "update_security_service" if current else "add_security_service",
            "current_security_service": current,
            "new_security_service": data.get("new_service_id") or data.get("security_service_id")}


def network_status(body: object) -> str:
    status = body.get("status") if isinstance(body, dict) else None
    if status is None:
        raise Invalid("Must specify 'status'")
    if status not in [str(v) for v in NetworkStatus]:
        raise Invalid(f"Invalid state. Valid states: {', '.join(str(v) for v in NetworkStatus)}.")
    return str(status)


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        return index_reply(req, "share_networks",
                           lambda offset, limit:
                               s.networks.list_all(req.ctx, queries.share_networks(req, offset, limit)),
                           lambda net: views.share_network(req, net, detail=detail))

    def create(req: ApiRequest) -> Reply:
        net = s.networks.create(req.ctx, create_command(req, s))
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
    _register_actions(router, s)


def _register_actions(router: Router, s: Services) -> None:
    def viewed(status: int, change: Callable[[ApiRequest], Any]) -> Callable[[ApiRequest], Reply]:
        return lambda req: Reply(status, {"share_network": views.share_network(req, change(req), detail=True)})

    def link(req: ApiRequest) -> SecurityServiceLink:
        return SecurityServiceLink(req.params["id"],
                                   _argument(req.action_body, "security_service_id", "Malformed request body"))

    def add_check(req: ApiRequest) -> Reply:
        checked = _argument(req.action_body, "security_service_id", "Malformed request body.")
        result = s.security_services.check_add(req.ctx, SecurityServiceLink(req.params["id"], checked),
                                               reset_operation(req.action_body))
        return Reply(202, check_view(req, result, requested_operation(req.action_body)))

    def update_check(req: ApiRequest) -> Reply:
        cmd = ReplaceSecurityService(req.params["id"], _pair(req.action_body))
        result = s.security_services.check_replace(req.ctx, cmd, reset_operation(req.action_body))
        return Reply(202, check_view(req, result, requested_operation(req.action_body)))

    def subnet_check(req: ApiRequest) -> Reply:
        body = req.action_body
        if not isinstance(body, dict):
            raise HTTPFault(400, "Share Network Subnet Create Check is missing from the request body.")
        check_neutron_pair(body)
        s.subnets.check_create(req.ctx, req.params["id"], zone(s, body.get("availability_zone")),
                               reset_operation(body))
        return Reply(202, check_view(req, CheckResult(), None))

    def reset_status(req: ApiRequest) -> Reply:
        status = network_status(req.action_body)
        s.networks.reset_status(req.ctx, ResetNetworkStatus(req.params["id"], status))
        return Reply(202)

    path = "/share-networks/{id}/action"
    since_263 = ALL_VERSIONS.since("2.63")
    # The network's owner decides, once the network is found.
    router.add("POST", path, viewed(200, lambda r: s.security_services.add_to_network(r.ctx, link(r))),
               rule=OnTarget(Rule.NETWORK_ADD_SECURITY_SERVICE), action="add_security_service")
    router.add("POST", path, viewed(200, lambda r: s.security_services.remove_from_network(r.ctx, link(r))),
               rule=OnTarget(Rule.NETWORK_REMOVE_SECURITY_SERVICE), action="remove_security_service")
    router.add("POST", path, viewed(202, lambda r: s.security_services.replace_on_network(
                   r.ctx, ReplaceSecurityService(r.params["id"], _pair(r.action_body)))),
               rule=OnTarget(Rule.NETWORK_UPDATE_SECURITY_SERVICE), action="update_security_service", scope=since_263)
    router.add("POST", path, add_check, rule=OnTarget(Rule.NETWORK_ADD_SECURITY_SERVICE_CHECK),
               action="add_security_service_check", scope=since_263)
    router.add("POST", path, update_check, rule=OnTarget(Rule.NETWORK_UPDATE_SECURITY_SERVICE_CHECK),
               action="update_security_service_check", scope=since_263)
    router.add("POST", path, reset_status, rule=Rule.NETWORK_RESET_STATUS, action="reset_status", scope=since_263)
    router.add("POST", path, subnet_check, rule=Rule.NETWORK_SUBNET_CREATE_CHECK,
               action="share_network_subnet_create_check", scope=ALL_VERSIONS.since("2.70"))
