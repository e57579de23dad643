"""/consistency-groups (experimental, 2.4+)."""

from __future__ import annotations

from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.paging import index_reply
from lockstep.api.routing import CG_SCOPE, ApiRequest, Envelope, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.service.commands import Checked, CreateConsistencyGroup, TextChanges
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import is_uuid_like

GROUP = Envelope("consistency_group", status=400, message="'consistency_group' is missing from the request body.")
CREATE_FIELDS = ("name", "description", "share_types", "source_cgsnapshot_id", "share_network_id")
UPDATE_FIELDS = ("name", "description")


def create_command(entity: dict[str, Any]) -> CreateConsistencyGroup:
    bodies.unknown_fields(entity, CREATE_FIELDS, "The fields {fields} are invalid.")
    if "share_types" in entity and "source_cgsnapshot_id" in entity:
        raise Invalid("Cannot supply both 'share_types' and 'source_cgsnapshot_id' attributes.")
    name = bodies.optional_text(entity, "name")
    description = bodies.optional_text(entity, "description")
    raw_types = entity.get("share_types")
    if raw_types and (not isinstance(raw_types, list) or not all(is_uuid_like(x) for x in raw_types)):
        raise Invalid("The 'share_types' attribute must be a list of uuids")
    source_id = entity.get("source_cgsnapshot_id")
    network_id = entity.get("share_network_id")
    if network_id and source_id:
        raise Invalid("Cannot supply both 'share_network_id' and 'source_cgsnapshot_id' attributes as "
                      "the share network is inherited from the source.")
    if source_id is not None and not is_uuid_like(source_id):
        raise Invalid("The 'source_cgsnapshot_id' attribute must be a uuid.")
    return CreateConsistencyGroup(
        name=name, description=description, share_types=tuple(raw_types) if raw_types else (),
        use_default_type=not raw_types and "source_cgsnapshot_id" not in entity,
        source_cgsnapshot_id=source_id, share_network_id=_network(network_id),
    )


def _network(network_id: object) -> Checked[str | None]:
    # Checked only after the default share type is looked up, as Manila did.
    if network_id is not None and not is_uuid_like(network_id):
        return Invalid("The 'share_network_id' attribute must be a uuid.")
    return network_id if isinstance(network_id, str) else None


def update_changes(entity: dict[str, Any]) -> TextChanges:
    bodies.unknown_fields(entity, UPDATE_FIELDS, "The fields {fields} are invalid or not allowed to be updated.")
    return bodies.text_changes(entity)


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        # Manila's next link named the unrouted `consistency_groups` collection; Lockstep links the list that
        # was asked for, so following `next` pages through it (decision 4).
        collection = "consistency-groups/detail" if detail else "consistency-groups"
        return index_reply(
            req, "consistency_groups",
            lambda offset, limit: s.groups.list_all(req.ctx, queries.groups(req, offset, limit), detail=detail),
            lambda group: views.group(req, group, detail=detail),
            links=("consistency_groups_links", collection))

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"consistency_group": views.group(req, s.groups.get(req.ctx, req.params["id"]),
                                                            detail=True)})

    def create(req: ApiRequest) -> Reply:
        group = s.groups.create(req.ctx, create_command(req.entity))
        return Reply(202, {"consistency_group": views.group(req, group, detail=True)})

    def update(req: ApiRequest) -> Reply:
        group = s.groups.update(req.ctx, req.params["id"], update_changes(req.entity))
        return Reply(200, {"consistency_group": views.group(req, group, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.groups.delete(req.ctx, req.params["id"])
        return Reply(202)

    def reset_status(req: ApiRequest) -> Reply:
        s.groups.reset_status(req.ctx, bodies.reset_status(req.params["id"], req.action_body))
        return Reply(202)

    def force_delete(req: ApiRequest) -> Reply:
        s.groups.force_delete(req.ctx, req.params["id"])
        return Reply(202)

    path = "/consistency-groups"
    router.add("GET", path, lambda r: index(r, False), rule=Rule.CG_GET_ALL, scope=CG_SCOPE, paged=True)
    router.add("GET", f"{path}/detail", lambda r: index(r, True), rule=Rule.CG_GET_ALL, scope=CG_SCOPE, paged=True)
    router.add("POST", path, create, rule=Rule.CG_CREATE, scope=CG_SCOPE, envelope=GROUP)
    router.add("GET", f"{path}/{{id}}", show, rule=Rule.CG_GET, scope=CG_SCOPE)
    router.add("PUT", f"{path}/{{id}}", update, rule=Rule.CG_UPDATE, scope=CG_SCOPE, envelope=GROUP)
    router.add("DELETE", f"{path}/{{id}}", delete, rule=Rule.CG_DELETE, scope=CG_SCOPE)
    # Manila registered this action route for every HTTP method (a quirk clients never relied on,
    # kept so that a non-POST answers 400 like Manila rather than 404).
    action = f"{path}/{{id}}/action"
    router.add_admin_action(action, "reset_status", reset_status, rule=Rule.CG_RESET_STATUS, scope=CG_SCOPE,
                            method="*")
    router.add_admin_action(action, "force_delete", force_delete, rule=Rule.CG_FORCE_DELETE, scope=CG_SCOPE,
                            method="*")
