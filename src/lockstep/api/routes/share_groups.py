"""/share-groups (2.31+, experimental until 2.54): the consistency groups' records, seen as share groups."""

from __future__ import annotations

from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.paging import index_reply
from lockstep.api.routes.consistency_groups import update_changes
from lockstep.api.routing import SHARE_GROUP_SCOPE, ApiRequest, Envelope, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.domain.model import GROUP_RESET_STATUSES
from lockstep.service.commands import Checked, CreateConsistencyGroup, GroupApi
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import is_uuid_like

GROUP = Envelope("share_group", status=400, message="'share_group' is missing from the request body.")
SOURCE = "source_share_group_snapshot_id"
CREATE_FIELDS = ("name", "description", "share_types", "share_group_type_id", SOURCE, "share_network_id",
                 "availability_zone")
API = GroupApi.SHARE_GROUPS


def create_command(entity: dict[str, Any]) -> CreateConsistencyGroup:
    """Manila's checks in Manila's order; those it made after looking up the default share type are
    deferred (`Checked`) or made by the use case, so that the same 400 wins."""
    bodies.unknown_fields(entity, CREATE_FIELDS, "The fields {fields} are invalid.")
    from_source = SOURCE in entity
    if "share_types" in entity and from_source:
        raise Invalid(f"Cannot supply both 'share_types' and '{SOURCE}' attributes.")
    name = bodies.optional_text(entity, "name")
    description = bodies.optional_text(entity, "description")
    raw_types = entity.get("share_types")
    if raw_types and (not isinstance(raw_types, list) or not all(is_uuid_like(x) for x in raw_types)):
        raise Invalid("The 'share_types' attribute must be a list of uuids")
    if "share_network_id" in entity and from_source:
        raise Invalid(f"Cannot supply both 'share_network_id' and '{SOURCE}' attributes as the share network is "
                      "inherited from the source.")
    zone = bodies.optional_string(entity, "availability_zone")
    if zone and from_source:
        raise Invalid(f"Cannot supply both 'availability_zone' and '{SOURCE}' attributes as the availability "
                      "zone is inherited from the source.")
    source_id = entity.get(SOURCE)
    if from_source and not is_uuid_like(source_id):
        raise Invalid(f"The '{SOURCE}' attribute must be a uuid.")
    return CreateConsistencyGroup(
        name=name, description=description, share_types=tuple(raw_types) if raw_types else (),
        use_default_type=not raw_types and not from_source,
        source_cgsnapshot_id=source_id if isinstance(source_id, str) else None,
        share_network_id=_uuid(entity, "share_network_id"),
        api=API, share_group_type_id=_uuid(entity, "share_group_type_id"), availability_zone=zone,
    )


def _uuid(entity: dict[str, Any], key: str) -> Checked[str | None]:
    """A named id must be a uuid (null too, as Manila checked it); checked where Manila checked it."""
    if key not in entity:
        return None
    value = entity[key]
    if not is_uuid_like(value):
        return Invalid(f"The '{key}' attribute must be a uuid.")
    assert isinstance(value, str)
    return value


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        return index_reply(
            req, "share_groups",
            lambda offset, limit:
                s.groups.list_all(req.ctx, queries.share_groups(req, offset, limit), detail=detail),
            lambda group: views.share_group(req, group, detail=detail),
            links=("share_groups_links", "share-groups/detail" if detail else "share-groups"))

    def show(req: ApiRequest) -> Reply:
        group = s.groups.get(req.ctx, req.params["id"], API)
        return Reply(200, {"share_group": views.share_group(req, group, detail=True)})

    def create(req: ApiRequest) -> Reply:
        group = s.groups.create(req.ctx, create_command(req.entity))
        return Reply(202, {"share_group": views.share_group(req, group, detail=True)})

    def update(req: ApiRequest) -> Reply:
        group = s.groups.update(req.ctx, req.params["id"], update_changes(req.entity), API)
        return Reply(200, {"share_group": views.share_group(req, group, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.groups.delete(req.ctx, req.params["id"], API)
        return Reply(202)

    def reset_status(req: ApiRequest) -> Reply:
        s.groups.reset_status(req.ctx, bodies.reset_status(req.params["id"], req.action_body, GROUP_RESET_STATUSES))
        return Reply(202)

    def force_delete(req: ApiRequest) -> Reply:
        s.groups.force_delete(req.ctx, req.params["id"], API)
        return Reply(202)

    path, scope = "/share-groups", SHARE_GROUP_SCOPE
    router.add("GET", path, lambda r: index(r, False), rule=Rule.SHARE_GROUP_GET_ALL, scope=scope, paged=True)
    router.add("GET", f"{path}/detail", lambda r: index(r, True), rule=Rule.SHARE_GROUP_GET_ALL, scope=scope,
               paged=True)
    router.add("POST", path, create, rule=Rule.SHARE_GROUP_CREATE, scope=scope, envelope=GROUP)
    router.add("GET", f"{path}/{{id}}", show, rule=Rule.SHARE_GROUP_GET, scope=scope)
    router.add("PUT", f"{path}/{{id}}", update, rule=Rule.SHARE_GROUP_UPDATE, scope=scope, envelope=GROUP)
    router.add("DELETE", f"{path}/{{id}}", delete, rule=Rule.SHARE_GROUP_DELETE, scope=scope)
    action = f"{path}/{{id}}/action"
    router.add("POST", action, reset_status, rule=Rule.SHARE_GROUP_RESET_STATUS, scope=scope, action="reset_status")
    router.add("POST", action, force_delete, rule=Rule.SHARE_GROUP_FORCE_DELETE, scope=scope, action="force_delete")
