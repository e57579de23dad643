"""The metadata routes of snapshots (2.73) and share network subnets (2.78), Manila's generic controller:
index, merge (POST), replace (PUT), show a key, update a key (POST …/{key}) and delete a key.

Bodies are parsed and checked as share metadata bodies are (`lockstep.api.routes.shares`), and the
use cases are the one implementation in `lockstep.service.metadata`.
"""

from __future__ import annotations

from collections.abc import Callable

from lockstep.api.routes.shares import metadata_body, one_item
from lockstep.api.routing import ApiRequest, Reply, Router, VersionScope
from lockstep.service.commands import ChangeMetadata, MetadataRef
from lockstep.service.policy import Rule
from lockstep.service.services import Services


def register_metadata(router: Router, s: Services, base: str, ref: Callable[[ApiRequest], MetadataRef], *,
                      read: Rule, update: Rule, delete: Rule, scope: VersionScope) -> None:
    def index(req: ApiRequest) -> Reply:
        return Reply(200, {"metadata": s.metadata.get(req.ctx, ref(req))})

    def change(replace: bool) -> Callable[[ApiRequest], Reply]:
        def handler(req: ApiRequest) -> Reply:
            cmd = ChangeMetadata(ref(req), metadata_body(req), replace=replace)
            return Reply(200, {"metadata": s.metadata.change(req.ctx, cmd)})
        return handler

    def show(req: ApiRequest) -> Reply:
        key = req.params["key"]
        return Reply(200, {"meta": {key: s.metadata.item(req.ctx, ref(req), key)}})

    def update_item(req: ApiRequest) -> Reply:
        item = one_item(metadata_body(req), req.params["key"])
        s.metadata.change(req.ctx, ChangeMetadata(ref(req), item, replace=False))
        return Reply(200, {"metadata": item})

    def delete_item(req: ApiRequest) -> Reply:
        s.metadata.delete(req.ctx, ref(req), req.params["key"])
        return Reply(200)

    path = base + "/metadata"
    router.add("GET", path, index, rule=read, scope=scope)
    router.add("POST", path, change(replace=False), rule=update, scope=scope)
    router.add("PUT", path, change(replace=True), rule=update, scope=scope)
    router.add("GET", path + "/{key}", show, rule=read, scope=scope)
    router.add("POST", path + "/{key}", update_item, rule=update, scope=scope)
    router.add("DELETE", path + "/{key}", delete_item, rule=delete, scope=scope)
