"""What the worker tells the operator's metrics about its work (an interface; bootstrap picks the implementation).

The service layer names the events; `lockstep.observability.metrics` turns them into Prometheus series.
`NoTelemetry` is the default, so a worker built without metrics (a test's, a tool's) needs nothing.
"""

from __future__ import annotations

from typing import Protocol


class Telemetry(Protocol):
    def operation_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """One run of an operation ended: `succeeded`, `retried` (RetryLater or an error that will be
        retried), `failed` (gave up), `handed_off` (to another backend's worker), or `lost_lease` (taken over
        by another worker meanwhile: this one wrote nothing)."""
        ...

    def lease_taken_over(self, kind: str) -> None:
        """This worker claimed an operation whose previous owner stopped renewing its lease."""
        ...

    def cut(self, backend: str, method: str, seconds: float) -> None:
        """A cgsnapshot's driver call (the consistent cut) took `seconds`; `method` is its lockstep:consistency."""
        ...

    def restore(self, backend: str, method: str, seconds: float) -> None:
        """A group made from a cgsnapshot (its driver call) took `seconds`; `method` is the source's cut method."""
        ...


class NoTelemetry:
    def operation_finished(self, kind: str, outcome: str, seconds: float) -> None:
        pass

    def lease_taken_over(self, kind: str) -> None:
        pass

    def cut(self, backend: str, method: str, seconds: float) -> None:
        pass

    def restore(self, backend: str, method: str, seconds: float) -> None:
        pass
