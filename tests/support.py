"""Test helpers: a live Lockstep server in a subprocess, a client with Manila's headers, PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

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


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database, dropped afterwards."""
    import psycopg

    ensure_postgres()
    name = f"lockstep_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'lockstep.sqlite'}"


def run_cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lockstep.cli", *args], env=env, capture_output=True, text=True,
                          check=check, timeout=120)


@dataclass
class Server:
    """A `lockstep serve` process (or several processes sharing one database)."""

    data_dir: Path
    database_url: str
    env: dict[str, str]
    port: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> None:
        log = open(self.data_dir / f"serve-{len(self.procs)}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "lockstep.cli", "serve", *extra], env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        deadline = time.time() + 30
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"lockstep serve exited with {proc.returncode}: {self.log_text()}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"lockstep serve did not answer within 30 s: {self.log_text()}")

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.data_dir / f"worker-{len(self.procs)}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "lockstep.cli", "worker"], env={**self.env, **env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, sig: int = signal.SIGKILL) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                proc.wait(30)
        self.procs.clear()

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(self.data_dir.glob("*.log")))

    def client(self, project: str | None = None, user: str = "admin", version: str = "2.30",
               experimental: bool = True) -> Client:
        return Client(self.url, project or uuid.uuid4().hex, user, version, experimental)


def server_env(data_dir: Path, database_url: str, port: int, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTEP_")}
    env.update({
        "LOCKSTEP_DATA_DIR": str(data_dir), "LOCKSTEP_DATABASE_URL": database_url,
        "LOCKSTEP_LISTEN": f"127.0.0.1:{port}", "LOCKSTEP_BACKEND": "fake", "LOCKSTEP_POLL_INTERVAL": "0.05",
        "LOCKSTEP_LEASE_SECONDS": "3", "LOCKSTEP_LOG_LEVEL": "INFO",
    })
    env.update(overrides)
    return env


@contextlib.contextmanager
def live_server(data_dir: Path, database_url: str, *, start: bool = True, **overrides: str) -> Iterator[Server]:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = server_env(data_dir, database_url, port, **overrides)
    run_cli(env, "db", "upgrade")
    server = Server(data_dir, database_url, env, port)
    try:
        if start:
            server.start()
        yield server
    finally:
        server.kill(signal.SIGTERM)


class Client:
    """httpx with Manila's headers; `project` is the token's (and the URL's) project."""

    def __init__(self, base: str, project: str, user: str, version: str | None, experimental: bool) -> None:
        self.base = base
        self.project = project
        self.user = user
        headers = {"X-Auth-Token": f"{user}:{project}", "Content-Type": "application/json"}
        if version is not None:
            headers["X-OpenStack-Manila-API-Version"] = version
        if experimental:
            headers["X-OpenStack-Manila-API-Experimental"] = "True"
        self.http = httpx.Client(base_url=f"{base}/v2/{project}", headers=headers, timeout=30)

    def with_(self, **kwargs: Any) -> Client:
        args = {"project": self.project, "user": self.user,
                "version": self.http.headers.get("X-OpenStack-Manila-API-Version"),
                "experimental": "X-OpenStack-Manila-API-Experimental" in self.http.headers}
        args.update(kwargs)
        return Client(self.base, args["project"], args["user"], args["version"], args["experimental"])

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, json=body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.put(path, json=body, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, **kw)

    def wait(self, path: str, key: str, statuses: tuple[str, ...] = ("available", "error"),
             timeout: float = 30) -> dict[str, Any]:
        """Poll until the resource's status is one of `statuses` (or it is gone, for 'deleted')."""
        deadline = time.time() + timeout
        body: dict[str, Any] = {}
        while time.time() < deadline:
            resp = self.get(path)
            if resp.status_code == 404 and "deleted" in statuses:
                return {"status": "deleted"}
            body = resp.json()[key]
            if body["status"] in statuses:
                return body
            time.sleep(0.05)
        raise AssertionError(f"{path} stayed {body.get('status')} (wanted {statuses})")

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


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
