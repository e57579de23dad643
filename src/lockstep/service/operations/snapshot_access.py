"""Settling snapshot access rules (2.32): one `update_snapshot_access` per snapshot or cgsnapshot member
brings its read-only NFS export to its whole rule set, in the three steps of `update_access`
(service/operations/access.py): take the queued rules in flight, drive with no transaction open, record
each rule's result with a compare-and-set on the state it was taken in.

Without an NFS server (`nfs = "off"`) the rules are records only, as share rules are there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lockstep.domain.access import ENFORCED, IN_FLIGHT, PENDING, TAKEN, AccessState, SnapshotAccessRule
from lockstep.domain.messages import Action
from lockstep.domain.operations import Entity, Operation
from lockstep.service.operations import failures
from lockstep.service.operations.settle import Context
from lockstep.service.storage import AccessResult, DriverError
from lockstep.service.unit_of_work import UnitOfWork

log = logging.getLogger("lockstep.worker")

_NO_RESULT = AccessResult(applied=False, reason="the NFS server returned no result for this rule")


@dataclass(frozen=True)
class Target:
    """A snapshot or cgsnapshot member, as much as settling its rules needs."""

    id: str
    project_id: str
    host: str | None  # its share's
    entity: Entity  # what a user message is about: the snapshot, or the member's cgsnapshot
    entity_id: str
    label: str


def resolve(uow: UnitOfWork, target_id: str) -> Target | None:
    snapshot = uow.snapshots.get(target_id)
    if snapshot is not None:
        share = uow.shares.get(snapshot.share_id)
        return Target(snapshot.id, snapshot.project_id, share.host if share else None, Entity.SNAPSHOT,
                      snapshot.id, f"snapshot {snapshot.id}")
    member = uow.cgsnapshots.member(target_id)
    if member is not None:
        share = uow.shares.get(member.share_id)
        return Target(member.id, member.project_id, share.host if share else None, Entity.CGSNAPSHOT,
                      member.cgsnapshot_id, f"member {member.id} of cgsnapshot {member.cgsnapshot_id}")
    return None


def update_snapshot_access(ctx: Context, op: Operation) -> None:
    taken = _take(ctx, op)
    if taken is None:
        return
    target, rules = taken
    desired = [rule for rule in rules if rule.state in ENFORCED]
    try:
        results: Mapping[str, AccessResult] = (
            {rule.id: AccessResult(applied=True) for rule in desired} if ctx.nfs is None
            else ctx.nfs.enforce_snapshot(list(ctx.drivers), target.id, desired))
    except DriverError as exc:
        log.warning("%s: update_snapshot_access failed: %s", target.label, exc)
        with ctx.db.write() as uow:
            failed = [rule for rule in rules if rule.state in IN_FLIGHT
                      and uow.snapshot_access.cas(rule.id, [rule.state], state=AccessState.ERROR)]
            _tell(ctx, uow, op, target, failed, refused=False)
            uow.commit()
        return
    with ctx.db.write() as uow:
        refused = _record(uow, target, rules, results)
        _tell(ctx, uow, op, target, refused, refused=True)
        uow.commit()


def _take(ctx: Context, op: Operation) -> tuple[Target, list[SnapshotAccessRule]] | None:
    with ctx.db.write() as uow:
        target = resolve(uow, op.target_id)
        rules = uow.snapshot_access.for_target(op.target_id)
        if target is None:
            uow.snapshot_access.delete_for([op.target_id])  # its snapshot went: so do its rules
            uow.commit()
            return None
        if not any(rule.state in PENDING for rule in rules):
            return None
        if not target.host:
            failed = []
            for rule in rules:
                if rule.state in (AccessState.QUEUED_TO_DENY, AccessState.DENYING):
                    uow.snapshot_access.delete(rule.id, [rule.state])
                elif rule.state in PENDING and uow.snapshot_access.cas(rule.id, [rule.state], state=AccessState.ERROR):
                    failed.append(rule)
            _tell(ctx, uow, op, target, failed, refused=False)
            uow.commit()
            return None
        ctx.driver(target.host)  # before any write: a Handoff leaves everything as it was
        for rule in rules:
            state = TAKEN.get(AccessState(rule.state))
            if state is not None:
                uow.snapshot_access.cas(rule.id, [rule.state], state=state)
        rules = uow.snapshot_access.for_target(target.id)  # as they are now (a concurrent deny may have won)
        uow.commit()
    return target, rules


def _record(uow: UnitOfWork, target: Target, rules: Sequence[SnapshotAccessRule],
            results: Mapping[str, AccessResult]) -> list[SnapshotAccessRule]:
    """Returns the rules the NFS server refused (now in error)."""
    refused = []
    for rule in rules:
        if rule.state == AccessState.DENYING:
            uow.snapshot_access.delete(rule.id, [AccessState.DENYING])
            continue
        if rule.state not in ENFORCED:
            continue
        result = results.get(rule.id, _NO_RESULT)
        if not result.applied:
            log.warning("%s: access rule %s (%s %s) could not be applied: %s", target.label, rule.id,
                        rule.access_type, rule.access_to, result.reason)
            if uow.snapshot_access.cas(rule.id, [rule.state], state=AccessState.ERROR):
                refused.append(rule)
        elif rule.state != AccessState.ACTIVE:
            uow.snapshot_access.cas(rule.id, [rule.state], state=AccessState.ACTIVE)
    return refused


def _tell(ctx: Context, uow: UnitOfWork, op: Operation, target: Target, rules: Sequence[SnapshotAccessRule], *,
          refused: bool, gave_up: bool = False) -> None:
    if rules:
        failures.record(uow, project_id=target.project_id, entity=target.entity, target_id=target.entity_id,
                        action=Action.UPDATE_ACCESS_RULES, request_id=op.request_id, ttl=ctx.message_ttl,
                        failure=failures.snapshot_access_failed(target.label, rules, refused=refused,
                                                                gave_up=gave_up))


def give_up(ctx: Context, op: Operation) -> None:
    """The operation failed for good: no rule of the snapshot may stay pending forever."""
    with ctx.db.write() as uow:
        failed = [rule for rule in uow.snapshot_access.for_target(op.target_id)
                  if rule.state in PENDING and uow.snapshot_access.cas(rule.id, [rule.state], state=AccessState.ERROR)]
        target = resolve(uow, op.target_id)
        if target is not None:
            _tell(ctx, uow, op, target, failed, refused=False, gave_up=True)
        uow.commit()
