"""Response bodies of user messages, quota sets, absolute limits and services.

Kept apart from `lockstep.api.views` (the resources' views) by concept; the versioned keys are
tables here too: which key appears from which microversion.
"""

from __future__ import annotations

from typing import Any

from lockstep.api.routing import ApiRequest
from lockstep.api.views import iso, links
from lockstep.domain.host_services import HostService
from lockstep.domain.messages import Message
from lockstep.domain.quotas import Resource, Usage
from lockstep.service.host_services import ServiceStatus
from lockstep.service.quotas import AbsoluteLimits, QuotaSet


def message(req: ApiRequest, m: Message) -> dict[str, Any]:
    return {
        "id": m.id, "project_id": m.project_id, "action_id": m.action_id, "detail_id": m.detail_id,
        "message_level": m.message_level, "created_at": iso(m.created_at), "expires_at": iso(m.expires_at),
        "request_id": m.request_id, "links": links(req, "messages", m.id), "resource_type": m.resource_type,
        "resource_id": m.resource_id, "user_message": m.user_message,
    }


# Quota sets ---------------------------------------------------------------------------------
# (resource, from version, shown for a share type's quota set)
QUOTA_KEYS: list[tuple[Resource, tuple[int, int], bool]] = [
    (Resource.SHARES, (2, 0), True),
    (Resource.GIGABYTES, (2, 0), True),
    (Resource.SNAPSHOTS, (2, 0), True),
    (Resource.SNAPSHOT_GIGABYTES, (2, 0), True),
    (Resource.SHARE_NETWORKS, (2, 0), False),
    (Resource.SHARE_GROUPS, (2, 40), False),
    (Resource.SHARE_GROUP_SNAPSHOTS, (2, 40), False),
    (Resource.SHARE_REPLICAS, (2, 53), True),
    (Resource.REPLICA_GIGABYTES, (2, 53), True),
    (Resource.PER_SHARE_GIGABYTES, (2, 62), True),
]


def _detail(limit: int, usage: Usage) -> dict[str, int]:
    return {"in_use": usage.in_use, "limit": limit, "reserved": usage.reserved}


def quota_set(req: ApiRequest, qs: QuotaSet, *, with_id: bool = True) -> dict[str, Any]:
    """`with_id`: show and defaults name the project; an update's reply does not (as in Manila)."""
    body: dict[str, Any] = {"id": qs.project_id} if with_id else {}
    version = req.version.tuple
    for resource, since, for_type in QUOTA_KEYS:
        if version < since or (qs.by_share_type and not for_type):
            continue
        limit = qs.limits[resource]
        body[str(resource)] = limit if qs.usage is None else _detail(limit, qs.usage.get(resource, Usage()))
    return {"quota_set": body}


# Absolute limits ------------------------------------------------------------------------------
# (resource, limit key, usage key, from version)
LIMIT_KEYS: list[tuple[Resource, str, str, tuple[int, int]]] = [
    (Resource.GIGABYTES, "maxTotalShareGigabytes", "totalShareGigabytesUsed", (2, 0)),
    (Resource.SNAPSHOT_GIGABYTES, "maxTotalSnapshotGigabytes", "totalSnapshotGigabytesUsed", (2, 0)),
    (Resource.SHARES, "maxTotalShares", "totalSharesUsed", (2, 0)),
    (Resource.SNAPSHOTS, "maxTotalShareSnapshots", "totalShareSnapshotsUsed", (2, 0)),
    (Resource.SHARE_NETWORKS, "maxTotalShareNetworks", "totalShareNetworksUsed", (2, 0)),
    (Resource.SHARE_REPLICAS, "maxTotalShareReplicas", "totalShareReplicasUsed", (2, 53)),
    (Resource.REPLICA_GIGABYTES, "maxTotalReplicaGigabytes", "totalReplicaGigabytesUsed", (2, 53)),
    (Resource.SHARE_GROUPS, "maxTotalShareGroups", "totalShareGroupsUsed", (2, 58)),
    (Resource.SHARE_GROUP_SNAPSHOTS, "maxTotalShareGroupSnapshots", "totalShareGroupSnapshotsUsed", (2, 58)),
]


def limits(req: ApiRequest, found: AbsoluteLimits) -> dict[str, Any]:
    absolute: dict[str, int] = {}
    for resource, limit_key, used_key, since in LIMIT_KEYS:
        if req.version.tuple >= since:
            absolute[limit_key] = found.limits[resource]
            absolute[used_key] = found.in_use.get(resource, 0)
    # Lockstep applies no rate limits.
    return {"limits": {"rate": [], "absolute": absolute}}


# Services -------------------------------------------------------------------------------------
def host_service(req: ApiRequest, found: ServiceStatus) -> dict[str, Any]:
    service = found.service
    body: dict[str, Any] = {
        "id": service.id, "binary": service.binary, "host": service.host, "zone": service.availability_zone,
        "status": "disabled" if service.disabled else "enabled", "state": str(found.state),
        "updated_at": iso(service.updated_at),
    }
    if req.at_least(2, 83):
        body["disabled_reason"] = service.disabled_reason
    if req.at_least(2, 86):
        body["ensuring"] = False  # Lockstep runs no ensure-shares pass
    return body


def service_change(req: ApiRequest, service: HostService) -> dict[str, Any]:
    """The reply to enable/disable: not wrapped in an envelope (as Manila answers it)."""
    body: dict[str, Any] = {"host": service.host, "binary": service.binary,
                            "status": "disabled" if service.disabled else "enabled"}
    if req.at_least(2, 83):
        body["disabled_reason"] = service.disabled_reason
    return body
