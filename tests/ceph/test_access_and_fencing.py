"""cephx access rules on the cephfs driver, used as a tenant would: the `access_key` a rule returns mounts the
share (and only it) with ceph-fuse; `ro` refuses writes; a rule taken away evicts the client; and the
driver's `evict` fences a client (its sessions are dropped and it is blocklisted)."""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.adapters.drivers import registry
from lockstep.adapters.drivers.cephclient import OWNER_KEY, CephClient, detach
from lockstep.adapters.drivers.cephfs import CephfsDriver
from lockstep.service.fencing import process_of
from lockstep.service.storage import (
    AccessRuleSpec,
    CGSnapshotMemberSpec,
    CGSnapshotSpec,
    CutMethod,
    DriverError,
    GroupSpec,
    ShareSpec,
)
from tests.ceph_cluster import FS_NAME, CephCluster


@pytest.fixture
def driver(ceph_cluster: CephCluster, tmp_path: Path) -> Iterator[CephfsDriver]:
    prefix = f"a{uuid.uuid4().hex[:10]}"
    site = registry.BackendSite("ceph", {"conf": str(ceph_cluster.conf), "prefix": prefix,
                                         "path": str(ceph_cluster.directory / prefix)}, tmp_path)
    built = registry.build("cephfs", site)
    assert isinstance(built, CephfsDriver)
    built.setup()
    yield built
    built.close()
    ceph_cluster.admin.run("fs", "subvolumegroup", "rm", FS_NAME, prefix, "--force", action="cleanup")


def _tenant(cluster: CephCluster, auth_id: str, key: str) -> CephClient:
    keyring = cluster.directory / f"{auth_id}.keyring"
    keyring.write_text(f"[client.{auth_id}]\n\tkey = {key}\n", encoding="utf-8")
    return CephClient(cluster.conf, auth_id, keyring)


def test_a_cephx_rule_gives_a_key_that_mounts_the_share_and_nothing_else(
        ceph_cluster: CephCluster, driver: CephfsDriver) -> None:
    share = ShareSpec(f"sh-{uuid.uuid4()}", 1, "CEPHFS", driver.fs_name)
    result = driver.create_share(share)
    monitors, path = result.export_locations[1].path.rsplit(":", 1)
    assert result.export_locations[1].preferred and monitors.startswith("127.0.0.1:")
    Path(result.export_locations[0].path, "hello.txt").write_text("from the operator")
    writer, reader = f"w{uuid.uuid4().hex[:8]}", f"r{uuid.uuid4().hex[:8]}"
    rules = [AccessRuleSpec("rule-w", "cephx", writer, "rw"), AccessRuleSpec("rule-r", "cephx", reader, "ro"),
             AccessRuleSpec("rule-ip", "ip", "10.0.0.1", "rw")]
    results = driver.update_access(share, rules)
    assert results["rule-w"].applied and results["rule-w"].access_key
    assert results["rule-r"].applied and results["rule-r"].access_key
    assert not results["rule-ip"].applied and "cephx" in (results["rule-ip"].reason or "")
    assert driver.update_access(share, rules) == results  # the same keys again

    rw_point, ro_point = ceph_cluster.directory / "mnt" / writer, ceph_cluster.directory / "mnt" / reader
    tenant_rw = _tenant(ceph_cluster, writer, str(results["rule-w"].access_key))
    tenant_ro = _tenant(ceph_cluster, reader, str(results["rule-r"].access_key))
    try:
        tenant_rw.mount(rw_point, FS_NAME, path)
        tenant_ro.mount(ro_point, FS_NAME, path)
        assert (rw_point / "hello.txt").read_text() == "from the operator"
        (rw_point / "from-tenant.txt").write_text("written with the rule's key")
        assert (ro_point / "from-tenant.txt").read_text() == "written with the rule's key"
        with pytest.raises(OSError):
            (ro_point / "nope.txt").write_text("ro")
        # The key opens this share's path only.
        other = ceph_cluster.directory / "mnt" / f"{writer}-root"
        with pytest.raises(DriverError, match="mounting CephFS"):
            tenant_rw.mount(other, FS_NAME, "/volumes")
        detach(other)

        # Dropping the writer's rule revokes its caps and evicts its session.
        driver.update_access(share, rules[1:])
        auth = json.loads(ceph_cluster.admin.run("auth", "ls", "--format", "json", action="auth ls"))
        assert f"client.{writer}" not in {entry["entity"] for entry in auth["auth_dump"]}
        with pytest.raises(OSError):
            (rw_point / "after-revoke.txt").write_text("must not land")
        assert not (ro_point / "after-revoke.txt").exists()

        # Fencing: evict every session of an id; the client is blocklisted and cannot write.
        driver.evict(reader)
        with pytest.raises(OSError):
            (ro_point / f"new-{uuid.uuid4().hex}.txt").write_text("a fenced client reaches no MDS")
        blocklist = ceph_cluster.admin.run("osd", "blocklist", "ls", action="blocklist")
        assert "127.0.0.1" in blocklist
    finally:
        detach(rw_point)
        detach(ro_point)
    assert driver.update_access(share, []) == {}
    driver.delete_share(share)
    assert share.id not in driver.inventory().shares


def _sessions(cluster: CephCluster) -> dict[str, str]:
    """lockstep_owner tag -> client address, of every MDS session that has one."""
    listed = json.loads(cluster.admin.run("tell", f"mds.{FS_NAME}:0", "client", "ls", action="client ls"))
    return {s["client_metadata"][OWNER_KEY]: s["inst"].split(" ", 1)[1] for s in listed
            if OWNER_KEY in s.get("client_metadata", {})}


def test_fencing_a_worker_cuts_off_its_clients_only_and_a_redone_cut_is_the_same_snapshot(
        ceph_cluster: CephCluster, tmp_path: Path) -> None:
    """Two drivers on one volume as two worker processes (the zombie's process identity is made up): the
    zombie cuts a cgsnapshot; the taker cuts it again (the zombie's cut is found by name: one snapshot);
    the taker fences the zombie: the zombie's address is blocklisted and its next operation refuses,
    while the taker, on the same cephx id, carries on."""
    prefix = f"f{uuid.uuid4().hex[:10]}"

    def build(name: str) -> CephfsDriver:
        site = registry.BackendSite("ceph", {"conf": str(ceph_cluster.conf), "prefix": prefix,
                                             "mount": str(ceph_cluster.directory / prefix / name)}, tmp_path)
        built = registry.build("cephfs", site)
        assert isinstance(built, CephfsDriver)
        return built

    zombie_owner = f"zombie-host:4242:{uuid.uuid4().hex[:8]}/w1"
    zombie, taker = build("zombie"), build("taker")
    zombie.ceph = dataclasses.replace(zombie.ceph, tag=process_of(zombie_owner))
    zombie.setup()
    taker.setup()
    group = GroupSpec(f"g-{uuid.uuid4()}", taker.fs_name)
    try:
        taker.create_group(group)
        members = []
        for name in ("tables", "logs"):
            share = ShareSpec(f"sh-{uuid.uuid4()}", 1, "CEPHFS", taker.fs_name, group.id)
            Path(taker.create_share(share).export_locations[0].path, "data").write_text(name)
            members.append(CGSnapshotMemberSpec(f"m-{uuid.uuid4()}", share))
        cut = CGSnapshotSpec(f"cg-{uuid.uuid4()}", group, members)
        assert zombie.create_cgsnapshot(cut).method == CutMethod.ATOMIC
        assert taker.create_cgsnapshot(cut).method == CutMethod.ATOMIC  # the zombie's cut, found by its name
        directory = taker.mountpoint / "volumes" / f"{prefix}-{group.id}"
        assert sorted(os.listdir(directory / ".snap")) == [cut.id]

        sessions = _sessions(ceph_cluster)
        zombie_addr, taker_addr = sessions[process_of(zombie_owner)], sessions[str(taker.ceph.tag)]
        assert zombie_addr != taker_addr
        taker.fence(zombie_owner)
        blocklist = ceph_cluster.admin.run("osd", "blocklist", "ls", action="blocklist")
        assert zombie_addr in blocklist and taker_addr not in blocklist
        assert process_of(zombie_owner) not in _sessions(ceph_cluster)
        taker.fence(zombie_owner)  # fencing again (a second takeover of the same dead worker) is a success

        later = CGSnapshotSpec(f"cg-{uuid.uuid4()}", group, members)
        with pytest.raises(DriverError, match="was fenced"):
            zombie.create_cgsnapshot(later)
        with pytest.raises(DriverError, match="was fenced"):  # and it does not mount again
            zombie.inventory()
        assert taker.create_cgsnapshot(later).method == CutMethod.ATOMIC
        assert sorted(os.listdir(directory / ".snap")) == sorted([cut.id, later.id])
        assert taker.inventory().cgsnapshots == {cut.id, later.id}
        for snap in (cut, later):
            taker.delete_cgsnapshot(snap)
        for member in members:
            taker.delete_share(member.share)
        taker.delete_group(group)
        assert not taker.inventory().groups
    finally:
        zombie.close()
        taker.close()
        ceph_cluster.admin.run("fs", "subvolumegroup", "rm", FS_NAME, prefix, "--force", action="cleanup")
