"""/share-group-snapshots (2.31+, experimental until 2.54): the cgsnapshots' records, seen as share group
snapshots, with their members."""

from __future__ import annotations

from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.paging import index_reply
from lockstep.api.routes.consistency_groups import update_changes
from lockstep.api.routing import SHARE_GROUP_SCOPE, ApiRequest, Envelope, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.domain.model import GROUP_RESET_STATUSES
from lockstep.service.commands import CreateCGSnapshot, GroupApi
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import is_uuid_like

SNAPSHOT = Envelope("share_group_snapshot", status=400,
                    message="'share_group_snapshot' is missing from the request body.")
API = GroupApi.SHARE_GROUPS


def create_command(entity: dict[str, Any]) -> CreateCGSnapshot:
    """Other keys are accepted and ignored, as Manila 23 does."""
    group_id = entity.get("share_group_id")
    if not group_id:
        raise Invalid("Must supply 'share_group_id' attribute.")
    if not isinstance(group_id, str) or not is_uuid_like(group_id):
        raise Invalid("The 'share_group_id' attribute must be a uuid.")
    name = bodies.optional_text(entity, "name")
    return CreateCGSnapshot(group_id, name, bodies.optional_text(entity, "description"), api=API)


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        return index_reply(
            req, "share_group_snapshots",
            lambda offset, limit: s.cgsnapshots.list_all(
                req.ctx, queries.share_group_snapshots(req, offset, limit), with_members=detail),
            lambda found: views.share_group_snapshot(req, found, detail=detail),
            links=("share_group_snapshot_links", "share-group-snapshots/detail" if detail else "share-group-snapshots"))

    def show(req: ApiRequest) -> Reply:
        found = s.cgsnapshots.get(req.ctx, req.params["id"], API, with_members=True)
        return Reply(200, {"share_group_snapshot": views.share_group_snapshot(req, found, detail=True)})

    def members(req: ApiRequest) -> Reply:
        # Decision 1: an unknown or foreign id is 404 (Manila listed nothing).
        snapshot_id = req.params["id"]
        return index_reply(
            req, "share_group_snapshot_members",
            lambda offset, limit:
                s.cgsnapshots.members(req.ctx, snapshot_id, queries.members(req, offset, limit), API),
            lambda member: views.share_group_snapshot_member(req, member),
            links=("share_group_snapshot_members_links", f"share-group-snapshots/{snapshot_id}/members"))

    def create(req: ApiRequest) -> Reply:
        created = s.cgsnapshots.create(req.ctx, create_command(req.entity))
        return Reply(202, {"share_group_snapshot": views.share_group_snapshot(req, created, detail=True)})

    def update(req: ApiRequest) -> Reply:
        updated = s.cgsnapshots.update(req.ctx, req.params["id"], update_changes(req.entity), API)
        return Reply(200, {"share_group_snapshot": views.share_group_snapshot(req, updated, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.cgsnapshots.delete(req.ctx, req.params["id"], API)
        return Reply(202)

    def reset_status(req: ApiRequest) -> Reply:
        cmd = bodies.reset_status(req.params["id"], req.action_body, GROUP_RESET_STATUSES)
        s.cgsnapshots.reset_status(req.ctx, cmd)
        return Reply(202)

    def force_delete(req: ApiRequest) -> Reply:
        s.cgsnapshots.force_delete(req.ctx, req.params["id"])
        return Reply(202)

    path, scope = "/share-group-snapshots", SHARE_GROUP_SCOPE
    router.add("GET", path, lambda r: index(r, False), rule=Rule.SHARE_GROUP_SNAPSHOT_GET_ALL, scope=scope,
               paged=True)
    router.add("GET", f"{path}/detail", lambda r: index(r, True), rule=Rule.SHARE_GROUP_SNAPSHOT_GET_ALL,
               scope=scope, paged=True)
    router.add("POST", path, create, rule=Rule.SHARE_GROUP_SNAPSHOT_CREATE, scope=scope, envelope=SNAPSHOT)
    router.add("GET", f"{path}/{{id}}", show, rule=Rule.SHARE_GROUP_SNAPSHOT_GET, scope=scope)
    router.add("GET", f"{path}/{{id}}/members", members, rule=Rule.SHARE_GROUP_SNAPSHOT_GET, scope=scope,
               paged=True)
    router.add("PUT", f"{path}/{{id}}", update, rule=Rule.SHARE_GROUP_SNAPSHOT_UPDATE, scope=scope,
               envelope=SNAPSHOT)
    router.add("DELETE", f"{path}/{{id}}", delete, rule=Rule.SHARE_GROUP_SNAPSHOT_DELETE, scope=scope)
    action = f"{path}/{{id}}/action"
    router.add("POST", action, reset_status, rule=Rule.SHARE_GROUP_SNAPSHOT_RESET_STATUS, scope=scope,
               action="reset_status")
    router.add("POST", action, force_delete, rule=Rule.SHARE_GROUP_SNAPSHOT_FORCE_DELETE, scope=scope,
               action="force_delete")
