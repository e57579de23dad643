"""Scheduler hints (2.65, `only_host` 2.67): placing a share with or away from other shares.

As in Manila, the relation is also written into share metadata under admin-only keys: the new
share lists the shares it named, and each named share lists the new one; deleting a share
removes it from the others' lists. Placement itself reads the hints stored with the share
(`Scheduler.place_share`), so a share is placed by what was asked when it was created.
"""

from __future__ import annotations

from lockstep.domain.errors import NotFound
from lockstep.domain.model import SchedulerHints, Share
from lockstep.service.context import RequestContext
from lockstep.service.unit_of_work import UnitOfWork

SAME_HOST_KEY = "__affinity_same_host"
DIFFERENT_HOST_KEY = "__affinity_different_host"
MANAGED_AT_KEY = "__managed_at"
#: Metadata keys only admins may set, change or delete (Manila's `admin_only_metadata` default).
ADMIN_ONLY_METADATA = (SAME_HOST_KEY, DIFFERENT_HOST_KEY, MANAGED_AT_KEY)


def resolve(uow: UnitOfWork, ctx: RequestContext, hints: SchedulerHints | None) -> SchedulerHints | None:
    """The hints of a new share, once every share they name is known to exist for the caller."""
    if not hints:
        return None
    for share_id in (*hints.same_host, *hints.different_host):
        share = uow.shares.get(share_id)
        if share is None or not (ctx.is_admin or share.project_id == ctx.project_id or share.is_public):
            raise NotFound(f"ShareNotFound: Share {share_id} could not be found.")
    return hints


def record(uow: UnitOfWork, share_id: str, hints: SchedulerHints | None) -> None:
    if not hints:
        return
    for key, named in ((SAME_HOST_KEY, hints.same_host), (DIFFERENT_HOST_KEY, hints.different_host)):
        if not named:
            continue
        for other_id in named:
            other = uow.shares.get(other_id)
            listed = _ids(other.metadata.get(key)) if other else []
            uow.shares.set_metadata(other_id, {key: ",".join([*listed, share_id])}, replace=False)
        uow.shares.set_metadata(share_id, {key: ",".join(named)}, replace=False)


def forget(uow: UnitOfWork, share: Share) -> None:
    """A share that goes is no longer a reason to place others with or away from it."""
    for key in (SAME_HOST_KEY, DIFFERENT_HOST_KEY):
        for other_id in _ids(share.metadata.get(key)):
            other = uow.shares.get(other_id)
            if other is None or key not in other.metadata:
                continue
            remaining = [i for i in _ids(other.metadata[key]) if i != share.id]
            if remaining:
                uow.shares.set_metadata(other_id, {key: ",".join(remaining)}, replace=False)
            else:
                uow.shares.delete_metadata(other_id, key)


def _ids(value: str | None) -> list[str]:
    return [part for part in (value or "").split(",") if part]
