"""Fixtures running one contract suite over every driver.

`backend` is parametrized over every driver in the registry (`storage_drivers()`: fake, posix in a
temp dir, btrfs in a loop-mounted sparse image, zfs in a file-backed pool on zfs-fuse or OpenZFS,
cephfs on the session's one-node Ceph cluster), each built by the registry's factory as a configured
backend would be. A driver registered
without a way to give it storage here fails the suite. Real backends get fresh storage per test and
tear it down even when the test fails; afterwards the fixture checks that no mount, loop device,
subvolume, pool or dataset it created is left, and (when the test passed) that the test deleted
every object it created.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lockstep.adapters.drivers import cephclient, loopfs, registry, zfspool
from lockstep.adapters.drivers.cephfs import CephfsDriver
from lockstep.service.storage import Inventory, ShareDriver
from tests.ceph_cluster import CephCluster

GIB = 1024**3
BTRFS_IMAGE_BYTES = 10 * GIB
ZFS_IMAGE_BYTES = 10 * GIB
ALL_BACKENDS = list(registry.storage_drivers())
# Spelled out rather than read from layout.py: existing data directories hold these names.
ON_DISK_CATEGORIES = ("shares", "snapshots", "groups", "cgsnapshots")


@dataclass
class Backend:
    name: str
    driver: ShareDriver
    pool: str
    real_files: bool  # export locations are local directories the test can write
    size_enforced: bool
    group_holds_shares: bool  # reclaim("group") is refused while shares live in it
    snapshot_dependencies: bool  # deleting a snapshot with clones is deferred
    atomic: bool
    base: Path | None = None  # where the test keeps the storage's files
    access_enforced: bool = False  # update_access makes a network front end enforce the rules
    extra_leftovers: list[Callable[[], list[str]]] = field(default_factory=list)


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4()}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    setattr(item, f"rep_{getattr(report, 'when', 'call')}", report)
    return report


def _test_passed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "rep_call", None)
    return bool(report is not None and report.passed)


def _empty(inv: Inventory) -> list[str]:
    leftovers = []
    for kind in ("shares", "snapshots", "groups", "cgsnapshots"):
        ids = getattr(inv, kind)
        if ids:
            leftovers.append(f"{kind}: {sorted(ids)}")
    if inv.leftovers:
        leftovers.append(f"leftovers of interrupted work: {sorted(inv.leftovers)}")
    return leftovers


# Sessions-wide runtime ---------------------------------------------------------------


@pytest.fixture(scope="session")
def zfs_runtime() -> Iterator[None]:
    ok, reason = zfspool.zfs_available()
    if not ok:
        pytest.skip(f"zfs backend unavailable: {reason}")
    started = zfspool.ensure_zfs_daemon()
    yield
    if started is not None:
        zfspool.stop_zfs_daemon(started)


# Storage per test ----------------------------------------------------------------------


@pytest.fixture
def storage_dir() -> Iterator[Path]:
    """A private directory for images, mounts and posix roots.

    Not pytest's tmp_path: pytest prunes old numbered temp dirs (also those of concurrent runs),
    which must never happen to a directory with a mounted filesystem in it.
    """
    path = Path(tempfile.mkdtemp(prefix="lockstep-drivers-", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _loop_devices(image: Path) -> list[str]:
    return loopfs.loop_devices_for(image) if image.exists() else []


@pytest.fixture
def btrfs_mount(storage_dir: Path) -> Iterator[Path]:
    ok, reason = loopfs.btrfs_available()
    if not ok:
        pytest.skip(f"btrfs backend unavailable: {reason}")
    image = storage_dir / "btrfs.img"
    mount_dir = storage_dir / "mnt"
    try:
        assert loopfs.ensure_btrfs_image(image, mount_dir, BTRFS_IMAGE_BYTES) is True
        # A second call reuses the mounted image.
        assert loopfs.ensure_btrfs_image(image, mount_dir, BTRFS_IMAGE_BYTES) is False
        yield mount_dir
    finally:
        devices = _loop_devices(image)
        loopfs.release(mount_dir)
        loopfs.release(mount_dir)  # idempotent
        assert loopfs.mount_source(mount_dir) is None, f"{mount_dir} is still mounted"
        assert _loop_devices(image) == [], f"loop devices still attached to {image}: {devices}"
        image.unlink(missing_ok=True)


@pytest.fixture
def zfs_pool(storage_dir: Path, zfs_runtime: None) -> Iterator[str]:
    name = f"lockstep_t{uuid.uuid4().hex[:8]}"
    image = storage_dir / "zpool.img"
    mountpoint = str(storage_dir / "zmnt")
    try:
        zfspool.create_file_pool(name, image, ZFS_IMAGE_BYTES, mountpoint)
        yield name
    finally:
        zfspool.destroy_file_pool(name, image)
        assert name not in zfspool.pool_names(), f"pool {name} still exists"
        assert loopfs.mount_source(mountpoint) is None, f"{mountpoint} is still mounted"
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            assert mountpoint not in fh.read(), f"a dataset of {name} is still mounted under {mountpoint}"
        assert not image.exists()


def _btrfs_subvolumes(mount_dir: Path) -> list[str]:
    out = subprocess.run(
        ["btrfs", "subvolume", "list", str(mount_dir)], capture_output=True, text=True, check=True
    ).stdout
    return [line.rsplit(" ", 1)[-1] for line in out.splitlines() if line.strip()]


def _zfs_datasets(dataset: str) -> list[str]:
    out = subprocess.run(
        ["zfs", "list", "-H", "-o", "name", "-t", "all", "-r", dataset], capture_output=True, text=True, check=True
    ).stdout
    scaffold = {dataset, f"{dataset}/shares", f"{dataset}/groups"}
    return [line for line in out.splitlines() if line.strip() and line not in scaffold]


def _posix_leftovers(root: Path) -> list[str]:
    found = []
    for category in ON_DISK_CATEGORIES:
        directory = root / category
        if directory.is_dir():
            found += [f"{category}/{name}" for name in os.listdir(directory)]
    return found


def _driver(name: str, data_dir: Path, **options: str) -> ShareDriver:
    """Built through the registry, as bootstrap builds a configured backend."""
    return registry.build(name, registry.BackendSite(f"contract-{name}", options, data_dir))


def _fake(request: pytest.FixtureRequest) -> Backend:
    # The fake keeps nothing on disk: its data_dir is never read.
    return Backend("fake", _driver("fake", Path(tempfile.gettempdir())), "fake", False, False, False, False, True)


def _posix(request: pytest.FixtureRequest) -> Backend:
    storage: Path = request.getfixturevalue("storage_dir")
    root = storage / "posix"
    driver = _driver("posix", storage, path=str(root))
    backend = Backend("posix", driver, "posix", True, False, False, False, False, root)
    backend.extra_leftovers.append(lambda: _posix_leftovers(root))
    return backend


def _btrfs(request: pytest.FixtureRequest) -> Backend:
    mount_dir: Path = request.getfixturevalue("btrfs_mount")
    driver = _driver("btrfs", request.getfixturevalue("storage_dir"), path=str(mount_dir))
    backend = Backend("btrfs", driver, "btrfs", True, True, True, False, True, mount_dir)
    backend.extra_leftovers.append(lambda: _btrfs_subvolumes(mount_dir))
    backend.extra_leftovers.append(lambda: _posix_leftovers(mount_dir))
    return backend


def _zfs(request: pytest.FixtureRequest) -> Backend:
    pool: str = request.getfixturevalue("zfs_pool")
    dataset = f"{pool}/lockstep"
    driver = _driver("zfs", request.getfixturevalue("storage_dir"), dataset=dataset)
    backend = Backend("zfs", driver, pool, True, True, True, True, True)
    backend.extra_leftovers.append(lambda: _zfs_datasets(dataset))
    return backend


def _cephfs(request: pytest.FixtureRequest) -> Backend:
    """The session's Ceph cluster (tests/ceph_cluster.py); each test owns the names under a prefix of its
    own, and its driver mounts the volume with ceph-fuse in the test's storage directory."""
    cluster: CephCluster = request.getfixturevalue("ceph_cluster")
    storage: Path = request.getfixturevalue("storage_dir")
    prefix = f"t{uuid.uuid4().hex[:10]}"
    driver = _driver("cephfs", storage, conf=str(cluster.conf), prefix=prefix, path=str(storage))
    assert isinstance(driver, CephfsDriver)
    backend = Backend("cephfs", driver, "cephfs", True, True, True, False, True, access_enforced=True)
    volumes = driver.mountpoint / "volumes"

    def ours() -> list[str]:
        """Groups under the prefix besides the default one, and anything left in the default one."""
        found = [n for n in os.listdir(volumes) if n.startswith(f"{prefix}-")] if volumes.is_dir() else []
        default = volumes / prefix
        return found + ([f"{prefix}/{n}" for n in os.listdir(default)] if default.is_dir() else [])

    def teardown() -> None:
        try:
            subprocess.run(["ceph", "-c", str(cluster.conf), "fs", "subvolumegroup", "rm", "cephfs", prefix,
                            "--force"], capture_output=True, check=False)
        finally:
            driver.close()
            driver.close()  # idempotent
        assert not cephclient.mounted(driver.mountpoint), f"{driver.mountpoint} is still mounted"

    backend.extra_leftovers.append(ours)
    request.addfinalizer(teardown)
    return backend


#: How the suite gives each registered driver storage, and what the contract may expect of it.
PROVISIONERS: dict[str, Callable[[pytest.FixtureRequest], Backend]] = {
    "fake": _fake,
    "posix": _posix,
    "btrfs": _btrfs,
    "zfs": _zfs,
    "cephfs": _cephfs,
}


def make_backend(name: str, request: pytest.FixtureRequest) -> Backend:
    provision = PROVISIONERS.get(name)
    if provision is None:
        pytest.fail(f"driver {name!r} is registered but tests/drivers/conftest.py has no PROVISIONERS entry "
                    "saying how to give it storage; add one so that the contract suite covers it")
    return provision(request)


@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    b = make_backend(str(request.param), request)
    b.driver.setup()
    b.driver.setup()  # setup is idempotent (a restart)
    yield b
    if _test_passed(request):
        leftovers = _empty(b.driver.inventory())
        for check in b.extra_leftovers:
            leftovers += check()
        assert not leftovers, f"the test left storage objects behind: {leftovers}"
