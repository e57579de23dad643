"""`lockstep serve | worker | db upgrade | db check`: the argparse layer; serving is `supervisor.py`."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from importlib import metadata

from lockstep import config as config_mod
from lockstep.adapters.db.migrate import check as db_check
from lockstep.adapters.db.migrate import upgrade as db_upgrade
from lockstep.adapters.drivers.registry import names as driver_names
from lockstep.child import configure_logging, run_worker
from lockstep.config import Settings
from lockstep.startup import check_data_dir, check_drivers, explain, redact
from lockstep.supervisor import serve

HELP = f"""Lockstep: point-in-time consistent snapshots of many file shares, behind OpenStack
Manila's Shared File Systems API v2 (microversions 2.0-2.99: consistency groups at 2.4-2.30,
share groups from 2.31).

Configuration: a TOML file (--config, $LOCKSTEP_CONFIG or <data_dir>/lockstep.toml) and
environment variables, which win: LOCKSTEP_LISTEN (host:port, default 127.0.0.1:8786),
LOCKSTEP_DATA_DIR (default ./data), LOCKSTEP_DATABASE_URL (default SQLite in the data dir;
postgresql://user@host/db for scale-out), LOCKSTEP_AUTH (noauth | keystone),
LOCKSTEP_BACKEND ({" | ".join(driver_names())}; auto = btrfs in a loop-mounted image
when running as root with btrfs available, else posix), LOCKSTEP_PROCESSES (API processes of
`serve`, default one per core).
"""


def _settings(args: argparse.Namespace) -> Settings:
    try:
        return config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        sys.exit(f"lockstep: {exc}")


def _metrics_dir(settings: Settings, role: str) -> None:
    """Before anything imports prometheus_client: this process's (and its children's) sample files."""
    from lockstep.observability import multiproc

    multiproc.prepare(settings.data_dir, role)


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    settings = _settings(args)
    configure_logging(settings)
    logging.getLogger("alembic").setLevel(settings.log_level)  # the migration steps it runs
    check_data_dir(settings)
    url = settings.effective_database_url
    print(f"lockstep: migrating {redact(url)} to the latest schema")
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


def cmd_worker(args: argparse.Namespace) -> None:
    settings = _settings(args)
    if args.host:
        settings = dataclasses.replace(settings, host=args.host)
    check_data_dir(settings)  # the metrics directory is made in it
    _metrics_dir(settings, "worker")
    configure_logging(settings)
    check_drivers(settings)
    if settings.worker_metrics_listen:
        from lockstep.observability.metrics import serve_host_metrics

        metrics_host, _, metrics_port = settings.worker_metrics_listen.rpartition(":")
        serve_host_metrics(metrics_host.strip("[]"), int(metrics_port))
    run_worker(settings)


def cmd_serve(args: argparse.Namespace) -> None:
    settings = _settings(args)
    check_data_dir(settings)  # the metrics directory is made in it
    # Before anything imports prometheus_client; the forked API and worker processes inherit it.
    _metrics_dir(settings, "serve")
    configure_logging(settings)
    host, _port = settings.listen_host_port
    if settings.auth == "noauth" and host not in ("127.0.0.1", "localhost", "::1") and not args.allow_remote_noauth:
        sys.exit("lockstep: noauth mode binds to loopback only; pass --allow-remote-noauth to serve "
                 f"{host} without authentication, or set LOCKSTEP_AUTH=keystone")
    if args.processes is not None and args.processes < 1:
        sys.exit(f"lockstep: --processes must be 1 or more, got {args.processes}")
    sys.exit(serve(settings, processes=args.processes))


def cmd_doctor(args: argparse.Namespace) -> None:
    from lockstep import doctor

    sys.exit(doctor.main(_settings(args)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lockstep", description=HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--version", action="version", version=f"lockstep {_version()}")
    # `--config` is also accepted after the subcommand (`lockstep serve --config F`); SUPPRESS keeps a
    # subcommand that was not given one from resetting what came before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="TOML configuration file")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", parents=[common], help="serve the API with its worker process",
                               description="Serve the API on LOCKSTEP_LISTEN: one supervising process binds the "
                               "port and runs the API processes and, unless worker = false, the worker process "
                               "that settles creating/deleting states; it restarts a child that dies and stops "
                               "them all on SIGTERM or Ctrl-C.")
    serve_cmd.add_argument("--processes", type=int, default=None,
                           help="API processes (default: processes / LOCKSTEP_PROCESSES, else one per core)")
    serve_cmd.add_argument("--allow-remote-noauth", action="store_true",
                           help="allow noauth mode on a non-loopback address (development only)")
    serve_cmd.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", parents=[common], help="run a share-host worker for the configured backends",
                            description="Claim recorded operations for this host's backends and settle them "
                            "through the storage drivers. Run one per share host; many may share a database.")
    worker.add_argument("--host", default=None,
                        help="this share host's name: its backends are <host>@<backend> and their pools "
                        "<host>@<backend>#<pool> (default: host / LOCKSTEP_HOST, else 'lockstep')")
    worker.set_defaults(func=cmd_worker)
    doctor = sub.add_parser("doctor", parents=[common], help="check this host and configuration before running "
                            "Lockstep", description="One line per check, with what to do when it fails; exit "
                            "status 0 only when every check passes.")
    doctor.set_defaults(func=cmd_doctor)
    db = sub.add_parser("db", parents=[common], help="database schema commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", parents=[common], help="migrate the database to the latest schema and "
                           "create the default share type if it is missing")
    up.set_defaults(func=cmd_db_upgrade)
    chk = db_sub.add_parser("check", parents=[common], help="fail if the models and the migrations disagree")
    chk.set_defaults(func=cmd_db_check)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except Exception as exc:
        # Known start-up failures are one line with the fix; anything else is a bug and keeps its traceback.
        message = explain(exc, _settings_or_none(args))
        if message is None:
            raise
        sys.exit(f"lockstep: {message}")


def _settings_or_none(args: argparse.Namespace) -> Settings | None:
    try:
        return config_mod.load(args.config)
    except Exception:  # noqa: BLE001 - only to name the database in a message; the message does without
        return None


def _version() -> str:
    try:
        return metadata.version("lockstep")
    except metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


if __name__ == "__main__":
    main()
