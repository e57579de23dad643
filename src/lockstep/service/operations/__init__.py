"""What the worker does for each kind of operation: call a driver, write what it returned.

`HANDLERS` maps every `OperationKind` to its handler; the statuses each kind moves through are
`lockstep.domain.operations.TRANSITIONS`; `settle` is the step most handlers share.
"""

from __future__ import annotations

from collections.abc import Mapping

from lockstep.domain.operations import TRANSITIONS, WITHOUT_TRANSITION, OperationKind
from lockstep.service.operations import (
    access,
    cgsnapshots,
    groups,
    housekeeping,
    shares,
    snapshot_access,
    snapshots,
)
from lockstep.service.operations.housekeeping import fail_stranded, give_up, sweep
from lockstep.service.operations.settle import Context, Handler, Handoff, RetryLater

HANDLERS: Mapping[OperationKind, Handler] = {
    OperationKind.CREATE_SHARE: shares.create_share,
    OperationKind.DELETE_SHARE: shares.delete_share,
    OperationKind.EXTEND_SHARE: shares.resize_share,
    OperationKind.SHRINK_SHARE: shares.resize_share,
    OperationKind.CREATE_SNAPSHOT: snapshots.create_snapshot,
    OperationKind.DELETE_SNAPSHOT: snapshots.delete_snapshot,
    OperationKind.CREATE_GROUP: groups.create_group,
    OperationKind.DELETE_GROUP: groups.delete_group,
    OperationKind.CREATE_CGSNAPSHOT: cgsnapshots.create_cgsnapshot,
    OperationKind.DELETE_CGSNAPSHOT: cgsnapshots.delete_cgsnapshot,
    OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT: groups.create_group_from_cgsnapshot,
    OperationKind.RECLAIM: housekeeping.reclaim,
    OperationKind.UPDATE_ACCESS: access.update_access,
    OperationKind.UPDATE_SNAPSHOT_ACCESS: snapshot_access.update_snapshot_access,
}

# A kind added without a handler (or, settling a record, without its statuses) would fail only
# when the first such row is claimed; fail at start instead.
if missing := (set(OperationKind) - set(HANDLERS)) | (set(OperationKind) - WITHOUT_TRANSITION - set(TRANSITIONS)):
    raise RuntimeError(f"operation kinds without a handler or transition: {sorted(missing)}")

__all__ = ["HANDLERS", "Context", "Handler", "Handoff", "RetryLater", "fail_stranded", "give_up", "sweep"]
