"""/types: share types, extra specs, project access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lockstep.api import views
from lockstep.api.errors import GENERIC_400, HTTPFault
from lockstep.api.routing import ApiRequest, Reply, Router
from lockstep.service.policy import Rule

if TYPE_CHECKING:
    from lockstep.service.services import Services


def register(router: Router, s: Services) -> None:
    def wrap(req: ApiRequest, st: Any) -> Reply:
        body = views.share_type(req, st)
        return Reply(200, {"share_type": body, "volume_type": body})

    def index(req: ApiRequest) -> Reply:
        found = [views.share_type(req, st) for st in s.types.list_all(req.ctx, req.query.get("is_public"))]
        return Reply(200, {"share_types": found, "volume_types": found})

    def create(req: ApiRequest) -> Reply:
        s.policy.authorize(req.ctx, Rule.TYPE_CREATE)  # policy before body validation, as in Manila
        entity = None
        if isinstance(req.body, dict):
            entity = req.body.get("share_type", req.body.get("volume_type"))
        if not isinstance(entity, dict):
            raise HTTPFault(400, GENERIC_400)
        st = s.types.create(req.ctx, entity, req.version.tuple)
        reply = wrap(req, st)
        requested = entity.get("extra_specs") or {}
        if isinstance(requested, dict) and "driver_handles_share_servers" in requested:
            reply.body["share_type"]["required_extra_specs"] = {
                "driver_handles_share_servers": requested["driver_handles_share_servers"]}
        return reply

    def delete(req: ApiRequest) -> Reply:
        s.types.delete(req.ctx, req.params["id"])
        return Reply(202)

    router.add("GET", "/types", index)
    router.add("POST", "/types", create)
    router.add("GET", "/types/default", lambda r: wrap(r, s.types.show_default(r.ctx)))
    router.add("GET", "/types/{id}", lambda r: wrap(r, s.types.show(r.ctx, r.params["id"])))
    router.add("DELETE", "/types/{id}", delete)

    # extra specs
    def specs_body(req: ApiRequest) -> Any:
        s.policy.authorize(req.ctx, Rule.EXTRA_SPEC_CREATE)
        if not isinstance(req.body, dict) or "extra_specs" not in req.body:
            raise HTTPFault(400, "Malformed request body")
        return req.body["extra_specs"]

    def spec_put(req: ApiRequest) -> Reply:
        s.policy.authorize(req.ctx, Rule.EXTRA_SPEC_UPDATE)
        key = req.params["key"]
        if not isinstance(req.body, dict) or not req.body:
            raise HTTPFault(400, "Request body empty")
        if key not in req.body:
            raise HTTPFault(400, "Request body and URI mismatch")
        if len(req.body) > 1:
            raise HTTPFault(400, "Request body contains too many items")
        return Reply(200, s.types.set_specs(req.ctx, req.params["id"], req.body, Rule.EXTRA_SPEC_UPDATE))

    def spec_delete(req: ApiRequest) -> Reply:
        s.types.delete_spec(req.ctx, req.params["id"], req.params["key"], req.version.tuple)
        return Reply(202)

    router.add("GET", "/types/{id}/extra_specs",
               lambda r: Reply(200, {"extra_specs": s.types.specs(r.ctx, r.params["id"])}))
    router.add("POST", "/types/{id}/extra_specs",
               lambda r: Reply(200, {"extra_specs": s.types.set_specs(r.ctx, r.params["id"], specs_body(r),
                                                                      Rule.EXTRA_SPEC_CREATE)}))
    router.add("GET", "/types/{id}/extra_specs/{key}",
               lambda r: Reply(200, s.types.spec(r.ctx, r.params["id"], r.params["key"])))
    router.add("PUT", "/types/{id}/extra_specs/{key}", spec_put)
    router.add("DELETE", "/types/{id}/extra_specs/{key}", spec_delete)

    # project access
    def access(req: ApiRequest) -> Reply:
        projects = s.types.access_list(req.ctx, req.params["id"])
        return Reply(200, {"share_type_access": [{"share_type_id": req.params["id"], "project_id": p}
                                                 for p in projects]})

    router.add("GET", "/types/{id}/share_type_access", access)
    router.add("GET", "/types/{id}/os-share-type-access", access)

    def change(add: bool) -> Any:
        key = "addProjectAccess" if add else "removeProjectAccess"

        def handler(req: ApiRequest) -> Reply:
            s.types.change_access(req.ctx, req.params["id"], req.body[key], add)
            return Reply(202)
        return handler

    router.add("POST", "/types/{id}/action", change(True), action="addProjectAccess")
    router.add("POST", "/types/{id}/action", change(False), action="removeProjectAccess")
