"""HTTP handlers, one module per resource; `register_all` builds the route table."""

from __future__ import annotations

from lockstep.api.routes import (
    access,
    cgsnapshots,
    consistency_groups,
    host_services,
    messages,
    quota_sets,
    scheduler_stats,
    security_services,
    share_group_snapshots,
    share_group_types,
    share_groups,
    share_network_subnets,
    share_networks,
    share_types,
    shares,
    snapshot_access,
    snapshots,
)
from lockstep.api.routing import Router
from lockstep.service.services import Services


def register_all(router: Router, services: Services) -> None:
    for module in (shares, snapshots, share_types, share_networks, consistency_groups, cgsnapshots,
                   scheduler_stats, access, share_group_types, share_groups, share_group_snapshots, messages,
                   quota_sets, host_services, snapshot_access):
        module.register(router, services)
    for records in (security_services, share_network_subnets):
        records.register(router, services)
