"""NFS export ids (table `nfs_exports`)."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from lockstep.adapters.db import tables as t
from lockstep.domain.errors import Invalid
from lockstep.domain.exports import MAX_SHARE_EXPORT_ID
from lockstep.domain.model import utcnow


class ExportIdRepo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find(self, target_id: str) -> int | None:
        return self.conn.execute(select(t.nfs_exports.c.export_id)
                                 .where(t.nfs_exports.c.target_id == target_id)).scalar_one_or_none()

    def allocate(self, target_id: str) -> int:
        found = self.find(target_id)
        if found is not None:
            return found
        try:
            with self.conn.begin_nested():  # a concurrent allocation for the same target wins: use its id
                self.conn.execute(insert(t.nfs_exports), {"target_id": target_id, "created_at": utcnow()})
        except IntegrityError:
            pass
        export_id = self.find(target_id)
        assert export_id is not None
        if export_id > MAX_SHARE_EXPORT_ID:
            raise Invalid(f"NFS export ids are used up (at most {MAX_SHARE_EXPORT_ID} over the service's life)")
        return export_id

    def all(self) -> dict[str, int]:
        rows = self.conn.execute(select(t.nfs_exports.c.target_id, t.nfs_exports.c.export_id))
        return {target_id: export_id for target_id, export_id in rows}
