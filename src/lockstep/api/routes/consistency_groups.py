"""/consistency-groups (experimental, 2.4+)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockstep.api import queries, views
from lockstep.api.errors import HTTPFault
from lockstep.api.routing import ApiRequest, Reply, Router

if TYPE_CHECKING:
    from lockstep.service.services import Services

CG = {"min": "2.4", "experimental": True}


def entity(req: ApiRequest, key: str, message: str) -> dict[str, Any]:
    value = req.body.get(key) if isinstance(req.body, dict) else None
    if not isinstance(value, dict):
        raise HTTPFault(400, message)
    return value


def register(router: Router, s: Services) -> None:
    missing = "'consistency_group' is missing from the request body."

    def index(req: ApiRequest, detail: bool) -> Reply:
        offset, limit = req.paging()
        found = s.groups.list_all(req.ctx, queries.groups(req, offset, limit), detail=detail)
        body: dict[str, Any] = {"consistency_groups": [views.group(req, g, detail=detail) for g in found]}
        # Manila's next link named the unrouted `consistency_groups` collection; Lockstep links the list that
        # was asked for, so following `next` pages through it (decision 4).
        collection = "consistency-groups/detail" if detail else "consistency-groups"
        nxt = views.next_link(req, collection, found, limit, found[-1].id if found else "")
        if nxt:
            body["consistency_groups_links"] = nxt
        return Reply(200, body)

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"consistency_group": views.group(req, s.groups.get(req.ctx, req.params["id"]),
                                                            detail=True)})

    def create(req: ApiRequest) -> Reply:
        group = s.groups.create(req.ctx, entity(req, "consistency_group", missing))
        return Reply(202, {"consistency_group": views.group(req, group, detail=True)})

    def update(req: ApiRequest) -> Reply:
        group = s.groups.update(req.ctx, req.params["id"], entity(req, "consistency_group", missing))
        return Reply(200, {"consistency_group": views.group(req, group, detail=True)})

    def delete(req: ApiRequest) -> Reply:
        s.groups.delete(req.ctx, req.params["id"])
        return Reply(202)

    router.add("GET", "/consistency-groups", lambda r: index(r, False), **CG)  # type: ignore[arg-type]
    router.add("GET", "/consistency-groups/detail", lambda r: index(r, True), **CG)  # type: ignore[arg-type]
    router.add("POST", "/consistency-groups", create, **CG)  # type: ignore[arg-type]
    router.add("GET", "/consistency-groups/{id}", show, **CG)  # type: ignore[arg-type]
    router.add("PUT", "/consistency-groups/{id}", update, **CG)  # type: ignore[arg-type]
    router.add("DELETE", "/consistency-groups/{id}", delete, **CG)  # type: ignore[arg-type]

    def reset(key: str) -> Any:
        def handler(req: ApiRequest) -> Reply:
            s.groups.reset_status(req.ctx, req.params["id"], req.body[key])
            return Reply(202)
        return handler

    def force_delete(req: ApiRequest) -> Reply:
        s.groups.force_delete(req.ctx, req.params["id"])
        return Reply(202)

    # Manila registered this action route for every HTTP method (a quirk clients never relied on,
    # kept so that a non-POST answers 400 like Manila rather than 404).
    path = "/consistency-groups/{id}/action"
    router.add("*", path, reset("os-reset_status"), min="2.4", max="2.6", experimental=True,
               action="os-reset_status")
    router.add("*", path, force_delete, min="2.4", max="2.6", experimental=True, action="os-force_delete")
    router.add("*", path, reset("reset_status"), min="2.7", experimental=True, action="reset_status")
    router.add("*", path, force_delete, min="2.7", experimental=True, action="force_delete")
