"""Alembic environment: the URL comes from Lockstep's settings (passed in by `lockstep db upgrade`)."""

from __future__ import annotations

from alembic import context

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.tables import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
if not url:
    raise RuntimeError("lockstep.migrations needs sqlalchemy.url; run `lockstep db upgrade`")


def run() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
