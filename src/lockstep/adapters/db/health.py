"""The database half of `/healthcheck`: can we connect, and is the schema the one this code expects."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from lockstep.adapters.db.migrate import schema_is_current
from lockstep.service.health import Problem

UNREACHABLE = "database unreachable; check that it runs and that database_url is right (`lockstep doctor`)"
OLD_SCHEMA = "database schema is not current; run `lockstep db upgrade`"


class SqlDatabaseProbe:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def problem(self) -> Problem | None:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            current = schema_is_current(self.engine)
        except SQLAlchemyError as exc:
            return Problem(UNREACHABLE, first_line(exc))
        except OSError as exc:  # a SQLite file that cannot be opened may surface as the OS error
            return Problem(UNREACHABLE, first_line(exc))
        if not current:
            return Problem(OLD_SCHEMA, "the database's alembic revision is not this code's head")
        return None


def first_line(exc: BaseException) -> str:
    """The driver's message without SQLAlchemy's appended SQL and background link (no URL, no password)."""
    orig = getattr(exc, "orig", None) or exc
    line = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"{type(orig).__name__}: {line}"
