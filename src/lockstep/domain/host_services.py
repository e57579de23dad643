"""Lockstep's own processes as Manila's `/services` lists them.

Every worker owns some backends (`host@backend`) and places unplaced work: for each backend it is a
`manila-share` service, and for its host a `manila-scheduler`. The worker writes a heartbeat for
each with every pool report; a service whose heartbeat is older than the configured age is `down`,
one whose worker stopped cleanly is `stopped`. Lockstep has no data service (migration, backups) and,
like Manila, does not list its API processes.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class Binary(enum.StrEnum):
    SHARE = "manila-share"
    SCHEDULER = "manila-scheduler"


class State(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    STOPPED = "stopped"


@dataclass(frozen=True)
class HostService:
    id: int
    host: str  # host@backend for manila-share, host for manila-scheduler
    binary: str
    availability_zone: str
    disabled: bool
    disabled_reason: str | None
    stopped: bool  # its worker stopped cleanly
    updated_at: dt.datetime  # the last heartbeat

    def state(self, now: dt.datetime, down_after: dt.timedelta) -> State:
        if self.stopped:
            return State.STOPPED
        return State.UP if now - self.updated_at <= down_after else State.DOWN


@dataclass(frozen=True)
class ServiceQuery:
    """Exact filters of a services list (None: not filtered); `matches_nothing`: a value no service has."""

    host: str | None = None
    binary: str | None = None
    zone: str | None = None
    state: str | None = None
    disabled: bool | None = None
    matches_nothing: bool = False

    def matches(self, service: HostService, state: State) -> bool:
        pairs = ((self.host, service.host), (self.binary, service.binary), (self.zone, service.availability_zone),
                 (self.state, str(state)), (self.disabled, service.disabled))
        return not self.matches_nothing and all(want is None or want == have for want, have in pairs)
