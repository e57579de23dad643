"""HTTP handlers, one module per resource; `register_all` builds the route table."""

from __future__ import annotations

from lockstep.api.routes import (
    cgsnapshots,
    consistency_groups,
    host_services,
    messages,
    quota_sets,
    scheduler_stats,
    share_networks,
    share_types,
    shares,
    snapshots,
)
from lockstep.api.routing import Router
from lockstep.service.services import Services


def register_all(router: Router, services: Services) -> None:
    for module in (shares, snapshots, share_types, share_networks, consistency_groups, cgsnapshots,
                   scheduler_stats, messages, quota_sets, host_services):
        module.register(router, services)
