"""Decision 5 on real storage: force-delete never leaks and never destroys data a share still needs.

After each scenario the backend's inventory holds exactly what the records reference.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.adapters.drivers import loopfs
from lockstep.adapters.drivers.btrfs import BtrfsDriver
from lockstep.adapters.drivers.posix import PosixDriver
from lockstep.service.storage import Inventory, ShareDriver, ShareSpec
from tests.support import Client, LiveServer, live_server


def _btrfs_ok() -> bool:
    return loopfs.btrfs_available()[0]


@pytest.fixture(params=["posix", pytest.param("btrfs", marks=pytest.mark.root)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LiveServer, ShareDriver]]:
    kind = request.param
    # Mounts live outside pytest's temporary directories: pytest prunes old ones, and must never
    # walk into a mounted filesystem.
    scratch = Path(tempfile.mkdtemp(prefix="lockstep-storage-", dir="/var/tmp"))
    root = scratch / "storage"
    mounted = False
    if kind == "btrfs":
        if not _btrfs_ok():
            shutil.rmtree(scratch, ignore_errors=True)
            pytest.skip(f"btrfs unavailable: {loopfs.btrfs_available()[1]}")
        loopfs.ensure_btrfs_image(scratch / "fs.img", root, 8 << 30)
        mounted = True
    config = tmp_path / "lockstep.toml"
    config.write_text(f'reclaim_interval = 1.0\n[backend.default]\ndriver = "{kind}"\npath = "{root}"\n')
    try:
        with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_CONFIG=str(config),
                         LOCKSTEP_BACKEND=kind) as server:
            driver: ShareDriver = BtrfsDriver({"path": str(root)}) if kind == "btrfs" else PosixDriver(
                {"path": str(root)})
            yield server, driver
            server.kill()
    finally:
        if mounted:
            loopfs.release(root)
        shutil.rmtree(scratch, ignore_errors=True)


def wait_inventory(driver: ShareDriver, client: Client, timeout: float = 40) -> Inventory:
    """Wait until the inventory matches what the records reference, and return it."""
    deadline = time.time() + timeout
    admin = client.with_(user="admin")
    while True:
        shares = {s["id"] for s in admin.get("/shares", params={"all_tenants": "1"}).json()["shares"]}
        groups = {g["id"] for g in admin.get("/consistency-groups", params={"all_tenants": "1"}).json()[
            "consistency_groups"]}
        cgsnapshots = {c["id"] for c in admin.get("/cgsnapshots", params={"all_tenants": "1"}).json()[
            "cgsnapshots"]}
        snapshots = {c["id"] for c in admin.get("/snapshots", params={"all_tenants": "1"}).json()["snapshots"]}
        inv = driver.inventory()
        if (set(inv.shares), set(inv.groups), set(inv.cgsnapshots), set(inv.snapshots), set(inv.leftovers)) == (
                shares, groups, cgsnapshots, snapshots, set()):
            return inv
        if time.time() > deadline:
            raise AssertionError(f"storage {inv} != records shares={shares} groups={groups} "
                                 f"cgsnapshots={cgsnapshots} snapshots={snapshots} (and no leftovers)")
        time.sleep(0.2)


def export_path(client: Client, share_id: str) -> Path:
    return Path(client.get(f"/shares/{share_id}/export_locations").json()["export_locations"][0]["path"])


def test_force_deleted_cgsnapshot_is_reclaimed(storage: tuple[LiveServer, ShareDriver]) -> None:
    server, driver = storage
    client = server.client()
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    (export_path(client, share["id"]) / "f").write_text("kept")
    cut = client.create_cgsnapshot(group["id"])
    assert cut["id"] in driver.inventory().cgsnapshots
    assert client.post(f"/cgsnapshots/{cut['id']}/action", {"force_delete": None}).status_code == 202
    inv = wait_inventory(driver, client)
    assert cut["id"] not in inv.cgsnapshots
    assert (export_path(client, share["id"]) / "f").read_text() == "kept"


def test_force_deleted_group_keeps_its_shares_data_until_they_go(storage: tuple[LiveServer, ShareDriver]) -> None:
    server, driver = storage
    client = server.client()
    group = client.create_group()
    shares = [client.create_share(consistency_group_id=group["id"]) for _ in range(2)]
    for share in shares:
        (export_path(client, share["id"]) / "data").write_text(share["id"])
    assert client.post(f"/consistency-groups/{group['id']}/action", {"force_delete": None}).status_code == 202
    time.sleep(1.5)  # a reclaim attempt and a sweep run meanwhile; neither may touch the shares' data
    for share in shares:
        assert (export_path(client, share["id"]) / "data").read_text() == share["id"]
    for share in shares:
        resp = client.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]})
        assert resp.status_code == 202, resp.text
        client.wait(f"/shares/{share['id']}", "share", ("deleted",))
    inv = wait_inventory(driver, client)
    assert group["id"] not in inv.groups and not inv.shares


def test_force_deleted_share_and_snapshot_are_reclaimed(storage: tuple[LiveServer, ShareDriver]) -> None:
    server, driver = storage
    client = server.client()
    share = client.create_share()
    (export_path(client, share["id"]) / "f").write_text("x")
    snap = client.post("/snapshots", {"snapshot": {"share_id": share["id"]}}).json()["snapshot"]
    client.wait(f"/snapshots/{snap['id']}", "snapshot")
    assert client.post(f"/snapshots/{snap['id']}/action", {"force_delete": None}).status_code == 202
    client.wait(f"/snapshots/{snap['id']}", "snapshot", ("deleted",))
    assert client.post(f"/shares/{share['id']}/action", {"force_delete": None}).status_code == 202
    client.wait(f"/shares/{share['id']}", "share", ("deleted",))
    inv = wait_inventory(driver, client)
    assert not inv.shares and not inv.snapshots


def test_restored_group_outlives_its_force_deleted_source(storage: tuple[LiveServer, ShareDriver]) -> None:
    server, driver = storage
    client = server.client()
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    (export_path(client, share["id"]) / "f").write_text("at the cut")
    cut = client.create_cgsnapshot(group["id"])
    restored = client.create_group(source_cgsnapshot_id=cut["id"])
    clone = client.get("/shares", params={"consistency_group_id": restored["id"]}).json()["shares"][0]
    for path, body in ((f"/cgsnapshots/{cut['id']}/action", {"force_delete": None}),
                       (f"/shares/{share['id']}/action", {"force_delete": None}),
                       (f"/consistency-groups/{group['id']}/action", {"force_delete": None})):
        assert client.post(path, body).status_code == 202
    wait_inventory(driver, client)
    assert (export_path(client, clone["id"]) / "f").read_text() == "at the cut"


def test_orphans_left_on_storage_are_swept(storage: tuple[LiveServer, ShareDriver]) -> None:
    server, driver = storage
    client = server.client()
    orphan = str(uuid.uuid4())
    pool = driver.pools()[0].name
    driver.create_share(ShareSpec(id=orphan, size_gb=1, proto="NFS", pool=pool))
    assert orphan in driver.inventory().shares
    inv = wait_inventory(driver, client)
    assert orphan not in inv.shares


def test_trash_and_half_copies_left_by_a_crash_are_swept(storage: tuple[LiveServer, ShareDriver]) -> None:
    """kill -9 during the delete of a group member leaves `.trash-<share>` (inside the group on btrfs) after
    its record is gone; a crash mid-copy leaves `.tmp-<id>`. The sweep finds and reclaims both (defect 3)."""
    server, driver = storage
    client = server.client()
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    where = export_path(client, share["id"])
    (where / "data").write_bytes(b"\0" * 1024 * 1024)
    resp = client.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]})
    assert resp.status_code == 202, resp.text
    client.wait(f"/shares/{share['id']}", "share", ("deleted",))
    # What the crash left: the directory renamed to its trash name, its removal cut short, the record gone.
    trash = where.with_name(f".trash-{share['id']}")
    trash.mkdir()
    (trash / "data").write_bytes(b"\0" * 1024 * 1024)
    half = where.parent.parent / "snapshots" / f".tmp-{uuid.uuid4()}" if where.parent.name == "shares" else \
        where.parent.parent.parent / "snapshots" / f".tmp-{uuid.uuid4()}"
    half.mkdir()
    assert {("share", share["id"]), ("snapshot", half.name[5:])} <= driver.inventory().leftovers
    wait_inventory(driver, client)
    assert not trash.exists() and not half.exists()
    assert client.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]["status"] == "available"
