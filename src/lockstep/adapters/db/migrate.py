"""Run Alembic migrations from the installed package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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
