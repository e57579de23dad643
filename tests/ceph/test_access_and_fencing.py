"""cephx access rules on the cephfs driver, used as a tenant would: the `access_key` a rule returns mounts the
share (and only it) with ceph-fuse; `ro` refuses writes; a rule taken away evicts the client; and the
driver's `evict` fences a client (its sessions are dropped and it is blocklisted)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.adapters.drivers import registry
from lockstep.adapters.drivers.cephclient import CephClient, detach
from lockstep.adapters.drivers.cephfs import CephfsDriver
from lockstep.service.storage import AccessRuleSpec, DriverError, ShareSpec
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
