"""`make cluster` as a user runs it: `scripts/cluster.sh up` brings up PostgreSQL, a one-node Ceph, two
share hosts with their own btrfs pools that both serve the CephFS backend, and two API processes; the
API places, cuts and restores on them; `down` leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support import Client, ensure_postgres, free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cluster.sh"


def _cluster_possible() -> str | None:
    if os.geteuid() != 0:
        return "make cluster needs root (loop devices, ceph-fuse)"
    for binary in ("ceph-mon", "ceph-osd", "ceph-mds", "ceph-mgr", "ceph-fuse"):
        if not any((Path(d) / binary).exists() for d in ("/usr/bin", "/usr/sbin")):
            return f"{binary} is not installed (scripts/install-system-deps.sh installs it)"
    return None


class Cluster:
    def __init__(self) -> None:
        # A short directory: Ceph's admin sockets live under it, and a socket path has at most 107 bytes.
        self.dir = Path(f"/var/tmp/lsc-{uuid.uuid4().hex[:8]}")
        self.port = free_port()
        self.db = f"lockstep_cluster_{uuid.uuid4().hex[:8]}"
        self.env = {**os.environ, "LOCKSTEP_CLUSTER_DIR": str(self.dir), "LOCKSTEP_CLUSTER_PORT": str(self.port),
                    "LOCKSTEP_CLUSTER_DB": self.db, "PY": sys.executable}

    def run(self, command: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPT), command], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def client(self, project: str = "demo") -> Client:
        return Client(f"http://127.0.0.1:{self.port}", project, "admin", "2.55", False)

    def processes(self) -> list[int]:
        """Processes started for this cluster: Lockstep's (by data directory) and Ceph's (by conf path)."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                text = (proc / "environ").read_bytes() + b"\0" + (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if str(self.dir).encode() in text:
                found.append(int(proc.name))
        return found


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    reason = _cluster_possible()
    if reason:
        pytest.skip(reason)
    ensure_postgres()
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.run("down")


def test_make_cluster_serves_two_hosts_and_cephfs_and_leaves_nothing(cluster: Cluster) -> None:
    up = cluster.run("up")
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"http://127.0.0.1:{cluster.port}" in up.stdout

    client = cluster.client()
    services = {s["host"]: s["state"] for s in client.get("/services").json()["services"]
                if s["binary"] == "manila-share"}
    assert services == {"alpha@local": "up", "beta@local": "up", "ceph@ceph": "up"}, services

    # Local shares spread over both hosts' btrfs pools.
    shares = [client.create_share(share_type="local") for _ in range(4)]
    hosts = {client.wait(f"/shares/{s['id']}", "share")["host"].split("@")[0] for s in shares}
    assert hosts == {"alpha", "beta"}, hosts

    # A group on CephFS: one atomic cut, restored by either host.
    types = {t["name"]: t["id"] for t in client.get("/types").json()["share_types"]}
    group_types = {t["name"]: t["id"] for t in client.get("/share-group-types").json()["share_group_types"]}
    group = client.post("/share-groups", {"share_group": {"share_types": [types["cephfs"]],
                                                          "share_group_type_id": group_types["cephfs"]}})
    assert group.status_code == 202, group.text
    group_id = group.json()["share_group"]["id"]
    assert client.wait(f"/share-groups/{group_id}", "share_group")["status"] == "available"
    members = [client.create_share(share_type="cephfs", share_group_id=group_id, proto="CEPHFS") for _ in range(2)]
    for member in members:
        settled = client.wait(f"/shares/{member['id']}", "share")
        assert settled["status"] == "available" and settled["host"].startswith("ceph@ceph#"), settled
    cut = client.post("/share-group-snapshots", {"share_group_snapshot": {"share_group_id": group_id}})
    assert cut.status_code == 202, cut.text
    cut_id = cut.json()["share_group_snapshot"]["id"]
    assert client.wait(f"/share-group-snapshots/{cut_id}", "share_group_snapshot")["status"] == "available"
    restored = client.post("/share-groups", {"share_group": {"source_share_group_snapshot_id": cut_id}})
    assert restored.status_code == 202, restored.text
    restored_id = restored.json()["share_group"]["id"]
    assert client.wait(f"/share-groups/{restored_id}", "share_group", timeout=120)["status"] == "available"

    assert cluster.processes(), "the cluster runs no process under its directory"
    down = cluster.run("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not cluster.dir.exists()
    assert cluster.processes() == []
    mounts = Path("/proc/mounts").read_text()
    assert str(cluster.dir) not in mounts
    loops = subprocess.run(["losetup", "-n", "-O", "BACK-FILE"], capture_output=True, text=True).stdout
    assert str(cluster.dir) not in loops
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as conn:
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (cluster.db,)).fetchone() == (0,)
