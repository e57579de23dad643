"""/shares, their actions, metadata and export locations."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lockstep.api import bodies, queries, views
from lockstep.api.errors import HTTPFault
from lockstep.api.microversions import APIVersion
from lockstep.api.paging import index_reply
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Envelope, OnTarget, Reply, Router, VersionScope
from lockstep.domain.errors import Invalid, NotFound
from lockstep.domain.model import SHARE_PROTOCOLS, SchedulerHints, Share, parse_bool
from lockstep.service.commands import (
    KEEP,
    Checked,
    CreateShare,
    GroupApi,
    RequestedSize,
    Resize,
    SetMetadata,
    ShareChanges,
)
from lockstep.service.group_terms import TERMS
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import is_uuid_like

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


def create_command(req: ApiRequest, zone: str, protocols: tuple[str, ...] = SHARE_PROTOCOLS) -> CreateShare:
    """Shape checks in Manila's order; `zone` is the one availability zone Lockstep serves, `protocols` the
    enabled share protocols."""
    entity = req.entity
    name = bodies.optional_text(entity, "name", "display_name", field="name") or None
    description = bodies.optional_text(entity, "description", "display_description", field="description") or None
    proto = entity.get("share_proto")
    if not isinstance(proto, str):
        raise Invalid("Invalid input received: 'share_proto' must be given as a string.")
    if "size" not in entity:
        raise Invalid("Invalid input received: 'size' must be given.")
    # One store: the group is named `consistency_group_id` at 2.4-2.30, `share_group_id` from 2.31.
    api = group_api(req)
    group_key = "share_group_id" if api is GroupApi.SHARE_GROUPS else "consistency_group_id"
    group_id = bodies.optional_string(entity, group_key) if req.at_least(2, 4) else None
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
    later = _later_create_fields(req, zone)
    return CreateShare(
        share_proto=_protocol(proto, protocols), size=RequestedSize(parse_size(size), f"{size}", bool(size)), name=name,
        description=description, consistency_group_id=group_id, availability_zone=zone_asked,
        share_network_id=network_id, snapshot_id=snapshot_id, share_type=type_ref,
        metadata=_deferred_metadata(entity.get("metadata")),
        is_public=_deferred_bool(entity.get("is_public", False)),
        snapshot_capability_required=req.at_least(2, 24),
        zone_for_type_check=later.zone_for_type_check, scheduler_hints=later.scheduler_hints,
        mount_point_name=later.mount_point_name, encryption_key_ref=later.encryption_key_ref, group_api=api,
    )


@dataclass(frozen=True)
class _LaterFields:
    zone_for_type_check: str | None = None
    scheduler_hints: SchedulerHints | None = None
    mount_point_name: str | None = None
    encryption_key_ref: str | None = None


def _later_create_fields(req: ApiRequest, zone: str) -> _LaterFields:
    """What share create reads from the versions after 2.30 (ignored below each one's version)."""
    entity = req.entity
    return _LaterFields(
        zone_for_type_check=(bodies.optional_string(entity, "availability_zone") or zone)
        if req.at_least(2, 48) else None,
        scheduler_hints=_scheduler_hints(req) if req.at_least(2, 65) else None,
        mount_point_name=bodies.optional_text(entity, "mount_point_name") if req.at_least(2, 84) else None,
        encryption_key_ref=bodies.optional_string(entity, "encryption_key_ref") if req.at_least(2, 90) else None,
    )


def _scheduler_hints(req: ApiRequest) -> SchedulerHints | None:
    """`same_host` / `different_host`: comma-separated share ids; `only_host` (2.67): a pool, honoured for
    admins only (Manila's OnlyHost filter lets everyone else's shares pass)."""
    hints = req.entity.get("scheduler_hints")
    if hints is None:
        return None
    if not isinstance(hints, dict):
        raise Invalid("Invalid input received: 'scheduler_hints' must be an object.")
    same, different = _share_ids(hints, "same_host"), _share_ids(hints, "different_host")
    only = bodies.optional_string(hints, "only_host") if req.at_least(2, 67) and req.ctx.is_admin else None
    found = SchedulerHints(same_host=same, different_host=different, only_host=only or None)
    return found if found else None


def _share_ids(hints: dict[str, Any], key: str) -> tuple[str, ...]:
    value = hints.get(key)
    if not value:
        return ()
    if not isinstance(value, str):
        raise Invalid(f"Invalid input received: '{key}' must be a string of comma-separated share ids.")
    ids = tuple(part.strip() for part in value.split(","))
    for share_id in ids:
        if not is_uuid_like(share_id):
            raise Invalid(f"{share_id} is not a valid uuid.")
    return ids


def _protocol(proto: str, protocols: tuple[str, ...]) -> Checked[str]:
    if proto.upper() not in protocols:
        return Invalid(f"Invalid input received: Invalid share protocol provided: {proto}. It is either "
                       f"disabled or unsupported. Available protocols: {list(protocols)}.")
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


def resize(share_id: str, body: object, *, force_allowed: bool = False) -> Resize:
    """`force_allowed`: extend from 2.64 reads `force` (below, it is ignored)."""
    new_size = parse_size(body.get("new_size")) if isinstance(body, dict) else None
    if new_size is None:
        raise Invalid("New share size must be specified as an integer.")
    force = False
    if force_allowed and isinstance(body, dict) and "force" in body:
        try:
            force = parse_bool(body["force"], strict=True)
        except ValueError:
            raise Invalid(f"Invalid boolean force : {body['force']}") from None
    return Resize(share_id, new_size, force)


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


def group_api(req: ApiRequest) -> GroupApi:
    """A share's group is a consistency group up to 2.30 and a share group from 2.31 (one store)."""
    return GroupApi.SHARE_GROUPS if req.at_least(2, 31) else GroupApi.CONSISTENCY_GROUPS


# Routes -------------------------------------------------------------------------------------
def register(router: Router, s: Services) -> None:
    def index(req: ApiRequest, detail: bool) -> Reply:
        view = views.share_detail if detail else views.share_summary
        zones = (s.availability_zone, s.availability_zone_id)
        reply = index_reply(req, "shares",
                            lambda offset, limit: s.listing.shares(
                                req.ctx, queries.shares(req, offset, limit, zones=zones), detail=detail),
                            lambda share: view(req, share), links=("shares_links", "shares"))
        # 2.42 (Manila's detail list reads `with_count` at every version).
        if queries.with_count(req, None if detail else (2, 42)):
            reply.body["count"] = s.listing.count_shares(req.ctx, queries.shares(req, 0, 0, zones=zones))
        return reply

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"share": views.share_detail(req, s.shares.get(req.ctx, req.params["id"]))})

    def create(req: ApiRequest) -> Reply:
        share = s.shares.create(req.ctx, create_command(req, s.availability_zone, s.share_protocols))
        return Reply(200, {"share": views.share_detail(req, share)})

    def update(req: ApiRequest) -> Reply:
        share = s.shares.update(req.ctx, req.params["id"], update_changes(req.entity))
        return Reply(200, {"share": views.share_detail(req, share)})

    def delete(req: ApiRequest) -> Reply:
        api = group_api(req)
        s.shares.delete(req.ctx, req.params["id"], req.query.get(TERMS[api].delete_param), api=api)
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
        s.shares.delete(req.ctx, req.params["id"], None, force=True, api=group_api(req))
        return Reply(202)

    def extend(req: ApiRequest) -> Reply:
        s.shares.extend(req.ctx, resize(req.params["id"], req.action_body, force_allowed=req.at_least(2, 64)))
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
    _register_recycle_bin(router, s)
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


def _register_recycle_bin(router: Router, s: Services) -> None:
    """2.69: `soft_delete` moves a share to the recycle bin, `restore` takes it back out."""

    def soft_delete(req: ApiRequest) -> Reply:
        s.recycle_bin.soft_delete(req.ctx, req.params["id"])
        return Reply(202)

    def restore(req: ApiRequest) -> Reply:
        return Reply(202 if s.recycle_bin.restore(req.ctx, req.params["id"]) else 200)

    since = ALL_VERSIONS.since("2.69")
    router.add("POST", "/shares/{id}/action", soft_delete, rule=OnTarget(Rule.SHARE_SOFT_DELETE), scope=since,
               action="soft_delete")
    router.add("POST", "/shares/{id}/action", restore, rule=OnTarget(Rule.SHARE_RESTORE), scope=since,
               action="restore")


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
