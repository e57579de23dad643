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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lockstep.domain.access import ENFORCED, IN_FLIGHT, PENDING, TAKEN, AccessRule, AccessState
from lockstep.domain.model import Share
from lockstep.domain.operations import Operation
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
    plan = _take(ctx, op.target_id)
    if plan is None:
        return
    try:
        results = plan.driver.update_access(share_spec(plan.share), plan.desired)
    except DriverError as exc:
        log.warning("share %s: update_access failed: %s", plan.share.id, exc)
        with ctx.db.write() as uow:
            for rule in plan.rules:
                if rule.state in IN_FLIGHT:
                    uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR)
            uow.commit()
        return
    with ctx.db.write() as uow:
        _record(uow, plan, results)
        uow.commit()


def _take(ctx: Context, share_id: str) -> _Plan | None:
    with ctx.db.write() as uow:
        share = uow.shares.get(share_id)
        if share is None:
            return None  # deleted: its rules went with it
        rules = uow.access_rules.for_share(share_id)
        if not any(rule.state in PENDING for rule in rules):
            return None
        if not share.host:
            _nowhere(uow, rules)
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


def _nowhere(uow: UnitOfWork, rules: Sequence[AccessRule]) -> None:
    """A share on no backend: nothing was ever enforced, so revokes are done and the rest cannot be."""
    for rule in rules:
        if rule.state in (AccessState.QUEUED_TO_DENY, AccessState.DENYING):
            uow.access_rules.delete(rule.id, [rule.state])
        elif rule.state in PENDING:
            uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR)


def _record(uow: UnitOfWork, plan: _Plan, results: Mapping[str, AccessResult]) -> None:
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
            uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR)
        elif rule.state != AccessState.ACTIVE or result.access_key != rule.access_key:
            uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ACTIVE, access_key=result.access_key)


def give_up(ctx: Context, op: Operation) -> None:
    """The operation failed for good: no rule of the share may stay pending forever."""
    with ctx.db.write() as uow:
        for rule in uow.access_rules.for_share(op.target_id):
            if rule.state in PENDING:
                uow.access_rules.cas(rule.id, [rule.state], state=AccessState.ERROR)
        uow.commit()
