"""A CephFS worker killed mid-cgsnapshot is fenced before another takes its operation over (live processes on
PostgreSQL, the session's Ceph cluster).

Hosts alpha and beta run `lockstep worker` on one cephfs backend shared through `backend_host` (each its own
ceph-fuse mount, hence its own MDS sessions, tagged with its process identity). Alpha claims a cgsnapshot
and is killed (SIGKILL, the worker process only: its ceph-fuse lives on, as a dead machine's or a paused
worker's client would still hold its session). Beta waits for alpha's lease, evicts alpha's sessions (which
blocklists alpha's client address) and only then cuts: one snapshot, the cgsnapshot available. Alpha's cut is
held back by LOCKSTEP_TEST_CEPHFS_CUT_DELAY (a test-only setting of the cephfs driver) so that the kill lands
in the middle of the operation every time.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from lockstep.adapters.drivers.cephclient import OWNER_KEY, detach
from lockstep.adapters.drivers.cephfs import TEST_CUT_DELAY
from lockstep.service.fencing import process_of
from tests.ceph_cluster import FS_NAME, CephCluster
from tests.support import LiveServer, live_server, migrated_database

LEASE = 3  # LOCKSTEP_LEASE_SECONDS of tests/support.py


@pytest.fixture
def api(tmp_path: Path) -> Iterator[LiveServer]:
    """An API process on PostgreSQL with no worker of its own; the test starts the share hosts."""
    with migrated_database("postgresql", tmp_path) as url, live_server(
            tmp_path / "data", url, LOCKSTEP_WORKER="false", LOCKSTEP_REPORT_INTERVAL="0.5",
            LOCKSTEP_SERVICE_DOWN_TIME="3", LOCKSTEP_BACKEND="cephfs",
            LOCKSTEP_ENABLED_SHARE_PROTOCOLS="CEPHFS") as server:
        yield server


def _until(what: Callable[[], object], why: Callable[[], str], timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not what():
        assert time.time() < deadline, why()
        time.sleep(0.05)


def _sessions(cluster: CephCluster) -> dict[str, str]:
    """lockstep_owner tag -> client address, of every MDS session that has one."""
    listed = json.loads(cluster.admin.run("tell", f"mds.{FS_NAME}:0", "client", "ls", action="client ls"))
    return {s["client_metadata"][OWNER_KEY]: s["inst"].split(" ", 1)[1] for s in listed
            if OWNER_KEY in s.get("client_metadata", {})}


def _running_owner(server: LiveServer, target: str) -> str | None:
    with psycopg.connect(server.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT owner FROM operations WHERE target_id = %s AND state = 'running'",
                           (target,)).fetchone()
    return None if row is None else str(row[0])


def test_a_killed_cephfs_worker_is_fenced_before_its_cgsnapshot_is_taken_over(
        api: LiveServer, ceph_cluster: CephCluster, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    mounts = {host: ceph_cluster.directory / prefix / host for host in ("alpha", "beta")}

    def config(host: str) -> str:
        path = tmp_path / f"{host}.toml"
        path.write_text(f'[backend.default]\ndriver = "cephfs"\nconf = "{ceph_cluster.conf}"\nprefix = "{prefix}"\n'
                        f'mount = "{mounts[host]}"\nbackend_host = "ceph"\n')
        return str(path)

    alpha = api.start_worker("--host", "alpha", LOCKSTEP_CONFIG=config("alpha"), **{TEST_CUT_DELAY: "60"})
    client = api.client()
    try:
        _until(lambda: any(s["host"] == "ceph@default" and s["state"] == "up"
                           for s in client.get("/services").json()["services"]), api.log_text)
        group = client.create_group(name="orders")
        assert group["status"] == "available", api.log_text()
        shares = [client.create_share(consistency_group_id=group["id"], name=n, proto="CEPHFS")
                  for n in ("tables", "logs")]
        assert [s["status"] for s in shares] == ["available", "available"], api.log_text()

        resp = client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}})
        assert resp.status_code == 202, resp.text
        cut = resp.json()["cgsnapshot"]["id"]
        _until(lambda: _running_owner(api, cut), lambda: f"alpha never claimed the cut\n{api.log_text()}")
        alpha_owner = str(_running_owner(api, cut))
        alpha_addr = _sessions(ceph_cluster)[process_of(alpha_owner)]
        api.start_worker("--host", "beta", LOCKSTEP_CONFIG=config("beta"))
        _until(lambda: len([t for t in _sessions(ceph_cluster) if t != process_of(alpha_owner)]) >= 1,
               lambda: f"beta never mounted the volume\n{api.log_text()}")
        time.sleep(0.5)  # alpha is inside the driver's cut (held back 60 s before its mkdir)

        os.kill(alpha.pid, signal.SIGKILL)
        killed = time.perf_counter()
        alpha.wait()
        done = client.wait(f"/cgsnapshots/{cut}", "cgsnapshot", timeout=60)
        took = time.perf_counter() - killed
        assert done["status"] == "available", api.log_text()

        # Alpha's client was fenced (evicted: no session left, its address blocklisted) before beta cut.
        assert process_of(alpha_owner) not in _sessions(ceph_cluster)
        assert alpha_addr in ceph_cluster.admin.run("osd", "blocklist", "ls", action="blocklist")
        log = api.log_text()
        assert f"fenced {alpha_owner} on ceph@default" in log and "could not fence" not in log, log
        beta_addr = next(a for t, a in _sessions(ceph_cluster).items() if t != process_of(alpha_owner))
        assert beta_addr not in ceph_cluster.admin.run("osd", "blocklist", "ls", action="blocklist")
        snaps = mounts["beta"] / "volumes" / f"{prefix}-{group['id']}" / ".snap"
        assert [n for n in os.listdir(snaps) if not n.startswith("_")] == [cut]
        members = client.get(f"/cgsnapshots/{cut}/members").json()["cgsnapshot_members"]
        assert sorted(m["share_id"] for m in members) == sorted(s["id"] for s in shares)
        record_property("driver_measurement", f"cephfs takeover: worker killed mid-cgsnapshot, lease {LEASE} s: "
                        f"fenced and the cgsnapshot available {took:.2f} s after SIGKILL")

        assert client.delete(f"/cgsnapshots/{cut}").status_code == 202
        client.wait_gone(f"/cgsnapshots/{cut}")
        for share in shares:
            assert client.delete(f"/shares/{share['id']}?consistency_group_id={group['id']}").status_code == 202
            client.wait_gone(f"/shares/{share['id']}")
        assert client.delete(f"/consistency-groups/{group['id']}").status_code == 202
        client.wait_gone(f"/consistency-groups/{group['id']}")
    finally:
        api.kill(signal.SIGTERM)
        detach(mounts["alpha"])  # alpha's evicted ceph-fuse outlived its worker
        detach(mounts["beta"])
        ceph_cluster.admin.run("fs", "subvolumegroup", "rm", FS_NAME, prefix, "--force", action="cleanup")
    assert not any(Path(m).is_mount() for m in mounts.values())
