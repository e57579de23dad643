"""The cephfs driver's mount comes back when it is gone (another worker process of the host unmounted the
shared mount point): an operation never reads or writes the bare directory. (A killed ceph-fuse is
detected the same way, ENOTCONN, but the MDS then holds what the dead client had cached until its
session times out, 60 s by default: not exercised here.)"""

from __future__ import annotations

import uuid
from pathlib import Path

from lockstep.adapters.drivers import registry
from lockstep.adapters.drivers.cephclient import detach, mounted
from lockstep.adapters.drivers.cephfs import CephfsDriver
from lockstep.service.storage import ShareSpec
from tests.ceph_cluster import FS_NAME, CephCluster


def test_operations_mount_the_volume_again(ceph_cluster: CephCluster, tmp_path: Path) -> None:
    prefix = f"m{uuid.uuid4().hex[:10]}"
    site = registry.BackendSite("ceph", {"conf": str(ceph_cluster.conf), "prefix": prefix,
                                         "path": str(ceph_cluster.directory / prefix)}, tmp_path)
    driver = registry.build("cephfs", site)
    assert isinstance(driver, CephfsDriver)
    driver.setup()
    try:
        detach(driver.mountpoint)  # another process unmounted it
        assert not mounted(driver.mountpoint)
        share = ShareSpec(f"sh-{uuid.uuid4()}", 1, "NFS", driver.fs_name)
        path = Path(driver.create_share(share).export_locations[0].path)
        assert mounted(driver.mountpoint)
        with open(path / "f", "w", encoding="utf-8") as fh:
            fh.write("on the volume")
        detach(driver.mountpoint)
        assert not path.exists()  # the bare mount point: nothing of the volume
        assert share.id in driver.inventory().shares  # mounted again
        assert path.joinpath("f").read_text() == "on the volume"
        driver.delete_share(share)
        assert driver.inventory().shares == frozenset()
    finally:
        driver.close()
        ceph_cluster.admin.run("fs", "subvolumegroup", "rm", FS_NAME, prefix, "--force", action="cleanup")
    assert not mounted(driver.mountpoint)
