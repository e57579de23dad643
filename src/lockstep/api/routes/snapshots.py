"""/snapshots (single-share snapshots)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockstep.api import queries, views
from lockstep.api.routing import ApiRequest, Reply, Router

if TYPE_CHECKING:
    from lockstep.service.services import Services


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        offset, limit = req.paging()
        found = s.listing.snapshots(req.ctx, queries.snapshots(req, offset, limit))
        body: dict[str, Any] = {"snapshots": [views.snapshot(req, sn, detail=detail) for sn in found]}
        nxt = views.next_link(req, "snapshots", found, limit, found[-1].id if found else "")
        if nxt:
            body["share_snapshots_links"] = nxt
        return Reply(200, body)

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"snapshot": views.snapshot(req, s.snapshots.get(req.ctx, req.params["id"]), detail=True)})

    def create(req: ApiRequest) -> Reply:
        created = s.snapshots.create(req.ctx, req.entity("snapshot"))
        return Reply(202, {"snapshot": views.snapshot(req, created, detail=True)})

    def update(req: ApiRequest) -> Reply:
        updated = s.snapshots.update(req.ctx, req.params["id"], req.entity("snapshot"))
        return Reply(200, {"snapshot": views.snapshot(req, updated, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.snapshots.delete(req.ctx, req.params["id"])
        return Reply(202)

    router.add("GET", "/snapshots", lambda r: index(r, False))
    router.add("GET", "/snapshots/detail", lambda r: index(r, True))
    router.add("POST", "/snapshots", create)
    router.add("GET", "/snapshots/{id}", show)
    router.add("PUT", "/snapshots/{id}", update)
    router.add("DELETE", "/snapshots/{id}", delete)

    def reset(key: str) -> Any:
        def handler(req: ApiRequest) -> Reply:
            s.snapshots.reset_status(req.ctx, req.params["id"], req.body[key])
            return Reply(202)
        return handler

    def force_delete(req: ApiRequest) -> Reply:
        s.snapshots.delete(req.ctx, req.params["id"], force=True)
        return Reply(202)

    router.add("POST", "/snapshots/{id}/action", reset("os-reset_status"), max="2.6", action="os-reset_status")
    router.add("POST", "/snapshots/{id}/action", reset("reset_status"), min="2.7", action="reset_status")
    router.add("POST", "/snapshots/{id}/action", force_delete, max="2.6", action="os-force_delete")
    router.add("POST", "/snapshots/{id}/action", force_delete, min="2.7", action="force_delete")
