"""A pool as its backend last reported it (table `pools`), and Manila's capacity model over it.

What a backend reports is what its filesystem says: `total_capacity_gb` and `free_capacity_gb`
(real free bytes when it measured), whether it is thin provisioned, and the operator's
`max_over_subscription_ratio` and `reserved_percentage`. What is promised on a pool is counted
from the records (`PoolUsage`), never kept as a running figure that a report could reset.

The placement rule (Manila's capacity filter, with real-cost charging):

- thin pools: provisioned + requested <= total * max_over_subscription_ratio; and what the
  request costs on the backend right away must fit in the free space left after the reserve.
  A new share on a thin pool costs nothing until written, but a share larger than the real free
  space is refused (the drivers refuse it too: its quota could never be filled). A copy-on-write
  clone (share from snapshot, group restore on btrfs or zfs) costs nothing; a full copy (posix)
  costs its size.
- thick pools: provisioned + requested <= total - reserve, and requested <= free - reserve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

THIN = "thin_provisioning"
RATIO = "max_over_subscription_ratio"
RESERVED = "reserved_percentage"
COW_CLONES = "lockstep:copy_on_write_clones"


@dataclass(frozen=True)
class Overcommit:
    """The operator's capacity settings for the pools a worker reports (config: the same names).
    Defaults suit copy-on-write pools: thin, as Manila's LVM/ZFS drivers run them, with a small
    reserve so that a full pool still has room for metadata (btrfs needs it to delete)."""

    max_over_subscription_ratio: float = 20.0
    reserved_percentage: float = 5.0


@dataclass(frozen=True)
class PoolRecord:
    name: str
    host: str
    backend: str
    pool: str
    capabilities: dict[str, Any]
    total_capacity_gb: float
    free_capacity_gb: float
    updated_at: Any

    @property
    def thin(self) -> bool:
        return bool(self.capabilities.get(THIN, False))

    @property
    def ratio(self) -> float:
        return float(self.capabilities.get(RATIO, 1.0))

    @property
    def reserved_gb(self) -> float:
        return self.total_capacity_gb * float(self.capabilities.get(RESERVED, 0)) / 100.0

    @property
    def cow_clones(self) -> bool:
        return bool(self.capabilities.get(COW_CLONES, False))


@dataclass(frozen=True)
class PoolUsage:
    """Counted from the records of one pool."""

    provisioned_gb: int = 0  # the sizes of every share placed on the pool
    # Real space promised to full copies the last report could not have seen yet (still creating,
    # or settled after the report measured): the filesystem's free figure does not include them.
    pending_gb: int = 0


@dataclass(frozen=True)
class Capacity:
    """One pool's figures as the scheduler and /scheduler-stats see them."""

    pool: PoolRecord
    usage: PoolUsage

    @property
    def free_gb(self) -> float:
        """Free space now: what the filesystem reported, less what copies since have promised;
        on a thick pool also no more than what the records leave. Never negative."""
        free = self.pool.free_capacity_gb - self.usage.pending_gb
        if not self.pool.thin:
            free = min(free, self.pool.total_capacity_gb - self.usage.provisioned_gb)
        return round(max(free, 0.0), 3)

    @property
    def usable_gb(self) -> float:
        """Free space beyond the reserve."""
        return max(self.free_gb - self.pool.reserved_gb, 0.0)

    @property
    def virtual_free_gb(self) -> float:
        """How much more may be provisioned: total * ratio on a thin pool, total - reserve on a thick one."""
        if self.pool.thin:
            limit = self.pool.total_capacity_gb * max(self.pool.ratio, 1.0)
        else:
            limit = self.pool.total_capacity_gb - self.pool.reserved_gb
        return max(limit - self.usage.provisioned_gb, 0.0)

    def real_cost(self, size: int, *, clone: bool) -> int:
        """What a new share costs on the backend right away."""
        if not self.pool.thin:
            return size
        if clone:
            return 0 if self.pool.cow_clones else size
        return 0

    def refusal(self, size: int, *, clone: bool = False) -> str | None:
        """Why `size` GiB more do not fit (None when they do)."""
        if size > self.virtual_free_gb:
            if self.pool.thin:
                return (f"{self.pool.name} has {self.usage.provisioned_gb} GiB provisioned of "
                        f"{_gb(self.pool.total_capacity_gb * self.pool.ratio)} GiB it may provision "
                        f"(total {_gb(self.pool.total_capacity_gb)} GiB x max_over_subscription_ratio "
                        f"{self.pool.ratio:g})")
            return f"{self.pool.name} has {_gb(self.virtual_free_gb)} GiB left to provision"
        needed = size if not clone else self.real_cost(size, clone=True)
        if needed > self.usable_gb:
            return (f"{self.pool.name} has {_gb(self.usable_gb)} GiB free beyond its "
                    f"{self.capabilities_reserved():g}% reserve")
        return None

    def capabilities_reserved(self) -> float:
        return float(self.pool.capabilities.get(RESERVED, 0))

    def fits(self, size: int, *, clone: bool = False) -> bool:
        return self.refusal(size, clone=clone) is None

    @property
    def room_gb(self) -> float:
        """The largest new (non-clone) share that fits now: the free capacity the scheduler ranks by."""
        return math.floor(min(self.virtual_free_gb, self.usable_gb) * 1000) / 1000


def _gb(value: float) -> str:
    return f"{math.floor(value * 1000) / 1000:g}"
