"""Response bodies. Each view tests the microversion in one place: the share view, whose keys change
most, reads a table of which keys appear from which version (`SHARE_KEYS`); the others test it inline."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any

from lockstep.api.routing import ApiRequest
from lockstep.domain.access import RulesStatus, SnapshotAccessRule
from lockstep.domain.group_types import ShareGroupType
from lockstep.domain.model import (
    TENANT_VISIBLE_SPECS,
    CGSnapshot,
    CGSnapshotMember,
    ConsistencyGroup,
    ExportLocation,
    SecurityService,
    Share,
    ShareNetwork,
    ShareNetworkSubnet,
    ShareType,
    Snapshot,
    SnapshotExportLocation,
    Status,
)
from lockstep.domain.pools import Capacity
from lockstep.service.access import SeenRule


def iso(value: dt.datetime | None) -> str | None:
    # isoformat is several times faster than strftime; naive UTC with 6 digits, as Manila shows it.
    return value.isoformat(timespec="microseconds") if value is not None else None


def _under(base: str, req: ApiRequest) -> str:
    """Links name the project only when the request's URL did (Manila's rule since 2.60)."""
    return f"{base}/{req.project_id}" if req.project_id else base


def links(req: ApiRequest, collection: str, item_id: str) -> list[dict[str, str]]:
    self_href = f"{_under(req.app_url, req)}/{collection}/{item_id}"
    bookmark = f"{_under(req.app_url.rsplit('/v2', 1)[0], req)}/{collection}/{item_id}"
    return [{"rel": "self", "href": self_href}, {"rel": "bookmark", "href": bookmark}]


def next_link(req: ApiRequest, collection: str, items: Sequence[Any], limit: int, marker: str) -> list[dict[str, str]]:
    """Only when `limit` was given and the page is full; the marker is honoured (decision 4)."""
    if "limit" not in req.query or len(items) != limit or not items:
        return []
    # The marker resumes after the last item, so the offset is not applied a second time.
    query = "&".join(part for part in req.raw_query.split("&")
                     if part and not part.startswith(("marker=", "offset=")))
    sep = "&" if query else ""
    return [{"rel": "next", "href": f"{_under(req.app_url, req)}/{collection}?{query}{sep}marker={marker}"}]


# Shares -----------------------------------------------------------------------------
Key = tuple[str, tuple[int, int], tuple[int, int] | None, Callable[[ApiRequest, Share], Any]]

SHARE_KEYS: list[Key] = [
    ("snapshot_support", (2, 2), None, lambda r, s: s.snapshot_support),
    # One store: a share's group is a consistency group up to 2.30 and a share group from 2.31.
    ("consistency_group_id", (2, 4), (2, 30), lambda r, s: s.consistency_group_id),
    ("source_cgsnapshot_member_id", (2, 4), (2, 30), lambda r, s: s.source_cgsnapshot_member_id),
    ("share_group_id", (2, 31), None, lambda r, s: s.consistency_group_id),
    ("source_share_group_snapshot_member_id", (2, 31), None, lambda r, s: s.source_cgsnapshot_member_id),
    ("task_state", (2, 5), None, lambda r, s: s.task_state),
    ("share_type_name", (2, 6), None, lambda r, s: s.share_type_name),
    ("export_location", (2, 0), (2, 8), lambda r, s: _first_export(s)),
    ("export_locations", (2, 0), (2, 8), lambda r, s: _exports(s)),
    ("access_rules_status", (2, 10), None, lambda r, s: _rules_status(r, s.access_rules_status)),
    ("replication_type", (2, 11), None, lambda r, s: None),
    ("has_replicas", (2, 11), None, lambda r, s: False),
    ("user_id", (2, 16), None, lambda r, s: s.user_id),
    ("create_share_from_snapshot_support", (2, 24), None, lambda r, s: s.create_share_from_snapshot_support),
    ("revert_to_snapshot_support", (2, 27), None, lambda r, s: s.revert_to_snapshot_support),
    ("mount_snapshot_support", (2, 32), None, lambda r, s: s.mount_snapshot_support),
    ("progress", (2, 54), None, lambda r, s: s.progress),
    ("is_soft_deleted", (2, 69), None, lambda r, s: s.is_soft_deleted),
    ("scheduled_to_be_deleted_at", (2, 69), None, lambda r, s: iso(s.scheduled_to_be_deleted_at)),
    ("source_backup_id", (2, 80), None, lambda r, s: None),  # backups are not served
    ("encryption_key_ref", (2, 90), None, lambda r, s: None),  # no backend encrypts
    ("snapshot_inherit_share_access_support", (2, 99), None, lambda r, s: s.snapshot_inherit_share_access_support),
]


def _rules_status(req: ApiRequest, status: str) -> str:
    """Before 2.28 Manila called `syncing` `out_of_sync`."""
    return "out_of_sync" if status == RulesStatus.SYNCING and not req.at_least(2, 28) else status


def _exports(share: Share) -> list[str]:
    if share.status != Status.AVAILABLE:
        return []
    return [e.path for e in share.export_locations if not e.is_admin_only]


def _first_export(share: Share) -> str | None:
    paths = [e.path for e in share.export_locations]
    return paths[0] if paths else None


def share_summary(req: ApiRequest, share: Share) -> dict[str, Any]:
    return {"id": share.id, "name": share.name, "links": links(req, "shares", share.id)}


@functools.cache
def _share_keys(version: tuple[int, int]) -> tuple[tuple[str, Callable[[ApiRequest, Share], Any]], ...]:
    """The versioned keys of the share view at one version (computed once per version)."""
    return tuple((key, value) for key, since, until, value in SHARE_KEYS
                 if version >= since and (until is None or version <= until))


def share_detail(req: ApiRequest, share: Share) -> dict[str, Any]:
    version = req.version.tuple
    type_value: str | None = share.share_type_id if version >= (2, 6) else (
        share.share_type_name or share.share_type_id)
    body: dict[str, Any] = {
        "id": share.id,
        "size": share.size,
        "availability_zone": share.availability_zone,
        "created_at": iso(share.created_at),
        "status": share.status,
        "name": share.name,
        "description": share.description,
        "project_id": share.project_id,
        "snapshot_id": share.snapshot_id,
        "share_network_id": share.share_network_id,
        "share_proto": share.share_proto,
        "metadata": dict(share.metadata),
        "share_type": type_value,
        "volume_type": share.share_type_name or share.share_type_id,
        "is_public": share.is_public,
        "host": share.host,
        "links": links(req, "shares", share.id),
    }
    for key, value in _share_keys(version):
        body[key] = value(req, share)
    if req.ctx.is_admin:
        body["share_server_id"] = None
    return body


def export_location(req: ApiRequest, location: ExportLocation, share_id: str, *, show: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": location.id, "path": location.path}
    if req.at_least(2, 14):
        body["preferred"] = location.preferred
    if req.ctx.is_admin:
        body["share_instance_id"] = share_id
        body["is_admin_only"] = location.is_admin_only
    if show:
        body["created_at"] = iso(location.created_at)
        body["updated_at"] = iso(location.updated_at)
    return body


# Share types ----------------------------------------------------------------------------
# Specs a non-admin sees with their default (false) when the type does not set them, from a version.
INFERRED_SPECS: list[tuple[str, tuple[int, int]]] = [
    ("snapshot_support", (2, 24)),
    ("create_share_from_snapshot_support", (2, 24)),
    ("revert_to_snapshot_support", (2, 24)),
    ("snapshot_inherit_share_access_support", (2, 99)),
]


def share_type(req: ApiRequest, st: ShareType, *, is_default: bool = False) -> dict[str, Any]:
    specs: dict[str, Any] = dict(st.extra_specs)
    if not req.ctx.is_admin:
        specs = {k: v for k, v in specs.items() if k in TENANT_VISIBLE_SPECS}
        for key, since in INFERRED_SPECS:
            if req.version.tuple >= since:
                specs.setdefault(key, False)
    public_key = "share_type_access:is_public" if req.at_least(2, 7) else "os-share-type-access:is_public"
    body = {
        "id": st.id,
        "name": st.name,
        "extra_specs": specs,
        "required_extra_specs": {"driver_handles_share_servers": st.extra_specs.get("driver_handles_share_servers")},
        public_key: st.is_public,
    }
    if req.at_least(2, 41):
        body["description"] = st.description
    if req.at_least(2, 46):
        body["is_default"] = is_default
    return body


# Share networks -------------------------------------------------------------------------
def share_network(req: ApiRequest, net: ShareNetwork, *, detail: bool) -> dict[str, Any]:
    """Below 2.51 the default subnet's fields show at the top level; from 2.51 the subnets do."""
    if not detail:
        return {"id": net.id, "name": net.name}
    body: dict[str, Any] = {
        "id": net.id, "name": net.name, "project_id": net.project_id, "created_at": iso(net.created_at),
        "updated_at": iso(net.updated_at),
    }
    if not req.at_least(2, 51):
        sub = net.default_subnet
        for key in ("neutron_net_id", "neutron_subnet_id", "network_type", "segmentation_id", "cidr", "ip_version"):
            body[key] = getattr(sub, key) if sub else None
        body["description"] = net.description
        if req.at_least(2, 18):
            body["gateway"] = sub.gateway if sub else None
        if req.at_least(2, 20):
            body["mtu"] = sub.mtu if sub else None
        if not req.at_least(2, 26):
            body["nova_net_id"] = None
        return body
    body["description"] = net.description
    body["share_network_subnets"] = [_network_subnet(req, sub) for sub in net.subnets]
    if req.at_least(2, 63):
        body["status"] = net.status
        # Lockstep's networks have no share servers: nothing stands in the way of either update.
        body["security_service_update_support"] = True
    if req.at_least(2, 70):
        body["network_allocation_update_support"] = True
    return body


def _network_subnet(req: ApiRequest, sub: ShareNetworkSubnet) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sub.id, "availability_zone": sub.availability_zone, "created_at": iso(sub.created_at),
        "updated_at": iso(sub.updated_at), "segmentation_id": sub.segmentation_id,
        "neutron_net_id": sub.neutron_net_id, "neutron_subnet_id": sub.neutron_subnet_id,
        "ip_version": sub.ip_version, "cidr": sub.cidr, "network_type": sub.network_type, "mtu": sub.mtu,
        "gateway": sub.gateway,
    }
    if req.at_least(2, 78):
        body["metadata"] = dict(sub.metadata)
    return body


def share_network_subnet(req: ApiRequest, sub: ShareNetworkSubnet) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sub.id, "availability_zone": sub.availability_zone, "share_network_id": sub.share_network_id,
        "share_network_name": sub.share_network_name, "created_at": iso(sub.created_at),
        "segmentation_id": sub.segmentation_id, "neutron_subnet_id": sub.neutron_subnet_id,
        "updated_at": iso(sub.updated_at), "neutron_net_id": sub.neutron_net_id, "ip_version": sub.ip_version,
        "cidr": sub.cidr, "network_type": sub.network_type, "mtu": sub.mtu, "gateway": sub.gateway,
    }
    if req.at_least(2, 78):
        body["metadata"] = dict(sub.metadata)
    return body


# Snapshots ---------------------------------------------------------------------------------
def snapshot(req: ApiRequest, snap: Snapshot, *, detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": snap.id, "name": snap.name, "links": links(req, "snapshots", snap.id)}
    if not detail:
        return body
    body.update({
        "share_id": snap.share_id, "share_size": snap.share_size, "created_at": iso(snap.created_at),
        "status": snap.status, "description": snap.description, "size": snap.size, "share_proto": snap.share_proto,
    })
    if req.at_least(2, 12) and req.ctx.is_admin:
        body["provider_location"] = snap.provider_location
    if req.at_least(2, 17):
        body["user_id"] = snap.user_id
        body["project_id"] = snap.project_id
    if req.at_least(2, 73):
        body["metadata"] = dict(snap.metadata)
    return body


def snapshot_export_location(req: ApiRequest, location: SnapshotExportLocation, *, show: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": location.id, "path": location.path,
                            "links": links(req, "share_snapshot_export_locations", location.id)}
    if req.ctx.is_admin:
        body["share_snapshot_instance_id"] = location.snapshot_id  # one instance per snapshot: its own id
        body["is_admin_only"] = location.is_admin_only
    if show:
        body["created_at"] = iso(location.created_at)
        body["updated_at"] = iso(location.updated_at)
    return body


def snapshot_access(rule: SnapshotAccessRule) -> dict[str, Any]:
    """A snapshot access rule (2.32): no level (always read-only), no dates, as Manila shows it."""
    return {"id": rule.id, "access_type": rule.access_type, "access_to": rule.access_to, "state": rule.state}


# Consistency groups -----------------------------------------------------------------------
def group(req: ApiRequest, cg: ConsistencyGroup, *, detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": cg.id, "name": cg.name, "links": links(req, "consistency_groups", cg.id)}
    if not detail:
        return body
    body.update({
        "status": cg.status, "description": cg.description, "created_at": iso(cg.created_at),
        "project_id": cg.project_id, "host": cg.host, "source_cgsnapshot_id": cg.source_cgsnapshot_id,
        "share_network_id": cg.share_network_id, "share_types": list(cg.share_types),
    })
    if req.ctx.is_admin:
        body["share_server_id"] = cg.share_server_id
    return body


def cgsnapshot(req: ApiRequest, snap: CGSnapshot, *, detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": snap.id, "name": snap.name, "links": links(req, "cgsnapshot", snap.id)}
    if not detail:
        return body
    body.update({
        "created_at": iso(snap.created_at), "status": snap.status, "description": snap.description,
        "project_id": snap.project_id, "consistency_group_id": snap.consistency_group_id,
        "lockstep:consistency": _consistency(snap),
    })
    return body


def _consistency(snap: CGSnapshot) -> dict[str, Any] | None:
    """How the cut was made (decision 9: a Lockstep extension, in detail views only)."""
    if not snap.cut_method:
        return None
    return {"method": snap.cut_method, "spread_ms": round(snap.cut_spread_ms or 0.0, 3)}


def member(req: ApiRequest, m: CGSnapshotMember) -> dict[str, Any]:
    return {"id": m.id, "created_at": iso(m.created_at), "size": m.size, "share_protocol": m.share_proto,
            "project_id": m.project_id, "share_type_id": m.share_type_id, "cgsnapshot_id": m.cgsnapshot_id,
            "share_id": m.share_id}


# Access rules -------------------------------------------------------------------------------
REDACTED = "******"


def access_rule(req: ApiRequest, seen: SeenRule, *, with_share_id: bool) -> dict[str, Any]:
    """Grant, show and update answers carry `share_id`; list items do not. Every item of a list has the
    same keys in the same order (python-manilaclient builds one namedtuple from the first item)."""
    rule = seen.rule
    body: dict[str, Any] = {"id": rule.id}
    if with_share_id:
        body["share_id"] = rule.share_id
    body.update({"access_level": rule.access_level, "access_to": rule.access_to, "access_type": rule.access_type,
                 "state": rule.state})
    if not req.at_least(2, 28):
        # Per-rule states came with 2.28; before, a rule shows its share's aggregate.
        status = seen.share_rules_status
        body["state"] = "new" if status == RulesStatus.SYNCING else status
    if req.at_least(2, 21):
        body["access_key"] = rule.access_key
    if req.at_least(2, 33):
        body["created_at"] = iso(rule.created_at)
        body["updated_at"] = iso(rule.updated_at)
    if req.at_least(2, 45):
        body["metadata"] = dict(rule.metadata)
    if seen.restricted:
        for key in ("access_to", "access_key"):
            if key in body:
                body[key] = REDACTED
    return body


# Scheduler stats --------------------------------------------------------------------------
def pool(req: ApiRequest, capacity: Capacity, *, detail: bool) -> dict[str, Any]:
    record = capacity.pool
    body: dict[str, Any] = {"name": record.name, "host": record.host, "backend": record.backend,
                            "pool": record.pool}
    if detail:
        caps = dict(record.capabilities)
        caps["total_capacity_gb"] = record.total_capacity_gb
        caps["free_capacity_gb"] = capacity.free_gb
        # Both counted from the records: every share Lockstep placed there is one it manages.
        caps["provisioned_capacity_gb"] = capacity.usage.provisioned_gb
        caps["allocated_capacity_gb"] = capacity.usage.provisioned_gb
        body["capabilities"] = caps
    return body


# Share groups (2.31+): the same records as consistency groups and cgsnapshots -----------------------
def share_group_type(req: ApiRequest, gt: ShareGroupType, *, is_default: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": gt.id, "name": gt.name, "is_public": gt.is_public,
                            "group_specs": dict(gt.group_specs), "share_types": list(gt.share_types)}
    if req.at_least(2, 46):
        body["is_default"] = is_default
    return body


def share_group(req: ApiRequest, group: ConsistencyGroup, *, detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": group.id, "name": group.name, "links": links(req, "share-groups", group.id)}
    if not detail:
        return body
    body.update({
        "created_at": iso(group.created_at), "status": group.status, "description": group.description,
        "project_id": group.project_id, "host": group.host, "share_group_type_id": group.share_group_type_id,
        "source_share_group_snapshot_id": group.source_cgsnapshot_id, "share_network_id": group.share_network_id,
        "share_types": list(group.share_types),
    })
    if req.at_least(2, 34):
        body["availability_zone"] = group.availability_zone
        body["consistent_snapshot_support"] = group.consistent_snapshot_support
    if req.ctx.is_admin:
        body["share_server_id"] = group.share_server_id
    return body


def share_group_snapshot(req: ApiRequest, snap: CGSnapshot, *, detail: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"id": snap.id, "name": snap.name, "links": links(req, "share-group-snapshots", snap.id)}
    if not detail:
        return body
    body.update({
        "created_at": iso(snap.created_at), "status": snap.status, "description": snap.description,
        "project_id": snap.project_id, "share_group_id": snap.consistency_group_id,
        "members": [{"id": m.id, "size": m.size, "share_id": m.share_id} for m in snap.members],
        # The same cut a cgsnapshot records: atomic across the members, or how far apart they were.
        "lockstep:consistency": _consistency(snap),
    })
    return body


def share_group_snapshot_member(req: ApiRequest, m: CGSnapshotMember) -> dict[str, Any]:
    return {"id": m.id, "created_at": iso(m.created_at), "size": m.size, "share_protocol": m.share_proto,
            "project_id": m.project_id, "share_group_snapshot_id": m.cgsnapshot_id, "share_id": m.share_id}


# Security services ------------------------------------------------------------------------
def security_service(req: ApiRequest, ss: SecurityService, *, detail: bool) -> dict[str, Any]:
    # `status` left the model long ago; Manila still shows "new" for compatibility.
    body: dict[str, Any] = {"id": ss.id, "name": ss.name, "type": ss.type, "status": "new"}
    if not detail:
        return body
    body.update({
        "created_at": iso(ss.created_at), "updated_at": iso(ss.updated_at), "description": ss.description,
        "dns_ip": ss.dns_ip, "server": ss.server, "domain": ss.domain, "user": ss.user, "password": ss.password,
        "project_id": ss.project_id,
    })
    if req.at_least(2, 44):
        body["ou"] = ss.ou
    if req.at_least(2, 76):
        body["default_ad_site"] = ss.default_ad_site
    return body
