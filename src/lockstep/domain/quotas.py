"""Quotas: the resources a project's quota limits, their defaults, and the arithmetic of a check.

A limit of -1 means unlimited. Limits are set per project, and optionally per user of a project or
per share type in a project (Manila's three levels); a user's or a share type's limit that is not
set is the project's. Usage is counted from the records themselves (see
`lockstep.adapters.db.quotas`), so it never drifts from what exists.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

UNLIMITED = -1
MAX_LIMIT = 2**31 - 1  # what the hard_limit column holds


class Resource(enum.StrEnum):
    """Quota resources, with Manila's names (the keys of a quota set)."""

    SHARES = "shares"
    GIGABYTES = "gigabytes"
    SNAPSHOTS = "snapshots"
    SNAPSHOT_GIGABYTES = "snapshot_gigabytes"
    SHARE_NETWORKS = "share_networks"
    SHARE_GROUPS = "share_groups"
    SHARE_GROUP_SNAPSHOTS = "share_group_snapshots"
    # Replicas are not served: these limits are shown and settable, never consumed.
    SHARE_REPLICAS = "share_replicas"
    REPLICA_GIGABYTES = "replica_gigabytes"
    # A limit on each share's size, not on a total: nothing is "in use" of it.
    PER_SHARE_GIGABYTES = "per_share_gigabytes"


#: Manila's defaults (its `[quota]` options).
DEFAULT_LIMITS: Mapping[Resource, int] = {
    Resource.SHARES: 50,
    Resource.GIGABYTES: 1000,
    Resource.SNAPSHOTS: 50,
    Resource.SNAPSHOT_GIGABYTES: 1000,
    Resource.SHARE_NETWORKS: 10,
    Resource.SHARE_GROUPS: 50,
    Resource.SHARE_GROUP_SNAPSHOTS: 50,
    Resource.SHARE_REPLICAS: 100,
    Resource.REPLICA_GIGABYTES: 1000,
    Resource.PER_SHARE_GIGABYTES: UNLIMITED,
}

#: What a share type's quota can constrain (Manila: not networks, groups or group snapshots).
SHARE_TYPE_RESOURCES = frozenset({
    Resource.SHARES, Resource.GIGABYTES, Resource.SNAPSHOTS, Resource.SNAPSHOT_GIGABYTES,
    Resource.SHARE_REPLICAS, Resource.REPLICA_GIGABYTES, Resource.PER_SHARE_GIGABYTES,
})

#: Resources whose usage is counted from records (the others are limits on a single value).
COUNTED = frozenset(Resource) - {Resource.PER_SHARE_GIGABYTES}


@dataclass(frozen=True)
class Usage:
    in_use: int = 0
    reserved: int = 0  # promised but not done yet: the extra gigabytes of shares being extended

    @property
    def total(self) -> int:
        return self.in_use + self.reserved


@dataclass(frozen=True)
class Subject:
    """Whose quota: a project, a user of it, or a share type in it (never both of the last two)."""

    project_id: str
    user_id: str | None = None
    share_type_id: str | None = None


@dataclass(frozen=True)
class Over:
    """A resource a request would take past a limit, and that limit."""

    resource: Resource
    limit: int


def effective(defaults: Mapping[Resource, int], *levels: Mapping[Resource, int]) -> dict[Resource, int]:
    """The limits in force: the most specific level that sets a resource wins, then the defaults."""
    limits = dict(defaults)
    for level in levels:
        limits.update(level)
    return limits


@dataclass(frozen=True)
class Check:
    """One level's limits, its usage, and what a request would add to it."""

    deltas: Mapping[Resource, int]
    limits: Mapping[Resource, int]
    usage: Mapping[Resource, Usage]


def overs(checks: Iterable[Check]) -> dict[Resource, Over]:
    """Each resource a request would take past the limit of one of `checks`, with the first limit it
    passes. Only growth is checked: a project over its limit may still shrink."""
    found: dict[Resource, Over] = {}
    for check in checks:
        for resource, delta in check.deltas.items():
            limit = check.limits.get(resource, UNLIMITED)
            if delta <= 0 or limit < 0 or resource in found:
                continue
            if check.usage.get(resource, Usage()).total + delta > limit:
                found[resource] = Over(resource, limit)
    return found


def smallest_limit(*limits: int | None) -> int:
    """The tightest of several limits (None: not set at that level); UNLIMITED if none applies."""
    applicable = [limit for limit in limits if limit is not None and limit >= 0]
    return min(applicable) if applicable else UNLIMITED
