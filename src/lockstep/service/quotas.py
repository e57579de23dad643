"""Quotas: the checks the create use cases make, and the quota-set and limits use cases.

A create calls one `Quotas.charge_*` inside its writing unit of work, before it writes anything:
the check takes the project's quota lock (see `lockstep.adapters.db.quotas`) and counts what the
project already has, so the record the create then inserts is counted by the next create of the
project, never overshooting a limit. Usage is freed by the records going away; nothing to release.

The faults are Manila's: a create's 413 carries the exception name as Manila's fault wrapper showed
it; extend's gigabytes refusal is a 403 without it (Manila's share action caught that one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lockstep.domain.errors import Forbidden, Invalid, NotFound, QuotaExceeded
from lockstep.domain.quotas import (
    COUNTED,
    DEFAULT_LIMITS,
    UNLIMITED,
    Check,
    Over,
    Resource,
    Subject,
    Usage,
    effective,
    overs,
    smallest_limit,
)
from lockstep.service.commands import QuotaTarget, UpdateQuotas, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.unit_of_work import Database, UnitOfWork

SHARE_GIGABYTES_EXCEEDED = "Requested share exceeds allowed project/user or share type gigabytes quota."


@dataclass(frozen=True)
class NewShare:
    """A share a request would create: what its type's quota and the per-share limit look at."""

    share_type_id: str | None
    size: int


class Quotas:
    """The configured default limits and the checks made on create."""

    def __init__(self, defaults: Mapping[Resource, int] = DEFAULT_LIMITS) -> None:
        self.defaults = dict(effective(DEFAULT_LIMITS, defaults))

    def limits(self, uow: UnitOfWork, subject: Subject) -> dict[Resource, int]:
        """The limits in force for a project, or for a user or share type of it."""
        project = uow.quotas.limits(Subject(subject.project_id))
        if subject.user_id is None and subject.share_type_id is None:
            return effective(self.defaults, project)
        return effective(self.defaults, project, uow.quotas.limits(subject))

    # checks ---------------------------------------------------------------------------------
    def _overs(self, uow: UnitOfWork, project_id: str, user_id: str,
               typed: Mapping[str | None, Mapping[Resource, int]]) -> dict[Resource, Over]:
        """Lock the project, then check the project's, the user's and each share type's limits.

        `typed`: what the request adds, by share type (None: no type). A user's or a type's own limit
        is checked only where one is set (`limits` of that level holds only what is set there):
        otherwise it is the project's, which is checked anyway.
        """
        total: dict[Resource, int] = {}
        for deltas in typed.values():
            for resource, delta in deltas.items():
                total[resource] = total.get(resource, 0) + delta
        project = Subject(project_id)
        levels: list[tuple[Subject, Mapping[Resource, int], Mapping[Resource, int]]] = [
            (project, total, self.limits(uow, project))]
        levels.append((Subject(project_id, user_id=user_id), total,
                       uow.quotas.limits(Subject(project_id, user_id=user_id))))
        levels += [(Subject(project_id, share_type_id=type_id), deltas,
                    uow.quotas.limits(Subject(project_id, share_type_id=type_id)))
                   for type_id, deltas in typed.items() if type_id is not None]
        # Only limited resources are counted (an unlimited one costs nothing, and needs no lock).
        limited = [(subject, deltas, limits, [r for r, d in deltas.items() if d > 0 and limits.get(r, -1) >= 0])
                   for subject, deltas, limits in levels]
        if not any(counted for *_, counted in limited):
            return {}
        uow.quotas.lock(project_id)
        return overs(Check(deltas, limits, uow.quotas.usage(subject, counted))
                     for subject, deltas, limits, counted in limited if counted)

    def _per_share_limit(self, uow: UnitOfWork, project_id: str, user_id: str, share_type_id: str | None) -> int:
        key = Resource.PER_SHARE_GIGABYTES
        levels = [Subject(project_id, user_id=user_id)]
        if share_type_id is not None:
            levels.append(Subject(project_id, share_type_id=share_type_id))
        return smallest_limit(self.limits(uow, Subject(project_id))[key],
                              *(uow.quotas.limits(level).get(key) for level in levels))

    def check_share_size(self, uow: UnitOfWork, project_id: str, user_id: str, share: NewShare) -> None:
        """per_share_gigabytes (2.62): the largest share a project may have (413 when exceeded)."""
        limit = self._per_share_limit(uow, project_id, user_id, share.share_type_id)
        if 0 <= limit < share.size:
            raise QuotaExceeded(f"ShareSizeExceedsLimit: Requested share size {share.size} is larger than "
                                f"maximum allowed limit {limit}.")

    def charge_shares(self, uow: UnitOfWork, project_id: str, user_id: str, shares: Sequence[NewShare]) -> None:
        """New shares (one, or the clones of a group created from a group snapshot)."""
        for share in shares:
            self.check_share_size(uow, project_id, user_id, share)
        typed: dict[str | None, dict[Resource, int]] = {}
        for share in shares:
            deltas = typed.setdefault(share.share_type_id, {Resource.SHARES: 0, Resource.GIGABYTES: 0})
            deltas[Resource.SHARES] += 1
            deltas[Resource.GIGABYTES] += share.size
        found = self._overs(uow, project_id, user_id, typed)
        if Resource.GIGABYTES in found:
            raise QuotaExceeded(f"ShareSizeExceedsAvailableQuota: {SHARE_GIGABYTES_EXCEEDED}")
        if Resource.SHARES in found:
            raise QuotaExceeded(f"ShareLimitExceeded: Maximum number of shares allowed "
                                f"({found[Resource.SHARES].limit}) either per project/user or share type quota "
                                "is exceeded.")

    def charge_extend(self, uow: UnitOfWork, project_id: str, user_id: str, share: NewShare, growth: int) -> None:
        """An extend to `share.size` GiB (growing by `growth`), charged to the share's owner."""
        self.check_share_size(uow, project_id, user_id, share)
        if self._overs(uow, project_id, user_id, {share.share_type_id: {Resource.GIGABYTES: growth}}):
            raise Forbidden(SHARE_GIGABYTES_EXCEEDED)

    def charge_snapshot(self, uow: UnitOfWork, project_id: str, user_id: str, share_type_id: str | None,
                        size: int) -> None:
        found = self._overs(uow, project_id, user_id,
                            {share_type_id: {Resource.SNAPSHOTS: 1, Resource.SNAPSHOT_GIGABYTES: size}})
        if Resource.SNAPSHOT_GIGABYTES in found:
            raise QuotaExceeded("SnapshotSizeExceedsAvailableQuota: Requested snapshot exceeds allowed "
                                "project/user or share type gigabytes quota.")
        if Resource.SNAPSHOTS in found:
            raise QuotaExceeded(f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
                                f"({found[Resource.SNAPSHOTS].limit}) either per project/user or share type "
                                "quota is exceeded.")

    def charge_share_network(self, uow: UnitOfWork, project_id: str, user_id: str) -> None:
        found = self._overs(uow, project_id, user_id, {None: {Resource.SHARE_NETWORKS: 1}})
        if found:
            raise QuotaExceeded(f"ShareNetworksLimitExceeded: Maximum number of share-networks allowed "
                                f"({found[Resource.SHARE_NETWORKS].limit}) exceeded.")

    def charge_group(self, uow: UnitOfWork, project_id: str, user_id: str) -> None:
        """A share group (a consistency group: the same store)."""
        if self._overs(uow, project_id, user_id, {None: {Resource.SHARE_GROUPS: 1}}):
            raise QuotaExceeded("ShareGroupsLimitExceeded: Maximum number of allowed share-groups is exceeded.")

    def charge_group_snapshot(self, uow: UnitOfWork, project_id: str, user_id: str) -> None:
        """A share group snapshot (a cgsnapshot)."""
        if self._overs(uow, project_id, user_id, {None: {Resource.SHARE_GROUP_SNAPSHOTS: 1}}):
            raise QuotaExceeded("ShareGroupSnapshotsLimitExceeded: Maximum number of allowed share-group-snapshots "
                                "is exceeded.")


@dataclass(frozen=True)
class QuotaSet:
    """A quota set as shown: limits (with usage for the detail view) of a project, user or share type."""

    project_id: str
    limits: dict[Resource, int]
    usage: dict[Resource, Usage] | None = None
    by_share_type: bool = False


@dataclass(frozen=True)
class AbsoluteLimits:
    limits: dict[Resource, int]
    in_use: dict[Resource, int]


class QuotaService:
    """`/quota-sets` and `/limits`."""

    def __init__(self, db: Database, quotas: Quotas) -> None:
        self.db = db
        self.quotas = quotas

    @staticmethod
    def _subject(uow: UnitOfWork, target: QuotaTarget) -> Subject:
        if target.user_id and target.share_type:
            raise Invalid("'user_id' and 'share_type' values are mutually exclusive")
        if not target.share_type:
            return Subject(target.project_id, user_id=target.user_id or None)
        found = uow.share_types.get(target.share_type) or uow.share_types.get_by_name(target.share_type)
        if found is None:
            raise NotFound(f"Share type with name or id '{target.share_type}' not found.")
        return Subject(target.project_id, share_type_id=found.id)

    @staticmethod
    def _may_see(ctx: RequestContext, project_id: str) -> None:
        if not ctx.is_admin and ctx.project_id != project_id:
            raise Forbidden("Access was denied to this resource.")

    def show(self, ctx: RequestContext, target: QuotaTarget, *, detail: bool) -> QuotaSet:
        with self.db.read() as uow:
            self._may_see(ctx, target.project_id)
            subject = self._subject(uow, target)
            limits = self.quotas.limits(uow, subject)
            usage = _usage(uow, subject) if detail else None
        return QuotaSet(target.project_id, limits, usage, by_share_type=subject.share_type_id is not None)

    def defaults(self, project_id: str) -> QuotaSet:
        return QuotaSet(project_id, dict(self.quotas.defaults))

    def update(self, ctx: RequestContext, cmd: UpdateQuotas) -> QuotaSet:
        with self.db.write() as uow:
            subject = self._subject(uow, cmd.target)
            if subject.share_type_id is not None and cmd.names_groups:
                raise Invalid("Share type quotas cannot constrain share groups and share group snapshots.")
            values = unwrap(cmd.limits)
            uow.quotas.lock(subject.project_id)  # no create of the project counts meanwhile
            current = self.quotas.limits(uow, subject)
            usage = _usage(uow, subject)
            bounds = _settable(self.quotas, uow, subject, usage)
            for resource, value in values.items():
                if not cmd.force and value >= 0 and current[resource] >= 0 and usage[resource].total > value:
                    raise Invalid(f"Quota value {value} for {resource} is smaller than already used and reserved "
                                  f"{usage[resource].total}.")
                minimum, maximum = bounds[resource]
                _check_bounds(value, minimum, maximum, cmd.force)
                uow.quotas.set_limit(subject, resource, value)
            limits = self.quotas.limits(uow, subject)
            uow.commit()
        return QuotaSet(subject.project_id, limits, by_share_type=subject.share_type_id is not None)

    def reset(self, ctx: RequestContext, target: QuotaTarget) -> None:
        """Back to the defaults (a project's users' own limits go too; a user's or a type's alone)."""
        with self.db.write() as uow:
            self._may_see(ctx, target.project_id)
            uow.quotas.reset(self._subject(uow, target))
            uow.commit()

    def absolute_limits(self, ctx: RequestContext) -> AbsoluteLimits:
        with self.db.read() as uow:
            subject = Subject(ctx.project_id)
            limits = self.quotas.limits(uow, subject)
            usage = _usage(uow, subject)
        return AbsoluteLimits(limits, {r: u.in_use for r, u in usage.items()})


def _usage(uow: UnitOfWork, subject: Subject) -> dict[Resource, Usage]:
    counted = uow.quotas.usage(subject, COUNTED)
    return {r: counted.get(r, Usage()) for r in Resource}


def _settable(quotas: Quotas, uow: UnitOfWork, subject: Subject,
              usage: Mapping[Resource, Usage]) -> dict[Resource, tuple[int, int]]:
    """(minimum, maximum) of each limit (Manila's settable quotas): a project's limit covers its use and its
    users' limits; a user's or a share type's covers its use and stays within the project's."""
    if subject.user_id is None and subject.share_type_id is None:
        given = uow.quotas.user_limit_totals(subject.project_id)
        return {r: (max(given.get(r, 0), usage[r].total), UNLIMITED) for r in Resource}
    project = quotas.limits(uow, Subject(subject.project_id))
    return {r: (usage[r].total, project[r]) for r in Resource}


def _check_bounds(limit: int, minimum: int, maximum: int, force: bool) -> None:
    if limit < UNLIMITED:
        raise Invalid("Quota limit must be -1 or greater.")
    if limit < minimum and not force and (maximum != UNLIMITED or limit != UNLIMITED):
        raise Invalid(f"Quota limit must be greater than {minimum}.")
    if maximum != UNLIMITED and limit > maximum and not force:
        raise Invalid(f"Quota limit must be less than {maximum}.")
