"""Snapshot access (2.32, `mount_snapshot_support`): `allow_access`, `deny_access` and `access-list` of a
snapshot, as Manila serves them; and the same, with the member's export locations, for one member of a
share group snapshot (Lockstep's extension: `/share-group-snapshots/{id}/members/{member_id}/...`)."""

from __future__ import annotations

from typing import Any

from lockstep.api import views
from lockstep.api.routing import ALL_VERSIONS, SHARE_GROUP_SCOPE, ApiRequest, OnTarget, Reply, Router
from lockstep.domain.access import check_grantee
from lockstep.domain.errors import Invalid, NotFound
from lockstep.service.commands import DenySnapshotAccess, Grantee, GrantSnapshotAccess, SnapshotRef
from lockstep.service.policy import Rule
from lockstep.service.services import Services

SINCE_MOUNTABLE = ALL_VERSIONS.since("2.32")
MEMBER_SCOPE = SHARE_GROUP_SCOPE.since("2.32")


def _arguments(req: ApiRequest) -> dict[str, Any]:
    if not isinstance(req.action_body, dict):
        raise Invalid("Access data not found in request body.")
    return req.action_body


def _required(body: dict[str, Any], names: tuple[str, ...]) -> None:
    """Manila's `_validate_parameters` for these actions (400s, in the order the names are given)."""
    for name in names:
        if name not in body:
            raise Invalid(f"Required parameter {name} not found.")
        if not body.get(name):
            raise Invalid(f"Required parameter {name} is empty.")
        if not isinstance(body[name], str):
            raise Invalid(f"Parameter {name} must be a string.")


def _grantee(body: dict[str, Any], req: ApiRequest) -> Grantee:
    # No cephx here (Manila validates snapshot rules without it); IPv6 from 2.38. The level is always `ro`.
    check_grantee(body["access_type"], body["access_to"], cephx=False, ipv6=req.at_least(2, 38))
    return Grantee(body["access_type"], body["access_to"])


def grant_command(req: ApiRequest, ref: SnapshotRef) -> GrantSnapshotAccess:
    body = _arguments(req)
    _required(body, ("access_type", "access_to"))
    return GrantSnapshotAccess(ref, _grantee(body, req))  # checked before the lookup, as Manila does


def deny_command(req: ApiRequest, ref: SnapshotRef) -> DenySnapshotAccess:
    body = _arguments(req)
    _required(body, ("access_id",))
    return DenySnapshotAccess(ref, body["access_id"])


def _snapshot(req: ApiRequest) -> SnapshotRef:
    return SnapshotRef(req.params["id"])


def _member(req: ApiRequest) -> SnapshotRef:
    return SnapshotRef(req.params["member"], cgsnapshot_id=req.params["id"])


def register(router: Router, s: Services) -> None:
    def grant(req: ApiRequest, ref: SnapshotRef) -> Reply:
        rule = s.snapshot_access.allow(req.ctx, grant_command(req, ref))
        return Reply(202, {"snapshot_access": views.snapshot_access(rule)})

    def deny(req: ApiRequest, ref: SnapshotRef) -> Reply:
        s.snapshot_access.deny(req.ctx, deny_command(req, ref))
        return Reply(202)

    def access_list(ref: SnapshotRef, req: ApiRequest) -> Reply:
        rules = s.snapshot_access.rules(req.ctx, ref)
        return Reply(200, {"snapshot_access_list": [views.snapshot_access(rule) for rule in rules]})

    # The snapshot's owner decides, once the snapshot is found (a missing one answers 404 first).
    path = "/snapshots/{id}/action"
    router.add("POST", path, lambda r: grant(r, _snapshot(r)), rule=OnTarget(Rule.SNAPSHOT_ALLOW_ACCESS),
               scope=SINCE_MOUNTABLE, action="allow_access")
    router.add("POST", path, lambda r: deny(r, _snapshot(r)), rule=OnTarget(Rule.SNAPSHOT_DENY_ACCESS),
               scope=SINCE_MOUNTABLE, action="deny_access")
    router.add("GET", "/snapshots/{id}/access-list", lambda r: access_list(_snapshot(r), r),
               rule=OnTarget(Rule.SNAPSHOT_ACCESS_LIST), scope=SINCE_MOUNTABLE)

    member = "/share-group-snapshots/{id}/members/{member}"
    router.add("POST", f"{member}/action", lambda r: grant(r, _member(r)), rule=OnTarget(Rule.SNAPSHOT_ALLOW_ACCESS),
               scope=MEMBER_SCOPE, action="allow_access")
    router.add("POST", f"{member}/action", lambda r: deny(r, _member(r)), rule=OnTarget(Rule.SNAPSHOT_DENY_ACCESS),
               scope=MEMBER_SCOPE, action="deny_access")
    router.add("GET", f"{member}/access-list", lambda r: access_list(_member(r), r),
               rule=OnTarget(Rule.SNAPSHOT_ACCESS_LIST), scope=MEMBER_SCOPE)
    _register_member_export_locations(router, s, member)


def _register_member_export_locations(router: Router, s: Services, member: str) -> None:
    """Where a member is mounted from: the snapshot export location views, admin-only ones hidden from others."""

    def index(req: ApiRequest) -> Reply:
        found = s.snapshot_access.member_export_locations(req.ctx, _member(req))
        items = [views.snapshot_export_location(req, e, show=False) for e in found
                 if req.ctx.is_admin or not e.is_admin_only]
        return Reply(200, {"share_snapshot_export_locations": items})

    def show(req: ApiRequest) -> Reply:
        for e in s.snapshot_access.member_export_locations(req.ctx, _member(req)):
            if e.id == req.params["el"] and (req.ctx.is_admin or not e.is_admin_only):
                return Reply(200, {"share_snapshot_export_location": views.snapshot_export_location(req, e, show=True)})
        raise NotFound("NotFound: Resource could not be found.")

    router.add("GET", f"{member}/export-locations", index, rule=Rule.SNAPSHOT_EXPORT_LOCATION_INDEX,
               scope=MEMBER_SCOPE)
    router.add("GET", f"{member}/export-locations/{{el}}", show, rule=Rule.SNAPSHOT_EXPORT_LOCATION_SHOW,
               scope=MEMBER_SCOPE)
