"""NFS export ids are allocated once per share and never handed to another share."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.tables import nfs_exports
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.domain.exports import MAX_SHARE_EXPORT_ID, PLACEHOLDER_EXPORT_ID
from lockstep.service.unit_of_work import Database
from tests.support import migrated_database


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_export_id_is_allocated_once_and_never_reused(kind: str, tmp_path: Path) -> None:
    with migrated_database(kind, tmp_path) as url:
        engine = make_engine(url)
        try:
            db: Database = SqlAlchemyDatabase(engine)
            with db.write() as uow:
                first = uow.export_ids.allocate("share-1")
                second = uow.export_ids.allocate("share-2")
                assert uow.export_ids.allocate("share-1") == first  # in the same transaction
                uow.commit()
            assert 0 < first < second <= MAX_SHARE_EXPORT_ID < PLACEHOLDER_EXPORT_ID
            with db.write() as uow:
                assert uow.export_ids.allocate("share-2") == second  # in a later one
                assert uow.export_ids.find("share-3") is None
                uow.export_ids.allocate("share-3")  # rolled back: no share ever had the id it took
            with db.write() as uow:
                fourth = uow.export_ids.allocate("share-4")
                uow.commit()
            assert fourth > second
            with db.read() as uow:
                assert uow.export_ids.all() == {"share-1": first, "share-2": second, "share-4": fourth}
            # Rows are never deleted; were one deleted anyway, its id (the highest) would still not come back.
            with engine.begin() as conn:
                conn.execute(delete(nfs_exports).where(nfs_exports.c.target_id == "share-4"))
            with db.write() as uow:
                assert uow.export_ids.allocate("share-5") > fourth
                uow.commit()
        finally:
            engine.dispose()
