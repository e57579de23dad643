"""Many share hosts on one PostgreSQL, as live processes: placement, a host that dies, fencing, wake-ups.

Each test runs `lockstep serve` without a worker (API processes only) and `lockstep worker --host NAME`
processes, all on one PostgreSQL database, with short heartbeats (`report_interval`) and a short
`service_down_time`, so that a dead host is seen as down within seconds.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lockstep.adapters.drivers.posix import PosixDriver
from tests.support import Client, LiveServer, live_server, migrated_database

DOWN_AFTER = 3  # LOCKSTEP_SERVICE_DOWN_TIME below


def _backend(tmp: Path, name: str, lines: str) -> str:
    """A config file whose backend `default` is described by `lines`; returns its path."""
    path = tmp / f"{name}.toml"
    path.write_text(f"[backend.default]\n{lines}")
    return str(path)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LiveServer]:
    """Two API processes on PostgreSQL and no worker of their own; the tests start the share hosts."""
    with migrated_database("postgresql", tmp_path) as url, live_server(
            tmp_path / "data", url, LOCKSTEP_WORKER="false", LOCKSTEP_PROCESSES="2", LOCKSTEP_REPORT_INTERVAL="0.5",
            LOCKSTEP_SERVICE_DOWN_TIME=str(DOWN_AFTER), LOCKSTEP_QUOTA_SHARES="-1",
            LOCKSTEP_QUOTA_GIGABYTES="-1") as server:
        yield server


def _until(what: Callable[[], bool], why: Callable[[], str], timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not what():
        assert time.time() < deadline, why()
        time.sleep(0.05)


def _services(client: Client) -> dict[str, str]:
    """manila-share host@backend -> state."""
    resp = client.get("/services")
    assert resp.status_code == 200, resp.text
    return {s["host"]: s["state"] for s in resp.json()["services"] if s["binary"] == "manila-share"}


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    os.killpg(proc.pid, sig)  # the worker and its children (a `cp` in flight)


def _db(server: LiveServer) -> psycopg.Connection[Any]:
    return psycopg.connect(server.database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def test_two_hundred_shares_across_two_hosts_never_oversubscribe(
        cluster: LiveServer, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    """Eight clients ask for 200 shares of 1-3 GiB against two hosts of 40 GiB each (thick: the driver
    refuses what does not fit, so an oversubscribed pool would show as shares in error)."""
    thick = _backend(tmp_path, "thick", 'driver = "fake"\ncapacity_gb = "40"\n')
    env = {"LOCKSTEP_CONFIG": thick, "LOCKSTEP_RESERVED_PERCENTAGE": "0"}
    hosts = [cluster.start_worker("--host", name, **env) for name in ("alpha", "beta")]
    client = cluster.client()
    _until(lambda: _services(client) == {"alpha@default": "up", "beta@default": "up"},
           lambda: f"hosts not up: {_services(client)}\n{cluster.log_text()}")
    sizes = random.Random(12).choices([1, 2, 3], k=200)

    def create(size: int) -> tuple[int, dict[str, Any]]:
        resp = client.post("/shares", {"share": {"size": size, "share_proto": "NFS"}})
        return resp.status_code, resp.json()

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(create, sizes))
    asked = time.perf_counter() - started
    assert {code for code, _ in answers} <= {200, 400}, collections.Counter(code for code, _ in answers)
    accepted = [body["share"]["id"] for code, body in answers if code == 200]
    for share_id in accepted:
        assert client.wait(f"/shares/{share_id}", "share", timeout=60)["status"] == "available", cluster.log_text()
    record_property("driver_measurement", f"cluster: 200 share creates by 8 clients on 2 API processes and 2 hosts "
                    f"(PostgreSQL): answered in {asked:.2f} s, {len(accepted)} placed and settled in "
                    f"{time.perf_counter() - started:.2f} s")
    shares = client.get("/shares/detail", params={"limit": 1000}).json()["shares"]
    provisioned: dict[str, int] = collections.Counter()
    for share in shares:
        provisioned[share["host"]] += share["size"]
    assert set(provisioned) == {"alpha@default#fake", "beta@default#fake"}, provisioned
    assert max(provisioned.values()) <= 40, provisioned
    assert sum(provisioned.values()) >= 80 - 4, provisioned  # refused only when no pool had room for it
    assert all(h.poll() is None for h in hosts), cluster.log_text()


def test_a_host_killed_mid_cgsnapshot_finishes_it_once_when_it_returns(cluster: LiveServer, tmp_path: Path) -> None:
    """The cut waits while its host is down (another host is up and does not take it), /services says
    down, new shares go to the host that is up; the host's return completes the cut once."""
    calls, state = tmp_path / "alpha-calls.log", tmp_path / "alpha-state.json"
    alpha_env = {"LOCKSTEP_CONFIG": _backend(tmp_path, "alpha", f'driver = "fake"\ndelay = "1"\n'
                                             f'call_log = "{calls}"\nstate_file = "{state}"\n')}
    beta_env = {"LOCKSTEP_CONFIG": _backend(tmp_path, "beta", 'driver = "fake"\ngroup_support = "none"\n')}
    alpha = cluster.start_worker("--host", "alpha", **alpha_env)
    cluster.start_worker("--host", "beta", **beta_env)
    client = cluster.client()
    _until(lambda: _services(client) == {"alpha@default": "up", "beta@default": "up"},
           lambda: f"hosts not up: {_services(client)}\n{cluster.log_text()}")
    group = client.create_group(name="db")
    assert group["host"] == "alpha@default#fake"  # beta cannot hold groups
    for _ in range(2):
        client.create_share(consistency_group_id=group["id"])
    resp = client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}})
    assert resp.status_code == 202
    cut = resp.json()["cgsnapshot"]["id"]
    _until(lambda: calls.exists() and f"create_cgsnapshot {cut}" in calls.read_text(),
           lambda: f"alpha never began the cut\n{cluster.log_text()}")
    _signal(alpha, signal.SIGKILL)
    alpha.wait()

    _until(lambda: _services(client).get("alpha@default") == "down",
           lambda: f"alpha is not down: {_services(client)}", timeout=15)
    assert _services(client)["beta@default"] == "up"
    time.sleep(3 + 1)  # past alpha's lease (3 s, tests/support.py): nobody else may take its work over
    assert client.get(f"/cgsnapshots/{cut}").json()["cgsnapshot"]["status"] == "creating"
    loose = client.create_share()
    assert loose["status"] == "available" and loose["host"] == "beta@default#fake"

    cluster.start_worker("--host", "alpha", **alpha_env)
    done = client.wait(f"/cgsnapshots/{cut}", "cgsnapshot", timeout=60)
    assert done["status"] == "available", cluster.log_text()
    members = client.get(f"/cgsnapshots/{cut}/members").json()["cgsnapshot_members"]
    assert len(members) == 2
    runs = [line.split() for line in calls.read_text().splitlines() if line.startswith(f"create_cgsnapshot {cut}")]
    assert len(runs) == 2 and runs[0][2] == str(alpha.pid) and runs[1][2] != str(alpha.pid), runs
    stored = json.loads(state.read_text())["cgsnapshots"]
    assert list(stored) == [cut] and sorted(stored[cut]) == sorted(m["id"] for m in members), stored
    with _db(cluster) as conn:
        assert conn.execute("SELECT count(*) FROM operations").fetchone() == (0,)


def test_a_worker_stopped_past_its_lease_commits_nothing_when_it_resumes(
        cluster: LiveServer, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    """Hosts alpha and beta both serve one posix directory as a shared backend (`backend_host`). Alpha
    is stopped (SIGSTOP) while it copies a snapshot; beta takes the operation over once the lease runs
    out and finishes it; alpha, resumed, is refused by the fence: one snapshot in the database and on
    the storage, no leftovers."""
    root = tmp_path / "storage"
    shared = _backend(tmp_path, "shared", f'driver = "posix"\npath = "{root}"\nbackend_host = "shared"\n')
    env = {"LOCKSTEP_CONFIG": shared, "LOCKSTEP_BACKEND": "posix"}
    first = cluster.start_worker("--host", "alpha", **env)
    client = cluster.client()
    _until(lambda: _services(client).get("shared@default") == "up", lambda: cluster.log_text())
    share = client.create_share(size=1)
    with open(root / "shares" / share["id"] / "data", "wb") as fh:
        fh.write(b"\0" * (256 << 20))  # long enough a copy to stop the worker in the middle of it
    resp = client.post("/snapshots", {"snapshot": {"share_id": share["id"]}})
    assert resp.status_code == 202, resp.text
    snapshot = resp.json()["snapshot"]["id"]
    half = root / "snapshots" / f".tmp-{snapshot}"
    _until(half.exists, lambda: f"the copy never began\n{cluster.log_text()}", timeout=15)
    _signal(first, signal.SIGSTOP)
    stopped = time.perf_counter()
    try:
        second = cluster.start_worker("--host", "beta", **env)
        done = client.wait(f"/snapshots/{snapshot}", "snapshot", timeout=60)
        assert done["status"] == "available", cluster.log_text()
        record_property("driver_measurement", f"cluster: worker stopped mid-snapshot (256 MiB, posix), lease 3 s: "
                        f"taken over and available {time.perf_counter() - stopped:.2f} s after SIGSTOP")
    finally:
        _signal(first, signal.SIGCONT)
    _until(lambda: "lost the lease" in cluster.log_text(),
           lambda: f"the resumed worker did not report its lost lease\n{cluster.log_text()}", timeout=30)
    assert first.poll() is None and second.poll() is None
    assert client.get(f"/snapshots/{snapshot}").json()["snapshot"]["status"] == "available"
    inventory = PosixDriver({"path": str(root)}).inventory()
    assert inventory.snapshots == frozenset({snapshot}) and inventory.leftovers == frozenset(), inventory
    assert (root / "snapshots" / snapshot / "data").stat().st_size == 256 << 20
    with _db(cluster) as conn:
        assert conn.execute("SELECT count(*) FROM operations").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == (0,)  # no failure was recorded


def _listener_pids(server: LiveServer) -> set[int]:
    with _db(server) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()").fetchall()
    return {row[0] for row in rows}


def test_work_goes_on_when_the_listening_connection_dies(cluster: LiveServer, tmp_path: Path) -> None:
    """The worker polls only every 30 s here, so a share settled in seconds was woken by NOTIFY; after
    pg_terminate_backend of its LISTEN connection it listens again, and wake-ups work again."""
    cluster.start_worker("--host", "alpha", LOCKSTEP_POLL_INTERVAL="30")
    client = cluster.client()
    _until(lambda: len(_listener_pids(cluster)) == 1, lambda: f"no LISTEN connection\n{cluster.log_text()}")
    _until(lambda: _services(client).get("alpha@default") == "up", lambda: cluster.log_text())
    [listening] = _listener_pids(cluster)
    assert _quick_share(client)["status"] == "available"  # woken by the notification, not the 30 s poll

    with _db(cluster) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (listening,)).fetchone() == (True,)
    _until(lambda: "LISTEN connection to PostgreSQL was lost" in cluster.log_text(), lambda: cluster.log_text())
    _until(lambda: bool(_listener_pids(cluster) - {listening}), lambda: f"not listening again\n{cluster.log_text()}",
           timeout=15)
    assert _quick_share(client)["status"] == "available"


def _quick_share(client: Client) -> dict[str, Any]:
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    assert resp.status_code == 200, resp.text
    return client.wait(f"/shares/{resp.json()['share']['id']}", "share", timeout=10)
