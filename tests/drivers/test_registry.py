"""Drivers are chosen by name from one registry; everything that lists driver names follows it.

Also here: the directory layout posix and btrfs share, pinned to the names already on disk.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lockstep import cli, config
from lockstep.adapters.drivers import loopfs, registry
from lockstep.adapters.drivers.auto import filesystem_type
from lockstep.adapters.drivers.layout import DirectoryLayout, temp_path
from lockstep.bootstrap import make_driver
from lockstep.config import BackendConfig, Settings
from lockstep.service.storage import DriverError

from .conftest import ON_DISK_CATEGORIES, PROVISIONERS

REPO = Path(__file__).resolve().parents[2]

#: Options that let every registered storage driver be constructed (not set up) without storage.
CONSTRUCTIBLE = {"zfs": {"dataset": "tank/lockstep"}, "cephfs": {"conf": "/etc/ceph/ceph.conf"}}


def test_an_unknown_driver_name_lists_the_registered_ones(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValueError) as caught:
        make_driver(settings, BackendConfig("primary", "ext4"))
    message = str(caught.value)
    assert message == "backend primary: unknown driver 'ext4' (auto, btrfs, posix, zfs, cephfs, fake)"
    assert all(name in message for name in registry.DRIVERS)


@pytest.mark.parametrize("name", registry.storage_drivers())
def test_a_registered_driver_reports_its_registered_name(name: str, tmp_path: Path) -> None:
    driver = registry.build(name, registry.BackendSite("b", CONSTRUCTIBLE.get(name, {}), tmp_path))
    assert driver.kind == name


def test_directory_drivers_default_to_a_root_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    driver = make_driver(settings, BackendConfig("primary", "posix"))
    driver.setup()
    assert (tmp_path / "backends" / "primary" / "shares").is_dir()
    explicit = tmp_path / "elsewhere"
    driver = make_driver(settings, BackendConfig("primary", "posix", {"path": str(explicit)}))
    driver.setup()
    assert (explicit / "shares").is_dir()


def test_the_contract_suite_covers_every_registered_driver() -> None:
    assert set(PROVISIONERS) == set(registry.storage_drivers())
    assert registry.CHOOSERS <= set(registry.DRIVERS)


def _listed(text: str) -> set[str]:
    return {name for name in registry.DRIVERS if re.search(rf"`{name}`|\b{name}\b", text)}


def test_the_docs_and_the_help_list_every_registered_driver() -> None:
    everything = set(registry.DRIVERS)
    config_doc = config.__doc__ or ""
    driver_line = next(line for line in config_doc.splitlines() if line.strip().startswith("driver ="))
    assert _listed(driver_line.split("#", 1)[1]) == everything, driver_line
    help_line = next(line for line in cli.HELP.splitlines() if "LOCKSTEP_BACKEND (" in line)
    assert " | ".join(registry.DRIVERS) in help_line
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    row = next(line for line in operations.splitlines() if line.startswith("| `[backend.NAME] driver`"))
    assert _listed(row.split("|")[3]) == everything, row
    drivers_doc = (REPO / "docs" / "drivers.md").read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `(\w+)` \|", drivers_doc, re.MULTILINE)}
    assert table == everything, f"docs/drivers.md's table lists {sorted(table)}"


# auto: real storage, no stand-ins --------------------------------------------------------------


def _not_on_btrfs(path: Path) -> None:
    if filesystem_type(path) == "btrfs":
        pytest.skip(f"{path} is on btrfs: auto would serve from it directly")


def test_auto_serves_from_btrfs_where_the_root_already_is(btrfs_mount: Path, storage_dir: Path) -> None:
    driver = make_driver(Settings(data_dir=storage_dir / "data"),
                         BackendConfig("primary", "auto", {"path": str(btrfs_mount)}))
    assert driver.kind == "btrfs"
    assert not (storage_dir / "data" / "primary.btrfs.img").exists()


def test_auto_mounts_a_btrfs_image_in_the_data_dir(storage_dir: Path) -> None:
    ok, reason = loopfs.btrfs_available()
    if not ok:
        pytest.skip(f"btrfs backend unavailable: {reason}")
    _not_on_btrfs(storage_dir)
    data_dir = storage_dir / "data"
    root = data_dir / "backends" / "primary"
    image = data_dir / "primary.btrfs.img"
    try:
        driver = make_driver(Settings(data_dir=data_dir), BackendConfig("primary", "auto", {"image_size_gb": "1"}))
        assert driver.kind == "btrfs"
        assert image.is_file() and loopfs.mount_source(root) is not None
        driver.setup()
        assert driver.pools()[0].atomic_cgsnapshot is True
        # A restart reuses the mounted image.
        again = make_driver(Settings(data_dir=data_dir), BackendConfig("primary", "auto", {"image_size_gb": "1"}))
        assert again.kind == "btrfs"
    finally:
        devices = loopfs.loop_devices_for(image) if image.exists() else []
        loopfs.release(root)
        assert loopfs.mount_source(root) is None, f"{root} is still mounted"
        assert not image.exists() or loopfs.loop_devices_for(image) == [], f"loop devices left: {devices}"


def test_auto_falls_back_to_posix_and_the_pool_says_why(storage_dir: Path) -> None:
    _not_on_btrfs(storage_dir)
    data_dir = storage_dir / "data"
    # Too small for mkfs.btrfs: where btrfs is usable the image cannot be made; elsewhere btrfs
    # itself is unusable. Either way the backend must still serve, from posix.
    driver = make_driver(Settings(data_dir=data_dir), BackendConfig("primary", "auto", {"image_size_gb": "0.01"}))
    assert driver.kind == "posix"
    driver.setup()
    (pool,) = driver.pools()
    assert pool.atomic_cgsnapshot is False
    assert str(pool.extra["lockstep:fallback_reason"])
    assert loopfs.mount_source(data_dir / "backends" / "primary") is None


def test_the_directory_layout_keeps_the_names_existing_data_directories_use() -> None:
    layout = DirectoryLayout(Path("/srv/lockstep"))
    assert layout.share("s1") == Path("/srv/lockstep/shares/s1")
    assert layout.snapshot("n1") == Path("/srv/lockstep/snapshots/n1")
    assert layout.group("g1") == Path("/srv/lockstep/groups/g1")
    assert layout.cgsnapshot("c1") == Path("/srv/lockstep/cgsnapshots/c1")
    assert [layout.directory(kind).name for kind in ("share", "snapshot", "group", "cgsnapshot")] == list(
        ON_DISK_CATEGORIES)
    assert temp_path(layout.share("s1")) == Path("/srv/lockstep/shares/.tmp-s1")
    with pytest.raises(DriverError):
        layout.share("../etc")
