"""Is this deployment healthy, and what an operator sees of it: `/healthcheck` and the metrics' queue view.

The short answer (`problem`) needs only the database: reachable, and at the schema this code expects.
The detailed answer (admins) adds what the workers last reported: each pool's report age and capacity,
each worker's heartbeat, the queue of operations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from lockstep.domain.operations import QueueStat
from lockstep.domain.pools import PoolRecord, PoolUsage
from lockstep.service.unit_of_work import Database


@dataclass(frozen=True)
class Problem:
    summary: str  # one line, safe for anyone to read: what is wrong and what to do
    detail: str  # the underlying error, for admins and the log


class DatabaseProbe(Protocol):
    def problem(self) -> Problem | None:
        """None when the database answers and its schema is the one this code was built for."""


# With nfs = "off" Lockstep exports directories of the share host; the NFS server that serves them
# (kernel nfsd or NFS-Ganesha) is the host's, not a process Lockstep starts. `lockstep doctor` checks
# it is installed. With nfs = "ganesha" each share host's worker runs NFS-Ganesha (docs/exports.md).
NFS_SERVER = {"managed_by_lockstep": False,
              "note": "exports are served by the share host's NFS server; `lockstep doctor` checks it on each host"}
MANAGED_NFS_SERVER = {"managed_by_lockstep": True,
                      "note": "each share host's worker runs NFS-Ganesha; a pool's lockstep:nfs capability says "
                              "whether it can, or why not"}


class HealthService:
    def __init__(self, db: Database, probe: DatabaseProbe, service_down_time: float, *,
                 nfs_managed: bool = False) -> None:
        self.db = db
        self.probe = probe
        self.nfs_server = MANAGED_NFS_SERVER if nfs_managed else NFS_SERVER
        self.down_after = dt.timedelta(seconds=service_down_time)

    def problem(self) -> Problem | None:
        return self.probe.problem()

    def queue(self) -> list[QueueStat]:
        with self.db.read() as uow:
            return uow.operations.summary()

    def pools(self) -> list[tuple[PoolRecord, PoolUsage]]:
        """Each pool as its worker last reported it, with what the share records provision on it."""
        with self.db.read() as uow:
            pools = uow.pools.all()
            usage = uow.pools.usage(pools)
        return [(pool, usage.get(pool.name, PoolUsage())) for pool in pools]

    def detailed(self) -> dict[str, Any]:
        problem = self.problem()
        if problem is not None:
            return {"status": "unavailable", "reasons": [problem.summary], "detail": problem.detail}
        with self.db.read() as uow:
            now = uow.services.clock()
            pools = uow.pools.all()
            usage = uow.pools.usage(pools)
            services = uow.services.all()
            queue = uow.operations.summary()
        return {
            "status": "ok",
            "reasons": [],
            "pools": [{
                "name": pool.name,
                "report_age_seconds": _age(now, pool.updated_at),
                "total_capacity_gb": pool.total_capacity_gb,
                "free_capacity_gb": pool.free_capacity_gb,
                "provisioned_capacity_gb": usage.get(pool.name, PoolUsage()).provisioned_gb,
                "driver": pool.capabilities.get("lockstep:driver"),
                "atomic_cgsnapshot": pool.capabilities.get("lockstep:atomic_cgsnapshot"),
                "access_enforced": pool.capabilities.get("lockstep:access_enforced"),
            } for pool in pools],
            "workers": [{
                "host": service.host,
                "binary": service.binary,
                "state": str(service.state(now, self.down_after)),
                "disabled": service.disabled,
                "heartbeat_age_seconds": _age(now, service.updated_at),
            } for service in services],
            "operations": [{
                "kind": stat.kind, "state": stat.state, "count": stat.count,
                "oldest_age_seconds": _age(now, stat.oldest_created_at),
            } for stat in queue],
            "nfs_server": self.nfs_server,
        }


def _age(now: dt.datetime, moment: Any) -> float | None:
    if not isinstance(moment, dt.datetime):
        return None
    return round(max((now - moment.replace(tzinfo=None)).total_seconds(), 0.0), 3)
