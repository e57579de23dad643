"""First-run defaults."""

from __future__ import annotations

from lockstep.domain.model import ShareType, utcnow
from lockstep.service.unit_of_work import Database
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
