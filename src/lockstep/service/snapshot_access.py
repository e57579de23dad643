"""Snapshot access rules (2.32, `mount_snapshot_support`): grant, revoke and list the read-only access of
a snapshot, and, as Lockstep's extension, of one member of a cgsnapshot (a member is a snapshot of one
share taken with the others; Manila keeps members out of /snapshots, so they are addressed under their
group snapshot).

A grant or revoke writes the rule's queued state and asks, in the same transaction, for the target's
`update_snapshot_access` operation (service/operations/snapshot_access.py). The checks and messages are
Manila's; a member answers as a snapshot would, with its group snapshot's status and its share's type.
"""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.access import BEING_DENIED, DENIABLE, AccessState, SnapshotAccessRule, SnapshotTarget
from lockstep.domain.errors import Invalid, NotFound
from lockstep.domain.hosts import owning_backend
from lockstep.domain.model import Share, SnapshotExportLocation, Status, utcnow
from lockstep.domain.operations import OperationKind
from lockstep.service.commands import DenySnapshotAccess, GrantSnapshotAccess, SnapshotRef
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id

_CANNOT_APPLY = ("Invalid share snapshot instance: New access rules cannot be applied while the snapshot or any of "
                 "its replicas or migration copies lacks a valid host or is not in available state..")
_CANNOT_DENY = ("Invalid share snapshot instance: Access rules cannot be denied while the snapshot or any of its "
                "replicas or migration copies lacks a valid host or is not in available state..")


@dataclass(frozen=True)
class _Found:
    id: str
    kind: SnapshotTarget
    project_id: str
    status: str
    share: Share


class SnapshotAccessService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    # lookups -------------------------------------------------------------------------------------
    @staticmethod
    def _find(uow: UnitOfWork, ctx: RequestContext, ref: SnapshotRef) -> _Found:
        if ref.cgsnapshot_id is None:
            snapshot = uow.snapshots.get(ref.target_id, ctx.scope())
            share = uow.shares.get(snapshot.share_id) if snapshot is not None else None
            if snapshot is None or share is None:
                raise NotFound(f"Snapshot {ref.target_id} could not be found.")
            return _Found(snapshot.id, SnapshotTarget.SNAPSHOT, snapshot.project_id, snapshot.status, share)
        cgsnapshot = uow.cgsnapshots.get(ref.cgsnapshot_id, ctx.scope())
        if cgsnapshot is None:
            raise NotFound(f"Share group snapshot {ref.cgsnapshot_id} not found.")
        member = uow.cgsnapshots.member(ref.target_id)
        share = uow.shares.get(member.share_id) if member is not None else None
        if member is None or member.cgsnapshot_id != cgsnapshot.id or share is None:
            raise NotFound(f"Share group snapshot member {ref.target_id} not found.")
        # The member's storage is its group snapshot's: it is usable exactly when that is available.
        return _Found(member.id, SnapshotTarget.MEMBER, cgsnapshot.project_id, cgsnapshot.status, share)

    @staticmethod
    def _check_mountable(found: _Found) -> None:
        share = found.share
        if not share.mount_snapshot_support:
            raise Invalid(f"Cannot control access to the snapshot {found.id} since the parent share {share.id} "
                          "does not support mounting its snapshots.")
        if share.snapshot_inherit_share_access_support:
            raise Invalid(f"Cannot modify access rules for the snapshot {found.id} since the parent share "
                          f"{share.id} has snapshot_inherit_share_access_support enabled. Snapshot access rules are "
                          "inherited from the base share.")

    @staticmethod
    def _settled(found: _Found) -> bool:
        return found.status == Status.AVAILABLE and bool(found.share.host)

    @staticmethod
    def _request_sync(uow: UnitOfWork, found: _Found) -> None:
        """One update_snapshot_access per target: one recorded and not yet claimed sees this change too."""
        if not uow.operations.hurry(found.id, OperationKind.UPDATE_SNAPSHOT_ACCESS):
            uow.operations.enqueue(OperationKind.UPDATE_SNAPSHOT_ACCESS, found.id,
                                   backend=owning_backend(found.share.host))

    # use cases -----------------------------------------------------------------------------------
    def allow(self, ctx: RequestContext, cmd: GrantSnapshotAccess) -> SnapshotAccessRule:
        grantee = cmd.grantee
        with self.db.write() as uow:
            found = self._find(uow, ctx, cmd.target)
            self.policy.authorize(ctx, Rule.SNAPSHOT_ALLOW_ACCESS, found.project_id)
            self._check_mountable(found)
            uow.snapshot_access.hold(found.id, found.kind)  # the duplicate check must see concurrent grants
            for existing in uow.snapshot_access.for_target(found.id):
                if (existing.access_type, existing.access_to) == (grantee.access_type, grantee.access_to):
                    raise Invalid(f"Share snapshot access {grantee.access_type}:{grantee.access_to} exists.")
            if not self._settled(found):
                raise Invalid(_CANNOT_APPLY)
            now = utcnow()
            rule = SnapshotAccessRule(id=new_id(), target_id=found.id, target_kind=found.kind,
                                      access_type=grantee.access_type, access_to=grantee.access_to,
                                      state=AccessState.QUEUED_TO_APPLY, created_at=now, updated_at=now)
            uow.snapshot_access.add(rule)
            self._request_sync(uow, found)
            uow.commit()
        return rule

    def deny(self, ctx: RequestContext, cmd: DenySnapshotAccess) -> None:
        with self.db.write() as uow:
            found = self._find(uow, ctx, cmd.target)
            self.policy.authorize(ctx, Rule.SNAPSHOT_DENY_ACCESS, found.project_id)
            self._check_mountable(found)
            rule = uow.snapshot_access.get(cmd.access_id)
            if rule is None:
                raise NotFound("Resource could not be found.")
            if rule.target_id != found.id:
                raise Invalid("Access rule provided is not associated with given snapshot.")
            if not self._settled(found):
                raise Invalid(_CANNOT_DENY)
            # A rule already being denied is left to that deny (the request is idempotent).
            if rule.state not in BEING_DENIED and uow.snapshot_access.cas(rule.id, DENIABLE,
                                                                          state=AccessState.QUEUED_TO_DENY):
                self._request_sync(uow, found)
            uow.commit()

    def rules(self, ctx: RequestContext, ref: SnapshotRef) -> list[SnapshotAccessRule]:
        with self.db.read() as uow:
            found = self._find(uow, ctx, ref)
            self.policy.authorize(ctx, Rule.SNAPSHOT_ACCESS_LIST, found.project_id)
            self._check_mountable(found)
            return uow.snapshot_access.for_target(found.id)

    def member_export_locations(self, ctx: RequestContext, ref: SnapshotRef) -> list[SnapshotExportLocation]:
        """Where a cgsnapshot member is mounted from (the view hides admin-only ones from others)."""
        with self.db.read() as uow:
            found = self._find(uow, ctx, ref)
            return uow.snapshot_access.member_export_locations(found.id)
