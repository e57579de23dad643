"""First-run defaults."""

from __future__ import annotations

from lockstep.domain.group_types import ShareGroupType
from lockstep.domain.model import ShareType, utcnow
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id


def ensure_default_share_type(db: Database, name: str | None) -> bool:
    """Create the configured default share type if it is missing; True if it was created."""
    if not name:
        return False
    with db.write() as uow:
        if uow.share_types.get_by_name(name) is not None:
            return False
        uow.share_types.create(ShareType(
            id=new_id(), name=name, is_public=True, created_at=utcnow(),
            extra_specs={"driver_handles_share_servers": "False", "snapshot_support": "True",
                         "create_share_from_snapshot_support": "True"},
        ))
        uow.commit()
    return True


def ensure_default_share_group_type(db: Database, name: str | None, share_type_name: str | None,
                                    availability_zone: str) -> bool:
    """Create the configured default share group type if it is missing; True if it was created.

    It stands in for consistency groups, which have no group type: groups made through the CG API
    get it, and so do groups made before share groups existed (here). It supports the default
    share type and sets no group specs, so that it places groups exactly where consistency groups
    go; a `consistent_snapshot_support` spec would keep groups off backends that cut sequentially
    (posix), which consistency groups have always been allowed to use.
    """
    if not name:
        return False
    with db.write() as uow:
        group_type = uow.share_group_types.get_by_name(name)
        created = group_type is None
        if group_type is None:
            share_type = uow.share_types.get_by_name(share_type_name) if share_type_name else None
            group_type = ShareGroupType(id=new_id(), name=name, is_public=True, created_at=utcnow(),
                                        share_types=[share_type.id] if share_type else [])
            uow.share_group_types.create(group_type)
        _adopt_untyped_groups(uow, group_type.id, availability_zone)
        uow.commit()
    return created


def _adopt_untyped_groups(uow: UnitOfWork, type_id: str, availability_zone: str) -> None:
    """Groups made before share groups existed: the default type and, if placed, the zone and the
    snapshot guarantee their pool reports."""
    pools = {p.name: p for p in uow.pools.all()}
    for group in uow.groups.untyped():
        values: dict[str, object] = {"share_group_type_id": type_id}
        if group.host:
            values["availability_zone"] = group.availability_zone or availability_zone
            pool = pools.get(group.host)
            if pool is not None:
                values["consistent_snapshot_support"] = pool.capabilities.get("consistent_snapshot_support")
        uow.groups.cas(group.id, None, **values)
