"""Settling access rules: one `update_access` per share brings its backend to the whole rule set.

1. Take (one transaction): every queued rule moves to its in-flight state (`queued_to_apply ->
   applying`, `queued_to_update -> updating`, `queued_to_deny -> denying`).
2. Drive (no transaction open): the driver gets every rule the share should have (granted and not
   failed or being denied) and answers per rule.
3. Record (one transaction): applied rules become `active` (with the cephx key if the backend made
   one), refused ones `error`, denied ones are deleted. Each write is a compare-and-set on the state
   the rule was taken in, so a rule revoked or changed meanwhile is left to the run that change asked for.

A run after a crash finds the in-flight states and finishes them; a run with nothing pending does
nothing. A driver failure as a whole puts every in-flight rule in `error` (a rule in error leaves
the set the backend enforces; revoking it again retries the revoke).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from lockstep.domain.access import ENFORCED, IN_FLIGHT, PENDING, TAKEN, AccessRule, AccessState
from lockstep.domain.messages import Action
from lockstep.domain.model import Share
from lockstep.domain.operations import Entity, Operation
from lockstep.service.operations import failures
from lockstep.service.operations.settle import Context, share_spec
from lockstep.service.storage import AccessResult, AccessRuleSpec, DriverError, ShareDriver
from lockstep.service.unit_of_work import UnitOfWork

log = logging.getLogger("lockstep.worker")

_NO_RESULT = AccessResult(applied=False, reason="the driver returned no result for this rule")


@dataclass(frozen=True)
class _Plan:
    share: Share
    driver: ShareDriver
    rules: Sequence[AccessRule]  # every rule of the share, in the states this run took them in

    @property
    def desired(self) -> list[AccessRuleSpec]:
        return [AccessRuleSpec(id=r.id, access_type=r.access_type, access_to=r.access_to,
                               access_level=r.access_level) for r in self.rules if r.state in ENFORCED]


def update_access(ctx: Context, op: Operation) -> None:
    plan = _take(ctx, op)
    if plan is None:
        return
    try:
        results = plan.driver.update_access(share_spec(plan.share), plan.desired)
        if ctx.nfs is not None and not plan.driver.native_access:
            # the backend made its records; the NFS server enforces what it applied
            applied = [spec for spec in plan.desired if results.get(spec.id, _NO_RESULT).applied]
            results = {**results, **ctx.nfs.enforce(list(ctx.drivers), plan.share, applied)}
    except DriverError as exc:
        log.warning("share %s: update_access failed: %s", plan.share.id, exc)
        with ctx.db.write() as uow:
            failed = [rule for rule in plan.rules if rule.state in IN_FLIGHT
                      and uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR)]
            _tell(ctx, uow, op, plan.share, failed, failures.access_failed)
            ctx.complete(uow)
            uow.commit()
        return
    with ctx.db.write() as uow:
        refused = _record(uow, plan, results)
        _tell(ctx, uow, op, plan.share, refused, failures.access_refused)
        ctx.complete(uow)
        uow.commit()


def _tell(ctx: Context, uow: UnitOfWork, op: Operation, share: Share, rules: Sequence[AccessRule],
          why: Callable[[str, Sequence[AccessRule]], failures.Failure]) -> None:
    """One user message for the rules of a share this run put in error (none if there are none)."""
    if rules:
        failures.record(uow, project_id=share.project_id, entity=Entity.SHARE, target_id=share.id,
                        action=Action.UPDATE_ACCESS_RULES, failure=why(share.id, rules), request_id=op.request_id,
                        ttl=ctx.message_ttl)


def _take(ctx: Context, op: Operation) -> _Plan | None:
    share_id = op.target_id
    with ctx.db.write() as uow:
        share = uow.shares.get(share_id)
        if share is None:
            return None  # deleted: its rules went with it
        rules = uow.access_rules.for_share(share_id)
        if not any(rule.state in PENDING for rule in rules):
            return None
        if not share.host:
            _tell(ctx, uow, op, share, _nowhere(uow, rules), failures.unplaced_access)
            uow.commit()
            return None
        driver = ctx.driver(share.host)  # before any write: a Handoff leaves everything as it was
        for rule in rules:
            taken = TAKEN.get(AccessState(rule.state))
            if taken is not None:
                uow.access_rules.cas(rule.id, [rule.state], state=taken)
        rules = uow.access_rules.for_share(share_id)  # as they are now (a concurrent revoke may have won)
        uow.commit()
    return _Plan(share, driver, rules)


def _nowhere(uow: UnitOfWork, rules: Sequence[AccessRule]) -> list[AccessRule]:
    """A share on no backend: nothing was ever enforced, so revokes are done and the rest cannot be.
    Returns the rules put in error."""
    failed = []
    for rule in rules:
        if rule.state in (AccessState.QUEUED_TO_DENY, AccessState.DENYING):
            uow.access_rules.delete(rule.id, [rule.state])
        elif rule.state in PENDING and uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR):
            failed.append(rule)
    return failed


def _record(uow: UnitOfWork, plan: _Plan, results: Mapping[str, AccessResult]) -> list[AccessRule]:
    """Returns the rules the backend refused (now in error)."""
    refused = []
    for rule in plan.rules:
        if rule.state == AccessState.DENYING:
            uow.access_rules.delete(rule.id, [AccessState.DENYING])
            continue
        if rule.state not in ENFORCED:
            continue
        result = results.get(rule.id, _NO_RESULT)
        if not result.applied:
            log.warning("share %s: access rule %s (%s %s) could not be applied: %s", plan.share.id, rule.id,
                        rule.access_type, rule.access_to, result.reason)
            if uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR):
                refused.append(rule)
        elif rule.state != AccessState.ACTIVE or result.access_key != rule.access_key:
            uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ACTIVE, access_key=result.access_key)
    return refused


def give_up(ctx: Context, op: Operation) -> None:
    """The operation failed for good: no rule of the share may stay pending forever."""
    with ctx.db.write() as uow:
        failed = [rule for rule in uow.access_rules.for_share(op.target_id)
                  if rule.state in PENDING and uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR)]
        share = uow.shares.get(op.target_id)
        if share is not None:
            _tell(ctx, uow, op, share, failed, lambda share_id, rules: failures.access_failed(share_id, rules,
                                                                                                gave_up=True))
        uow.commit()
