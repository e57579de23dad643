"""Share group types (2.31+): what a share group may hold and what its backend must guarantee."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: The group spec that placement honours: a group of the type lands only on a backend that reports
#: the same `consistent_snapshot_support` ("pool" or "host"); unset, any backend will do.
CONSISTENT_SNAPSHOT_SPEC = "consistent_snapshot_support"


@dataclass
class ShareGroupType:
    id: str
    name: str
    is_public: bool
    group_specs: dict[str, str] = field(default_factory=dict)
    share_types: list[str] = field(default_factory=list)  # share type ids
    created_at: dt.datetime | None = None

    @property
    def consistent_snapshot_support(self) -> str | None:
        return self.group_specs.get(CONSISTENT_SNAPSHOT_SPEC)
