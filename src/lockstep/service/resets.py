"""An administrator's `reset_status` that never strands recorded work.

The worker settles a record only while it is in its operation's in-progress status
(`operations/settle.in_progress`); a reset that moved a record away from it while the operation
was still recorded would leave that operation with nothing to do: a creating snapshot reset to
`available` would stay `available` with no storage behind it. So a reset is refused (409, naming
the operation) while the record is in the in-progress status of an operation that is pending or
running on it; the administrator waits for it, or force-deletes the object. A reset with nothing
in flight is a compare-and-set on the status it read, so work recorded concurrently is never
overwritten either.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from lockstep.domain.errors import Conflict
from lockstep.domain.model import Status
from lockstep.domain.operations import TRANSITIONS, Entity, OperationKind
from lockstep.service.operations.failures import noun
from lockstep.service.unit_of_work import UnitOfWork


class _Records(Protocol):
    def cas(self, row_id: str, expected: Iterable[str] | None, **values: Any) -> bool: ...


def _settling(entity: Entity) -> frozenset[OperationKind]:
    return frozenset(kind for kind, transition in TRANSITIONS.items() if transition.entity is entity)


def reset_status(uow: UnitOfWork, records: _Records, entity: Entity, target_id: str, current: str,
                 new_status: Status, *, restored_into: str | None = None) -> None:
    """Move the record from `current` (the status just read) to `new_status`, or raise Conflict.

    `restored_into`: the group whose restore from a cgsnapshot creates this share (its operation
    targets the group but settles the share too).
    """
    targets = [target_id] if restored_into is None else [target_id, restored_into]
    kinds = _settling(entity)
    for op_id, kind, op_target in uow.operations.unfinished(targets):
        settles = (op_target == target_id and kind in kinds) or kind is OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT
        # An operation whose record has left its in-progress status has nothing left to do (its row goes
        # in the next transaction): a reset right after a client saw the final status is no conflict.
        if settles and current == TRANSITIONS[kind].in_progress:
            what = noun(entity)
            raise Conflict(f"{what.capitalize()} {target_id} cannot be reset while operation {op_id} ({kind}) is in "
                           f"flight: it will settle the status itself. Wait for it to finish, or force-delete the "
                           f"{what}.")
    if not records.cas(target_id, [current], status=new_status):
        raise Conflict(f"{noun(entity).capitalize()} {target_id} changed status while it was being reset; show it, "
                       "and reset it again if that is still needed.")
