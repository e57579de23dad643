"""The Alembic migrations build exactly the schema the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command

from lockstep.adapters.db.migrate import alembic_config, check, upgrade
from tests.support import database


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migrations_match_the_models_and_round_trip(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        upgrade(url)
        check(url)  # raises if models and migrations drift apart
        command.downgrade(alembic_config(url), "base")
        upgrade(url)
        check(url)
