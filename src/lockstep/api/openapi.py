"""An OpenAPI 3.1 description of the served API, generated from the route table (`GET /openapi.json`).

Each route template becomes a path under `/v2/{project_id}` (from 2.60 the same paths are also
served without the project id); the routes of one template and method are one operation, their
microversion scopes listed in `x-lockstep-versions`. A route that declares an envelope, and every
action, gets a request body schema; the fields of the common creates and actions are described so
that a generator (the fuzzing tier, tests/fuzz/) builds requests that reach the use cases. Every
error is a Manila fault body: `{"<faultName>": {"code": N, "message": "..."}}`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from lockstep.api.routing import Route, Router

PREFIX = "/v2/{project_id}"
VERSION_HEADER_DOC = ("Send `X-OpenStack-Manila-API-Version` (2.0-2.99) and, for experimental routes, "
                      "`X-OpenStack-Manila-API-Experimental: True`.")

_STRING: dict[str, Any] = {"type": "string"}
_TEXT: dict[str, Any] = {"type": ["string", "null"], "maxLength": 255}
_ID: dict[str, Any] = {"type": ["string", "null"]}
_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
_SIZE: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 100}

# The fields of each envelope's object, as Manila's API reference names them.
ENTITY_FIELDS: dict[str, dict[str, Any]] = {
    "share": {"size": _SIZE, "share_proto": {"enum": ["NFS", "CIFS", "CEPHFS", "nfs", "cifs", "cephfs"]}, "name": _TEXT,
              "description": _TEXT, "display_name": _TEXT, "display_description": _TEXT, "share_type": _ID,
              "share_network_id": _ID, "snapshot_id": _ID, "consistency_group_id": _ID, "share_group_id": _ID,
              "availability_zone": _ID, "metadata": _MAP, "is_public": {"type": "boolean"}},
    "snapshot": {"share_id": _STRING, "name": _TEXT, "description": _TEXT, "display_name": _TEXT,
                 "display_description": _TEXT, "force": {"type": "boolean"}, "metadata": _MAP},
    "share_network": {"name": _TEXT, "description": _TEXT, "neutron_net_id": _ID, "neutron_subnet_id": _ID,
                      "availability_zone": _ID},
    "security_service": {"type": {"enum": ["ldap", "kerberos", "active_directory"]}, "name": _TEXT,
                         "description": _TEXT, "dns_ip": _ID, "server": _ID, "domain": _ID, "user": _ID,
                         "password": _ID, "ou": _ID},
    "consistency_group": {"name": _TEXT, "description": _TEXT, "share_types": {"type": "array", "items": _STRING},
                          "source_cgsnapshot_id": _ID, "share_network_id": _ID},
    "cgsnapshot": {"consistency_group_id": _STRING, "name": _TEXT, "description": _TEXT},
    "share_group": {"name": _TEXT, "description": _TEXT, "share_types": {"type": "array", "items": _STRING},
                    "share_group_type_id": _ID, "source_share_group_snapshot_id": _ID, "share_network_id": _ID,
                    "availability_zone": _ID},
    "share_group_snapshot": {"share_group_id": _STRING, "name": _TEXT, "description": _TEXT},
    "share_type": {"name": _STRING, "description": _TEXT, "share_type_access:is_public": {"type": "boolean"},
                   "extra_specs": {"type": "object", "properties": {
                       "driver_handles_share_servers": {"type": ["boolean", "string"]}}}},
    "share_group_type": {"name": _STRING, "share_types": {"type": "array", "items": _STRING},
                         "group_specs": _MAP, "is_public": {"type": "boolean"}},
    "share-network-subnet": {"neutron_net_id": _ID, "neutron_subnet_id": _ID, "availability_zone": _ID},
    "quota_set": {"shares": {"type": "integer"}, "gigabytes": {"type": "integer"},
                  "snapshots": {"type": "integer"}, "share_networks": {"type": "integer"}},
}
# Bodies of routes that declare no envelope (Manila read these keys in the handler).
BODY_KEYS: dict[str, str] = {
    "/types": "share_type", "/types/{id}": "share_type", "/share-group-types": "share_group_type",
    "/share-networks/{id}/subnets": "share-network-subnet", "/quota-sets/{id}": "quota_set",
    "/os-quota-sets/{id}": "quota_set",
}
# Arguments of the common actions; any other action's argument is left open.
ACTION_ARGS: dict[str, dict[str, Any]] = {
    "extend": {"type": "object", "properties": {"new_size": _SIZE}},
    "shrink": {"type": "object", "properties": {"new_size": _SIZE}},
    "reset_status": {"type": "object", "properties": {"status": {"enum": ["available", "error", "creating",
                                                                          "deleting", "error_deleting"]}}},
    "allow_access": {"type": "object", "properties": {"access_type": {"enum": ["ip", "user", "cert", "cephx"]},
                                                      "access_to": _STRING, "access_level": {"enum": ["rw", "ro"]}}},
    "deny_access": {"type": "object", "properties": {"access_id": _STRING}},
    "force_delete": {"type": ["object", "null"]},
    "access_list": {"type": ["object", "null"]},
    "addProjectAccess": {"type": "object", "properties": {"project": _STRING}},
    "removeProjectAccess": {"type": "object", "properties": {"project": _STRING}},
}


def _fault_schema() -> dict[str, Any]:
    return {"type": "object", "minProperties": 1, "maxProperties": 1,
            "additionalProperties": {"type": "object", "required": ["code", "message"],
                                     "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}}}


def _versions(routes: Iterable[Route]) -> list[dict[str, Any]]:
    return [{"min": str(r.scope.min), "max": str(r.scope.max) if r.scope.max else None,
             "experimental": r.scope.experimental,
             "graduated": str(r.scope.graduated) if r.scope.graduated else None, "action": r.action}
            for r in routes]


def _object(key: str) -> dict[str, Any]:
    fields = ENTITY_FIELDS.get(key, {})
    inner: dict[str, Any] = {"type": "object", "properties": fields} if fields else {"type": "object"}
    return {"type": "object", "required": [key], "properties": {key: inner}}


def _request_body(template: str, routes: list[Route]) -> dict[str, Any] | None:
    actions = sorted({r.action for r in routes if r.action is not None})
    if actions:
        one_of = [{"type": "object", "required": [a], "properties": {a: ACTION_ARGS.get(a, {})},
                   "additionalProperties": False} for a in actions]
        schema: dict[str, Any] = {"oneOf": one_of}
    elif routes[0].envelope is not None:
        schema = _object(routes[0].envelope.key)
    elif template in BODY_KEYS:
        schema = _object(BODY_KEYS[template])
    elif routes[0].method in ("POST", "PUT"):
        schema = {"type": "object"}
    else:
        return None
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _parameters(template: str, routes: list[Route]) -> list[dict[str, Any]]:
    names = ["project_id", *re.findall(r"\{(\w+)\}", template)]
    params: list[dict[str, Any]] = [{"name": n, "in": "path", "required": True, "schema": _STRING} for n in names]
    if any(r.paged for r in routes):
        params += [{"name": n, "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}}
                   for n in ("limit", "offset")]
    return params


def _operation_id(method: str, template: str) -> str:
    words = re.sub(r"[{}]", "", template).replace("-", "_").strip("/").replace("/", "_")
    return f"{method.lower()}_{words}"


def _operation(method: str, template: str, routes: list[Route]) -> dict[str, Any]:
    fault = {"description": "A Manila fault body", "content": {"application/json": {"schema": _fault_schema()}}}
    operation: dict[str, Any] = {
        "operationId": _operation_id(method, template),
        "parameters": _parameters(template, routes),
        "responses": {"2XX": {"description": "Success (a body, or none for 202/204)"}, "4XX": fault, "5XX": fault},
        "x-lockstep-versions": _versions(routes),
    }
    if any(r.method == "*" for r in routes):
        operation["x-lockstep-any-method"] = True  # served whatever the method (Manila answered non-POSTs 400)
    body = _request_body(template, routes)
    if body is not None:
        operation["requestBody"] = body
    return operation


def operations(router: Router) -> dict[tuple[str, str], list[Route]]:
    """The routes of each (template, method); a route of any method ("*") is documented as POST."""
    grouped: dict[tuple[str, str], list[Route]] = {}
    for route in router.routes:
        method = "POST" if route.method == "*" else route.method
        grouped.setdefault((route.template, method), []).append(route)
    return grouped


def _version() -> str:
    try:
        return metadata.version("lockstep")
    except metadata.PackageNotFoundError:  # running from a source tree that was not installed
        return "0"


def document(router: Router) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for (template, method), routes in sorted(operations(router).items()):
        paths.setdefault(PREFIX + template, {})[method.lower()] = _operation(method, template, routes)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lockstep: OpenStack Manila Shared File Systems API v2", "version": _version(),
                 "description": "Generated from Lockstep's route table. " + VERSION_HEADER_DOC
                 + " From 2.60 every path is also served without `/{project_id}`."},
        "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
        "security": [{"token": []}],
        "paths": paths,
    }
