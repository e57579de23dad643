"""/types: share types, extra specs, project access."""

from __future__ import annotations

import re
from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.errors import GENERIC_400, HTTPFault
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.domain.model import (
    AVAILABILITY_ZONES_SPEC,
    BOOLEAN_SPECS,
    DHSS,
    ENCRYPTION_SPEC,
    MAX_SHARE_EXTEND_SIZE_SPEC,
    MAX_SHARE_SIZE_SPEC,
    MIN_SHARE_SIZE_SPEC,
    MOUNT_POINT_NAME_SPEC,
    MOUNT_SNAPSHOT_SPEC,
    SNAPSHOT_INHERIT_ACCESS_SPEC,
    ShareType,
    parse_bool,
)
from lockstep.service.commands import (
    KEEP,
    Change,
    ChangeTypeAccess,
    CreateShareType,
    SetExtraSpecs,
    ShareTypeChanges,
)
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.share_rules import ENCRYPTION_TYPES
from lockstep.service.share_types import TypeSpecFilter

_KEY_RE = re.compile(r"^[\w.\-:]+$")
_PLAIN_BOOLS = frozenset({"true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"})
_PROJECT_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


# Bodies -------------------------------------------------------------------------------------
def _spec_string(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _is_plain_bool(value: object) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _PLAIN_BOOLS)


def _is_spec_bool(value: object) -> bool:
    if _is_plain_bool(value):
        return True
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("<is>"):
            return text[4:].strip().lower() in ("true", "false")
    return False


def check_standard_specs(specs: dict[str, Any], *, message: str) -> None:
    """Value checks of the specs Manila knows; `message` formats the failing key and value."""
    for key, value in specs.items():
        bad = False
        if key == DHSS:
            bad = not _is_plain_bool(value)
        elif key in BOOLEAN_SPECS:
            bad = not _is_spec_bool(value)
        elif key == "replication_type":
            bad = value not in ("writable", "readable", "dr")
        else:
            bad = not _later_spec_valid(key, value)
        if bad:
            raise Invalid(message.format(key=key, value=value))


_LATER_BOOLEAN_SPECS = (MOUNT_SNAPSHOT_SPEC, MOUNT_POINT_NAME_SPEC, SNAPSHOT_INHERIT_ACCESS_SPEC)
_SIZE_SPECS = (MAX_SHARE_SIZE_SPEC, MIN_SHARE_SIZE_SPEC, MAX_SHARE_EXTEND_SIZE_SPEC)


def _later_spec_valid(key: str, value: object) -> bool:
    """Manila's checks of the standard specs added after 2.30 (any other key is free-form)."""
    if key in _LATER_BOOLEAN_SPECS:
        return _is_spec_bool(value)
    if key == AVAILABILITY_ZONES_SPEC:  # 2.48: a comma-separated list without empty names
        return isinstance(value, str) and all(part.strip() for part in value.split(","))
    if key in _SIZE_SPECS:  # 2.61: a whole number of GiB, at least 1
        text = str(value).strip()
        return not isinstance(value, bool) and text.isdigit() and int(text) >= 1
    if key == ENCRYPTION_SPEC:  # 2.90
        return value in ENCRYPTION_TYPES
    return True


def check_spec_items(specs: object) -> dict[str, str]:
    if not isinstance(specs, dict):
        raise Invalid("Malformed request body")
    result: dict[str, str] = {}
    for key, value in specs.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise Invalid(f"Invalid extra_spec: {key}: {value}")
        if not _KEY_RE.match(key):
            raise Invalid("Key names can only contain alphanumeric characters, underscores, periods, colons "
                          "and hyphens.")
        if not isinstance(value, (str, bool)) or (isinstance(value, str) and not 1 <= len(value) <= 255):
            raise Invalid(f"Invalid extra_spec: {key}: {value}")
        result[key] = _spec_string(value)
    check_standard_specs(specs, message="Invalid extra_spec: {key}: {value}")
    if AVAILABILITY_ZONES_SPEC in result:  # stored as Manila stores it: names without the spaces around
        result[AVAILABILITY_ZONES_SPEC] = ",".join(z.strip() for z in result[AVAILABILITY_ZONES_SPEC].split(","))
    return result


def type_entity(body: object) -> dict[str, Any]:
    """`share_type` (or its old name `volume_type`); checked after policy, as Manila did."""
    entity = None
    if isinstance(body, dict):
        entity = body.get("share_type", body.get("volume_type"))
    if not isinstance(entity, dict):
        raise HTTPFault(400, GENERIC_400)
    return entity


def create_command(req: ApiRequest, entity: dict[str, Any]) -> CreateShareType:
    description = entity.get("description")
    if description and not req.at_least(2, 41):
        raise Invalid("'description' key is not supported by this microversion. Use 2.41 or greater microversion "
                      "to be able to use 'description' in share type.")
    name = entity.get("name")
    if description is not None and not isinstance(description, str):
        raise Invalid("Invalid input received: 'description' must be a string.")
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or len(description or "") > 255:
        # 2.41 named the description in the message, which Manila 23 says at every version.
        raise Invalid("Type name or description is not valid." if req.at_least(2, 41) else "Type name is not valid.")
    specs_in = entity.get("extra_specs") or {}
    if not isinstance(specs_in, dict):
        raise Invalid("Invalid input received: 'extra_specs' must be an object.")
    specs_in = dict(specs_in)
    if snapshot_support_required(req) and "snapshot_support" not in specs_in:
        specs_in["snapshot_support"] = True
    if DHSS not in specs_in:
        raise Invalid(f"Invalid extra_spec: Required extra specs '{DHSS}' not specified..")
    if not _is_plain_bool(specs_in[DHSS]):
        raise Invalid(f"Invalid extra_spec: Value of required extra_spec {DHSS} is not valid.")
    check_standard_specs(specs_in, message="Invalid share type: Invalid extra_spec: {key}: {value}.")
    try:
        specs = check_spec_items(specs_in)
    except Invalid as exc:
        raise Invalid(f"Invalid share type: {exc.message}") from None
    public = entity.get("os-share-type-access:is_public", entity.get("share_type_access:is_public", True))
    return CreateShareType(name=name, extra_specs=specs, is_public=bodies.strict_bool(public),
                           description=description or None)


def update_changes(body: object) -> ShareTypeChanges:
    """`PUT /types/{id}` (2.50), checked in Manila's order."""
    entity = type_entity(body)
    name, description = entity.get("name"), entity.get("description")
    public: Change[bool] = KEEP
    if entity.get("share_type_access:is_public") is not None:
        try:
            public = parse_bool(entity["share_type_access:is_public"], strict=True)
        except ValueError:
            raise Invalid("share_type_access:is_public has a non-boolean value.") from None
    for key, value in (("name", name), ("description", description)):
        if value is not None and not isinstance(value, str):
            raise Invalid(f"Invalid input received: '{key}' must be a string.")
    if name is not None and not name.strip():
        raise Invalid("Share type name cannot be empty.")
    if name is not None and len(name) > 255:
        raise Invalid("Share type name cannot be greater than 255 characters in length.")
    if description and len(description) > 255:
        raise Invalid("Share type description cannot be greater than 255 characters in length.")
    if name is None and description is None and public is KEEP:
        raise Invalid("Specify share type name, description, share_type_access:is_public or a combination "
                      "thereof.")
    return ShareTypeChanges(name=name if name else KEEP,
                            description=KEEP if description is None else (description or None), is_public=public)


def spec_filter(req: ApiRequest) -> TypeSpecFilter | None:
    """The type list's `extra_specs` filter (2.43); an error before, as Manila answers."""
    asked = req.query.get("extra_specs")
    if not asked:
        return None
    if not req.at_least(2, 43):
        raise Invalid("Filter by 'extra_specs' is not supported by this microversion. Use 2.43 or greater "
                      "microversion to be able to use filter search by 'extra_specs.")
    specs = queries.literal_dict(asked, "extra_specs")
    zones = specs.pop(AVAILABILITY_ZONES_SPEC, None)
    return TypeSpecFilter(specs=tuple((str(k), queries.spec_spellings(v)) for k, v in specs.items()),
                          zones=tuple(z.strip() for z in str(zones).split(",") if z.strip()) if zones else ())


def snapshot_support_required(req: ApiRequest) -> bool:
    """Before 2.24 every share type had a snapshot_support spec (True unless given)."""
    return not req.at_least(2, 24)


def specs_body(req: ApiRequest) -> SetExtraSpecs:
    if not isinstance(req.body, dict) or "extra_specs" not in req.body:
        raise HTTPFault(400, "Malformed request body")
    return SetExtraSpecs(req.params["id"], check_spec_items(req.body["extra_specs"]))


def spec_body(req: ApiRequest) -> SetExtraSpecs:
    """`PUT /types/{id}/extra_specs/{key}`: exactly the one spec the URL names."""
    key = req.params["key"]
    if not isinstance(req.body, dict) or not req.body:
        raise HTTPFault(400, "Request body empty")
    if key not in req.body:
        raise HTTPFault(400, "Request body and URI mismatch")
    if len(req.body) > 1:
        raise HTTPFault(400, "Request body contains too many items")
    return SetExtraSpecs(req.params["id"], check_spec_items(req.body))


def access_command(req: ApiRequest, add: bool) -> ChangeTypeAccess:
    body = req.action_body
    project = body.get("project") if isinstance(body, dict) else None
    if not isinstance(project, str) or not _PROJECT_RE.match(project):
        raise Invalid(f"Bad project format: project is not in proper format ({project})")
    return ChangeTypeAccess(req.params["id"], project, add)


# Routes -------------------------------------------------------------------------------------
def register(router: Router, s: Services) -> None:
    def wrap(req: ApiRequest, st: ShareType) -> Reply:
        body = views.share_type(req, st, is_default=s.types.is_default(st))
        return Reply(200, {"share_type": body, "volume_type": body})

    def index(req: ApiRequest) -> Reply:
        listed = s.types.list_all(req.ctx, req.query.get("is_public"), spec_filter(req))
        found = [views.share_type(req, st, is_default=s.types.is_default(st)) for st in listed]
        return Reply(200, {"share_types": found, "volume_types": found})

    def update(req: ApiRequest) -> Reply:
        return wrap(req, s.types.update(req.ctx, req.params["id"], update_changes(req.body)))

    def create(req: ApiRequest) -> Reply:
        entity = type_entity(req.body)
        reply = wrap(req, s.types.create(req.ctx, create_command(req, entity)))
        requested = entity.get("extra_specs") or {}
        if isinstance(requested, dict) and DHSS in requested:
            reply.body["share_type"]["required_extra_specs"] = {DHSS: requested[DHSS]}
        return reply

    def delete(req: ApiRequest) -> Reply:
        s.types.delete(req.ctx, req.params["id"])
        return Reply(202)

    router.add("GET", "/types", index, rule=Rule.TYPE_INDEX)
    router.add("POST", "/types", create, rule=Rule.TYPE_CREATE)
    router.add("GET", "/types/default", lambda r: wrap(r, s.types.show_default(r.ctx)), rule=Rule.TYPE_DEFAULT)
    router.add("GET", "/types/{id}", lambda r: wrap(r, s.types.show(r.ctx, r.params["id"])), rule=Rule.TYPE_SHOW)
    router.add("DELETE", "/types/{id}", delete, rule=Rule.TYPE_DELETE)
    router.add("PUT", "/types/{id}", update, rule=Rule.TYPE_UPDATE, scope=ALL_VERSIONS.since("2.50"))
    _register_extra_specs(router, s)
    _register_access(router, s)


def _register_extra_specs(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        return Reply(200, {"extra_specs": s.types.specs(req.ctx, req.params["id"])})

    def create(req: ApiRequest) -> Reply:
        return Reply(200, {"extra_specs": s.types.set_specs(req.ctx, specs_body(req))})

    def show(req: ApiRequest) -> Reply:
        return Reply(200, s.types.spec(req.ctx, req.params["id"], req.params["key"]))

    def put(req: ApiRequest) -> Reply:
        return Reply(200, s.types.set_specs(req.ctx, spec_body(req)))

    def delete(req: ApiRequest) -> Reply:
        s.types.delete_spec(req.ctx, req.params["id"], req.params["key"],
                            snapshot_support_required=snapshot_support_required(req))
        return Reply(202)

    router.add("GET", "/types/{id}/extra_specs", index, rule=Rule.EXTRA_SPEC_INDEX)
    router.add("POST", "/types/{id}/extra_specs", create, rule=Rule.EXTRA_SPEC_CREATE)
    router.add("GET", "/types/{id}/extra_specs/{key}", show, rule=Rule.EXTRA_SPEC_SHOW)
    router.add("PUT", "/types/{id}/extra_specs/{key}", put, rule=Rule.EXTRA_SPEC_UPDATE)
    router.add("DELETE", "/types/{id}/extra_specs/{key}", delete, rule=Rule.EXTRA_SPEC_DELETE)


def _register_access(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        projects = s.types.access_list(req.ctx, req.params["id"])
        return Reply(200, {"share_type_access": [{"share_type_id": req.params["id"], "project_id": p}
                                                 for p in projects]})

    def add(req: ApiRequest) -> Reply:
        s.types.change_access(req.ctx, access_command(req, add=True))
        return Reply(202)

    def remove(req: ApiRequest) -> Reply:
        s.types.change_access(req.ctx, access_command(req, add=False))
        return Reply(202)

    router.add("GET", "/types/{id}/share_type_access", index, rule=Rule.TYPE_LIST_ACCESS)
    router.add("GET", "/types/{id}/os-share-type-access", index, rule=Rule.TYPE_LIST_ACCESS)
    router.add("POST", "/types/{id}/action", add, rule=Rule.TYPE_ADD_ACCESS, action="addProjectAccess")
    router.add("POST", "/types/{id}/action", remove, rule=Rule.TYPE_REMOVE_ACCESS, action="removeProjectAccess")
