"""Run Alembic migrations from the installed package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import lockstep


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(lockstep.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations differ (run in CI)."""
    command.check(alembic_config(url))


def heads() -> set[str]:
    """The revisions a current database is at (read from the installed migrations)."""
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def schema_is_current(engine: Engine) -> bool:
    """True if the database is at the latest migration (`serve` refuses to start otherwise)."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) == set(script.get_heads())
