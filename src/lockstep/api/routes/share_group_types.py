"""/share-group-types (2.31+, experimental until 2.54): types, group specs, project access."""

from __future__ import annotations

import re
from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.errors import GENERIC_400, HTTPFault
from lockstep.api.routing import SHARE_GROUP_SCOPE, ApiRequest, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.domain.group_types import ShareGroupType
from lockstep.service.commands import ChangeGroupTypeAccess, Checked, CreateShareGroupType, SetGroupSpecs
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import is_uuid_like

_KEY_RE = re.compile(r"^[\w.\-:]+$")
SCOPE = SHARE_GROUP_SCOPE


# Bodies -------------------------------------------------------------------------------------
def _entity(body: object, key: str) -> dict[str, Any]:
    """`{"<key>": {...}}`, checked after policy as Manila did (a bare 400)."""
    entity = body.get(key) if isinstance(body, dict) else None
    if not isinstance(entity, dict):
        raise HTTPFault(400, GENERIC_400)
    return entity


def create_command(entity: dict[str, Any]) -> CreateShareGroupType:
    share_types = entity.get("share_types")
    if not share_types:
        raise Invalid("Supported share types must be provided.")
    if not isinstance(share_types, list) or not all(isinstance(st, str) for st in share_types):
        raise Invalid("Invalid input received: 'share_types' must be a list of share type names or ids.")
    name = entity.get("name")
    if not isinstance(name, str) or not name or len(name) > 255:
        raise Invalid("Share group type name is not valid.")
    specs = entity.get("group_specs") or {}
    if not isinstance(specs, dict):
        raise Invalid("Group specs can be either of 'None' or 'dict' types.")
    if not all(isinstance(x, str) for x in (*specs.keys(), *specs.values())):
        raise Invalid("Group specs keys and values should be strings.")
    return CreateShareGroupType(name=name, share_types=tuple(share_types), group_specs=_checked_specs(specs),
                                is_public=bodies.strict_bool(entity.get("is_public", True)))


def _checked_specs(specs: dict[Any, Any]) -> dict[str, str]:
    """Keys and values of 1 to 255 characters (values may be booleans); keys of Manila's characters."""
    result: dict[str, str] = {}
    for key, value in specs.items():
        key_ok = isinstance(key, str) and 1 <= len(key) <= 255
        value_ok = isinstance(value, bool) or (isinstance(value, str) and 1 <= len(value) <= 255)
        if not (key_ok and value_ok):
            raise Invalid(f"Invalid extra_spec: {key}: {value}")
        result[key] = ("True" if value else "False") if isinstance(value, bool) else value
    return result


def _deferred(check: Any, *args: Any) -> Checked[dict[str, str]]:
    try:
        result: dict[str, str] = check(*args)
    except Invalid as error:
        return error
    return result


def _new_specs(specs: dict[str, Any]) -> dict[str, str]:
    checked = _checked_specs(specs)
    if not all(_KEY_RE.match(key) for key in checked):
        raise Invalid("Key names can only contain alphanumeric characters, underscores, periods, colons and "
                      "hyphens.")
    return checked


def _one_spec(body: dict[str, Any], key: str) -> dict[str, str]:
    if key not in body:
        raise Invalid("Request body and URI mismatch.")
    if len(body) > 1:
        raise Invalid("Request body contains too many items.")
    return _checked_specs(body)


def access_command(req: ApiRequest, add: bool) -> ChangeGroupTypeAccess:
    body = req.action_body
    if not isinstance(body, dict):
        raise HTTPFault(400, GENERIC_400)
    project = body.get("project")
    if not is_uuid_like(project):
        raise Invalid(f"Project value ({project}) must be in uuid format.")
    assert isinstance(project, str)
    return ChangeGroupTypeAccess(req.params["id"], project, add)


# Routes -------------------------------------------------------------------------------------
def register(router: Router, s: Services) -> None:
    def view(req: ApiRequest, gt: ShareGroupType) -> dict[str, Any]:
        return views.share_group_type(req, gt, is_default=s.group_types.is_default(gt))

    def index(req: ApiRequest) -> Reply:
        found = s.group_types.list_all(req.ctx, req.query.get("is_public"), queries.group_specs(req))
        return Reply(200, {"share_group_types": [view(req, gt) for gt in found]})

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"share_group_type": view(req, s.group_types.show(req.ctx, req.params["id"]))})

    def default(req: ApiRequest) -> Reply:
        return Reply(200, {"share_group_type": view(req, s.group_types.show_default(req.ctx))})

    def create(req: ApiRequest) -> Reply:
        created = s.group_types.create(req.ctx, create_command(_entity(req.body, "share_group_type")))
        return Reply(200, {"share_group_type": view(req, created)})

    def delete(req: ApiRequest) -> Reply:
        s.group_types.delete(req.ctx, req.params["id"])
        return Reply(204)

    path = "/share-group-types"
    router.add("GET", path, index, rule=Rule.GROUP_TYPE_INDEX, scope=SCOPE)
    router.add("POST", path, create, rule=Rule.GROUP_TYPE_CREATE, scope=SCOPE)
    router.add("GET", f"{path}/default", default, rule=Rule.GROUP_TYPE_DEFAULT, scope=SCOPE)
    router.add("GET", f"{path}/{{id}}", show, rule=Rule.GROUP_TYPE_SHOW, scope=SCOPE)
    router.add("DELETE", f"{path}/{{id}}", delete, rule=Rule.GROUP_TYPE_DELETE, scope=SCOPE)
    _register_group_specs(router, s)
    _register_access(router, s)


def _register_group_specs(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        return Reply(200, {"group_specs": s.group_types.specs(req.ctx, req.params["id"])})

    def create(req: ApiRequest) -> Reply:
        if not isinstance(req.body, dict) or not isinstance(req.body.get("group_specs"), dict):
            raise HTTPFault(400, GENERIC_400)
        specs = _deferred(_new_specs, req.body["group_specs"])
        s.group_types.set_specs(req.ctx, SetGroupSpecs(req.params["id"], specs))
        return Reply(200, req.body)

    def show(req: ApiRequest) -> Reply:
        return Reply(200, s.group_types.spec(req.ctx, req.params["id"], req.params["key"]))

    def update(req: ApiRequest) -> Reply:
        if not isinstance(req.body, dict) or not req.body:
            raise Invalid("Request body empty.")
        specs = _deferred(_one_spec, req.body, req.params["key"])
        s.group_types.set_specs(req.ctx, SetGroupSpecs(req.params["id"], specs))
        return Reply(200, req.body)

    def delete(req: ApiRequest) -> Reply:
        s.group_types.delete_spec(req.ctx, req.params["id"], req.params["key"])
        return Reply(204)

    path = "/share-group-types/{id}/group-specs"
    router.add("GET", path, index, rule=Rule.GROUP_SPEC_INDEX, scope=SCOPE)
    router.add("POST", path, create, rule=Rule.GROUP_SPEC_CREATE, scope=SCOPE)
    router.add("GET", f"{path}/{{key}}", show, rule=Rule.GROUP_SPEC_SHOW, scope=SCOPE)
    router.add("PUT", f"{path}/{{key}}", update, rule=Rule.GROUP_SPEC_UPDATE, scope=SCOPE)
    router.add("DELETE", f"{path}/{{key}}", delete, rule=Rule.GROUP_SPEC_DELETE, scope=SCOPE)


def _register_access(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        type_id = req.params["id"]
        projects = s.group_types.access_list(req.ctx, type_id)
        return Reply(200, {"share_group_type_access": [{"share_group_type_id": type_id, "project_id": p}
                                                       for p in projects]})

    def add(req: ApiRequest) -> Reply:
        s.group_types.change_access(req.ctx, access_command(req, add=True))
        return Reply(202)

    def remove(req: ApiRequest) -> Reply:
        s.group_types.change_access(req.ctx, access_command(req, add=False))
        return Reply(202)

    router.add("GET", "/share-group-types/{id}/access", index, rule=Rule.GROUP_TYPE_LIST_ACCESS, scope=SCOPE)
    router.add("POST", "/share-group-types/{id}/action", add, rule=Rule.GROUP_TYPE_ADD_ACCESS, scope=SCOPE,
               action="addProjectAccess")
    router.add("POST", "/share-group-types/{id}/action", remove, rule=Rule.GROUP_TYPE_REMOVE_ACCESS, scope=SCOPE,
               action="removeProjectAccess")
