"""Shared pieces of the benchmark suite: progress lines, live servers, PostgreSQL databases, stats.

Everything talks to 127.0.0.1 only, and every loop is bounded by a count and a deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import loadgen  # noqa: E402  (bench/loadgen.py, the colleague's load generator)

# The fake backend as a pool that never fills (as Manila's DummyDriver's): the API and peer sections measure
# the API, and their seeds and write phases place more than the default 1,000 GiB.
NEVER_FULL_BACKEND = '[backend.default]\ndriver = "fake"\ncapacity_gb = "10000000"\n'
PG_ADMIN_URL = os.environ.get("LOCKSTEP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
T0 = time.monotonic()
API_VERSION = "2.30"


def log(msg: str) -> None:
    print(f"[bench {time.monotonic() - T0:7.1f}s] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    vals = sorted(values)
    k = max(0, min(len(vals) - 1, math.ceil(p / 100.0 * len(vals)) - 1))
    return vals[k]


def summary_ms(seconds: list[float]) -> dict[str, Any]:
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": _r(percentile(ms, 50)),
        "p95_ms": _r(percentile(ms, 95)),
        "p99_ms": _r(percentile(ms, 99)),
        "min_ms": _r(min(ms)) if ms else None,
        "max_ms": _r(max(ms)) if ms else None,
    }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


# ---------------------------------------------------------------------------------- PostgreSQL


def ensure_postgres() -> None:
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0:
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (/etc/postgresql missing); run scripts/install-system-deps.sh")
    log("starting the local PostgreSQL cluster")
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError("PostgreSQL did not come up on 127.0.0.1:5432")


@contextlib.contextmanager
def pg_database(tag: str) -> Iterator[str]:
    """A dedicated database, dropped afterwards (also on failure)."""
    import psycopg

    ensure_postgres()
    name = f"lockstep_bench_{tag}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"created PostgreSQL database {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped PostgreSQL database {name}")


# ---------------------------------------------------------------------------------- servers


@dataclass
class LockstepServer:
    """`lockstep db upgrade` then `lockstep serve` in its own session, like tests/support.py."""

    workdir: Path
    database_url: str
    backend: str = "fake"
    processes: int | None = 1  # API processes (`--processes`); None: `lockstep serve`'s default (one per core)
    config_text: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCKSTEP_")}
        env.update({
            "LOCKSTEP_DATA_DIR": str(self.workdir / "data"),
            "LOCKSTEP_DATABASE_URL": self.database_url,
            "LOCKSTEP_LISTEN": f"127.0.0.1:{self.port}",
            "LOCKSTEP_LOG_LEVEL": "WARNING",
        })
        # The benchmarks create many objects per project: no quota ceilings (as the Manila peer is set up).
        env.update({f"LOCKSTEP_QUOTA_{name}": "-1" for name in (
            "SHARES", "GIGABYTES", "SNAPSHOTS", "SNAPSHOT_GIGABYTES", "SHARE_NETWORKS", "SHARE_GROUPS",
            "SHARE_GROUP_SNAPSHOTS")})
        if self.backend:
            env["LOCKSTEP_BACKEND"] = self.backend
        if self.config_text is not None:
            cfg = self.workdir / "lockstep.toml"
            cfg.write_text(self.config_text)
            env["LOCKSTEP_CONFIG"] = str(cfg)
        env.update(self.extra_env)
        return env

    def upgrade(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        if not self.port:
            self.port = free_port()
        proc = subprocess.run([sys.executable, "-m", "lockstep.cli", "db", "upgrade"], env=self.env(),
                              capture_output=True, text=True, timeout=180)
        if proc.returncode != 0:
            raise RuntimeError(f"lockstep db upgrade failed: {proc.stdout}{proc.stderr}")

    def start(self) -> None:
        if not self.port:
            self.port = free_port()
        logf = open(self.workdir / f"serve-{self.port}.log", "ab")
        args = [sys.executable, "-m", "lockstep.cli", "serve"]
        if self.processes is not None:
            args += ["--processes", str(self.processes)]
        self.proc = subprocess.Popen(args, env=self.env(), stdout=logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lockstep serve exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"lockstep serve did not answer within 60 s: {self.log_tail()}")
        while time.monotonic() < deadline and "lockstep: serving" not in self.log_tail():
            time.sleep(0.1)  # the supervisor says so once every API process and the worker are up

    def log_tail(self) -> str:
        logs = sorted(self.workdir.glob("serve-*.log"))
        return logs[-1].read_text(errors="replace")[-3000:] if logs else ""

    def processes_info(self) -> list[dict[str, Any]]:
        """pid, role and RSS (MiB) of the server process and all its descendants."""
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return []
        out = []
        try:
            top = psutil.Process(self.proc.pid)
            procs = [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for p in procs:
            try:
                cmd = " ".join(p.cmdline())
                name = p.name()  # `lockstep serve` names its children lockstep-api, lockstep-worker
                rss = p.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
            if name == "lockstep-worker" or "lockstep.cli worker" in cmd:
                role = "worker"
            elif name == "lockstep-api":
                role = "api"
            elif p.pid == top.pid:
                role = "supervisor"
            else:
                role = "other"
            out.append({"pid": p.pid, "role": role, "rss_mb": round(rss, 1)})
        return out

    def save_metrics(self) -> None:
        """The server's /metrics after its workload, kept as bench/results/metrics-<workdir>.prom."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            body = resp.read()
            conn.close()
        except OSError as exc:
            log(f"could not read /metrics of {self.url}: {exc}")
            return
        if resp.status == 200:
            out = ROOT / "bench" / "results" / f"metrics-{self.workdir.name}.prom"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(body)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.save_metrics()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None


@contextlib.contextmanager
def running(server: LockstepServer) -> Iterator[LockstepServer]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------- HTTP


class Api:
    """One keep-alive connection to Lockstep for one project (token `<user>:<project>`)."""

    def __init__(self, url: str, project: str, user: str = "admin", timeout: float = 120.0) -> None:
        host, port = url.split("//", 1)[1].split(":")
        loadgen.check_loopback(host)
        headers = {
            "Accept": "application/json",
            "X-Auth-Token": f"{user}:{project}",
            "X-OpenStack-Manila-API-Version": API_VERSION,
            "X-OpenStack-Manila-API-Experimental": "True",
        }
        self.project = project
        self.client = loadgen.Client(host, int(port), f"/v2/{project}", headers, timeout)

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 202, 204)) -> Any:
        status, data, _ = self.client.request(method, path, body)
        if status not in ok:
            raise RuntimeError(f"{method} {path} -> {status}: {data[:300]!r}")
        return json.loads(data) if data else None

    def timed(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        return self.client.request(method, path, body)

    def close(self) -> None:
        self.client.close()

    def wait_status(self, path: str, key: str, want: str = "available", timeout: float = 120.0,
                    interval: float = 0.005) -> float:
        """Poll one resource until `want`; returns the monotonic time it was first seen so."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.call("GET", path)[key]
            if body["status"] == want:
                return time.monotonic()
            if body["status"].startswith("error"):
                raise RuntimeError(f"{path} went to {body['status']}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} still {body['status']} after {timeout:.0f} s")
            time.sleep(interval)

    def wait_many(self, collection: str, key: str, ids: list[str], want: str = "available",
                  timeout: float = 180.0, query: str = "", interval: float = 0.1) -> list[str]:
        """Poll a detail list until every id has `want` (or, for want='gone', is absent).

        Returns the ids that did not get there before the deadline.
        """
        todo = set(ids)
        deadline = time.monotonic() + timeout
        while todo and time.monotonic() < deadline:
            seen: dict[str, str] = {}
            offset = 0
            for _ in range(1000):  # bounded paging
                page = self.call("GET", f"/{collection}/detail?limit=1000&offset={offset}{query}")[key]
                seen.update({item["id"]: item["status"] for item in page})
                if len(page) < 1000:
                    break
                offset += 1000
            if want == "gone":
                todo = {i for i in todo if i in seen}
            else:
                bad = [i for i in todo if seen.get(i, "").startswith("error")]
                if bad:
                    raise RuntimeError(f"{len(bad)} of {collection} went to an error state, e.g. {bad[0]}")
                todo = {i for i in todo if seen.get(i) != want}
            if todo:
                time.sleep(interval)
        return sorted(todo)


def closed_loop(url: str, project: str, clients: int, duration: float, max_requests: int,
                make_request: Callable[[int], tuple[str, str, Any]],
                on_ok: Callable[[int, bytes], None] | None = None) -> dict[str, Any]:
    """N keep-alive clients back to back (loadgen.Bench.run_phase), bounded by count and time."""
    args = loadgen.parse_args([
        "--url", url, "--dialect", "lockstep", "--project", project, "--api-version", API_VERSION,
        "--duration", str(duration), "--max-requests", str(max_requests), "--max-duration", str(duration),
        "--quiet",
    ])
    bench = loadgen.Bench(args)
    try:
        res = bench.run_phase("x", clients, lambda _c, i: make_request(i), on_ok=on_ok)
    finally:
        bench.admin.close()
    lat = res.latencies
    out = summary_ms(lat)
    out.update({
        "clients": clients,
        "ok": len(lat),
        "errors": res.errors,
        "wall_s": round(res.wall, 3),
        "throughput_rps": round(len(lat) / res.wall, 1) if res.wall > 0 else None,
    })
    if res.error_sample:
        out["error_sample"] = res.error_sample
    return out
