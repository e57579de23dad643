"""`/services`: Lockstep's workers as Manila's manila-share and manila-scheduler services (admin).

Disabling a manila-share service takes its backend out of placement (its pools are no longer
offered, as a disabled share service's are not in Manila); work already placed there still runs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lockstep.domain.errors import Invalid, NotFound
from lockstep.domain.host_services import Binary, HostService, ServiceQuery, State
from lockstep.service.commands import ChangeService
from lockstep.service.unit_of_work import Database

DEFAULT_DOWN_AFTER = 60.0  # seconds without a heartbeat before a service is down (Manila's service_down_time)


@dataclass(frozen=True)
class ServiceStatus:
    service: HostService
    state: State


class HostServiceRegistry:
    def __init__(self, db: Database, down_after: float = DEFAULT_DOWN_AFTER) -> None:
        self.db = db
        self.down_after = dt.timedelta(seconds=down_after)

    def list_all(self, query: ServiceQuery) -> list[ServiceStatus]:
        with self.db.read() as uow:
            services = uow.services.all()
            now = uow.services.clock()
        found = [ServiceStatus(s, s.state(now, self.down_after)) for s in services]
        return [f for f in found if query.matches(f.service, f.state)]

    def change(self, cmd: ChangeService) -> HostService:
        with self.db.write() as uow:
            service = uow.services.get(cmd.host, cmd.binary)
            if service is None:
                raise NotFound(f"HostBinaryNotFound: Could not find binary {cmd.binary} on host {cmd.host}.")
            if cmd.disabled and service.binary == Binary.SCHEDULER:
                raise Invalid("Invalid input received: Lockstep places work in every worker, so its "
                              "manila-scheduler cannot be disabled on its own; disable the manila-share services "
                              "of the backends that should take no new work instead.")
            uow.services.set_disabled(service.id, cmd.disabled, cmd.reason if cmd.disabled else None)
            changed = uow.services.get(cmd.host, cmd.binary)
            uow.commit()
        assert changed is not None
        return changed
