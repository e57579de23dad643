"""Start-up checks that turn the usual mistakes into one `lockstep: ...` line saying what to do.

`preflight` runs in `lockstep serve` before it binds the port: the data directory is writable, every
configured driver name is registered, the database answers and its schema is current. `explain` maps
the exceptions a start-up can still end in (a backend that cannot set up, a database that went away)
to such a line; anything it does not know stays a traceback, because that is a bug to report.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile

from sqlalchemy.exc import DBAPIError

from lockstep.adapters.db.migrate import schema_is_current
from lockstep.adapters.drivers.registry import UnknownDriver
from lockstep.adapters.drivers.registry import names as driver_names
from lockstep.config import Settings
from lockstep.service.storage import DriverError


class StartupError(Exception):
    """A start-up failure the user can fix: printed as one `lockstep: ...` line, no traceback."""


def redact(url: str) -> str:
    """The database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, _, tail = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{tail}"
    return url


def check_data_dir(settings: Settings) -> None:
    path = settings.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise StartupError(
            f"cannot write to the data directory {path.absolute()} ({exc.strerror or exc}); make it writable "
            "by this user or choose another with data_dir / LOCKSTEP_DATA_DIR") from None


def check_drivers(settings: Settings) -> None:
    known = driver_names()
    for backend in settings.backends:
        if backend.driver not in known:
            raise StartupError(
                f"backend {backend.name}: unknown driver {backend.driver!r}; set [backend.{backend.name}] driver "
                f"(or LOCKSTEP_BACKEND) to one of {', '.join(known)}")


def check_database(settings: Settings) -> None:
    from lockstep.bootstrap import engine_for

    url = settings.effective_database_url
    engine = engine_for(settings)
    try:
        current = schema_is_current(engine)
    except DBAPIError as exc:
        raise StartupError(database_message(url, exc)) from None
    finally:
        engine.dispose()
    if not current:
        raise StartupError("the database schema is missing or old; run `lockstep db upgrade` first "
                           f"(database: {redact(url)})")


def preflight(settings: Settings) -> None:
    check_data_dir(settings)
    check_drivers(settings)
    check_database(settings)


def database_message(url: str, exc: DBAPIError) -> str:
    reason = str(exc.orig or exc).strip().splitlines()
    first = reason[0] if reason else type(exc).__name__
    return (f"cannot use the database {redact(url)} ({first}); check that it is running and reachable, "
            "and set database_url / LOCKSTEP_DATABASE_URL")


def explain(exc: BaseException, settings: Settings | None) -> str | None:
    """One line for an exception a start-up can end in, or None if it is unexpected (a bug)."""
    if isinstance(exc, StartupError):
        return str(exc)
    if isinstance(exc, UnknownDriver):
        return f"{exc}; set the backend's driver to a registered one"
    if isinstance(exc, DriverError):
        return f"a storage backend could not start: {exc}"
    if isinstance(exc, DBAPIError):
        url = settings.effective_database_url if settings is not None else "(configured)"
        return database_message(url, exc)
    if isinstance(exc, OSError) and exc.filename:
        return (f"cannot use {exc.filename} ({exc.strerror}); check that path and its permissions, and the "
                "setting that names it (data_dir, policy_file, a backend's path)")
    return None


def bind_error(host: str, port: int, exc: OSError) -> StartupError:
    if exc.errno == errno.EADDRINUSE:
        return StartupError(f"{host}:{port} is already in use (is another `lockstep serve` running?); stop it or "
                            "choose another address with listen / LOCKSTEP_LISTEN")
    if exc.errno == errno.EACCES:
        return StartupError(f"not allowed to listen on {host}:{port} (ports below 1024 need root); choose another "
                            "with listen / LOCKSTEP_LISTEN")
    return StartupError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another address with "
                        "listen / LOCKSTEP_LISTEN")


def close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
