"""`lockstep serve | worker | db upgrade | db check`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from lockstep import config as config_mod
from lockstep.adapters.db.migrate import check as db_check
from lockstep.adapters.db.migrate import schema_is_current
from lockstep.adapters.db.migrate import upgrade as db_upgrade
from lockstep.adapters.drivers.registry import names as driver_names
from lockstep.config import Settings

log = logging.getLogger("lockstep")

# How long an idle keep-alive connection stays open. uvicorn's default (5 s) equals the interval at which
# `openstack ... --wait` polls, so the server closed connections just as the client reused them and
# the client saw "connection reset" (Manila's eventlet server keeps idle connections for minutes).
KEEP_ALIVE_SECONDS = 75

HELP = f"""Lockstep: point-in-time consistent snapshots of many file shares, behind OpenStack
Manila's Shared File Systems API v2 (microversions 2.0-2.99: consistency groups at 2.4-2.30,
share groups from 2.31).

Configuration: a TOML file (--config, $LOCKSTEP_CONFIG or <data_dir>/lockstep.toml) and
environment variables, which win: LOCKSTEP_LISTEN (host:port, default 127.0.0.1:8786),
LOCKSTEP_DATA_DIR (default ./data), LOCKSTEP_DATABASE_URL (default SQLite in the data dir;
postgresql://user@host/db for scale-out), LOCKSTEP_AUTH (noauth | keystone),
LOCKSTEP_BACKEND ({" | ".join(driver_names())}; auto = btrfs in a loop-mounted image
when running as root with btrfs available, else posix).
"""


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        sys.exit(f"lockstep: {exc}")


def _logging(settings: Settings) -> None:
    from lockstep.observability import logs

    logs.configure(settings.log_level, settings.log_format)


def _metrics_dir(settings: Settings, role: str) -> None:
    """Before anything imports prometheus_client: this process's (and its children's) sample files."""
    from lockstep.observability import multiproc

    multiproc.prepare(settings.data_dir, role)


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    print(f"lockstep: migrating {_redact(url)} to the latest schema")
    db_upgrade(url)
    from lockstep.bootstrap import create_default_share_group_type, create_default_share_type, engine_for

    engine = engine_for(settings)
    created = create_default_share_type(settings, engine)
    if created:
        print(f"lockstep: created the default share type {settings.default_share_type!r}")
    if create_default_share_group_type(settings, engine):
        print(f"lockstep: created the default share group type {settings.default_share_group_type!r}")
    engine.dispose()
    print("lockstep: database is up to date")


def cmd_db_check(args: argparse.Namespace) -> None:
    settings = _settings(args)
    db_check(settings.effective_database_url)
    print("lockstep: models and migrations agree")


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def cmd_worker(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _metrics_dir(settings, "worker")
    _logging(settings)
    from lockstep.bootstrap import build_drivers, build_worker, engine_for

    engine = engine_for(settings)
    drivers = build_drivers(settings)
    worker = build_worker(settings, engine, drivers)
    if settings.worker_metrics_listen:
        from lockstep.observability.metrics import serve_host_metrics

        metrics_host, _, metrics_port = settings.worker_metrics_listen.rpartition(":")
        serve_host_metrics(metrics_host.strip("[]"), int(metrics_port))
    stop = threading.Event()
    _install_signal_handlers(stop)
    worker.start()
    print(f"lockstep: worker {worker.owner} serving backends {', '.join(drivers)}", flush=True)
    stop.wait()
    worker.stop()


def create_app_from_env() -> Any:
    """uvicorn factory for multi-process serving (no in-process worker)."""
    from lockstep.bootstrap import build_app, build_services, engine_for

    settings = config_mod.load(os.environ.get("LOCKSTEP_CONFIG"))
    _logging(settings)
    engine = engine_for(settings)
    return build_app(settings, build_services(settings, engine))


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = _settings(args)
    _metrics_dir(settings, "serve")
    _logging(settings)
    from lockstep.bootstrap import build_embedded, engine_for

    engine = engine_for(settings)
    if not schema_is_current(engine):
        sys.exit("lockstep: the database schema is missing or old; run `lockstep db upgrade` first "
                 f"(database: {_redact(settings.effective_database_url)})")
    host, port = settings.listen_host_port
    if settings.auth == "noauth" and host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote_noauth:
        sys.exit("lockstep: noauth mode binds to loopback only; pass --allow-remote-noauth to serve "
                 f"{host} without authentication, or set LOCKSTEP_AUTH=keystone")
    processes = args.processes
    if processes > 1:
        child = None
        if settings.worker:
            child = subprocess.Popen([sys.executable, "-m", "lockstep.cli", "worker"]
                                     + (["--config", args.config] if args.config else []))
        try:
            uvicorn.run("lockstep.cli:create_app_from_env", factory=True, host=host, port=port,
                        timeout_keep_alive=KEEP_ALIVE_SECONDS, http=_protocol(settings),
                        workers=processes, log_level="warning", access_log=False, log_config=None)
        finally:
            if child is not None:
                child.terminate()
                child.wait(30)
        return
    embedded = build_embedded(settings, engine)
    app, worker = embedded.app, embedded.worker
    if worker is not None:
        worker.start()
        for name, driver in embedded.drivers.items():
            for pool in driver.pools():
                log.info("backend %s#%s: driver %s, %.1f GiB free of %.1f GiB, atomic cgsnapshots: %s",
                         name, pool.name, driver.kind, pool.free_capacity_gb, pool.total_capacity_gb,
                         pool.atomic_cgsnapshot)
    print(f"lockstep: serving the Shared File Systems API v2 on http://{host}:{port}/v2 "
          f"(auth {settings.auth}, database {_redact(settings.effective_database_url)})", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, log_config=None,
                    timeout_keep_alive=KEEP_ALIVE_SECONDS, http=_protocol(settings))
    finally:
        if worker is not None:
            worker.stop()


def _protocol(settings: Settings) -> Any:
    """uvicorn's HTTP protocol with the request timeout and the connection bound (api/limits.py)."""
    from lockstep.api.limits import ConnectionLimits, protocol_factory

    return protocol_factory(ConnectionLimits(settings.request_timeout, settings.max_connections))


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, _, tail = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{tail}"
    return url


def cmd_doctor(args: argparse.Namespace) -> None:
    from lockstep import doctor

    sys.exit(doctor.main(_settings(args)))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lockstep")
    except PackageNotFoundError:
        return "unknown (not installed as a package)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lockstep", description=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--version", action="version", version=f"lockstep {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (and, by default, run the worker in-process)",
                           description="Serve the API on LOCKSTEP_LISTEN. With the embedded default the "
                           "worker that settles creating/deleting states runs in the same process.")
    serve.add_argument("--processes", type=int, default=1,
                       help="API processes (more than 1 starts a separate worker process)")
    serve.add_argument("--allow-remote-noauth", action="store_true",
                       help="allow noauth mode on a non-loopback address (development only)")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run a share-host worker for the configured backends",
                            description="Claim recorded operations for this host's backends and settle them "
                            "through the storage drivers. Run one per share host; many may share a database.")
    worker.set_defaults(func=cmd_worker)
    doctor = sub.add_parser("doctor", help="check this host and configuration before running Lockstep",
                            description="One line per check, with what to do when it fails; exit status 0 "
                            "only when every check passes.")
    doctor.set_defaults(func=cmd_doctor)
    db = sub.add_parser("db", help="database schema commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="migrate the database to the latest schema and create the "
                           "default share type if it is missing")
    up.set_defaults(func=cmd_db_upgrade)
    chk = db_sub.add_parser("check", help="fail if the models and the migrations disagree")
    chk.set_defaults(func=cmd_db_check)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
