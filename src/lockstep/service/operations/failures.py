"""What a project is told when its asynchronous work fails: one user message (`/messages`) for each
record that went to an error status, naming the object, what was tried, why it failed and what to
do next. A driver's own error text (commands, paths) stays in the worker's log: it is for operators.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lockstep.domain.access import AccessRule, SnapshotAccessRule
from lockstep.domain.messages import LEVEL_ERROR, Action, Detail, Message, ResourceType
from lockstep.domain.model import utcnow
from lockstep.domain.operations import TRANSITIONS, Entity, OperationKind
from lockstep.service.storage import DriverError, ShareDoesNotFit
from lockstep.service.unit_of_work import UnitOfWork
from lockstep.service.validation import new_id

DEFAULT_TTL = 30 * 24 * 3600.0  # seconds a message is kept (Manila's message_ttl)

NOUNS: Mapping[Entity, str] = {Entity.SHARE: "share", Entity.SNAPSHOT: "snapshot", Entity.GROUP: "share group",
                               Entity.CGSNAPSHOT: "share group snapshot"}
RESOURCE_TYPES: Mapping[Entity, ResourceType] = {
    Entity.SHARE: ResourceType.SHARE, Entity.SNAPSHOT: ResourceType.SHARE_SNAPSHOT,
    Entity.GROUP: ResourceType.SHARE_GROUP, Entity.CGSNAPSHOT: ResourceType.SHARE_GROUP_SNAPSHOT,
}
ACTIONS: Mapping[OperationKind, Action] = {
    OperationKind.CREATE_SHARE: Action.CREATE, OperationKind.DELETE_SHARE: Action.DELETE,
    OperationKind.EXTEND_SHARE: Action.EXTEND, OperationKind.SHRINK_SHARE: Action.SHRINK,
    OperationKind.CREATE_SNAPSHOT: Action.CREATE, OperationKind.DELETE_SNAPSHOT: Action.DELETE,
    OperationKind.CREATE_GROUP: Action.CREATE, OperationKind.DELETE_GROUP: Action.DELETE,
    OperationKind.CREATE_CGSNAPSHOT: Action.CREATE, OperationKind.DELETE_CGSNAPSHOT: Action.DELETE,
    OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT: Action.CREATE,
}
_RETRY = ("Delete it and create it again; if that fails too, ask an administrator, who can find the backend's "
          "error in the worker's log.")
_ADVICE: Mapping[OperationKind, str] = {
    OperationKind.DELETE_SHARE: ("It still exists on the backend. An administrator can reset its status to 'error' "
                                 "and delete it again, or force-delete it."),
    OperationKind.DELETE_SNAPSHOT: ("It still exists on the backend. An administrator can reset its status to "
                                    "'error' and delete it again, or force-delete it."),
    OperationKind.DELETE_GROUP: "Delete it again; if that fails too, an administrator can force-delete it.",
    OperationKind.DELETE_CGSNAPSHOT: "Delete it again; if that fails too, an administrator can force-delete it.",
    OperationKind.EXTEND_SHARE: ("It keeps its former size. An administrator must reset its status to 'available' "
                                 "before it can be extended again."),
    OperationKind.SHRINK_SHARE: ("It keeps its former size; most likely its data does not fit in the size asked "
                                 "for. Shrink it again to a size that holds its data."),
    OperationKind.CREATE_GROUP_FROM_CGSNAPSHOT: ("Its new shares are in status 'error' too: delete them (naming "
                                                 "the group), then the group, and create it again."),
}
_DETAILS: Mapping[OperationKind, Detail] = {OperationKind.EXTEND_SHARE: Detail.DRIVER_FAILED_EXTEND,
                                            OperationKind.SHRINK_SHARE: Detail.DRIVER_REFUSED_SHRINK}


@dataclass(frozen=True)
class Failure:
    """Why a record went to its error status, in words for its project."""

    words: str
    detail: Detail = Detail.UNKNOWN_ERROR
    action: Action | None = None  # None: the operation kind's action


def action_of(kind: OperationKind) -> Action:
    """The message action of an operation kind (a kind added later gets the nearest by its name)."""
    if kind in ACTIONS:
        return ACTIONS[kind]
    return Action.CREATE if kind.startswith("create") else Action.DELETE if kind.startswith("delete") \
        else Action.UPDATE


def noun(entity: Entity) -> str:
    return NOUNS.get(entity, str(entity).replace("_", " "))


def resource_type(entity: Entity) -> str:
    return str(RESOURCE_TYPES.get(entity, str(entity).upper()))


def _verb(kind: OperationKind) -> str:
    return "take" if kind is OperationKind.CREATE_CGSNAPSHOT else action_of(kind).words


def _subject(kind: OperationKind, target_id: str) -> str:
    return f"{noun(TRANSITIONS[kind].entity)} {target_id}"


def driver_failed(kind: OperationKind, target_id: str, error: DriverError, *, change: str = "") -> Failure:
    """`change`: what was asked of the object, after its name (a resize's "from 1 GiB to 2 GiB")."""
    failed = TRANSITIONS[kind].failed
    if isinstance(error, ShareDoesNotFit):
        return Failure(f"Share {target_id} did not fit in the free capacity of the pool it was placed on; it is in "
                       f"status '{failed}'. Create it again with a smaller size, or ask an administrator to free "
                       "space on the backend.", Detail.FILTER_CAPACITY)
    return Failure(f"The storage backend failed to {_verb(kind)} {_subject(kind, target_id)}{change}; it is in status "
                   f"'{failed}'. {_ADVICE.get(kind, _RETRY)}", _DETAILS.get(kind, Detail.UNKNOWN_ERROR))


def share_from_snapshot_failed(share_id: str, snapshot_id: str) -> Failure:
    return Failure(f"The storage backend failed to create share {share_id} from snapshot {snapshot_id}; it is in "
                   f"status 'error'. {_RETRY}", Detail.DRIVER_FAILED_CREATING_FROM_SNAP)


def no_valid_host(entity: Entity, target_id: str, reason: str) -> Failure:
    if entity is Entity.SHARE:
        advice = ("Create it again with a different size or share type, or ask an administrator to add capacity "
                  "or a backend that suits the type.")
    else:
        advice = ("Create it again with other share types, or ask an administrator to add a backend that supports "
                  "share groups of these types.")
    reason = reason.removeprefix("No valid host was found: ")
    return Failure(f"No storage could be allocated for {noun(entity)} {target_id}: {reason} It is in status "
                   f"'error'. {advice}", Detail.NO_VALID_HOST, Action.ALLOCATE_HOST)


def gave_up(kind: OperationKind, target_id: str, attempts: int) -> Failure:
    tries = "1 failed attempt" if attempts == 1 else f"{attempts} failed attempts"
    return Failure(f"Lockstep could not {_verb(kind)} {_subject(kind, target_id)}: the operation was abandoned "
                   f"after {tries}; the {noun(TRANSITIONS[kind].entity)} is in status '{TRANSITIONS[kind].failed}'. "
                   "Ask an administrator, who can find the errors in the worker's log.")


def stranded(kind: OperationKind, target_id: str) -> Failure:
    transition = TRANSITIONS[kind]
    return Failure(f"{noun(transition.entity).capitalize()} {target_id} was left in status "
                   f"'{transition.in_progress}' with no work recorded to finish it (lost, or an administrator "
                   f"set that status); it is in status '{transition.failed}'. {_ADVICE.get(kind, _RETRY)}")


def unexplained(kind: OperationKind, target_id: str) -> Failure:
    return Failure(f"Lockstep could not {_verb(kind)} {_subject(kind, target_id)}; it is in status "
                   f"'{TRANSITIONS[kind].failed}'. Ask an administrator, who can find the cause in the worker's "
                   "log.")


def clone_failed(share_id: str, group_id: str, source_id: str | None, *, group_failed: bool) -> Failure:
    why = ("the group's creation failed" if group_failed
           else "the storage backend did not make this share")
    return Failure(f"Share {share_id} was to be created in share group {group_id} from share group snapshot "
                   f"{source_id}, and {why}; it is in status 'error'. Delete it (naming its group) and create the "
                   "group again.")


def clone_abandoned(share_id: str, group_id: str) -> Failure:
    return Failure(f"Share {share_id} was to be created in share group {group_id} from a share group snapshot, "
                   "but the group was deleted before it was made; it is in status 'error'. Delete it (an "
                   "administrator can force-delete it).")


def _rules(rules: Sequence[AccessRule] | Sequence[SnapshotAccessRule]) -> str:
    return ", ".join(f"{rule.id} ({rule.access_type} {rule.access_to})" for rule in rules)


def access_refused(share_id: str, rules: Sequence[AccessRule]) -> Failure:
    """The backend answered, and refused some rules (an address it cannot serve, a bad name)."""
    one = len(rules) == 1
    return Failure(f"The storage backend refused access {'rule' if one else 'rules'} {_rules(rules)} of share "
                   f"{share_id}; {'it is' if one else 'they are'} in state 'error' and not enforced. Check the access "
                   "type and target, then deny the rule and allow it again; if it is refused again, ask an "
                   "administrator, who can find the backend's reason in the worker's log.",
                   action=Action.UPDATE_ACCESS_RULES)


def access_failed(share_id: str, rules: Sequence[AccessRule], *, gave_up: bool = False) -> Failure:
    """The backend could not be brought to the share's rule set at all (or the worker gave up)."""
    how = ("Lockstep gave up updating the access rules of share" if gave_up
           else "The storage backend failed to update the access rules of share")
    return Failure(f"{how} {share_id}; access rules {_rules(rules)} are in state 'error'. Deny them and allow "
                   "them again; if that fails too, ask an administrator, who can find the cause in the worker's "
                   "log.", action=Action.UPDATE_ACCESS_RULES)


def unplaced_access(share_id: str, rules: Sequence[AccessRule]) -> Failure:
    return Failure(f"Share {share_id} is on no storage backend (it was never created), so access rules "
                   f"{_rules(rules)} cannot be applied; they are in state 'error'. Delete the share.",
                   action=Action.UPDATE_ACCESS_RULES)


def snapshot_access_failed(what: str, rules: Sequence[SnapshotAccessRule], *, refused: bool = False,
                           gave_up: bool = False) -> Failure:
    """A snapshot's or cgsnapshot member's read-only export could not carry some rules (or none at all)."""
    if refused:
        how = f"The NFS server refused access rules {_rules(rules)} of {what}"
    elif gave_up:
        how = f"Lockstep gave up updating the access rules of {what}; rules {_rules(rules)}"
    else:
        how = f"The NFS server failed to update the access rules of {what}; rules {_rules(rules)}"
    return Failure(f"{how} are in state 'error'. Deny them and allow 'ip' rules again; if that fails too, ask an "
                   "administrator, who can find the cause in the worker's log.", action=Action.UPDATE_ACCESS_RULES)


def record(uow: UnitOfWork, *, project_id: str, entity: Entity, target_id: str, action: Action,
           failure: Failure, request_id: str | None, ttl: float = DEFAULT_TTL) -> None:
    now = utcnow()
    action = failure.action or action
    uow.messages.add(Message(
        id=new_id(), project_id=project_id, request_id=request_id, resource_type=resource_type(entity),
        resource_id=target_id, action_id=action.id, detail_id=str(failure.detail), message_level=LEVEL_ERROR,
        user_message=f"{action.words}: {failure.words}", created_at=now,
        expires_at=now + dt.timedelta(seconds=ttl)))
