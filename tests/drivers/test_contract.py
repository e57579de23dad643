"""The driver contract, run against every backend (see conftest.py for the parametrization)."""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

import pytest

from lockstep.adapters.drivers.fake import FakeDriver
from lockstep.service.storage import (
    AccessRuleSpec,
    CGSnapshotMemberSpec,
    CGSnapshotSpec,
    CloneSpec,
    CutMethod,
    DriverError,
    GroupSpec,
    GroupSupport,
    ShareDoesNotFit,
    ShareResult,
    ShareSpec,
    SnapshotSpec,
)

from .conftest import GIB, Backend, new_id

# Helpers ------------------------------------------------------------------------------


def share_spec(backend: Backend, size_gb: int = 1, group_id: str | None = None) -> ShareSpec:
    return ShareSpec(id=new_id("sh-"), size_gb=size_gb, proto="NFS", pool=backend.pool, group_id=group_id)


def export_dir(result: ShareResult) -> Path:
    assert result.export_locations, "a share must have at least one export location"
    return Path(result.export_locations[0].path)


def write(directory: Path, name: str, content: str) -> None:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())


def read(directory: Path, name: str) -> str:
    return (directory / name).read_text(encoding="utf-8")


def fill(directory: Path, name: str, limit_bytes: int, chunk: int = 4 * 1024 * 1024) -> int:
    """Write zeros until `limit_bytes` or an error; return bytes written (raises the OSError)."""
    buf = b"\0" * chunk
    written = 0
    fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while written < limit_bytes:
            written += os.write(fd, buf)
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


_libc = ctypes.CDLL(None, use_errno=True)


def allocate(directory: Path, name: str, size_bytes: int, chunk: int = 64 * 1024 * 1024) -> None:
    """Allocate `size_bytes` of disk to a file quickly, in chunks; raises the OSError (EDQUOT...).

    fallocate(2) where the filesystem has it (not glibc's posix_fallocate, which emulates it by
    writing a byte per block: very slow on FUSE), else real writes.
    """
    fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        offset = 0
        while offset < size_bytes:
            length = min(chunk, size_bytes - offset)
            if _libc.fallocate(fd, 0, ctypes.c_long(offset), ctypes.c_long(length)) != 0:
                err = ctypes.get_errno()
                if err not in (errno.EOPNOTSUPP, errno.ENOSYS):
                    raise OSError(err, os.strerror(err), str(directory / name))
                os.pwrite(fd, b"\0" * length, offset)  # no fallocate (FUSE): really write
            offset += length
        os.fsync(fd)
    finally:
        os.close(fd)


def cg_spec(group: GroupSpec, shares: list[ShareSpec]) -> CGSnapshotSpec:
    return CGSnapshotSpec(
        id=new_id("cg-"),
        group=group,
        members=[CGSnapshotMemberSpec(id=new_id("m-"), share=s) for s in shares],
    )


def clone_specs(backend: Backend, group: GroupSpec, cg: CGSnapshotSpec) -> list[CloneSpec]:
    return [CloneSpec(share=share_spec(backend, m.share.size_gb, group.id), member=m) for m in cg.members]


# Pools --------------------------------------------------------------------------------


def test_pools_report_capacity_and_capabilities(backend: Backend) -> None:
    pools = backend.driver.pools()
    assert [p.name for p in pools] == [backend.pool]
    pool = pools[0]
    assert pool.total_capacity_gb > 0
    assert 0 <= pool.free_capacity_gb <= pool.total_capacity_gb
    assert pool.group_support == GroupSupport.POOL
    assert pool.atomic_cgsnapshot is backend.atomic
    assert pool.snapshot_support and pool.create_share_from_snapshot_support
    assert "lockstep:storage" in pool.extra
    assert pool.access_enforced is backend.access_enforced
    if backend.real_files:
        assert pool.extra.get("lockstep:size_enforced") is backend.size_enforced


# Shares -------------------------------------------------------------------------------


def test_share_create_delete_idempotent(backend: Backend) -> None:
    driver = backend.driver
    spec = share_spec(backend)
    first = driver.create_share(spec)
    again = driver.create_share(spec)
    assert first == again
    assert spec.id in driver.inventory().shares
    if backend.real_files:
        path = export_dir(first)
        assert path.is_absolute() and path.is_dir()
        write(path, "hello.txt", "hi")
        assert read(path, "hello.txt") == "hi"
        assert driver.create_share(spec) == first  # idempotent with data in it
        assert read(path, "hello.txt") == "hi"
    driver.delete_share(spec)
    driver.delete_share(spec)
    assert spec.id not in driver.inventory().shares
    if backend.real_files:
        assert not export_dir(first).exists()


def test_pools_say_how_they_use_space(backend: Backend) -> None:
    """What the scheduler charges by (domain/pools.py): sizes as limits (thin) or taken at once
    (thick), and clones that share their source's blocks or copy them."""
    pool = backend.driver.pools()[0]
    expected = {"fake": (False, False), "posix": (True, False), "btrfs": (True, True), "zfs": (True, True),
                "cephfs": (True, False)}
    assert (pool.thin_provisioning, pool.copy_on_write_clones) == expected[backend.name]


def test_copy_on_write_clones_need_no_free_space(backend: Backend) -> None:
    """A clone larger than the free space is made where clones share blocks (the scheduler
    charges it nothing, so the driver must not refuse it)."""
    driver = backend.driver
    if not driver.pools()[0].copy_on_write_clones:
        pytest.skip(f"{backend.name} copies: a clone costs its size")
    free = driver.pools()[0].free_capacity_gb
    spec = share_spec(backend, 1)
    driver.create_share(spec)
    snap = SnapshotSpec(id=new_id("sn-"), share=spec)
    driver.create_snapshot(snap)
    clones = [share_spec(backend, int(free) + 5) for _ in range(2)]  # each beyond the free space
    for clone in clones:
        driver.create_share_from_snapshot(clone, snap)
    assert {c.id for c in clones} <= driver.inventory().shares
    for clone in clones:
        driver.delete_share(clone)
    driver.delete_snapshot(snap)
    driver.delete_share(spec)


def test_share_bigger_than_free_capacity_does_not_fit(backend: Backend) -> None:
    free = backend.driver.pools()[0].free_capacity_gb
    spec = share_spec(backend, size_gb=int(free) + 10)
    with pytest.raises(ShareDoesNotFit):
        backend.driver.create_share(spec)
    assert spec.id not in backend.driver.inventory().shares
    small = share_spec(backend, 1)
    backend.driver.create_share(small)
    if backend.name != "fake":  # the fake's extend_share does not check capacity
        with pytest.raises(ShareDoesNotFit):
            backend.driver.extend_share(small, int(free) + 20)
    backend.driver.delete_share(small)


def test_extend_and_shrink(backend: Backend) -> None:
    driver = backend.driver
    spec = share_spec(backend, 1)
    result = driver.create_share(spec)
    driver.extend_share(spec, 2)
    driver.extend_share(spec, 2)  # idempotent
    bigger = ShareSpec(spec.id, 2, spec.proto, spec.pool)
    driver.shrink_share(bigger, 1)
    driver.shrink_share(bigger, 1)
    if backend.real_files:
        assert export_dir(result).is_dir()
    driver.delete_share(spec)


def test_shrink_refused_when_data_does_not_fit(backend: Backend) -> None:
    if not backend.real_files:
        pytest.skip("the fake backend holds no data")
    driver = backend.driver
    spec = share_spec(backend, 2)
    path = export_dir(driver.create_share(spec))
    allocate(path, "big.bin", int(1.2 * GIB))
    with pytest.raises(DriverError) as excinfo:
        driver.shrink_share(spec, 1)
    assert not isinstance(excinfo.value, ShareDoesNotFit)
    assert "1 GiB" in str(excinfo.value)
    (path / "big.bin").unlink()
    driver.delete_share(spec)


def test_size_is_enforced(backend: Backend) -> None:
    if not backend.size_enforced:
        pytest.skip(f"{backend.name} does not enforce share sizes")
    driver = backend.driver
    spec = share_spec(backend, 1)
    path = export_dir(driver.create_share(spec))
    with pytest.raises(OSError) as excinfo:
        fill(path, "big.bin", int(1.5 * GIB))
    assert excinfo.value.errno in (errno.EDQUOT, errno.ENOSPC)
    assert (path / "big.bin").stat().st_size <= int(1.1 * GIB)
    # Extending lifts the limit.
    driver.extend_share(spec, 2)
    (path / "big.bin").unlink()
    fill(path, "big.bin", int(1.2 * GIB))
    (path / "big.bin").unlink()
    driver.delete_share(spec)


def test_btrfs_group_total_is_enforced(backend: Backend) -> None:
    if backend.name != "btrfs":
        pytest.skip("group-level qgroups are btrfs-specific")
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    a, b = share_spec(backend, 1, group.id), share_spec(backend, 1, group.id)
    path_a = export_dir(driver.create_share(a))
    driver.create_share(b)
    # One member may use the room of the others, the group not more than the sum (2 GiB).
    allocate(path_a, "one.bin", int(1.5 * GIB))
    with pytest.raises(OSError) as excinfo:
        allocate(path_a, "two.bin", int(1.0 * GIB))
    assert excinfo.value.errno in (errno.EDQUOT, errno.ENOSPC)
    driver.delete_share(a)
    driver.delete_share(b)
    driver.delete_group(group)


# Snapshots ----------------------------------------------------------------------------


@pytest.mark.parametrize("in_group", [False, True], ids=["standalone", "in-group"])
def test_snapshot_preserves_data(backend: Backend, in_group: bool) -> None:
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    if in_group:
        driver.create_group(group)
    spec = share_spec(backend, 1, group.id if in_group else None)
    source = driver.create_share(spec)
    if backend.real_files:
        write(export_dir(source), "data.txt", "before")
        write(export_dir(source), "sub/dir/file.txt", "nested")
    snap = SnapshotSpec(id=new_id("sn-"), share=spec)
    first = driver.create_snapshot(snap)
    assert driver.create_snapshot(snap) == first
    assert first.size_gb == spec.size_gb
    assert snap.id in driver.inventory().snapshots
    if backend.real_files:
        write(export_dir(source), "data.txt", "after")
        write(export_dir(source), "new.txt", "new")

    restored_spec = share_spec(backend, 1, group.id if in_group else None)
    restored = driver.create_share_from_snapshot(restored_spec, snap)
    assert driver.create_share_from_snapshot(restored_spec, snap) == restored
    if backend.real_files:
        path = export_dir(restored)
        assert path != export_dir(source)
        assert read(path, "data.txt") == "before"
        assert read(path, "sub/dir/file.txt") == "nested"
        assert not (path / "new.txt").exists()
        write(path, "data.txt", "changed in the copy")  # writable, independent of the source
        assert read(export_dir(source), "data.txt") == "after"
    driver.delete_share(restored_spec)
    driver.delete_snapshot(snap)
    driver.delete_snapshot(snap)
    assert snap.id not in driver.inventory().snapshots
    driver.delete_share(spec)
    if in_group:
        driver.delete_group(group)
        driver.delete_group(group)


def test_snapshot_of_missing_share_fails(backend: Backend) -> None:
    spec = share_spec(backend)
    with pytest.raises(DriverError):
        backend.driver.create_snapshot(SnapshotSpec(new_id("sn-"), spec))
    missing = SnapshotSpec(new_id("sn-"), spec)
    with pytest.raises(DriverError):
        backend.driver.create_share_from_snapshot(share_spec(backend), missing)
    backend.driver.delete_snapshot(missing)  # deleting what is not there succeeds


def test_delete_order_with_clones(backend: Backend) -> None:
    """Deleting a snapshot (and its share) while a clone of it lives must not hurt the clone."""
    driver = backend.driver
    spec = share_spec(backend)
    source = driver.create_share(spec)
    if backend.real_files:
        write(export_dir(source), "data.txt", "v1")
    snap = SnapshotSpec(new_id("sn-"), spec)
    driver.create_snapshot(snap)
    clone_spec = share_spec(backend)
    clone = driver.create_share_from_snapshot(clone_spec, snap)
    driver.delete_snapshot(snap)  # succeeds even though the clone came from it
    if backend.snapshot_dependencies:
        assert snap.id in driver.inventory().snapshots  # deferred
        assert driver.reclaim("snapshot", snap.id) is False
    else:
        assert snap.id not in driver.inventory().snapshots
    driver.delete_share(spec)
    if backend.real_files:
        assert read(export_dir(clone), "data.txt") == "v1"
    driver.delete_share(clone_spec)
    if backend.snapshot_dependencies:
        assert driver.reclaim("snapshot", snap.id) is True
    assert driver.inventory().snapshots == frozenset()
    assert driver.inventory().shares == frozenset()


def _mountable_here(backend: Backend, share_dir: Path) -> bool:
    """Whether this backend keeps a snapshot's data in a directory an NFS server can export: posix and btrfs
    always; ZFS where it has a `.zfs` directory (OpenZFS does, zfs-fuse does not); the fake never; cephfs
    never (its clients read snapshots through CephFS itself: no NFS server in front, `native_access`)."""
    if backend.driver.native_access:
        return False
    if backend.name == "zfs":
        return (share_dir / ".zfs").is_dir()
    return backend.real_files


def test_snapshot_and_member_directories_hold_the_data_at_the_cut(backend: Backend) -> None:
    """2.32: what an NFS server exports read-only for a snapshot and for each member of a cgsnapshot."""
    driver = backend.driver
    spec = share_spec(backend)
    source = driver.create_share(spec)
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    members = [share_spec(backend, 1, group.id) for _ in range(2)]
    member_dirs = [driver.create_share(m) for m in members]
    if backend.real_files:
        write(export_dir(source), "f.txt", "at the snapshot")
        for n, result in enumerate(member_dirs):
            write(export_dir(result), "who.txt", f"member {n} at the cut")
    snap = SnapshotSpec(id=new_id("sn-"), share=spec)
    driver.create_snapshot(snap)
    cg = cg_spec(group, members)
    driver.create_cgsnapshot(cg)
    if backend.real_files:
        write(export_dir(source), "f.txt", "after")
        for result in member_dirs:
            write(export_dir(result), "who.txt", "after the cut")

    mountable = backend.real_files and _mountable_here(backend, export_dir(source))
    directory = driver.snapshot_directory(snap)
    assert (directory is not None) is mountable
    if directory is not None:
        assert read(Path(directory), "f.txt") == "at the snapshot"
    for n, member in enumerate(cg.members):
        found = driver.cgsnapshot_member_directory(cg.id, member)
        assert (found is not None) is mountable
        if found is not None:
            assert read(Path(found), "who.txt") == f"member {n} at the cut"

    driver.delete_snapshot(snap)
    driver.delete_cgsnapshot(cg)
    assert driver.snapshot_directory(snap) is None  # gone with the snapshot
    assert driver.cgsnapshot_member_directory(cg.id, cg.members[0]) is None
    for m in members:
        driver.delete_share(m)
    driver.delete_group(group)
    driver.delete_share(spec)


# Groups and cgsnapshots ---------------------------------------------------------------


def test_group_cgsnapshot_and_restore(backend: Backend) -> None:
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    driver.create_group(group)
    assert group.id in driver.inventory().groups
    shares = [share_spec(backend, n + 1, group.id) for n in range(3)]
    paths = {}
    for n, spec in enumerate(shares):
        result = driver.create_share(spec)
        assert driver.create_share(spec) == result
        if backend.real_files:
            paths[spec.id] = export_dir(result)
            write(paths[spec.id], "who.txt", f"share {n} at the cut")
            write(paths[spec.id], f"only-in-{n}.txt", str(n))

    cg = cg_spec(group, shares)
    cut = driver.create_cgsnapshot(cg)
    again = driver.create_cgsnapshot(cg)
    assert cut.method == (CutMethod.ATOMIC if backend.atomic else CutMethod.SEQUENTIAL)
    assert again.method == cut.method
    if cut.method == CutMethod.ATOMIC:
        assert cut.spread_ms == 0
    else:
        assert cut.spread_ms >= 0
    assert cg.id in driver.inventory().cgsnapshots
    if backend.real_files:
        for n, spec in enumerate(shares):
            write(paths[spec.id], "who.txt", f"share {n} after the cut")

    # Restore every member.
    new_group = GroupSpec(new_id("g-"), backend.pool)
    clones = clone_specs(backend, new_group, cg)
    results = driver.create_group_from_cgsnapshot(new_group, cg, clones)
    assert driver.create_group_from_cgsnapshot(new_group, cg, clones) == results
    assert set(results) == {c.share.id for c in clones}
    inv = driver.inventory()
    assert new_group.id in inv.groups
    assert {c.share.id for c in clones} <= inv.shares
    if backend.real_files:
        for n, clone in enumerate(clones):
            path = export_dir(results[clone.share.id])
            assert path not in paths.values()
            assert read(path, "who.txt") == f"share {n} at the cut"
            assert sorted(p.name for p in path.iterdir()) == sorted(["who.txt", f"only-in-{n}.txt"])
            write(path, "who.txt", "restored and written")
        for n, spec in enumerate(shares):
            assert read(paths[spec.id], "who.txt") == f"share {n} after the cut"

    # Restore a subset into another group.
    partial_group = GroupSpec(new_id("g-"), backend.pool)
    partial = [CloneSpec(share=share_spec(backend, 2, partial_group.id), member=cg.members[1])]
    partial_results = driver.create_group_from_cgsnapshot(partial_group, cg, partial)
    if backend.real_files:
        path = export_dir(partial_results[partial[0].share.id])
        assert read(path, "who.txt") == "share 1 at the cut"
        group_dir = path.parent.parent if backend.name == "cephfs" else path.parent  # cephfs: <group>/<share>/<uuid>
        assert (
            sorted(p.name for p in group_dir.iterdir() if not p.name.startswith(".")) == [partial[0].share.id]
            or backend.name == "posix"
        )

    # The restored groups can be cut too.
    cg2 = cg_spec(new_group, [c.share for c in clones])
    driver.create_cgsnapshot(cg2)

    # Tear down in a "wrong" order: the source first, while its cgsnapshot and clones live.
    for spec in shares:
        driver.delete_share(spec)
        driver.delete_share(spec)
    driver.delete_group(group)
    driver.delete_group(group)
    driver.delete_cgsnapshot(cg)
    driver.delete_cgsnapshot(cg)
    if backend.real_files:
        for clone in clones:
            assert read(export_dir(results[clone.share.id]), "who.txt") == "restored and written"
    driver.delete_cgsnapshot(cg2)
    for clone in clones + partial:
        driver.delete_share(clone.share)
    driver.delete_group(new_group)
    driver.delete_group(partial_group)
    if backend.snapshot_dependencies:
        assert driver.reclaim("cgsnapshot", cg.id) is True
    inv = driver.inventory()
    assert inv.groups == frozenset() and inv.cgsnapshots == frozenset() and inv.shares == frozenset()


def test_restore_into_group_made_by_create_group(backend: Backend) -> None:
    """The service may create the target group before restoring into it."""
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    spec = share_spec(backend, 1, group.id)
    path = driver.create_share(spec)
    if backend.real_files:
        write(export_dir(path), "x.txt", "x")
    cg = cg_spec(group, [spec])
    driver.create_cgsnapshot(cg)
    target = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(target)
    clones = clone_specs(backend, target, cg)
    results = driver.create_group_from_cgsnapshot(target, cg, clones)
    if backend.real_files:
        assert read(export_dir(results[clones[0].share.id]), "x.txt") == "x"
    for c in clones:
        driver.delete_share(c.share)
    driver.delete_group(target)
    driver.delete_cgsnapshot(cg)
    driver.delete_share(spec)
    driver.delete_group(group)


def test_cgsnapshot_of_missing_group_or_member_fails(backend: Backend) -> None:
    if backend.name == "fake":
        pytest.skip("the fake backend does not track group membership")
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    outside = share_spec(backend)
    driver.create_share(outside)
    with pytest.raises(DriverError):
        driver.create_cgsnapshot(
            cg_spec(group, [outside])
            if backend.group_holds_shares
            else cg_spec(group, [share_spec(backend, 1, group.id)])
        )
    missing_cg = cg_spec(group, [])
    with pytest.raises(DriverError):
        driver.create_group_from_cgsnapshot(GroupSpec(new_id("g-"), backend.pool), missing_cg, [])
    driver.delete_cgsnapshot(missing_cg)
    driver.delete_share(outside)
    driver.delete_group(group)
    assert driver.inventory().groups == frozenset()


# Access rules -------------------------------------------------------------------------


def access_rules() -> list[AccessRuleSpec]:
    targets = [("ip", "10.0.0.0/24", "rw"), ("ip", "::1", "ro"), ("user", "alice", "ro"), ("cert", "a.example", "rw"),
               ("cephx", "alice", "rw")]
    return [AccessRuleSpec(new_id("r-"), access_type, to, level) for access_type, to, level in targets]


@pytest.mark.parametrize("in_group", [False, True], ids=["standalone", "in-group"])
def test_update_access_answers_for_every_rule_of_the_set(backend: Backend, in_group: bool) -> None:
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    if in_group:
        driver.create_group(group)
    spec = share_spec(backend, 1, group.id if in_group else None)
    driver.create_share(spec)
    rules = access_rules()
    first = driver.update_access(spec, rules)
    assert set(first) == {r.id for r in rules}
    assert driver.update_access(spec, rules) == first  # idempotent
    if not backend.access_enforced:
        # records only: nothing can refuse a rule, and no backend secret exists
        assert all(result.applied and result.access_key is None for result in first.values())
    # the set is the whole truth: a smaller set drops the others
    assert set(driver.update_access(spec, rules[:2])) == {rules[0].id, rules[1].id}
    assert driver.update_access(spec, []) == {}
    driver.delete_share(spec)
    if in_group:
        driver.delete_group(group)


def test_update_access_of_a_missing_share_fails(backend: Backend) -> None:
    with pytest.raises(DriverError):
        backend.driver.update_access(share_spec(backend), access_rules())


def test_fake_refuses_the_rules_it_is_told_to() -> None:
    """The fake's knobs: `fail_access` refuses rules for chosen targets, `fail=update_access` the whole call."""
    driver = FakeDriver({"fail_access": "10.9.9.9, bad.example"})
    spec = ShareSpec(id=new_id("sh-"), size_gb=1, proto="NFS", pool="fake")
    driver.create_share(spec)
    ok = AccessRuleSpec(new_id("r-"), "ip", "10.0.0.1", "rw")
    refused = AccessRuleSpec(new_id("r-"), "ip", "10.9.9.9", "rw")
    results = driver.update_access(spec, [ok, refused])
    assert results[ok.id].applied and not results[refused.id].applied
    assert results[refused.id].reason == "fake driver configured to refuse 10.9.9.9"
    assert driver.access[spec.id] == {ok.id: "rw"}
    with pytest.raises(DriverError, match="configured to fail update_access"):
        FakeDriver({"fail": "update_access"}).update_access(spec, [ok])


# Inventory and reclaim ----------------------------------------------------------------


def test_inventory_and_reclaim(backend: Backend) -> None:
    driver = backend.driver
    assert driver.inventory().shares == frozenset()
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    loose = share_spec(backend)
    member = share_spec(backend, 1, group.id)
    driver.create_share(loose)
    driver.create_share(member)
    snap = SnapshotSpec(new_id("sn-"), loose)
    driver.create_snapshot(snap)
    cg = cg_spec(group, [member])
    driver.create_cgsnapshot(cg)

    inv = driver.inventory()
    assert inv.shares == {loose.id, member.id}
    assert inv.snapshots == {snap.id}
    assert inv.groups == {group.id}
    assert inv.cgsnapshots == {cg.id}

    # A group still holding shares is not removed (where shares live inside groups).
    if backend.group_holds_shares:
        assert driver.reclaim("group", group.id) is False
        assert group.id in driver.inventory().groups

    assert driver.reclaim("cgsnapshot", cg.id) is True
    assert driver.reclaim("snapshot", snap.id) is True
    assert driver.reclaim("share", member.id) is True
    assert driver.reclaim("share", loose.id) is True
    assert driver.reclaim("group", group.id) is True
    for kind, object_id in (("share", loose.id), ("snapshot", snap.id), ("group", group.id), ("cgsnapshot", cg.id)):
        assert driver.reclaim(kind, object_id) is True  # already gone: fine
    inv = driver.inventory()
    assert not (inv.shares or inv.snapshots or inv.groups or inv.cgsnapshots)
    with pytest.raises(ValueError):
        driver.reclaim("volume", "x")


def test_reclaim_share_keeps_data_snapshots_need(backend: Backend) -> None:
    """A leaked member share of a cgsnapshot: reclaiming it must not break the cgsnapshot."""
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    member = share_spec(backend, 1, group.id)
    result = driver.create_share(member)
    if backend.real_files:
        write(export_dir(result), "a.txt", "kept")
    cg = cg_spec(group, [member])
    driver.create_cgsnapshot(cg)
    driver.reclaim("share", member.id)
    driver.delete_group(group)
    target = GroupSpec(new_id("g-"), backend.pool)
    clones = clone_specs(backend, target, cg)
    results = driver.create_group_from_cgsnapshot(target, cg, clones)
    if backend.real_files:
        assert read(export_dir(results[clones[0].share.id]), "a.txt") == "kept"
    for c in clones:
        driver.delete_share(c.share)
    driver.delete_group(target)
    driver.delete_cgsnapshot(cg)
    for share_id in driver.inventory().shares:  # a deferred (parked) share, where that exists
        assert driver.reclaim("share", share_id) is True
    inv = driver.inventory()
    assert not (inv.shares or inv.snapshots or inv.groups or inv.cgsnapshots)


# Crash leftovers ----------------------------------------------------------------------


def test_half_made_copy_is_redone(backend: Backend) -> None:
    """A crash mid-copy leaves a temp directory; the retry must not count it as a snapshot."""
    if backend.name not in ("posix", "btrfs"):
        pytest.skip("only directory-based backends keep temp copies")
    assert backend.base is not None
    driver = backend.driver
    spec = share_spec(backend)
    write(export_dir(driver.create_share(spec)), "f.txt", "complete")
    snap = SnapshotSpec(new_id("sn-"), spec)
    half = backend.base / "snapshots" / f".tmp-{snap.id}"
    half.mkdir()
    (half / "junk").write_text("half")
    assert snap.id not in driver.inventory().snapshots
    driver.create_snapshot(snap)
    target = share_spec(backend)
    path = export_dir(driver.create_share_from_snapshot(target, snap))
    assert sorted(p.name for p in path.iterdir()) == ["f.txt"]
    assert read(path, "f.txt") == "complete"
    driver.delete_share(target)
    driver.delete_snapshot(snap)
    driver.delete_share(spec)


def test_leftovers_of_interrupted_work_are_found_and_removed(backend: Backend) -> None:
    """kill -9 mid-delete leaves `.trash-<id>` (inside the group, where shares live in groups), mid-copy
    `.tmp-<id>`: inventory reports them, a retried delete or a reclaim removes them (issue 11, defect 3)."""
    if backend.name not in ("posix", "btrfs"):
        pytest.skip("only directory-based backends keep temp and trash directories")
    assert backend.base is not None
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    deleted, reclaimed = share_spec(backend, 1, group.id), share_spec(backend, 1, group.id)
    trash = []
    for spec in (deleted, reclaimed):
        where = export_dir(driver.create_share(spec))
        write(where, "data.bin", "held space")
        trash.append(where.with_name(f".trash-{spec.id}"))
        where.rename(trash[-1])  # the rename that hides it is done; the removal was cut short
    half = backend.base / "snapshots" / f".tmp-{new_id('sn-')}"
    half.mkdir()
    inv = driver.inventory()
    assert {deleted.id, reclaimed.id}.isdisjoint(inv.shares)
    assert {("share", deleted.id), ("share", reclaimed.id), ("snapshot", half.name[5:])} <= inv.leftovers
    driver.delete_share(deleted)  # the delete runs again after the restart
    driver.reclaim("share", reclaimed.id)  # the record went: the sweep reclaims it
    driver.reclaim("snapshot", half.name[5:])
    assert not any(path.exists() for path in (*trash, half))
    assert driver.inventory().leftovers == frozenset()
    driver.delete_group(group)


def test_bad_ids_are_refused(backend: Backend) -> None:
    if backend.name == "fake":
        pytest.skip("the fake backend stores ids in memory")
    with pytest.raises(DriverError):
        backend.driver.create_share(ShareSpec(id="../escape", size_gb=1, proto="NFS", pool=backend.pool))
