"""Recorded work: the kinds of operation, what each carries, and which statuses each settles.

An operation row is written in the same transaction as the status it will settle (the API's 202);
a worker claims it and moves the record from its in-progress status to success or failure. The
kind strings and payload keys are stored in the database, so they never change spelling.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, TypeVar, overload

from lockstep.domain.model import Status


class OperationKind(enum.StrEnum):
    CREATE_SHARE = "create_share"
    DELETE_SHARE = "delete_share"
    EXTEND_SHARE = "extend_share"
    SHRINK_SHARE = "shrink_share"
    CREATE_SNAPSHOT = "create_snapshot"
    DELETE_SNAPSHOT = "delete_snapshot"
    CREATE_GROUP = "create_group"
    DELETE_GROUP = "delete_group"
    CREATE_CGSNAPSHOT = "create_cgsnapshot"
    DELETE_CGSNAPSHOT = "delete_cgsnapshot"
    CREATE_GROUP_FROM_CGSNAPSHOT = "create_group_from_cgsnapshot"
    RECLAIM = "reclaim"
    # One per share: bring the backend to the share's whole rule set; it settles the rules' own
    # states (domain/access.py), not a record status, so it has no row in TRANSITIONS.
    UPDATE_ACCESS = "update_access"
    # One per snapshot or cgsnapshot member (2.32): the same, for its read-only export.
    UPDATE_SNAPSHOT_ACCESS = "update_snapshot_access"


class Entity(enum.StrEnum):
    """What an operation settles; the values are also the drivers' storage object kinds."""

    SHARE = "share"
    SNAPSHOT = "snapshot"
    GROUP = "group"
    CGSNAPSHOT = "cgsnapshot"


@dataclass(frozen=True)
class Transition:
    """The statuses one kind of operation moves its record through.

    `succeeded` is None for a deletion: success removes the record.
    """

    entity: Entity
    in_progress: Status
    succeeded: Status | None
    failed: Status

    @property
    def makes_storage(self) -> bool:
        """A create whose record vanished meanwhile leaves storage that nothing else will remove."""
        return self.in_progress is Status.CREATING


TRANSITIONS: Mapping[OperationKind, Transition] = {
    OperationKind.CREATE_SHARE: Transition(Entity.SHARE, Status.CREATING, Status.AVAILABLE, Status.ERROR),
    OperationKind.DELETE_SHARE: Transition(Entity.SHARE, Status.DELETING, None, Status.ERROR_DELETING),
    OperationKind.EXTEND_SHARE: Transition(Entity.SHARE, Status.EXTENDING, Status.AVAILABLE, Status.EXTENDING_ERROR),
    # A shrink the driver refused is one the user may retry (SHRINKABLE); Manila's shrinking_error
    # would need an admin's reset first.
    OperationKind.SHRINK_SHARE: Transition(Entity.SHARE, Status.SHRINKING, Status.AVAILABLE,
                                           Status.SHRINKING_POSSIBLE_DATA_LOSS_ERROR),
    OperationKind.CREATE_SNAPSHOT: Transition(Entity.SNAPSHOT, Status.CREATING, Status.AVAILABLE, Status.ERROR),
    OperationKind.DELETE_SNAPSHOT: Transition(Entity.SNAPSHOT, Status.DELETING, None, Status.ERROR_DELETING),
    OperationKind.CREATE_GROUP: Transition(Entity.GROUP, Status.CREATING, Status.AVAILABLE, Status.ERROR),
    OperationKind.DELETE_GROUP: Transition(Entity.GROUP, Status.DELETING, None, Status.ERROR),
    OperationKind.CREATE_CGSNAPSHOT: Transition(Entity.CGSNAPSHOT, Status.CREATING, Status.AVAILABLE, Status.ERROR),
    OperationKind.DELETE_CGSNAPSHOT: Transition(Entity.CGSNAPSHOT, Status.DELETING, None, Status.ERROR),
    OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT: Transition(Entity.GROUP, Status.CREATING, Status.AVAILABLE,
                                                           Status.ERROR),
}


#: Kinds that settle no record's status (they have no row in TRANSITIONS).
WITHOUT_TRANSITION = frozenset({OperationKind.RECLAIM, OperationKind.UPDATE_ACCESS,
                                OperationKind.UPDATE_SNAPSHOT_ACCESS})


# Payloads: what a kind needs besides its target. Field names are the stored JSON keys; `load`
# reads rows written by any earlier version.

@dataclass(frozen=True)
class Deletion:
    """delete_share, delete_snapshot: `force` drops the record even if the driver fails."""

    force: bool = False

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Deletion:
        return cls(force=bool(data.get("force")))


@dataclass(frozen=True)
class Resize:
    """extend_share, shrink_share."""

    new_size: int  # GiB

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Resize:
        return cls(new_size=int(data["new_size"]))


@dataclass(frozen=True)
class GroupPlacement:
    """create_group: whether the pool must cut cgsnapshots atomically, and the consistent_snapshot_support
    ("pool", "host") the group type asks its pool to report (None: any)."""

    atomic: bool = False
    consistent: str | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> GroupPlacement:
        consistent = data.get("consistent")
        return cls(atomic=bool(data.get("atomic")), consistent=str(consistent) if consistent else None)


@dataclass(frozen=True)
class Reclaim:
    """reclaim: which kind of storage object the target id names."""

    object_kind: Entity

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> Reclaim:
        return cls(object_kind=Entity(data["object_kind"]))


Payload = Deletion | Resize | GroupPlacement | Reclaim
P = TypeVar("P", Deletion, Resize, GroupPlacement, Reclaim)

PAYLOAD_TYPES: Mapping[OperationKind, type[Payload]] = {
    OperationKind.DELETE_SHARE: Deletion,
    OperationKind.DELETE_SNAPSHOT: Deletion,
    OperationKind.EXTEND_SHARE: Resize,
    OperationKind.SHRINK_SHARE: Resize,
    OperationKind.CREATE_GROUP: GroupPlacement,
    OperationKind.RECLAIM: Reclaim,
}


def dump_payload(payload: Payload | None) -> dict[str, Any]:
    return {} if payload is None else asdict(payload)


def load_payload(kind: OperationKind, data: Mapping[str, Any]) -> Payload | None:
    payload_type = PAYLOAD_TYPES.get(kind)
    return None if payload_type is None else payload_type.load(data)


@dataclass(frozen=True)
class Operation:
    id: int
    kind: OperationKind
    target_id: str
    backend: str | None
    attempts: int
    payload: Payload | None = None
    request_id: str | None = None  # the API request that asked for it (None for the worker's own work)
    taken_over: bool = False  # claimed after its previous owner's lease ran out
    epoch: int = 0  # which claim of the row this is: the owner's writes are conditioned on it (fencing)
    previous_owner: str | None = None  # whose lease ran out, when taken over

    def payload_as(self, payload_type: type[P]) -> P:
        if not isinstance(self.payload, payload_type):
            raise TypeError(f"operation {self.id} ({self.kind}) carries {self.payload!r}, "
                            f"not a {payload_type.__name__}")
        return self.payload


@dataclass(frozen=True)
class QueueStat:
    """How many operations of a kind are in a state, and since when the oldest of them was recorded."""

    kind: str
    state: str  # pending | running | failed
    count: int
    oldest_created_at: Any  # datetime (naive UTC, as stored)


_Deletes = Literal[OperationKind.DELETE_SHARE, OperationKind.DELETE_SNAPSHOT]
_Resizes = Literal[OperationKind.EXTEND_SHARE, OperationKind.SHRINK_SHARE]
_Bare = Literal[OperationKind.CREATE_SHARE, OperationKind.CREATE_SNAPSHOT, OperationKind.DELETE_GROUP,
                OperationKind.CREATE_CGSNAPSHOT, OperationKind.DELETE_CGSNAPSHOT,
                OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT, OperationKind.UPDATE_ACCESS,
                OperationKind.UPDATE_SNAPSHOT_ACCESS]


class Enqueue(Protocol):
    """Records work to do. The overloads tie each kind to its payload (as PAYLOAD_TYPES does for
    reading), so mypy rejects a misspelt kind or a payload of the wrong type; a queue implements
    only `record`."""

    @overload
    def enqueue(self, kind: _Bare, target_id: str, *, backend: str | None) -> None: ...
    @overload
    def enqueue(self, kind: _Deletes, target_id: str, *, backend: str | None, payload: Deletion) -> None: ...
    @overload
    def enqueue(self, kind: _Resizes, target_id: str, *, backend: str | None, payload: Resize) -> None: ...
    @overload
    def enqueue(self, kind: Literal[OperationKind.CREATE_GROUP], target_id: str, *, backend: str | None,
                payload: GroupPlacement) -> None: ...
    @overload
    def enqueue(self, kind: Literal[OperationKind.RECLAIM], target_id: str, *, backend: str | None,
                payload: Reclaim) -> None: ...

    def enqueue(self, kind: OperationKind, target_id: str, *, backend: str | None,
                payload: Payload | None = None) -> None:
        self.record(kind, target_id, backend=backend, payload=payload)

    def record(self, kind: OperationKind, target_id: str, *, backend: str | None, payload: Payload | None) -> None:
        """Write one pending operation (unchecked: callers go through `enqueue`)."""
