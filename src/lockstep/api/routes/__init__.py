"""HTTP handlers, one module per resource; `register_all` builds the route table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lockstep.api.routing import Router

if TYPE_CHECKING:
    from lockstep.service.services import Services


def register_all(router: Router, services: Services) -> None:
    from lockstep.api.routes import (
        cgsnapshots,
        consistency_groups,
        scheduler_stats,
        share_networks,
        share_types,
        shares,
        snapshots,
    )

    for module in (shares, snapshots, share_types, share_networks, consistency_groups, cgsnapshots,
                   scheduler_stats):
        module.register(router, services)
