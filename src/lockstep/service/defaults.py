"""Start-up checks and first-run defaults."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from lockstep.adapters.db.migrate import alembic_config
from lockstep.domain.model import ShareType, utcnow
from lockstep.service.unit_of_work import Database
from lockstep.service.validation import new_id


def schema_is_current(engine: Engine) -> bool:
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) == set(script.get_heads())


def ensure_default_share_type(engine: Engine, name: str | None) -> bool:
    if not name:
        return False
    db = Database(engine)
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
