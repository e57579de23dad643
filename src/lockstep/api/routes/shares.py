"""/shares, their actions, metadata and export locations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockstep.api import queries, views
from lockstep.api.errors import HTTPFault
from lockstep.api.routing import ApiRequest, Reply, Router
from lockstep.domain.errors import NotFound

if TYPE_CHECKING:
    from lockstep.service.services import Services


def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        offset, limit = req.paging()
        found = s.listing.shares(req.ctx, queries.shares(req, offset, limit), detail=detail)
        view = views.share_detail if detail else views.share_summary
        body: dict[str, Any] = {"shares": [view(req, sh) for sh in found]}
        nxt = views.next_link(req, "shares", found, limit, found[-1].id if found else "")
        if nxt:
            body["shares_links"] = nxt
        return Reply(200, body)

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"share": views.share_detail(req, s.shares.get(req.ctx, req.params["id"]))})

    def create(req: ApiRequest) -> Reply:
        share = s.shares.create(req.ctx, req.entity("share"), req.version.tuple)
        return Reply(200, {"share": views.share_detail(req, share)})

    def update(req: ApiRequest) -> Reply:
        share = s.shares.update(req.ctx, req.params["id"], req.entity("share"))
        return Reply(200, {"share": views.share_detail(req, share)})

    def delete(req: ApiRequest) -> Reply:
        s.shares.delete(req.ctx, req.params["id"], req.query.get("consistency_group_id"))
        return Reply(202)

    router.add("GET", "/shares", lambda r: index(r, False))
    router.add("GET", "/shares/detail", lambda r: index(r, True))
    router.add("POST", "/shares", create)
    router.add("GET", "/shares/{id}", show)
    router.add("PUT", "/shares/{id}", update)
    router.add("DELETE", "/shares/{id}", delete)

    # actions: os- names up to 2.6, plain names from 2.7
    def reset_status(key: str) -> Any:
        def handler(req: ApiRequest) -> Reply:
            s.shares.reset_status(req.ctx, req.params["id"], req.body[key])
            return Reply(202)
        return handler

    def force_delete(req: ApiRequest) -> Reply:
        s.shares.delete(req.ctx, req.params["id"], None, force=True)
        return Reply(202)

    def resize(key: str, shrink: bool) -> Any:
        def handler(req: ApiRequest) -> Reply:
            (s.shares.shrink if shrink else s.shares.extend)(req.ctx, req.params["id"], req.body[key])
            return Reply(202)
        return handler

    for old, new, handler_for in (
        ("os-reset_status", "reset_status", reset_status),
        ("os-force_delete", "force_delete", lambda k: force_delete),
        ("os-extend", "extend", lambda k: resize(k, False)),
        ("os-shrink", "shrink", lambda k: resize(k, True)),
    ):
        router.add("POST", "/shares/{id}/action", handler_for(old), max="2.6", action=old)
        router.add("POST", "/shares/{id}/action", handler_for(new), min="2.7", action=new)

    # metadata
    def metadata_body(req: ApiRequest) -> Any:
        if not isinstance(req.body, dict) or "metadata" not in req.body:
            raise HTTPFault(400, "Malformed request body")
        return req.body["metadata"]

    def meta_index(req: ApiRequest) -> Reply:
        return Reply(200, {"metadata": s.shares.metadata(req.ctx, req.params["id"])})

    def meta_merge(req: ApiRequest) -> Reply:
        return Reply(200, {"metadata": s.shares.set_metadata(req.ctx, req.params["id"], metadata_body(req),
                                                             replace=False)})

    def meta_replace(req: ApiRequest) -> Reply:
        return Reply(200, {"metadata": s.shares.set_metadata(req.ctx, req.params["id"], metadata_body(req),
                                                             replace=True)})

    def meta_show(req: ApiRequest) -> Reply:
        metadata = s.shares.metadata(req.ctx, req.params["id"])
        key = req.params["key"]
        if key not in metadata:
            raise NotFound("Metadata item was not found")
        return Reply(200, {"meta": {key: metadata[key]}})

    def meta_put(req: ApiRequest) -> Reply:
        meta = req.body.get("meta") if isinstance(req.body, dict) else None
        if not isinstance(meta, dict):
            raise HTTPFault(400, "Malformed request body")
        key = req.params["key"]
        if key not in meta:
            raise HTTPFault(400, "Request body and URI mismatch")
        if len(meta) > 1:
            raise HTTPFault(400, "Request body contains too many items")
        s.shares.set_metadata(req.ctx, req.params["id"], meta, replace=False)
        return Reply(200, {"meta": meta})

    def meta_delete(req: ApiRequest) -> Reply:
        s.shares.delete_metadata(req.ctx, req.params["id"], req.params["key"])
        return Reply(200)

    router.add("GET", "/shares/{id}/metadata", meta_index)
    router.add("POST", "/shares/{id}/metadata", meta_merge)
    router.add("PUT", "/shares/{id}/metadata", meta_replace)
    router.add("GET", "/shares/{id}/metadata/{key}", meta_show)
    router.add("PUT", "/shares/{id}/metadata/{key}", meta_put)
    router.add("DELETE", "/shares/{id}/metadata/{key}", meta_delete)

    # export locations (2.9+)
    def locations(req: ApiRequest) -> Any:
        try:
            share = s.shares.get(req.ctx, req.params["id"])
        except NotFound:
            raise NotFound(f"Share '{req.params['id']}' not found.") from None
        return share

    def el_index(req: ApiRequest) -> Reply:
        share = locations(req)
        items = [views.export_location(req, e, share.id, show=False) for e in share.export_locations
                 if req.ctx.is_admin or not e.is_admin_only]
        return Reply(200, {"export_locations": items})

    def el_show(req: ApiRequest) -> Reply:
        share = locations(req)
        for e in share.export_locations:
            if e.id == req.params["el"]:
                if e.is_admin_only and not req.ctx.is_admin:
                    raise HTTPFault(403, "Access was denied to this resource.")
                return Reply(200, {"export_location": views.export_location(req, e, share.id, show=True)})
        raise NotFound(f"Export location '{req.params['el']}' not found.")

    router.add("GET", "/shares/{id}/export_locations", el_index, min="2.9")
    router.add("GET", "/shares/{id}/export_locations/{el}", el_show, min="2.9")
