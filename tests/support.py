"""Test servers and their client: Lockstep in-process (the fast tier) or live in a subprocess, and PostgreSQL.

Two kinds of server answer the same `Server` protocol, so a test module does not know which one it runs on:

- `InProcessServer` calls the app's synchronous request handler through an httpx transport and runs the
  worker only when asked (after each mutating request, and while a client waits), so a test never sleeps
  waiting for a background thread. Every API test that is about behaviour runs on it.
- `LiveServer` is a `lockstep serve` process (or several sharing one database), for the tests about the
  process itself: kill -9, start-up errors, the README and client end-to-end runs, real storage.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from lockstep import config
from lockstep.adapters.db.migrate import upgrade
from lockstep.api.app import MAX_BODY, LockstepApp
from lockstep.bootstrap import (
    build_app,
    build_drivers,
    build_services,
    build_worker,
    create_default_share_group_type,
    create_default_share_type,
    engine_for,
)
from lockstep.service.storage import ShareDriver
from lockstep.service.worker import Worker

PG_ADMIN_URL = os.environ.get("LOCKSTEP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_postgres() -> None:
    """PostgreSQL runs on this machine kind; start it if it is down."""
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0:
        return
    versions = os.listdir("/etc/postgresql") if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (/etc/postgresql missing); run scripts/install-system-deps.sh")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[0], "main", "start"], check=False)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("PostgreSQL did not come up on 127.0.0.1:5432")


def _pg_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


class _Databases:
    """This test process's PostgreSQL databases and migrated templates.

    Migrating costs a second or two per database and dropping one forces a checkpoint, so each test process
    migrates once into a template (PostgreSQL: a template database; SQLite: a file), copies it for every
    migrated database a test asks for, and drops its PostgreSQL databases together when it exits (one
    checkpoint instead of one per test module).
    """

    def __init__(self) -> None:
        self.pg_template: str | None = None
        self.sqlite_template: Path | None = None
        self.to_drop: list[str] = []
        atexit.register(self.drop_all)

    def create_pg(self, template: str | None = None) -> str:
        import psycopg

        ensure_postgres()
        name = f"lockstep_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            if not self.to_drop:
                self._drop_leftovers(conn)
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
            # The tests kill Lockstep's processes, never PostgreSQL: a commit need not wait for its WAL flush.
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        self.to_drop.append(name)
        return name

    @staticmethod
    def _drop_leftovers(conn: Any) -> None:
        """Databases of test processes that died before they could drop theirs."""
        names = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'lockstep_test_%'").fetchall()
        for (name,) in names:
            pid = name.split("_")[2]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def migrated_pg(self) -> str:
        if self.pg_template is None:
            name = self.create_pg()
            upgrade(_pg_url(name))
            self.pg_template = name
        return self.create_pg(self.pg_template)

    def migrated_sqlite(self, path: Path) -> None:
        if self.sqlite_template is None:
            template = Path(tempfile.mkdtemp(prefix="lockstep-template-")) / "lockstep.sqlite"
            upgrade(f"sqlite:///{template}")
            self.sqlite_template = template
        shutil.copyfile(self.sqlite_template, path)

    def drop_all(self) -> None:
        if not self.to_drop:
            return
        import psycopg

        with contextlib.suppress(psycopg.Error), psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for name in self.to_drop:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.to_drop.clear()
        if self.sqlite_template is not None:
            shutil.rmtree(self.sqlite_template.parent, ignore_errors=True)


_DATABASES = _Databases()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database (dropped when the test process exits)."""
    yield _pg_url(_DATABASES.create_pg())


@contextlib.contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh, empty database of `kind` (for the migration tests)."""
    if kind == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'lockstep.sqlite'}"


def migrate(url: str) -> None:
    """Bring the database at `url` to the latest schema; a new SQLite file starts as a copy of the template."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _DATABASES.migrated_sqlite(path)
    upgrade(url)


@contextlib.contextmanager
def migrated_database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh database of `kind` at the latest schema, copied from this process's migrated template."""
    if kind == "postgresql":
        yield _pg_url(_DATABASES.migrated_pg())
    else:
        tmp.mkdir(parents=True, exist_ok=True)
        _DATABASES.migrated_sqlite(tmp / "lockstep.sqlite")
        yield f"sqlite:///{tmp / 'lockstep.sqlite'}"


def run_cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lockstep.cli", *args], env=env, capture_output=True, text=True,
                          check=check, timeout=120)


class Server(Protocol):
    """What an API test sees of a server, whichever kind it is."""

    @property
    def url(self) -> str: ...

    @property
    def http(self) -> httpx.Client:
        """A bare client (no token, no version headers) for requests outside a project's URL."""
        ...

    def client(self, project: str | None = None, user: str = "admin", version: str | None = "2.30",
               experimental: bool = True) -> Client: ...


def settings_env(data_dir: Path, database_url: str, **overrides: str) -> dict[str, str]:
    """The LOCKSTEP_* settings every test server starts from: the fake backend, short leases, fast polling."""
    env = {
        "LOCKSTEP_DATA_DIR": str(data_dir), "LOCKSTEP_DATABASE_URL": database_url,
        "LOCKSTEP_BACKEND": "fake", "LOCKSTEP_POLL_INTERVAL": "0.05", "LOCKSTEP_LEASE_SECONDS": "3",
        "LOCKSTEP_LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


# in-process ---------------------------------------------------------------------------------------------
class Handler(Protocol):
    """`LockstepApp.handle`."""

    def __call__(self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes | None,
                 origin: str, *, peer: str | None = None) -> tuple[int, list[tuple[str, str]], bytes]: ...


class InProcessServer:
    """The app and the worker in this process, driven deterministically.

    With `settle_after_requests` (the default) the worker runs the queued operations after every
    POST/PUT/DELETE, as a live server's worker would right after the reply; without it, operations stay
    queued until a client waits or the test calls `settle()`, so transitional states can be observed
    without a slow driver.
    """

    url = "http://lockstep.test"

    def __init__(self, handle: Handler, run_worker: Callable[[], int], drivers: dict[str, ShareDriver], *,
                 settle_after_requests: bool = True, worker: Worker | None = None) -> None:
        self.worker = worker  # for what a live worker does on its own schedule (report_pools)
        self._handle = handle
        self._run_worker = run_worker
        self.drivers = drivers
        self.settle_after_requests = settle_after_requests
        self._settling = False
        self.transport = httpx.MockTransport(self._serve)
        self._http = httpx.Client(transport=self.transport, base_url=self.url, timeout=30)

    @property
    def http(self) -> httpx.Client:
        return self._http

    def settle(self) -> int:
        """Run every operation that is ready now; returns how many ran."""
        if self._settling:
            return 0  # a request made from inside a driver call (a test observing it) must not recurse
        self._settling = True
        try:
            return self._run_worker()
        finally:
            self._settling = False

    def _serve(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        origin = f"{request.url.scheme}://{headers.get('host') or request.url.netloc.decode('ascii')}"
        # As the ASGI entry does: the path decoded, the query raw, an oversized body refused as None.
        # The peer is loopback, as for httpx's own ASGI transport: the test runs on the server's host.
        status, out, payload = self._handle(request.method, request.url.path, request.url.query.decode("latin-1"),
                                            headers, body if len(body) <= MAX_BODY else None, origin,
                                            peer="127.0.0.1")
        if self.settle_after_requests and request.method in ("POST", "PUT", "DELETE"):
            self.settle()
        return httpx.Response(status, headers=out, content=payload)

    def client(self, project: str | None = None, user: str = "admin", version: str | None = "2.30",
               experimental: bool = True) -> Client:
        return Client(self.url, project or uuid.uuid4().hex, user, version, experimental,
                      transport=self.transport, settle=self.settle)

    def close(self) -> None:
        self._http.close()


@contextlib.contextmanager
def in_process_server(data_dir: Path, database_url: str, *, settle_after_requests: bool = True,
                      **overrides: str) -> Iterator[InProcessServer]:
    """What `lockstep db upgrade` then `lockstep serve` build, in this process and without threads.

    The one place the tests assemble Lockstep themselves: it follows cli.py step by step.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = config.load(env=settings_env(data_dir, database_url, **overrides))
    migrate(settings.effective_database_url)
    engine = engine_for(settings)
    try:
        create_default_share_type(settings, engine)
        create_default_share_group_type(settings, engine)
        app: LockstepApp = build_app(settings, build_services(settings, engine))
        drivers = build_drivers(settings)
        worker: Worker = build_worker(settings, engine, drivers)
        worker.report_pools()
        worker.restore_exports()  # as Worker.start does (nothing without an NFS server)
        server = InProcessServer(app.handle, worker.run_once, drivers, settle_after_requests=settle_after_requests,
                                 worker=worker)
        try:
            yield server
        finally:
            server.close()
            if worker.context.nfs is not None:
                worker.context.nfs.close()  # as a clean stop of the worker does
    finally:
        engine.dispose()


@contextlib.contextmanager
def configured_server(tmp: Path, db_kind: str, toml: str | None = None, *, settle_after_requests: bool = True,
                      **env: str) -> Iterator[InProcessServer]:
    """An in-process server with its own database and extra settings (a TOML config and/or environment)."""
    overrides = dict(env)
    if toml is not None:
        path = tmp / "lockstep.toml"
        path.write_text(toml)
        overrides["LOCKSTEP_CONFIG"] = str(path)
    with migrated_database(db_kind, tmp) as url, \
            in_process_server(tmp / "data", url, settle_after_requests=settle_after_requests, **overrides) as srv:
        yield srv


# live ---------------------------------------------------------------------------------------------------
@dataclass
class LiveServer:
    """A `lockstep serve` process (or several processes sharing one database)."""

    data_dir: Path
    database_url: str
    env: dict[str, str]
    port: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def http(self) -> httpx.Client:
        return self._http

    def start(self, *extra: str) -> None:
        """Start `lockstep serve` and return once it said "serving" (every API process and the worker
        are up) and answers."""
        path = self.data_dir / f"serve-{len(self.procs)}.log"
        offset = path.stat().st_size if path.exists() else 0
        log = open(path, "ab")
        proc = subprocess.Popen([sys.executable, "-m", "lockstep.cli", "serve", *extra], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"lockstep serve exited with {proc.returncode}: {self.log_text()}")
            if b"lockstep: serving" in path.read_bytes()[offset:]:
                try:
                    httpx.get(self.url + "/", timeout=1)
                    return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"lockstep serve did not answer within 60 s: {self.log_text()}")

    def start_worker(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """A `lockstep worker` process (`args`: its options, e.g. `--host`) in its own process group."""
        log = open(self.data_dir / f"worker-{len(self.procs)}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "lockstep.cli", "worker", *args], env={**self.env, **env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process; after SIGTERM, allow the supervisor its own stop grace (30 s, then it kills
        a child that has not stopped) before this fails."""
        stuck = []
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(30 if sig == signal.SIGKILL else 60)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(30)
                    stuck.append(proc.pid)
        self.procs.clear()
        assert not stuck, f"processes {stuck} did not stop on signal {sig}: {self.log_text()}"

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.data_dir.glob("*.log")))

    def client(self, project: str | None = None, user: str = "admin", version: str | None = "2.30",
               experimental: bool = True) -> Client:
        return Client(self.url, project or uuid.uuid4().hex, user, version, experimental)


def server_env(data_dir: Path, database_url: str, port: int, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTEP_")}
    # One API process (plus the worker process): what these tests prove does not need one per core, and
    # the machine running them is shared. tests/e2e/test_supervisor.py covers the default.
    env.update(settings_env(data_dir, database_url, **{"LOCKSTEP_LISTEN": f"127.0.0.1:{port}",
                                                       "LOCKSTEP_PROCESSES": "1", **overrides}))
    return env


def _prepare(env: dict[str, str]) -> None:
    """What `lockstep db upgrade` does (migrate, default types), in this process: a `db upgrade` process per
    server only repeats start-up that tests of the CLI itself already cover."""
    settings = config.load(env={k: v for k, v in env.items() if k.startswith("LOCKSTEP_")})
    migrate(settings.effective_database_url)
    engine = engine_for(settings)
    try:
        create_default_share_type(settings, engine)
        create_default_share_group_type(settings, engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def live_server(data_dir: Path, database_url: str, *, start: bool = True, **overrides: str) -> Iterator[LiveServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = server_env(data_dir, database_url, port, **overrides)
    _prepare(env)
    server = LiveServer(data_dir, database_url, env, port)
    try:
        if start:
            server.start()
        yield server
    finally:
        server.kill(signal.SIGTERM)
        server.http.close()


@contextlib.contextmanager
def share_held_by_a_worker(tmp: Path) -> Iterator[tuple[LiveServer, Client, dict[str, Any], subprocess.Popen[bytes]]]:
    """An API on PostgreSQL without a worker of its own, one `lockstep worker` whose fake driver takes 2 s a
    call, and a share whose creation that worker is in the middle of: (server, client, share, worker)."""
    call_log = tmp / "calls.log"
    config = tmp / "lockstep.toml"
    config.write_text(f'[backend.default]\ndriver = "fake"\ndelay = "2"\ncall_log = "{call_log}"\n')
    with migrated_database("postgresql", tmp) as url, live_server(
            tmp / "data", url, LOCKSTEP_CONFIG=str(config), LOCKSTEP_WORKER="false") as server:
        worker = server.start_worker()
        client = server.client()
        share = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}}).json()["share"]
        deadline = time.time() + 15
        while not (call_log.exists() and share["id"] in call_log.read_text()):
            assert time.time() < deadline, server.log_text()
            time.sleep(0.05)
        yield server, client, share, worker


class Client:
    """httpx with Manila's headers; `project` is the token's (and the URL's) project.

    `transport` and `settle` come from an in-process server: the requests go to the app in this process,
    and waiting runs the worker instead of sleeping.
    """

    def __init__(self, base: str, project: str, user: str, version: str | None, experimental: bool, *,
                 transport: httpx.BaseTransport | None = None, settle: Callable[[], int] | None = None) -> None:
        self.base = base
        self.project = project
        self.user = user
        self.transport = transport
        self.settle = settle
        headers = {"X-Auth-Token": f"{user}:{project}", "Content-Type": "application/json"}
        if version is not None:
            headers["X-OpenStack-Manila-API-Version"] = version
        if experimental:
            headers["X-OpenStack-Manila-API-Experimental"] = "True"
        self.http = httpx.Client(base_url=f"{base}/v2/{project}", headers=headers, timeout=30, transport=transport)

    def with_(self, **kwargs: Any) -> Client:
        args = {"project": self.project, "user": self.user,
                "version": self.http.headers.get("X-OpenStack-Manila-API-Version"),
                "experimental": "X-OpenStack-Manila-API-Experimental" in self.http.headers}
        args.update(kwargs)
        return Client(self.base, args["project"], args["user"], args["version"], args["experimental"],
                      transport=self.transport, settle=self.settle)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.put(path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def until(self, done: Callable[[], bool], failure: Callable[[], str], timeout: float = 30) -> None:
        """Until `done()`: in-process, run the ready operations before each look; live, poll every 50 ms.

        In-process a look that finds nothing done after a settle that ran nothing can only wait for an
        operation released with a retry delay, so only then does it sleep.
        """
        deadline = time.time() + timeout
        while True:
            ran = self.settle() if self.settle is not None else 0
            if done():
                return
            if time.time() >= deadline:
                raise AssertionError(failure())
            if not ran:
                time.sleep(0.05)

    def wait(self, path: str, key: str, statuses: tuple[str, ...] = ("available", "error"),
             timeout: float = 30) -> dict[str, Any]:
        """Until the resource's status is one of `statuses` (or it is gone, for 'deleted')."""
        seen: dict[str, Any] = {}

        def settled() -> bool:
            resp = self.get(path)
            if resp.status_code == 404 and "deleted" in statuses:
                seen.clear()
                seen["status"] = "deleted"
                return True
            seen.clear()
            seen.update(resp.json()[key])
            return seen["status"] in statuses

        self.until(settled, lambda: f"{path} stayed {seen.get('status')} (wanted {statuses})", timeout)
        return seen

    def wait_gone(self, path: str, timeout: float = 30) -> None:
        self.until(lambda: self.get(path).status_code == 404, lambda: f"{path} still exists", timeout)

    # conveniences for the common setup ------------------------------------------------------------
    def create_group(self, **fields: Any) -> dict[str, Any]:
        resp = self.post("/consistency-groups", {"consistency_group": fields})
        assert resp.status_code == 202, resp.text
        group = resp.json()["consistency_group"]
        return self.wait(f"/consistency-groups/{group['id']}", "consistency_group")

    def create_share(self, size: int = 1, proto: str = "NFS", **fields: Any) -> dict[str, Any]:
        resp = self.post("/shares", {"share": {"size": size, "share_proto": proto, **fields}})
        assert resp.status_code == 200, resp.text
        share = resp.json()["share"]
        return self.wait(f"/shares/{share['id']}", "share")

    def create_cgsnapshot(self, group_id: str, **fields: Any) -> dict[str, Any]:
        resp = self.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group_id, **fields}})
        assert resp.status_code == 202, resp.text
        return self.wait(f"/cgsnapshots/{resp.json()['cgsnapshot']['id']}", "cgsnapshot")


def fault(resp: httpx.Response) -> tuple[str, int, str]:
    """(faultName, code, message) of a Manila fault body."""
    body = resp.json()
    assert len(body) == 1, body
    name, inner = next(iter(body.items()))
    assert inner["code"] == resp.status_code
    return name, inner["code"], inner["message"]
