"""/shares, their actions, metadata and export locations."""

from __future__ import annotations

import math
from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.errors import HTTPFault
from lockstep.api.microversions import APIVersion
from lockstep.api.paging import index_reply
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Envelope, OnTarget, Reply, Router, VersionScope
from lockstep.domain.errors import Invalid, NotFound
from lockstep.domain.model import SHARE_PROTOCOLS, Share
from lockstep.service.commands import KEEP, Checked, CreateShare, RequestedSize, Resize, SetMetadata, ShareChanges
from lockstep.service.policy import Rule
from lockstep.service.services import Services

SHARE = Envelope("share")


# Bodies -------------------------------------------------------------------------------------
def parse_size(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def create_command(req: ApiRequest, zone: str) -> CreateShare:
    """Shape checks in Manila's order; `zone` is the one availability zone Lockstep serves."""
    entity = req.entity
    name = bodies.optional_text(entity, "name", "display_name", field="name") or None
    description = bodies.optional_text(entity, "description", "display_description", field="description") or None
    proto = entity.get("share_proto")
    if not isinstance(proto, str):
        raise Invalid("Invalid input received: 'share_proto' must be given as a string.")
    if "size" not in entity:
        raise Invalid("Invalid input received: 'size' must be given.")
    group_id = bodies.optional_string(entity, "consistency_group_id") if req.at_least(2, 4) else None
    zone_asked = bodies.optional_string(entity, "availability_zone")
    if zone_asked and zone_asked != zone:
        raise NotFound(f"Availability zone {zone_asked} could not be found.")
    network_id = bodies.optional_string(entity, "share_network_id")
    snapshot_id = bodies.optional_string(entity, "snapshot_id")
    if "share_type" in entity and "volume_type" in entity:
        raise Invalid("Cannot specify both share_type and volume_type")
    type_ref = entity.get("share_type", entity.get("volume_type"))
    if type_ref is not None and not isinstance(type_ref, str):
        raise Invalid("Invalid input received: 'share_type' must be a string.")
    size = entity["size"]
    return CreateShare(
        share_proto=_protocol(proto), size=RequestedSize(parse_size(size), f"{size}", bool(size)), name=name,
        description=description, consistency_group_id=group_id, availability_zone=zone_asked,
        share_network_id=network_id, snapshot_id=snapshot_id, share_type=type_ref,
        metadata=_deferred_metadata(entity.get("metadata")),
        is_public=_deferred_bool(entity.get("is_public", False)),
        snapshot_capability_required=req.at_least(2, 24),
    )


def _protocol(proto: str) -> Checked[str]:
    if proto.upper() not in SHARE_PROTOCOLS:
        return Invalid(f"Invalid input received: Invalid share protocol provided: {proto}. It is either "
                       f"disabled or unsupported. Available protocols: {list(SHARE_PROTOCOLS)}.")
    return proto.upper()


def _deferred_metadata(value: object) -> Checked[dict[str, str]]:
    try:
        return bodies.check_metadata(value)
    except Invalid as error:
        return error


def _deferred_bool(value: object) -> Checked[bool]:
    try:
        return bodies.strict_bool(value)
    except Invalid as error:
        return error


def update_changes(entity: dict[str, Any]) -> ShareChanges:
    return ShareChanges(
        name=bodies.text_change(entity, "display_name", field="display_name"),
        description=bodies.text_change(entity, "display_description", field="display_description"),
        is_public=bodies.strict_bool(entity["is_public"]) if "is_public" in entity else KEEP,
    )


def resize(share_id: str, body: object) -> Resize:
    new_size = parse_size(body.get("new_size")) if isinstance(body, dict) else None
    if new_size is None:
        raise Invalid("New share size must be specified as an integer.")
    return Resize(share_id, new_size)


def metadata_body(req: ApiRequest) -> dict[str, str]:
    if not isinstance(req.body, dict) or "metadata" not in req.body:
        raise HTTPFault(400, "Malformed request body")
    if not isinstance(req.body["metadata"], dict):
        raise Invalid("Malformed request body")
    return bodies.check_metadata(req.body["metadata"])


def one_item(body: object, key: str) -> dict[str, Any]:
    """A `PUT …/{key}` body: exactly the one item the URL names."""
    if not isinstance(body, dict):
        raise HTTPFault(400, "Malformed request body")
    if key not in body:
        raise HTTPFault(400, "Request body and URI mismatch")
    if len(body) > 1:
        raise HTTPFault(400, "Request body contains too many items")
    return body


# Routes -------------------------------------------------------------------------------------
def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        view = views.share_detail if detail else views.share_summary
        return index_reply(req, "shares",
                           lambda offset, limit:
                               s.listing.shares(req.ctx, queries.shares(req, offset, limit), detail=detail),
                           lambda share: view(req, share), links=("shares_links", "shares"))

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"share": views.share_detail(req, s.shares.get(req.ctx, req.params["id"]))})

    def create(req: ApiRequest) -> Reply:
        share = s.shares.create(req.ctx, create_command(req, s.availability_zone))
        return Reply(200, {"share": views.share_detail(req, share)})

    def update(req: ApiRequest) -> Reply:
        share = s.shares.update(req.ctx, req.params["id"], update_changes(req.entity))
        return Reply(200, {"share": views.share_detail(req, share)})

    def delete(req: ApiRequest) -> Reply:
        s.shares.delete(req.ctx, req.params["id"], req.query.get("consistency_group_id"))
        return Reply(202)

    router.add("GET", "/shares", lambda r: index(r, False), rule=Rule.SHARE_GET_ALL, paged=True)
    router.add("GET", "/shares/detail", lambda r: index(r, True), rule=Rule.SHARE_GET_ALL, paged=True)
    router.add("POST", "/shares", create, rule=Rule.SHARE_CREATE, envelope=SHARE)
    router.add("GET", "/shares/{id}", show, rule=OnTarget(Rule.SHARE_GET))
    router.add("PUT", "/shares/{id}", update, rule=OnTarget(Rule.SHARE_UPDATE), envelope=SHARE)
    router.add("DELETE", "/shares/{id}", delete, rule=OnTarget(Rule.SHARE_DELETE))
    _register_actions(router, s)
    _register_metadata(router, s)
    _register_export_locations(router, s)


def _register_actions(router: Router, s: Services) -> None:
    def reset_status(req: ApiRequest) -> Reply:
        s.shares.reset_status(req.ctx, bodies.reset_status(req.params["id"], req.action_body))
        return Reply(202)

    def force_delete(req: ApiRequest) -> Reply:
        s.shares.delete(req.ctx, req.params["id"], None, force=True)
        return Reply(202)

    def extend(req: ApiRequest) -> Reply:
        s.shares.extend(req.ctx, resize(req.params["id"], req.action_body))
        return Reply(202)

    def shrink(req: ApiRequest) -> Reply:
        s.shares.shrink(req.ctx, resize(req.params["id"], req.action_body))
        return Reply(202)

    path = "/shares/{id}/action"
    router.add_admin_action(path, "reset_status", reset_status, rule=Rule.SHARE_RESET_STATUS)
    # Checked on the share: a missing one answers 404 before the policy's 403.
    router.add_admin_action(path, "force_delete", force_delete, rule=OnTarget(Rule.SHARE_FORCE_DELETE))
    router.add_admin_action(path, "extend", extend, rule=Rule.SHARE_EXTEND)
    router.add_admin_action(path, "shrink", shrink, rule=Rule.SHARE_SHRINK)
    _register_reset_task_state(router, s, path)


def _register_reset_task_state(router: Router, s: Services, path: str) -> None:
    """Manila's migration API brought it (2.22, experimental); it is GA from 2.96. OSC's `share set` calls it."""

    def reset_task_state(req: ApiRequest) -> Reply:
        s.shares.reset_task_state(req.ctx, bodies.reset_task_state(req.params["id"], req.action_body))
        return Reply(202)

    experimental = VersionScope(min=APIVersion(2, 22), max=APIVersion(2, 95), experimental=True)
    router.add("POST", path, reset_task_state, rule=Rule.SHARE_RESET_TASK_STATE, action="reset_task_state",
               scope=experimental)
    router.add("POST", path, reset_task_state, rule=Rule.SHARE_RESET_TASK_STATE, action="reset_task_state",
               scope=ALL_VERSIONS.since("2.96"))


def _register_metadata(router: Router, s: Services) -> None:
    def index(req: ApiRequest) -> Reply:
        return Reply(200, {"metadata": s.shares.metadata(req.ctx, req.params["id"])})

    def merge(req: ApiRequest) -> Reply:
        cmd = SetMetadata(req.params["id"], metadata_body(req), replace=False)
        return Reply(200, {"metadata": s.shares.set_metadata(req.ctx, cmd)})

    def replace(req: ApiRequest) -> Reply:
        cmd = SetMetadata(req.params["id"], metadata_body(req), replace=True)
        return Reply(200, {"metadata": s.shares.set_metadata(req.ctx, cmd)})

    def show(req: ApiRequest) -> Reply:
        metadata = s.shares.metadata(req.ctx, req.params["id"])
        key = req.params["key"]
        if key not in metadata:
            raise NotFound("Metadata item was not found")
        return Reply(200, {"meta": {key: metadata[key]}})

    def put(req: ApiRequest) -> Reply:
        meta = one_item(req.body.get("meta") if isinstance(req.body, dict) else None, req.params["key"])
        s.shares.set_metadata(req.ctx, SetMetadata(req.params["id"], bodies.check_metadata(meta), replace=False))
        return Reply(200, {"meta": meta})

    def delete(req: ApiRequest) -> Reply:
        s.shares.delete_metadata(req.ctx, req.params["id"], req.params["key"])
        return Reply(200)

    router.add("GET", "/shares/{id}/metadata", index, rule=OnTarget(Rule.SHARE_GET_METADATA))
    router.add("POST", "/shares/{id}/metadata", merge, rule=OnTarget(Rule.SHARE_UPDATE_METADATA))
    router.add("PUT", "/shares/{id}/metadata", replace, rule=OnTarget(Rule.SHARE_UPDATE_METADATA))
    router.add("GET", "/shares/{id}/metadata/{key}", show, rule=OnTarget(Rule.SHARE_GET_METADATA))
    router.add("PUT", "/shares/{id}/metadata/{key}", put, rule=OnTarget(Rule.SHARE_UPDATE_METADATA))
    router.add("DELETE", "/shares/{id}/metadata/{key}", delete, rule=OnTarget(Rule.SHARE_DELETE_METADATA))


def _register_export_locations(router: Router, s: Services) -> None:
    def located(req: ApiRequest) -> Share:
        try:
            return s.shares.get(req.ctx, req.params["id"])
        except NotFound:
            raise NotFound(f"Share '{req.params['id']}' not found.") from None

    def index(req: ApiRequest) -> Reply:
        share = located(req)
        items = [views.export_location(req, e, share.id, show=False) for e in share.export_locations
                 if req.ctx.is_admin or not e.is_admin_only]
        return Reply(200, {"export_locations": items})

    def show(req: ApiRequest) -> Reply:
        share = located(req)
        for e in share.export_locations:
            if e.id == req.params["el"]:
                if e.is_admin_only and not req.ctx.is_admin:
                    raise HTTPFault(403, "Access was denied to this resource.")
                return Reply(200, {"export_location": views.export_location(req, e, share.id, show=True)})
        raise NotFound(f"Export location '{req.params['el']}' not found.")

    since = ALL_VERSIONS.since("2.9")
    router.add("GET", "/shares/{id}/export_locations", index, rule=Rule.EXPORT_LOCATION_INDEX, scope=since)
    router.add("GET", "/shares/{id}/export_locations/{el}", show, rule=Rule.EXPORT_LOCATION_SHOW, scope=since)
