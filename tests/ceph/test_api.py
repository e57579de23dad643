"""Lockstep's API over a cephfs backend (in-process server, real worker, the session's Ceph cluster): a
consistency group's cgsnapshot is one atomic cut, a restore holds the data at the cut, and a cephx rule
becomes active with the key Ceph made for it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from lockstep.adapters.drivers.cephfs import CephfsDriver
from tests.ceph_cluster import FS_NAME, CephCluster
from tests.support import Client, configured_server


def _local_dir(client: Client, share_id: str) -> Path:
    locations = client.get(f"/shares/{share_id}/export_locations").json()["export_locations"]
    return Path(next(loc["path"] for loc in locations if loc["path"].startswith("/")))


def _native(client: Client, share_id: str) -> dict[str, Any]:
    locations = client.get(f"/shares/{share_id}/export_locations").json()["export_locations"]
    (native,) = [loc for loc in locations if not loc["path"].startswith("/")]
    return dict(native)


def test_cgsnapshot_restore_and_cephx_access_through_the_api(ceph_cluster: CephCluster, tmp_path: Path) -> None:
    prefix = f"api{uuid.uuid4().hex[:8]}"
    toml = (f'[backend.default]\ndriver = "cephfs"\nconf = "{ceph_cluster.conf}"\nprefix = "{prefix}"\n'
            f'path = "{ceph_cluster.directory / prefix}"\n')
    with configured_server(tmp_path, "sqlite", toml, LOCKSTEP_BACKEND="cephfs",
                           LOCKSTEP_ENABLED_SHARE_PROTOCOLS="NFS,CEPHFS") as srv:
        (driver,) = srv.drivers.values()
        assert isinstance(driver, CephfsDriver)
        try:
            client = srv.client(version="2.30")
            (pool,) = client.get("/scheduler-stats/pools/detail").json()["pools"]
            assert pool["capabilities"]["lockstep:driver"] == "cephfs"
            assert pool["capabilities"]["lockstep:atomic_cgsnapshot"] is True
            assert pool["capabilities"]["lockstep:access_enforced"] is True

            group = client.create_group(name="orders")
            assert group["status"] == "available"
            assert pool["capabilities"]["storage_protocol"] == "CEPHFS"
            resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
            assert resp.status_code == 200, resp.text
            nfs = client.wait(f"/shares/{resp.json()['share']['id']}", "share")
            assert nfs["status"] == "error" and not nfs["host"]  # a CephFS-only pool takes no NFS share
            tables = client.create_share(consistency_group_id=group["id"], name="tables", proto="CEPHFS")
            logs = client.create_share(consistency_group_id=group["id"], name="logs", proto="CEPHFS")
            assert tables["status"] == logs["status"] == "available"
            native = _native(client, tables["id"])
            assert native["preferred"] and native["path"].split(":/volumes/")[0].startswith("127.0.0.1:")
            (_local_dir(client, tables["id"]) / "accounts").write_text("balance=100")
            (_local_dir(client, logs["id"]) / "wal").write_text("txn 41 committed")

            cut = client.create_cgsnapshot(group["id"], name="nightly")
            assert cut["status"] == "available"
            detail = client.get(f"/cgsnapshots/{cut['id']}").json()["cgsnapshot"]
            assert detail["lockstep:consistency"] == {"method": "atomic", "spread_ms": 0.0}
            (_local_dir(client, tables["id"]) / "accounts").write_text("balance=0")

            resp = client.post("/consistency-groups", {"consistency_group": {
                "name": "restored", "source_cgsnapshot_id": cut["id"]}})
            assert resp.status_code == 202, resp.text
            restored = client.wait(f"/consistency-groups/{resp.json()['consistency_group']['id']}",
                                   "consistency_group")
            assert restored["status"] == "available"
            shares = client.get(f"/shares?consistency_group_id={restored['id']}").json()["shares"]
            contents = sorted(p.read_text() for s in shares for p in _local_dir(client, s["id"]).iterdir())
            assert contents == ["balance=100", "txn 41 committed"]

            tenant = f"t{uuid.uuid4().hex[:8]}"
            resp = client.post(f"/shares/{tables['id']}/action",
                               {"allow_access": {"access_type": "cephx", "access_to": tenant, "access_level": "rw"}})
            assert resp.status_code == 200, resp.text
            rule_id = resp.json()["access"]["id"]
            rules = client.with_(version="2.45")  # /share-access-rules
            client.until(lambda: rules.get(f"/share-access-rules/{rule_id}").json()["access"]["state"] == "active",
                         lambda: rules.get(f"/share-access-rules/{rule_id}").text)
            rule = rules.get(f"/share-access-rules/{rule_id}").json()["access"]
            key = ceph_cluster.admin.run("auth", "get-key", f"client.{tenant}", action="key").strip()
            assert rule["access_key"] == key and key

            assert client.delete(f"/cgsnapshots/{cut['id']}").status_code == 202
            client.wait_gone(f"/cgsnapshots/{cut['id']}")
            members = [(s["id"], restored["id"]) for s in shares] + [(s["id"], group["id"]) for s in (tables, logs)]
            for share_id, group_id in members:  # a member is deleted naming its group (Manila's rule)
                resp = client.delete(f"/shares/{share_id}?consistency_group_id={group_id}")
                assert resp.status_code == 202, resp.text
                client.wait_gone(f"/shares/{share_id}")
            for g in (group, restored):
                assert client.delete(f"/consistency-groups/{g['id']}").status_code == 202
                client.wait_gone(f"/consistency-groups/{g['id']}")
            inventory = driver.inventory()
            assert not (inventory.shares or inventory.groups or inventory.cgsnapshots or inventory.leftovers)
            assert f"client.{tenant}" not in ceph_cluster.admin.run("auth", "ls", action="auth ls")
        finally:
            driver.close()
            ceph_cluster.admin.run("fs", "subvolumegroup", "rm", FS_NAME, prefix, "--force", action="cleanup")
