"""The database half of `/healthcheck`: can we connect, and is the schema the one this code expects."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from lockstep.adapters.db.migrate import heads
from lockstep.service.health import Problem

UNREACHABLE = "database unreachable; check that it runs and that database_url is right (`lockstep doctor`)"
OLD_SCHEMA = "database schema is not current; run `lockstep db upgrade`"


class SqlDatabaseProbe:
    """Two cheap statements per check: the migrations' heads are read once (they are this code's)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.heads = heads()

    def problem(self) -> Problem | None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                try:
                    found = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
                except SQLAlchemyError as exc:
                    return Problem(OLD_SCHEMA, f"no schema version recorded ({first_line(exc)})")
        except (SQLAlchemyError, OSError) as exc:  # a SQLite file that cannot be opened may be an OSError
            return Problem(UNREACHABLE, first_line(exc))
        if found != self.heads:
            return Problem(OLD_SCHEMA, f"the database is at {sorted(found) or 'no revision'}, this code at "
                           f"{sorted(self.heads)}")
        return None


def first_line(exc: BaseException) -> str:
    """The driver's message without SQLAlchemy's appended SQL and background link (no URL, no password)."""
    orig = getattr(exc, "orig", None) or exc
    line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"{type(orig).__name__}: {line}"
