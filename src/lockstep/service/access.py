"""Access rules: grant, revoke, list, show, change the level, metadata; and the locks of 2.82.

A grant, revoke or level change writes the rule's queued state and, in the same transaction, asks
for the share's `update_access` operation (one per share: the worker brings the backend to the
share's whole rule set, see service/operations/access.py).

Rules are scoped like their share, more strictly than Manila: another project's rules answer 404
even when the share is public (a public share is readable, who may mount it is its owner's
business).
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.access import (
    BEING_DENIED,
    DENIABLE,
    AccessLock,
    AccessRule,
    AccessState,
    RulesStatus,
    same_grantee,
)
from lockstep.domain.errors import Forbidden, Invalid, InvalidState, NotFound, SilentNotFound
from lockstep.domain.hosts import owning_backend
from lockstep.domain.model import Share, Status, utcnow
from lockstep.domain.operations import OperationKind
from lockstep.domain.queries import AccessRuleQuery
from lockstep.service.commands import AccessLocks, DenyAccess, GrantAccess, SetAccessMetadata, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id

#: A share in one of these has no settled storage to change rules on (Manila's transitional statuses).
_BUSY = (Status.CREATING, Status.DELETING, Status.EXTENDING, Status.SHRINKING, Status.MIGRATING,
         Status.MIGRATING_TO)
_RULES_IN_ERROR = ("Access rules cannot be added while the share or any of its replicas or migration copies has "
                   "its access_rules_status set to error. Deny any rules in error state and try again.")
_CANNOT_APPLY = ("New access rules cannot be applied while the share or any of its replicas or migration copies "
                 "lacks a valid host or is in an invalid state.")
_CANNOT_DENY = ("Access rules cannot be denied while the share, any of its replicas or migration copies lacks a "
                "valid host or is in an invalid state.")
_CANNOT_UPDATE = ("Access rules cannot be updated while the share, any of its replicas or migration copies lacks "
                  "a valid host or is in an invalid state.")
_NOT_FOUND = "Resource could not be found."


@dataclass(frozen=True)
class SeenRule:
    """A rule as one caller sees it."""

    rule: AccessRule
    restricted: bool  # a visibility lock hides access_to and access_key from this caller
    share_rules_status: str  # the share's access_rules_status: what a rule shows as its state below 2.28


def _settled(share: Share, *, allow_error: bool) -> bool:
    """Whether the share's storage may have its rules changed now."""
    if not share.host or share.status in _BUSY:
        return False
    return allow_error or share.status != Status.ERROR


class AccessService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    # lookups -------------------------------------------------------------------
    @staticmethod
    def _share(uow: UnitOfWork, ctx: RequestContext, share_id: str) -> Share:
        share = uow.shares.get(share_id, ctx.scope())
        if share is None:
            raise SilentNotFound()
        return share

    def _rule(self, uow: UnitOfWork, ctx: RequestContext, access_id: str,
              missing: str) -> tuple[AccessRule, Share]:
        rule = uow.access_rules.get(access_id)
        share = uow.shares.get(rule.share_id, ctx.scope()) if rule is not None else None
        if rule is None or share is None:
            raise NotFound(missing)
        self.policy.authorize(ctx, Rule.SHARE_ACCESS_GET, share.project_id)
        return rule, share

    def restricted(self, ctx: RequestContext, rule: AccessRule) -> bool:
        """A visibility lock hides the rule's target from everyone but its placer (and admins)."""
        lock = rule.lock
        if lock is None or not lock.visibility:
            return False
        if lock.by_admin and not ctx.is_admin:
            return True
        return not self.policy.allowed(ctx, Rule.RESOURCE_LOCK_BYPASS_SHOW, lock.project_id, lock.user_id)

    def _seen(self, ctx: RequestContext, rule: AccessRule, share: Share) -> SeenRule:
        return SeenRule(rule, self.restricted(ctx, rule), share.access_rules_status)

    @staticmethod
    def _request_sync(uow: UnitOfWork, share: Share) -> None:
        """One update_access per share: a recorded one not yet claimed will see this change too."""
        if not uow.operations.hurry(share.id, OperationKind.UPDATE_ACCESS):
            uow.operations.enqueue(OperationKind.UPDATE_ACCESS, share.id, backend=owning_backend(share.host))

    # grant -----------------------------------------------------------------------
    # The steps run in Manila's order of checks: which 400 wins when several things are wrong is pinned.
    def grant(self, ctx: RequestContext, cmd: GrantAccess) -> SeenRule:
        with self.db.write() as uow:
            uow.access_rules.hold(cmd.share_id)  # the duplicate check below must see concurrent grants
            share = self._share(uow, ctx, cmd.share_id)
            if cmd.refuse_if_rules_failed and share.access_rules_status == RulesStatus.ERROR:
                raise Invalid(_RULES_IN_ERROR)
            locks = unwrap(cmd.locks)
            grantee = unwrap(cmd.grantee)
            level = unwrap(cmd.access_level)
            metadata = unwrap(cmd.metadata)
            for existing in uow.access_rules.for_share(share.id):
                if (existing.access_type == grantee.access_type
                        and same_grantee(grantee.access_type, existing.access_to, grantee.access_to)):
                    raise Invalid(f"Share access {grantee.access_type}:{grantee.access_to} exists.")
            if not _settled(share, allow_error=not cmd.refuse_if_share_failed):
                raise Invalid(_CANNOT_APPLY)
            rule_id = new_id()
            now = utcnow()
            rule = AccessRule(id=rule_id, share_id=share.id, access_type=grantee.access_type,
                              access_to=grantee.access_to, access_level=level, state=AccessState.QUEUED_TO_APPLY,
                              access_key=None, created_at=now, updated_at=now, metadata=metadata,
                              lock=self._locks(ctx, share, rule_id, locks))
            uow.access_rules.add(rule)
            self._request_sync(uow, share)
            created = uow.access_rules.get(rule_id)
            uow.commit()
        assert created is not None
        return SeenRule(created, False, RulesStatus.SYNCING if share.access_rules_status != RulesStatus.ERROR
                        else RulesStatus.ERROR)

    def _locks(self, ctx: RequestContext, share: Share, rule_id: str, locks: AccessLocks) -> AccessLock | None:
        if not locks.any:
            return None
        if not self.policy.allowed(ctx, Rule.RESOURCE_LOCK_CREATE, share.project_id):
            what = "deletion" if locks.deletion else "visibility"
            raise Invalid(f"Failed to lock the {what} of the access rule {rule_id}.")
        return AccessLock(deletion=locks.deletion, visibility=locks.visibility, user_id=ctx.user_id,
                          project_id=ctx.project_id, by_admin=ctx.is_admin, reason=locks.reason,
                          share_lock_id=new_id() if locks.deletion else None)

    # revoke ----------------------------------------------------------------------
    def deny(self, ctx: RequestContext, cmd: DenyAccess) -> None:
        with self.db.write() as uow:
            share = self._share(uow, ctx, cmd.share_id)
            rule = uow.access_rules.get(cmd.access_id)
            if rule is None or rule.share_id != share.id:
                raise NotFound(_NOT_FOUND)
            self.policy.authorize(ctx, Rule.SHARE_ACCESS_GET, share.project_id)
            self._check_deletion_lock(ctx, share, rule, cmd.unrestrict)
            if not _settled(share, allow_error=not cmd.refuse_if_share_failed):
                raise Invalid(_CANNOT_DENY)
            # A rule already being denied is left to that deny (the request is idempotent).
            if rule.state not in BEING_DENIED and uow.access_rules.cas(rule.id, DENIABLE,
                                                                       state=AccessState.QUEUED_TO_DENY):
                self._request_sync(uow, share)
            uow.commit()

    def _check_deletion_lock(self, ctx: RequestContext, share: Share, rule: AccessRule, unrestrict: bool) -> None:
        lock = rule.lock
        if lock is None or not lock.deletion:
            return
        if not unrestrict:
            raise Forbidden(f"Cannot deny access for share '{share.id}' since it has been locked. Please remove "
                            "the locks and retry the operation")
        # The lock goes with the rule; only its placer (or an admin; an admin's only an admin) may lift it.
        if (lock.by_admin and not ctx.is_admin) or not self.policy.allowed(
                ctx, Rule.RESOURCE_LOCK_DELETE, lock.project_id, lock.user_id):
            raise Forbidden("Unable to drop access rule restrictions that are not placed by you.")

    # reads ---------------------------------------------------------------------------
    def rules(self, ctx: RequestContext, query: AccessRuleQuery, *, hide_restricted: bool = False) -> list[SeenRule]:
        """The share's rules; `hide_restricted` leaves out those whose target this caller may not see
        (when the query filters on what a visibility lock hides)."""
        with self.db.read() as uow:
            share = self._share(uow, ctx, query.share_id)
            self.policy.authorize(ctx, Rule.SHARE_ACCESS_GET_ALL, share.project_id)
            rules = uow.access_rules.for_share(share.id, query)
        seen = [self._seen(ctx, rule, share) for rule in rules]
        return [s for s in seen if not (hide_restricted and s.restricted)]

    def get(self, ctx: RequestContext, access_id: str) -> SeenRule:
        with self.db.read() as uow:
            rule, share = self._rule(uow, ctx, access_id, f"Share access rule {access_id} not found.")
        return self._seen(ctx, rule, share)

    # level (2.88) -------------------------------------------------------------------
    def update_level(self, ctx: RequestContext, access_id: str, level: str) -> SeenRule:
        with self.db.write() as uow:
            rule, share = self._rule(uow, ctx, access_id, f"Share access rule {access_id} not found.")
            if level == rule.access_level:
                return self._seen(ctx, rule, share)
            if not _settled(share, allow_error=True):
                raise Invalid(_CANNOT_UPDATE)
            being_denied = InvalidState(f"Access rule {access_id} is being denied; its level cannot change.")
            if rule.state in BEING_DENIED:
                raise being_denied
            if not uow.access_rules.cas(rule.id, DENIABLE, access_level=level, state=AccessState.QUEUED_TO_UPDATE):
                raise being_denied
            self._request_sync(uow, share)
            updated = uow.access_rules.get(rule.id)
            uow.commit()
        assert updated is not None
        return SeenRule(updated, self.restricted(ctx, updated), RulesStatus.SYNCING
                        if share.access_rules_status != RulesStatus.ERROR else RulesStatus.ERROR)

    # metadata (2.45) ------------------------------------------------------------------
    def set_metadata(self, ctx: RequestContext, cmd: SetAccessMetadata) -> dict[str, str]:
        with self.db.write() as uow:
            self._rule(uow, ctx, cmd.access_id, _NOT_FOUND)
            metadata = unwrap(cmd.metadata)
            uow.access_rules.set_metadata(cmd.access_id, metadata)
            uow.commit()
        return metadata

    def delete_metadata(self, ctx: RequestContext, access_id: str, key: str) -> None:
        with self.db.write() as uow:
            self._rule(uow, ctx, access_id, _NOT_FOUND)
            if not uow.access_rules.delete_metadata(access_id, key):
                raise NotFound("Share access rule metadata does not exist.")
            uow.commit()
