"""The recycle bin (2.69): soft delete, restore, and deleting what stayed there too long.

A soft-deleted share keeps its storage and its record, is left out of share lists unless they ask
for `is_soft_deleted=true`, and refuses changes (update, resize, reset, snapshots) until it is
restored. When `scheduled_to_be_deleted_at` passes, a worker deletes it as an ordinary delete
would (`purge_expired`, run by every worker at its `recycle_bin_interval`).
"""

from __future__ import annotations

import datetime as dt
import logging

from lockstep.domain.errors import Forbidden, LockstepError, NotFound, SilentNotFound
from lockstep.domain.model import SHARE_DELETABLE, Status, utcnow
from lockstep.service.commands import GroupApi
from lockstep.service.context import RequestContext
from lockstep.service.group_terms import TERMS
from lockstep.service.policy import Policy, Rule
from lockstep.service.shares import begin_deletion, check_no_dependents
from lockstep.service.unit_of_work import Database

log = logging.getLogger("lockstep.worker")

DEFAULT_RETENTION = 7 * 24 * 3600.0  # Manila's soft_deleted_share_retention_time


class RecycleBinService:
    def __init__(self, db: Database, policy: Policy, retention_seconds: float = DEFAULT_RETENTION) -> None:
        self.db = db
        self.policy = policy
        self.retention = dt.timedelta(seconds=retention_seconds)

    def soft_delete(self, ctx: RequestContext, share_id: str) -> None:
        with self.db.write() as uow:
            share = uow.shares.get(share_id, ctx.scope())
            if share is None:
                raise SilentNotFound()
            self.policy.authorize(ctx, Rule.SHARE_SOFT_DELETE, share.project_id)
            if share.is_soft_deleted:
                raise Forbidden("Invalid share: The share has been soft deleted already.")
            if share.status not in SHARE_DELETABLE:
                raise Forbidden("Invalid share: Share status must be one of ('available', 'error', 'inactive').")
            check_no_dependents(uow, share_id, Forbidden, TERMS[GroupApi.SHARE_GROUPS])
            if not uow.shares.cas(share_id, SHARE_DELETABLE, is_soft_deleted=True,
                                  scheduled_to_be_deleted_at=utcnow() + self.retention):
                raise Forbidden("Invalid share: Share status must be one of ('available', 'error', 'inactive').")
            uow.commit()

    def restore(self, ctx: RequestContext, share_id: str) -> bool:
        """True if the share left the recycle bin; False if it was not in it (Manila answers 200 then)."""
        with self.db.write() as uow:
            share = uow.shares.get(share_id, ctx.scope())
            if share is None:
                raise NotFound(f"No share exists with ID {share_id}.")
            self.policy.authorize(ctx, Rule.SHARE_RESTORE, share.project_id)
            if not share.is_soft_deleted:
                return False
            if share.status in (Status.DELETING, Status.ERROR_DELETING):
                raise Forbidden(f"Share {share_id} is being deleted or has suffered an error during deletion, "
                                "cannot be restored.")
            uow.shares.cas(share_id, None, is_soft_deleted=False, scheduled_to_be_deleted_at=None)
            uow.commit()
        return True


def purge_expired(db: Database, now: dt.datetime | None = None) -> int:
    """Delete the shares whose time in the recycle bin is up; returns how many deletions began."""
    began = 0
    with db.write() as uow:
        for share in uow.shares.soft_deleted_before(now or utcnow()):
            if share.status == Status.ERROR_DELETING:
                # A deletion that failed before is tried again, as Manila's periodic task does.
                uow.shares.cas(share.id, [Status.ERROR_DELETING], status=Status.ERROR)
                share.status = Status.ERROR
            if share.status not in SHARE_DELETABLE:
                continue
            try:
                check_no_dependents(uow, share.id, Forbidden, TERMS[GroupApi.SHARE_GROUPS])
                begin_deletion(uow, share, force=False)
            except LockstepError as exc:
                log.warning("share %s stays in the recycle bin past its time: %s", share.id, exc.message)
                continue
            log.info("share %s was in the recycle bin until %s; deleting it", share.id,
                     share.scheduled_to_be_deleted_at)
            began += 1
        uow.commit()
    return began
