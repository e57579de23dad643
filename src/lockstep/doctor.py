"""`lockstep doctor`: is this host ready to run Lockstep with this configuration?

One line per check, each failure saying what to do; exit status 0 only when every check passes. The
checks follow the configuration: a tool is asked for only when a configured backend needs it, the
clock is compared only with a PostgreSQL server (SQLite shares this host's clock).
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.health import UNREACHABLE, SqlDatabaseProbe, first_line
from lockstep.config import Settings

MIN_PYTHON = (3, 11)
MIN_FREE_BYTES = 1024**3  # the SQLite database, logs, metrics files; storage backends want far more
MAX_CLOCK_SKEW = 5.0  # seconds; leases (30 s by default) tolerate less than a lease's third
DEBIAN = "apt-get install"


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to do when it failed

    def line(self) -> str:
        mark = " ok " if self.ok else "FAIL"
        tail = f" -> {self.fix}" if not self.ok and self.fix else ""
        return f"[{mark}] {self.name}: {self.detail}{tail}"


def check_python() -> Result:
    found = ".".join(str(p) for p in sys.version_info[:3])
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Result("python", ok, found, "install Python 3.11 or newer (Debian 12: apt-get install python3)")


def check_database(settings: Settings) -> Iterator[Result]:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Connecting would create an empty file; say what makes the real one instead.
        yield Result("database", False, f"{url.database} does not exist yet", "run `lockstep db upgrade`")
        return
    engine = make_engine(settings.effective_database_url)
    try:
        problem = SqlDatabaseProbe(engine).problem()
        if problem is not None:
            fix = problem.summary if problem.summary != UNREACHABLE else (
                "start the database server, or correct database_url (LOCKSTEP_DATABASE_URL)")
            yield Result("database", False, problem.detail, fix)
            return
        yield Result("database", True, f"{engine.url.render_as_string(hide_password=True)} is reachable and migrated")
        if engine.dialect.name == "postgresql":
            yield _clock(engine)
    finally:
        engine.dispose()


def _clock(engine: Engine) -> Result:
    try:
        with engine.connect() as conn:
            before = time.time()
            server = float(conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one())
            after = time.time()
    except SQLAlchemyError as exc:
        return Result("clock", False, first_line(exc), "check the database connection")
    skew = server - (before + after) / 2
    return Result("clock", abs(skew) <= MAX_CLOCK_SKEW, f"{skew:+.2f} s against PostgreSQL",
                  f"synchronise this host's clock (e.g. {DEBIAN} systemd-timesyncd or chrony); leases assume "
                  f"clocks within {MAX_CLOCK_SKEW:.0f} s")


def _tools(name: str, tools: tuple[str, ...], package: str) -> Result:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return Result(name, False, f"{', '.join(missing)} not found", f"{DEBIAN} {package}")
    return Result(name, True, ", ".join(tools) + " found")


def check_backends(settings: Settings) -> Iterator[Result]:
    drivers = {backend.driver for backend in settings.backends}
    if drivers & {"btrfs", "auto"}:
        if "btrfs" in drivers or os.geteuid() == 0:
            yield _tools("btrfs", ("mkfs.btrfs", "btrfs"), "btrfs-progs")
            yield _loop_devices()
        else:
            yield Result("btrfs", True, "not root: the auto backend will use posix (no atomic cgsnapshots)")
    if "zfs" in drivers:
        yield _tools("zfs", ("zfs", "zpool"), "zfsutils-linux (contrib)")
    if "cephfs" in drivers:
        yield _tools("cephfs", ("ceph", "ceph-fuse"), "ceph-common ceph-fuse")
    if drivers - {"fake"}:
        yield from check_nfs()


def _loop_devices() -> Result:
    if not Path("/dev/loop-control").exists():
        return Result("loop devices", False, "/dev/loop-control is missing",
                      "load the loop module (modprobe loop) or give the container loop devices")
    if shutil.which("losetup") is None:
        return Result("loop devices", False, "losetup not found", f"{DEBIAN} mount")
    return Result("loop devices", True, "/dev/loop-control and losetup present")


def check_nfs() -> Iterator[Result]:
    """Clients mount the exports over NFS: the share host needs an NFS server and rpcbind (NFSv3)."""
    servers = [tool for tool in ("ganesha.nfsd", "exportfs") if shutil.which(tool)]
    yield Result("nfs server", bool(servers), ", ".join(servers) + " found" if servers else "neither ganesha.nfsd "
                 "nor exportfs found", f"{DEBIAN} nfs-kernel-server (or nfs-ganesha nfs-ganesha-vfs)")
    yield _tools("rpcbind", ("rpcbind",), "rpcbind")


def check_data_dir(settings: Settings) -> Result:
    path = settings.data_dir.resolve()
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        return Result("data directory", False, f"{path} is not writable by uid {os.geteuid()}",
                      "chown it to the service user (see docs/operations.md)")
    free = shutil.disk_usage(probe).free
    return Result("data directory", free >= MIN_FREE_BYTES, f"{path}: {free / 1024**3:.1f} GiB free",
                  f"free at least {MIN_FREE_BYTES // 1024**3} GiB under {probe} or set data_dir elsewhere")


def check_port(settings: Settings) -> Result:
    host, port = settings.listen_host_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = "in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            return Result("listen", False, f"{host}:{port} {reason}",
                          "stop what listens there (`ss -ltnp`) or set listen to a free address")
    return Result("listen", True, f"{host}:{port} is free")


CHECKS: tuple[Callable[[Settings], Iterator[Result] | Result], ...] = (
    lambda _: check_python(), check_database, check_backends, check_data_dir, check_port,
)


def run(settings: Settings) -> list[Result]:
    results: list[Result] = []
    for check in CHECKS:
        outcome = check(settings)
        results.extend([outcome] if isinstance(outcome, Result) else outcome)
    return results


def main(settings: Settings) -> int:
    results = run(settings)
    for result in results:
        print(result.line(), flush=True)
    failed = [r for r in results if not r.ok]
    print(f"lockstep doctor: {len(results) - len(failed)} of {len(results)} checks passed", flush=True)
    return 1 if failed else 0
