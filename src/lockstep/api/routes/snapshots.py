"""/snapshots (single-share snapshots)."""

from __future__ import annotations

from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.paging import index_reply
from lockstep.api.routes.metadata import register_metadata
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Envelope, OnTarget, Reply, Router
from lockstep.domain.errors import Invalid, NotFound
from lockstep.domain.model import MetadataOwner
from lockstep.service.commands import Checked, CreateSnapshot, MetadataRef, TextChanges
from lockstep.service.policy import Rule
from lockstep.service.services import Services

SNAPSHOT = Envelope("snapshot")


def create_command(req: ApiRequest) -> CreateSnapshot:
    entity = req.entity
    share_id = entity.get("share_id")
    if not isinstance(share_id, str) or not share_id:
        raise Invalid("Invalid input received: 'share_id' must be given as a string.")
    name = bodies.optional_text(entity, "name", "display_name", field="name") or None
    description = bodies.optional_text(entity, "description", "display_description", field="description") or None
    metadata: Checked[dict[str, str]] = {}
    if req.at_least(2, 73) and entity.get("metadata"):
        try:
            metadata = bodies.check_metadata(entity["metadata"])
        except Invalid as error:
            metadata = error  # reported after the share's capability, as Manila does
    return CreateSnapshot(share_id, name, description, metadata)


def update_changes(entity: dict[str, Any]) -> TextChanges:
    return TextChanges(name=bodies.text_change(entity, "display_name"),
                       description=bodies.text_change(entity, "display_description"))


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        reply = index_reply(req, "snapshots",
                            lambda offset, limit: s.listing.snapshots(req.ctx, queries.snapshots(req, offset, limit)),
                            lambda snap: views.snapshot(req, snap, detail=detail),
                            links=("share_snapshots_links", "snapshots"))
        # 2.79 (Manila's detail list reads `with_count` at every version).
        if queries.with_count(req, None if detail else (2, 79)):
            reply.body["count"] = s.listing.count_snapshots(req.ctx, queries.snapshots(req, 0, 0))
        return reply

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"snapshot": views.snapshot(req, s.snapshots.get(req.ctx, req.params["id"]), detail=True)})

    def create(req: ApiRequest) -> Reply:
        created = s.snapshots.create(req.ctx, create_command(req))
        return Reply(202, {"snapshot": views.snapshot(req, created, detail=True)})

    def update(req: ApiRequest) -> Reply:
        updated = s.snapshots.update(req.ctx, req.params["id"], update_changes(req.entity))
        return Reply(200, {"snapshot": views.snapshot(req, updated, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.snapshots.delete(req.ctx, req.params["id"])
        return Reply(202)

    def reset_status(req: ApiRequest) -> Reply:
        s.snapshots.reset_status(req.ctx, bodies.reset_status(req.params["id"], req.action_body))
        return Reply(202)

    def force_delete(req: ApiRequest) -> Reply:
        s.snapshots.delete(req.ctx, req.params["id"], force=True)
        return Reply(202)

    router.add("GET", "/snapshots", lambda r: index(r, False), rule=Rule.SNAPSHOT_GET_ALL, paged=True)
    router.add("GET", "/snapshots/detail", lambda r: index(r, True), rule=Rule.SNAPSHOT_GET_ALL, paged=True)
    # The share's owner decides, once the share is found.
    router.add("POST", "/snapshots", create, rule=OnTarget(Rule.SHARE_CREATE_SNAPSHOT), envelope=SNAPSHOT)
    router.add("GET", "/snapshots/{id}", show, rule=Rule.SNAPSHOT_GET)
    router.add("PUT", "/snapshots/{id}", update, rule=Rule.SHARE_SNAPSHOT_UPDATE, envelope=SNAPSHOT)
    router.add("DELETE", "/snapshots/{id}", delete, rule=OnTarget(Rule.SHARE_DELETE_SNAPSHOT))
    path = "/snapshots/{id}/action"
    router.add_admin_action(path, "reset_status", reset_status, rule=Rule.SNAPSHOT_RESET_STATUS)
    # A missing snapshot answers 404 before the policy's 403.
    router.add_admin_action(path, "force_delete", force_delete, rule=OnTarget(Rule.SNAPSHOT_FORCE_DELETE))
    _register_export_locations(router, s)
    register_metadata(router, s, "/snapshots/{id}", lambda req: MetadataRef(MetadataOwner.SNAPSHOT, req.params["id"]),
                      read=Rule.SNAPSHOT_GET_METADATA, update=Rule.SNAPSHOT_UPDATE_METADATA,
                      delete=Rule.SNAPSHOT_DELETE_METADATA, scope=ALL_VERSIONS.since("2.73"))


def _register_export_locations(router: Router, s: Services) -> None:
    """2.32: where a snapshot can be mounted; admin-only locations are hidden from everyone else."""

    def index(req: ApiRequest) -> Reply:
        found = s.snapshots.export_locations(req.ctx, req.params["id"])
        items = [views.snapshot_export_location(req, e, show=False) for e in found
                 if req.ctx.is_admin or not e.is_admin_only]
        return Reply(200, {"share_snapshot_export_locations": items})

    def show(req: ApiRequest) -> Reply:
        for e in s.snapshots.export_locations(req.ctx, req.params["id"]):
            if e.id == req.params["el"] and (req.ctx.is_admin or not e.is_admin_only):
                return Reply(200, {"share_snapshot_export_location":
                                   views.snapshot_export_location(req, e, show=True)})
        raise NotFound("NotFound: Resource could not be found.")

    since = ALL_VERSIONS.since("2.32")
    path = "/snapshots/{id}/export-locations"
    router.add("GET", path, index, rule=Rule.SNAPSHOT_EXPORT_LOCATION_INDEX, scope=since)
    router.add("GET", path + "/{el}", show, rule=Rule.SNAPSHOT_EXPORT_LOCATION_SHOW, scope=since)
