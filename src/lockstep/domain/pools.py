"""A pool as its backend last reported it (table `pools`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PoolRecord:
    name: str
    host: str
    backend: str
    pool: str
    capabilities: dict[str, Any]
    total_capacity_gb: float
    free_capacity_gb: float
    allocated_gb: float
    updated_at: Any
