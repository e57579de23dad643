"""Key/value metadata: one implementation for shares, snapshots (2.73) and share network subnets (2.78).

The values are checked at the edge (`lockstep.api.bodies.check_metadata`). What differs between the
kinds of record is how the record is found (scoped to the caller's project, decision 1), which rule
guards it on its owner's project, and Manila's wording when the record or a key is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lockstep.domain.errors import NotFound
from lockstep.domain.model import MetadataOwner
from lockstep.service.commands import ChangeMetadata, MetadataRef
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database, UnitOfWork

# The project owning the record `ref` names, as the caller may see it; None when missing or hidden.
Finder = Callable[[UnitOfWork, RequestContext, MetadataRef], str | None]


@dataclass(frozen=True)
class OwnerRules:
    """How one kind of record holds metadata."""

    find: Finder
    missing: str  # 404 message when the record is missing or hidden
    missing_item: str  # 404 message when the key is missing
    # Rules checked on the owner's project once the record is found (None: the route checked its rule).
    read: Rule | None = None
    update: Rule | None = None
    delete: Rule | None = None


def _share(uow: UnitOfWork, ctx: RequestContext, ref: MetadataRef) -> str | None:
    share = uow.shares.get(ref.owner_id, ctx.scope())
    return share.project_id if share else None


def _snapshot(uow: UnitOfWork, ctx: RequestContext, ref: MetadataRef) -> str | None:
    snapshot = uow.snapshots.get(ref.owner_id, ctx.scope())
    return snapshot.project_id if snapshot else None


def _subnet(uow: UnitOfWork, ctx: RequestContext, ref: MetadataRef) -> str | None:
    network = uow.share_networks.get(ref.parent_id or "", ctx.scope())
    if network is None or not any(s.id == ref.owner_id for s in network.subnets):
        return None
    return network.project_id


OWNERS: Mapping[MetadataOwner, OwnerRules] = {
    # Manila's v1 share metadata wording (what clients of 2.0-2.30 have seen).
    MetadataOwner.SHARE: OwnerRules(_share, "share does not exist", "Metadata item was not found",
                                    read=Rule.SHARE_GET_METADATA, update=Rule.SHARE_UPDATE_METADATA,
                                    delete=Rule.SHARE_DELETE_METADATA),
    # Manila's generic metadata controller wording.
    MetadataOwner.SNAPSHOT: OwnerRules(_snapshot, "Share_snapshot not found.",
                                       "MetadataItemNotFound: Metadata item is not found."),
    MetadataOwner.SUBNET: OwnerRules(_subnet, "Share_network_subnet not found.",
                                     "MetadataItemNotFound: Metadata item is not found."),
}


class MetadataService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    def _found(self, uow: UnitOfWork, ctx: RequestContext, ref: MetadataRef, rule: Rule | None) -> None:
        owner = OWNERS[ref.owner]
        project = owner.find(uow, ctx, ref)
        if project is None:
            raise NotFound(owner.missing)
        if rule is not None:
            self.policy.authorize(ctx, rule, project)

    def get(self, ctx: RequestContext, ref: MetadataRef) -> dict[str, str]:
        with self.db.read() as uow:
            self._found(uow, ctx, ref, OWNERS[ref.owner].read)
            return uow.metadata.get(ref.owner, ref.owner_id)

    def item(self, ctx: RequestContext, ref: MetadataRef, key: str) -> str:
        metadata = self.get(ctx, ref)
        if key not in metadata:
            raise NotFound(OWNERS[ref.owner].missing_item)
        return metadata[key]

    def change(self, ctx: RequestContext, cmd: ChangeMetadata) -> dict[str, str]:
        """Merge into (or replace) the record's metadata; returns all of it."""
        ref = cmd.ref
        with self.db.write() as uow:
            self._found(uow, ctx, ref, OWNERS[ref.owner].update)
            uow.metadata.set(ref.owner, ref.owner_id, cmd.metadata, replace=cmd.replace)
            result = uow.metadata.get(ref.owner, ref.owner_id)
            uow.commit()
        return result

    def delete(self, ctx: RequestContext, ref: MetadataRef, key: str) -> None:
        with self.db.write() as uow:
            self._found(uow, ctx, ref, OWNERS[ref.owner].delete)
            if not uow.metadata.delete(ref.owner, ref.owner_id, key):
                raise NotFound(OWNERS[ref.owner].missing_item)
            uow.commit()
