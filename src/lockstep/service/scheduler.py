"""Placement: which pool a share or a consistency group lands on.

Pools are what the share-host workers report into the database (table `pools`), so any API
process or worker can place without talking to the others.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from lockstep.domain.errors import Invalid, NoValidHost
from lockstep.domain.group_types import CONSISTENT_SNAPSHOT_SPEC
from lockstep.domain.host_services import Binary, State
from lockstep.domain.hosts import backend_key
from lockstep.domain.model import (
    ATOMIC_CGSNAPSHOT_SPEC,
    BOOLEAN_SPECS,
    DHSS,
    SchedulerHints,
    ShareType,
    serves_protocol,
    spec_value_true,
)
from lockstep.domain.pools import Capacity, PoolRecord
from lockstep.service.host_services import DEFAULT_DOWN_AFTER
from lockstep.service.unit_of_work import UnitOfWork

_NOT_CAPABILITIES = {DHSS, ATOMIC_CGSNAPSHOT_SPEC, "replication_type"}


def matches_type(pool: PoolRecord, share_type: ShareType | None) -> bool:
    caps = pool.capabilities
    if share_type is None:
        return not caps.get(DHSS, False)
    if bool(caps.get(DHSS, False)) != share_type.dhss:
        return False
    for key, value in share_type.extra_specs.items():
        key = key.removeprefix("capabilities:")
        if key in _NOT_CAPABILITIES or key not in caps:
            continue
        reported = caps[key]
        if key in BOOLEAN_SPECS or isinstance(reported, bool):
            if spec_value_true(value) and not reported:
                return False
        elif str(reported) != value:
            return False
    return True


def _as_hinted(uow: UnitOfWork, pools: list[PoolRecord], hints: SchedulerHints) -> list[PoolRecord]:
    """The pools the scheduler hints allow (Manila's OnlyHost, Affinity and AntiAffinity filters:
    a pool is the `host@backend#pool` a share lives on)."""
    if hints.only_host is not None:
        pools = [p for p in pools if p.name == hints.only_host]
    named = uow.shares.get_many(list({*hints.same_host, *hints.different_host}))
    if hints.same_host:
        hosts = [named[i].host if i in named else None for i in hints.same_host]
        pools = [p for p in pools if all(host == p.name for host in hosts)]
    forbidden = {named[i].host for i in hints.different_host if i in named}
    pools = [p for p in pools if p.name not in forbidden]
    if not pools:
        raise NoValidHost("No valid host was found: no pool satisfies the share's scheduler hints.")
    return pools


class Scheduler:
    # The API's pre-checks may use pools read up to this long ago; placement itself always reads
    # the table afresh.
    CHECK_CACHE_SECONDS = 1.0

    def __init__(self, down_after: float = DEFAULT_DOWN_AFTER) -> None:
        """down_after: seconds without a heartbeat before a share host is down (service_down_time)."""
        self.down_after = dt.timedelta(seconds=down_after)
        self._cached: tuple[float, list[PoolRecord]] | None = None

    def _pools_for_check(self, uow: UnitOfWork) -> list[PoolRecord]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.CHECK_CACHE_SECONDS:
            self._cached = (now, self.live_pools(uow))
        return self._cached[1]

    def live_pools(self, uow: UnitOfWork) -> list[PoolRecord]:
        """Pools of the backends whose share host is alive (its manila-share service is up: a heartbeat
        within `down_after` by the database's clock, not stopped) and that an admin has not disabled.
        A host that is down takes no new work; what was placed on it waits for it (docs/architecture.md)."""
        alive = self.alive_backends(uow)
        return [p for p in uow.pools.all() if backend_key(p.name) in alive]

    def alive_backends(self, uow: UnitOfWork) -> set[str]:
        """The `host@backend` keys whose manila-share service is up and enabled."""
        now = uow.services.clock()
        return {s.host for s in uow.services.all()
                if s.binary == Binary.SHARE and not s.disabled and s.state(now, self.down_after) is State.UP}

    def group_pools(self, pools: Iterable[PoolRecord], share_types: list[ShareType], atomic: bool,
                    consistent: str | None = None) -> list[PoolRecord]:
        """Pools that can hold a group of these share types; `consistent`: the group type's
        consistent_snapshot_support, which the pool must report exactly (as Manila's filter)."""
        found = []
        for pool in pools:
            if pool.capabilities.get("consistency_group_support") not in ("pool", "host"):
                continue
            if atomic and not pool.capabilities.get(ATOMIC_CGSNAPSHOT_SPEC):
                continue
            if consistent is not None and pool.capabilities.get(CONSISTENT_SNAPSHOT_SPEC) != consistent:
                continue
            if all(matches_type(pool, st) for st in share_types):
                found.append(pool)
        return sorted(found, key=lambda p: -p.free_capacity_gb)

    def check_group_placeable(self, uow: UnitOfWork, share_types: list[ShareType], atomic: bool,
                              consistent: str | None = None) -> None:
        """Refuse at once, with a clear message, a group that needs snapshot guarantees no backend offers."""
        if not atomic and consistent is None:
            return
        if self.group_pools(self._pools_for_check(uow), share_types, atomic, consistent):
            return
        if consistent is not None:
            raise Invalid(f"Invalid input received: the share group type asks for {CONSISTENT_SNAPSHOT_SPEC} "
                          f"'{consistent}', and no backend that reports it serves these share types. Use a share "
                          "group type without that group spec, or one whose value a backend reports "
                          "(scheduler-stats/pools/detail).")
        raise Invalid("Invalid input received: this consistency group requires atomic cgsnapshots "
                      f"({ATOMIC_CGSNAPSHOT_SPEC}), and no backend that can cut them atomically serves its "
                      "share types. Use a share type without that requirement or add a btrfs or zfs backend.")

    def place_new_share(self, uow: UnitOfWork, size: int, share_type: ShareType | None, group_host: str | None, *,
                        hints: SchedulerHints | None = None, proto: str | None = None) -> str:
        """The pool a new share is recorded on, in the transaction that writes it (the record is its
        reservation); "" leaves placement to the worker: no pool reports yet (scale-out start-up), or
        no pool passes a filter other than capacity (the share then goes to error, as Manila's
        scheduler does). A share that no pool has room for is refused at once (Invalid: 400)."""
        uow.pools.lock_placement()
        pools = self.live_pools(uow)
        if not pools:
            return ""
        try:
            return self.place_share(uow, size, share_type, group_host, pools, hints=hints, proto=proto).name
        except NoCapacity as exc:
            raise Invalid(f"Invalid input received: {exc.message.removeprefix('No valid host was found: ')} "
                          "Ask for a smaller share or free space on the backend.") from None
        except NoValidHost:
            return ""

    def check_clones_fit(self, uow: UnitOfWork, host: str, sizes: list[int]) -> None:
        """Refuse at once clones (a share from a snapshot, a group restored from a cgsnapshot) that
        their pool cannot take, charged what they really cost there; a pool not reporting lets the
        worker and driver decide."""
        uow.pools.lock_placement()
        pool = next((p for p in self.live_pools(uow) if p.name == host), None)
        if pool is None:
            return
        capacity = Capacity(pool, uow.pools.usage([pool])[pool.name])
        total = sum(sizes)
        refusal = capacity.refusal(total, clone=True)
        if refusal is not None:
            what = ("the share from the snapshot needs" if len(sizes) == 1
                    else f"the {len(sizes)} shares restored from the cgsnapshot need")
            raise Invalid(f"Invalid input received: {what} {total} GiB on {host} "
                          f"(real cost {capacity.real_cost(total, clone=True)} GiB) and {refusal}. "
                          "Free space on the backend or delete shares on that pool.")

    def place_group(self, uow: UnitOfWork, share_types: list[ShareType], atomic: bool,
                    consistent: str | None = None) -> PoolRecord:
        pools = self.group_pools(self.live_pools(uow), share_types, atomic, consistent)
        if not pools:
            raise NoValidHost("No valid host was found: no backend with consistency_group_support"
                              + (" and atomic cgsnapshots" if atomic else "")
                              + (f" and {CONSISTENT_SNAPSHOT_SPEC} '{consistent}'" if consistent else "")
                              + " serves these share types.")
        return pools[0]

    def check_extend_fits(self, uow: UnitOfWork, host: str, increase: int) -> None:
        """Refuse at once an extend the share's pool has no room for (when it is reporting); an admin's
        forced extend (2.64) skips this, as Manila's skips its scheduler. Extends not yet settled count
        as provisioned (PoolRepository.usage), so two extends cannot both take the last space."""
        uow.pools.lock_placement()
        pool = next((p for p in self.live_pools(uow) if p.name == host), None)
        if pool is None:
            return
        refusal = Capacity(pool, uow.pools.usage([pool])[pool.name]).refusal(increase)
        if refusal is not None:
            raise Invalid(f"Invalid input received: extending the share needs {increase} GiB more on its pool "
                          f"{host}, and {refusal}.")

    def place_share(self, uow: UnitOfWork, size: int, share_type: ShareType | None,
                    group_host: str | None, pools: list[PoolRecord] | None = None, *,
                    hints: SchedulerHints | None = None, proto: str | None = None) -> PoolRecord:
        if pools is None:
            pools = self.live_pools(uow)
        if not pools:
            raise NoValidHost("No valid host was found: no backend is up and enabled to take new shares.")
        if hints:
            pools = _as_hinted(uow, pools, hints)
        if group_host is not None:
            group_pool = next((p for p in pools if p.name == group_host), None)
            level = group_pool.capabilities.get("consistency_group_support") if group_pool else None
            if level == "pool":
                pools = [p for p in pools if p.name == group_host]
            elif level == "host":
                pools = [p for p in pools if backend_key(p.name) == backend_key(group_host)]
            else:
                raise NoValidHost(f"No valid host was found: the group's pool {group_host} is not reporting or "
                                  "does not support consistency groups.")
        if proto is not None:
            # Manila's storage_protocol check: a CEPHFS share only where CephFS clients reach it, an NFS or
            # CIFS share never on a pool that serves CephFS only.
            pools = [p for p in pools if serves_protocol(p.capabilities.get("storage_protocol"), proto)]
            if not pools:
                raise NoValidHost(f"No valid host was found: no pool serves the {proto.upper()} protocol.")
        candidates = [p for p in pools if matches_type(p, share_type)]
        if not candidates:
            raise NoValidHost("No valid host was found: no pool matches the share type's extra specs.")
        usage = uow.pools.usage(candidates)
        capacities = [Capacity(p, usage[p.name]) for p in candidates]
        fitting = [c for c in capacities if c.fits(size)]
        if not fitting:
            best = max(capacities, key=lambda c: c.room_gb)
            raise NoCapacity(f"No valid host was found: the share needs {size} GiB and the largest free "
                             f"capacity of a matching pool is {best.room_gb:g} GiB "
                             f"({best.refusal(size)}).")
        # Most room first; between pools with equal room (two hosts' identical fresh pools, or a thin
        # pool's room that is its real free space), the one with less provisioned, so shares spread.
        return max(fitting, key=lambda c: (c.room_gb, -c.usage.provisioned_gb)).pool


class NoCapacity(NoValidHost):
    """No matching pool has room (the API refuses such a share at once)."""
