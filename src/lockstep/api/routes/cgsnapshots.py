"""/cgsnapshots (experimental, 2.4+)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockstep.api import queries, views
from lockstep.api.routes.consistency_groups import CG, entity
from lockstep.api.routing import ApiRequest, Reply, Router

if TYPE_CHECKING:
    from lockstep.service.services import Services


def register(router: Router, s: Services) -> None:
    missing = "'cgsnapshot' is missing from the request body"

    def index(req: ApiRequest, detail: bool) -> Reply:
        offset, limit = req.paging()
        found = s.cgsnapshots.list_all(req.ctx, queries.cgsnapshots(req, offset, limit))
        body: dict[str, Any] = {"cgsnapshots": [views.cgsnapshot(req, c, detail=detail) for c in found]}
        # Manila's next link named the unrouted `cgsnapshot` collection (decision 4: it must be followable).
        nxt = views.next_link(req, "cgsnapshots/detail" if detail else "cgsnapshots", found, limit,
                              found[-1].id if found else "")
        if nxt:
            body["cgsnapshot_links"] = nxt
        return Reply(200, body)

    def show(req: ApiRequest) -> Reply:
        found = s.cgsnapshots.get(req.ctx, req.params["id"])
        return Reply(200, {"cgsnapshot": views.cgsnapshot(req, found, detail=True)})

    def members(req: ApiRequest) -> Reply:
        offset, limit = req.paging()
        found = s.cgsnapshots.members(req.ctx, req.params["id"], queries.members(req, offset, limit))
        body: dict[str, Any] = {"cgsnapshot_members": [views.member(req, m) for m in found]}
        # Manila's next link names the cgsnapshot id as its marker; Lockstep names the last member,
        # which it honours (decision 4).
        nxt = views.next_link(req, f"cgsnapshots/{req.params['id']}/members", found, limit,
                              found[-1].id if found else "")
        if nxt:
            body["cgsnapshot_members_links"] = nxt
        return Reply(200, body)

    def create(req: ApiRequest) -> Reply:
        created = s.cgsnapshots.create(req.ctx, entity(req, "cgsnapshot", missing))
        return Reply(202, {"cgsnapshot": views.cgsnapshot(req, created, detail=True)})

    def update(req: ApiRequest) -> Reply:
        updated = s.cgsnapshots.update(req.ctx, req.params["id"], entity(req, "cgsnapshot", missing))
        return Reply(200, {"cgsnapshot": views.cgsnapshot(req, updated, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.cgsnapshots.delete(req.ctx, req.params["id"])
        return Reply(202)

    router.add("GET", "/cgsnapshots", lambda r: index(r, False), **CG)  # type: ignore[arg-type]
    router.add("GET", "/cgsnapshots/detail", lambda r: index(r, True), **CG)  # type: ignore[arg-type]
    router.add("POST", "/cgsnapshots", create, **CG)  # type: ignore[arg-type]
    router.add("GET", "/cgsnapshots/{id}", show, **CG)  # type: ignore[arg-type]
    router.add("GET", "/cgsnapshots/{id}/members", members, **CG)  # type: ignore[arg-type]
    router.add("PUT", "/cgsnapshots/{id}", update, **CG)  # type: ignore[arg-type]
    router.add("DELETE", "/cgsnapshots/{id}", delete, **CG)  # type: ignore[arg-type]

    def reset(key: str) -> Any:
        def handler(req: ApiRequest) -> Reply:
            s.cgsnapshots.reset_status(req.ctx, req.params["id"], req.body[key])
            return Reply(202)
        return handler

    def force_delete(req: ApiRequest) -> Reply:
        s.cgsnapshots.force_delete(req.ctx, req.params["id"])
        return Reply(202)

    path = "/cgsnapshots/{id}/action"
    router.add("POST", path, reset("os-reset_status"), min="2.4", max="2.6", experimental=True,
               action="os-reset_status")
    router.add("POST", path, force_delete, min="2.4", max="2.6", experimental=True, action="os-force_delete")
    router.add("POST", path, reset("reset_status"), min="2.7", experimental=True, action="reset_status")
    router.add("POST", path, force_delete, min="2.7", experimental=True, action="force_delete")
