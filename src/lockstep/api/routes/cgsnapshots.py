"""/cgsnapshots (experimental, 2.4+)."""

from __future__ import annotations

from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.paging import index_reply
from lockstep.api.routes.consistency_groups import update_changes
from lockstep.api.routing import CG_SCOPE, ApiRequest, Envelope, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.service.commands import CreateCGSnapshot
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import is_uuid_like

CGSNAPSHOT = Envelope("cgsnapshot", status=400, message="'cgsnapshot' is missing from the request body")


def create_command(entity: dict[str, Any]) -> CreateCGSnapshot:
    group_id = entity.get("consistency_group_id")
    if not group_id:
        raise Invalid("Must supply 'consistency_group_id' attribute.")
    if not isinstance(group_id, str) or not is_uuid_like(group_id):
        raise Invalid("The 'consistency_group_id' attribute must be a uuid.")
    name = bodies.optional_text(entity, "name")
    return CreateCGSnapshot(group_id, name, bodies.optional_text(entity, "description"))


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        # Manila's next link named the unrouted `cgsnapshot` collection (decision 4: it must be followable).
        return index_reply(req, "cgsnapshots",
                           lambda offset, limit:
                               s.cgsnapshots.list_all(req.ctx, queries.cgsnapshots(req, offset, limit)),
                           lambda found: views.cgsnapshot(req, found, detail=detail),
                           links=("cgsnapshot_links", "cgsnapshots/detail" if detail else "cgsnapshots"))

    def show(req: ApiRequest) -> Reply:
        found = s.cgsnapshots.get(req.ctx, req.params["id"])
        return Reply(200, {"cgsnapshot": views.cgsnapshot(req, found, detail=True)})

    def members(req: ApiRequest) -> Reply:
        # Manila's next link names the cgsnapshot id as its marker; Lockstep names the last member,
        # which it honours (decision 4).
        cgsnapshot_id = req.params["id"]
        return index_reply(
            req, "cgsnapshot_members",
            lambda offset, limit:
                s.cgsnapshots.members(req.ctx, cgsnapshot_id, queries.members(req, offset, limit)),
            lambda member: views.member(req, member),
            links=("cgsnapshot_members_links", f"cgsnapshots/{cgsnapshot_id}/members"))

    def create(req: ApiRequest) -> Reply:
        created = s.cgsnapshots.create(req.ctx, create_command(req.entity))
        return Reply(202, {"cgsnapshot": views.cgsnapshot(req, created, detail=True)})

    def update(req: ApiRequest) -> Reply:
        updated = s.cgsnapshots.update(req.ctx, req.params["id"], update_changes(req.entity))
        return Reply(200, {"cgsnapshot": views.cgsnapshot(req, updated, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.cgsnapshots.delete(req.ctx, req.params["id"])
        return Reply(202)

    def reset_status(req: ApiRequest) -> Reply:
        s.cgsnapshots.reset_status(req.ctx, bodies.reset_status(req.params["id"], req.action_body))
        return Reply(202)

    def force_delete(req: ApiRequest) -> Reply:
        s.cgsnapshots.force_delete(req.ctx, req.params["id"])
        return Reply(202)

    path = "/cgsnapshots"
    router.add("GET", path, lambda r: index(r, False), rule=Rule.CGSNAPSHOT_GET_ALL, scope=CG_SCOPE, paged=True)
    router.add("GET", f"{path}/detail", lambda r: index(r, True), rule=Rule.CGSNAPSHOT_GET_ALL, scope=CG_SCOPE,
               paged=True)
    router.add("POST", path, create, rule=Rule.CGSNAPSHOT_CREATE, scope=CG_SCOPE, envelope=CGSNAPSHOT)
    router.add("GET", f"{path}/{{id}}", show, rule=Rule.CGSNAPSHOT_GET, scope=CG_SCOPE)
    router.add("GET", f"{path}/{{id}}/members", members, rule=Rule.CGSNAPSHOT_GET, scope=CG_SCOPE, paged=True)
    router.add("PUT", f"{path}/{{id}}", update, rule=Rule.CGSNAPSHOT_UPDATE, scope=CG_SCOPE, envelope=CGSNAPSHOT)
    router.add("DELETE", f"{path}/{{id}}", delete, rule=Rule.CGSNAPSHOT_DELETE, scope=CG_SCOPE)
    action = f"{path}/{{id}}/action"
    router.add_admin_action(action, "reset_status", reset_status, rule=Rule.CGSNAPSHOT_RESET_STATUS,
                            scope=CG_SCOPE)
    router.add_admin_action(action, "force_delete", force_delete, rule=Rule.CGSNAPSHOT_FORCE_DELETE,
                            scope=CG_SCOPE)
