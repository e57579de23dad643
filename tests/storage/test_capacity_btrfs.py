"""Issue 11, point 1 on real storage: on the default 20 GiB btrfs pool, a group of 8 x 1 GiB shares
is cut and restored again and again (each restored group deleted after its round), and a 1 GiB
share is never refused; the pool's provisioned and allocated figures are the records' each time,
and its free figure is what the filesystem says (a restore is a snapshot: it costs nothing)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lockstep.adapters.drivers import loopfs
from tests.support import Client, LiveServer, live_server

ROUNDS = 6
GROUP_SIZE = 8


@pytest.fixture
def btrfs_server(tmp_path: Path) -> Iterator[LiveServer]:
    ok, reason = loopfs.btrfs_available()
    if not ok:
        pytest.skip(reason)
    scratch = Path(tempfile.mkdtemp(prefix="lockstep-storage-", dir="/var/tmp"))
    root = scratch / "btrfs"
    loopfs.ensure_btrfs_image(scratch / "fs.img", root, 20 << 30)  # the default pool's size
    try:
        config = tmp_path / "lockstep.toml"
        config.write_text(f'[backend.default]\ndriver = "btrfs"\npath = "{root}"\n')
        # Unlimited quotas: what is tested is what the pool holds.
        with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_CONFIG=str(config),
                         LOCKSTEP_BACKEND="btrfs", LOCKSTEP_QUOTA_GIGABYTES="-1", LOCKSTEP_QUOTA_SHARES="-1",
                         LOCKSTEP_QUOTA_PER_SHARE_GIGABYTES="-1") as server:
            yield server
            server.kill()
    finally:
        loopfs.release(root)
        shutil.rmtree(scratch, ignore_errors=True)


def pool_caps(client: Client) -> dict[str, Any]:
    pools = client.get("/scheduler-stats/pools/detail").json()["pools"]
    assert len(pools) == 1
    return dict(pools[0]["capabilities"])


def recorded_gb(client: Client) -> int:
    shares = client.get("/shares/detail", params={"all_tenants": "1"}).json()["shares"]
    return sum(s["size"] for s in shares)


def check_figures(client: Client) -> dict[str, Any]:
    caps = pool_caps(client)
    assert caps["provisioned_capacity_gb"] == caps["allocated_capacity_gb"] == recorded_gb(client)
    assert 0 <= caps["free_capacity_gb"] <= caps["total_capacity_gb"]
    return caps


def wait_for_report(client: Client, since: str) -> dict[str, Any]:
    """The pool's figures once the worker has reported it again (every 10 s)."""
    client.until(lambda: pool_caps(client)["timestamp"] != since, lambda: "the pool was not reported again",
                 timeout=25)
    return check_figures(client)


def delete_group(client: Client, group_id: str) -> None:
    shares = client.get("/shares", params={"consistency_group_id": group_id}).json()["shares"]
    for share in shares:
        resp = client.delete(f"/shares/{share['id']}", params={"consistency_group_id": group_id})
        assert resp.status_code == 202, resp.text
    for share in shares:
        client.wait_gone(f"/shares/{share['id']}")
    assert client.delete(f"/consistency-groups/{group_id}").status_code == 202
    client.wait_gone(f"/consistency-groups/{group_id}")


@pytest.mark.root
def test_cut_and_restore_again_and_again_on_the_default_pool(btrfs_server: LiveServer) -> None:
    client = btrfs_server.client()
    caps = check_figures(client)
    assert caps["thin_provisioning"] is True and caps["lockstep:copy_on_write_clones"] is True
    assert caps["max_over_subscription_ratio"] == 20.0 and caps["reserved_percentage"] == 5
    assert 19 <= caps["total_capacity_gb"] <= 20
    first_report = caps["timestamp"]
    group = client.create_group()
    for _ in range(GROUP_SIZE):
        assert client.create_share(1, consistency_group_id=group["id"])["status"] == "available"
    check_figures(client)
    cuts = []
    for round_no in range(ROUNDS):
        cuts.append(client.create_cgsnapshot(group["id"]))
        assert cuts[-1]["status"] == "available"
        resp = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cuts[-1]["id"]}})
        assert resp.status_code == 202, f"round {round_no}: {resp.text}"
        restored = client.wait(f"/consistency-groups/{resp.json()['consistency_group']['id']}", "consistency_group")
        assert restored["status"] == "available", f"round {round_no}: {restored}"
        caps = check_figures(client)
        assert caps["provisioned_capacity_gb"] == 2 * GROUP_SIZE
        if round_no == ROUNDS // 2:
            # The 10-second report used to reset the figures: let one run with a restore in place.
            caps = wait_for_report(client, caps["timestamp"])
            assert caps["provisioned_capacity_gb"] == 2 * GROUP_SIZE
        one = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
        assert one.status_code == 200, f"round {round_no}: {one.text}"
        share = client.wait(f"/shares/{one.json()['share']['id']}", "share")
        assert share["status"] == "available", f"round {round_no}: {share}"
        caps = check_figures(client)
        # a restore shares every block of its cut: the filesystem has (nearly) all its space
        assert caps["free_capacity_gb"] >= 15, caps
        assert client.delete(f"/shares/{share['id']}").status_code == 202
        client.wait_gone(f"/shares/{share['id']}")
        delete_group(client, restored["id"])
        assert check_figures(client)["provisioned_capacity_gb"] == GROUP_SIZE
    assert "error" not in {s["status"] for s in client.get("/shares/detail").json()["shares"]}
    for cut in cuts:
        assert client.delete(f"/cgsnapshots/{cut['id']}").status_code == 202
    for cut in cuts:
        client.wait_gone(f"/cgsnapshots/{cut['id']}")
    delete_group(client, group["id"])
    caps = check_figures(client)
    assert caps["provisioned_capacity_gb"] == 0
    assert caps["timestamp"] != first_report
