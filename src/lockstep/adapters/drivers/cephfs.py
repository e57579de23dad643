"""A backend on a CephFS volume: shares are mgr subvolumes, groups are subvolume groups, and a cgsnapshot
is one `.snap` mkdir of the group's directory (one snapid over the whole subtree: atomic).

Options:

- ``conf`` (required): the cluster's ceph.conf.
- ``client_id`` (default ``admin``), ``keyring`` (default: what the conf says): Lockstep's cephx
  identity. It needs mon and mgr caps for `fs subvolume` commands and MDS caps ``rws`` on the volume
  (``s``: snapshots).
- ``fs_name`` (default ``cephfs``): the CephFS volume.
- ``prefix`` (default ``lockstep``): names Lockstep owns on the volume. Shares outside any group live
  in the subvolume group ``<prefix>``, a share group is ``<prefix>-<group id>``; nothing else on the
  volume is listed, reclaimed or touched.
- ``mount`` (default ``<path>/mnt``, path being the backend's directory): where this process mounts
  the volume with ceph-fuse for data work (copies, `.snap` directories).

Layout on the volume (the mgr's own, version 2 subvolumes)::

    /volumes/<group>/<share id>/<uuid>/         a share: its data (quota = size)
    /volumes/<group>/<share id>/.snap/<snap id> a share's snapshot (`fs subvolume snapshot create`)
    /volumes/<group>/.snap/<cgsnapshot id>      a cgsnapshot of every share of the group

The mgr refuses group snapshots (`fs subvolumegroup snapshot create`: ENOSYS), so cgsnapshots are
raw `.snap` directories the driver keeps itself; the gate test (tests/ceph/test_gate.py,
docs/drivers.md) shows they are one cut, live with member removal and clones, and block the group's
removal. A group deleted while cgsnapshots of it remain is marked (xattr ``user.lockstep.deleted``) and
removed with its last cgsnapshot. CephFS counts a group's snapshots against each member's
``mds_max_snaps_per_dir`` (100 by default): past it a snapshot or a cgsnapshot fails with a DriverError
saying so.

Restores are copies, O(data): a share from a snapshot and a group from a cgsnapshot are new
subvolumes filled by `cp -a` through the mount (not the mgr's `snapshot clone`: it clones only a
subvolume's own snapshots, and took 9 s for 4 MiB here). A copy in progress is marked on the target
group (xattr ``user.lockstep.copying.<share id>``) so that a crash mid-copy is a leftover, not a share.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from lockstep.adapters.drivers._support import (
    GIB,
    check_id,
    check_kind,
    copy_contents,
    refuse_shrink_below_usage,
    require_fit,
    syncfs,
    tree_usage_bytes,
)
from lockstep.adapters.drivers.cephclient import (
    OWNER_KEY,
    Arg,
    CephClient,
    CephCommandError,
    detach,
    evicted,
    mount_tag,
    mounted,
)
from lockstep.service.fencing import process_identity, process_of
from lockstep.service.storage import (
    AccessResult,
    AccessRuleSpec,
    CGSnapshotResult,
    CGSnapshotSpec,
    CloneSpec,
    CutMethod,
    DriverError,
    ExportLocation,
    GroupSpec,
    GroupSupport,
    Inventory,
    PoolInfo,
    ShareDriver,
    ShareResult,
    ShareSpec,
    SnapshotResult,
    SnapshotSpec,
)

DELETED = "user.lockstep.deleted"
COPYING = "user.lockstep.copying."
#: How long a snapshot's copy of a just-removed member may answer ENOENT (the mgr is moving it to its
#: trash; the gate test measures it) before a restore gives up.
SNAPSHOT_SETTLE_SECONDS = 60.0
#: For tests only, never set in a deployment: seconds a cgsnapshot waits before its cut, so that a test can
#: kill its worker mid-operation deterministically (tests/ceph/test_takeover.py).
TEST_CUT_DELAY = "LOCKSTEP_TEST_CEPHFS_CUT_DELAY"
#: How long the main mount is given before a restore reads the cut through a client of its own.
QUICK_SETTLE_SECONDS = 2.0


class _Unreadable(DriverError):
    """A member's copy in a cut stayed unreadable (ENOENT) through this client."""


class CephfsDriver(ShareDriver):
    kind = "cephfs"
    native_access = True  # CephFS clients, cephx caps: no NFS server in front
    storage_protocol = "CEPHFS"  # CEPHFS shares only: NFS and CIFS shares are placed elsewhere

    def __init__(self, options: Mapping[str, str]) -> None:
        conf = (options.get("conf") or "").strip()
        if not conf:
            raise DriverError("the cephfs backend needs the option 'conf' (the cluster's ceph.conf)")
        keyring = (options.get("keyring") or "").strip()
        self.ceph = CephClient(Path(conf), options.get("client_id") or "admin", Path(keyring) if keyring else None,
                               tag=process_identity())
        self.fs_name = options.get("fs_name") or "cephfs"
        self.prefix = check_id(options.get("prefix") or "lockstep", "cephfs prefix")
        mount = options.get("mount") or (str(Path(options["path"]) / "mnt") if options.get("path") else "")
        if not mount:
            raise DriverError("the cephfs backend needs the option 'mount' or 'path' (where to mount the volume)")
        self.mountpoint = Path(mount).absolute()
        self._mounted_here = False
        self._fenced = False
        self._data_pool: str | None = None
        self._monitors = ""

    # Lifecycle ------------------------------------------------------------------
    def setup(self) -> None:
        for stale in self.mountpoint.parent.glob(f".{self.mountpoint.name}.reader-*"):
            detach(stale)  # a reader mount of a process killed mid-restore
            stale.rmdir()
        self._volumes()
        self._mgr("fs subvolumegroup create", group_name=self.prefix, action="create the default group")

    def _volumes(self) -> Path:
        """`/volumes` on this process's mount, mounted again first if it is gone: its ceph-fuse died
        (ENOTCONN), or another worker process of this host that shared the mount point unmounted it
        when it stopped. Never a plain directory where the volume should be."""
        if self._fenced or (evicted(self.mountpoint) and mount_tag(self.mountpoint) == self.ceph.tag):
            # Another worker fenced this process (its lease ran out: it was paused, or cut off): mounting
            # again would give it a new, unblocklisted address and let it carry on with work now owned
            # by another worker. It does no more Ceph work until it is restarted.
            self._fenced = True
            raise DriverError(f"this worker process ({self.ceph.tag}) was fenced: another worker evicted its "
                              "Ceph clients after its leases ran out; restart it (`lockstep worker`)")
        if mounted(self.mountpoint) and mount_tag(self.mountpoint) != self.ceph.tag:
            self._take_mount_point()
        if not mounted(self.mountpoint):
            self.ceph.mount(self.mountpoint, self.fs_name)
            self._mounted_here = True
        return self.mountpoint / "volumes"

    def _take_mount_point(self) -> None:
        """The mount point holds another process's session. Working through it would let fencing that
        process cut this one off (and fencing this one miss it), so: detach it if its process is gone (a
        worker of this machine killed, whose ceph-fuse lives on), else refuse."""
        tag = mount_tag(self.mountpoint) or ""
        machine, _, rest = tag.rpartition(":")[0].rpartition(":")
        gone = machine == socket.gethostname() and rest.isdigit() and not Path(f"/proc/{rest}").exists()
        if not gone:
            raise DriverError(f"the mount point {self.mountpoint} is in use by another process "
                              f"({tag or 'an untagged ceph-fuse'}); give each worker process of this host a "
                              "mount point of its own (the backend's `mount` or `path`)")
        detach(self.mountpoint)

    def close(self) -> None:
        self.ceph.close()
        if self._mounted_here:
            detach(self.mountpoint)
            self._mounted_here = False

    # Commands and names ---------------------------------------------------------
    def _mgr(self, prefix: str, *, action: str, **args: Arg) -> str:
        """An mgr/volumes command on this backend's volume."""
        return self.ceph.mgr(prefix, vol_name=self.fs_name, action=action, **args)

    def _group_name(self, group_id: str | None) -> str:
        return self.prefix if group_id is None else f"{self.prefix}-{check_id(group_id, 'group')}"

    def _group_dir(self, group_id: str | None) -> Path:
        return self._volumes() / self._group_name(group_id)

    def _our_groups(self) -> Iterator[tuple[str | None, Path]]:
        """(group id, directory) of every subvolume group this backend owns; None is the default group."""
        volumes = self._volumes()
        try:
            names = os.listdir(volumes)
        except FileNotFoundError:
            return
        for name in names:
            if name == self.prefix:
                yield None, volumes / name
            elif name.startswith(f"{self.prefix}-") and len(name) > len(self.prefix) + 1:
                yield name[len(self.prefix) + 1:], volumes / name

    def _subvolume_path(self, share: ShareSpec) -> str:
        """The share's data directory on the volume. Asked of the mgr (`getpath`, a few ms on the held
        connection): reading the subvolume's `.meta` through the mount instead waits 4-5 s for the mgr's
        client to give up its caps on a file it just wrote."""
        return self._mgr("fs subvolume getpath", sub_name=check_id(share.id, "share"),
                         group_name=self._group_name(share.group_id), action=f"look up share {share.id}").strip()

    def _monitor_list(self) -> str:
        if not self._monitors:
            dump = json.loads(self.ceph.mon("mon dump", format="json", action="list the monitors"))
            assert isinstance(dump, dict)
            self._monitors = ",".join(
                str(addr["addr"]).split("/")[0] for mon in dump["mons"] for addr in mon["public_addrs"]["addrvec"]
                if addr["type"] == "v1") or ",".join(str(mon["addr"]).split("/")[0] for mon in dump["mons"])
        return self._monitors

    def _result(self, share: ShareSpec) -> ShareResult:
        path = self._subvolume_path(share)
        monitors = self._monitor_list()
        return ShareResult(export_locations=[
            # This host's ceph-fuse view (the contract's writable directory; operators only) ...
            ExportLocation(path=str(self.mountpoint / path.lstrip("/")), is_admin_only=True, preferred=False),
            # ... and what a CephFS client mounts: `mount -t ceph <monitors>:<path>` or ceph-fuse -r <path>.
            ExportLocation(path=f"{monitors}:{path}", preferred=True),
        ])

    # Capacity -------------------------------------------------------------------
    def _capacity(self) -> tuple[float, float]:
        df = json.loads(self.ceph.mon("df", format="json", action="read the cluster's capacity"))
        assert isinstance(df, dict)
        total = float(df["stats"]["total_bytes"])
        pool = self._pool_name()
        free = next((float(p["stats"]["max_avail"]) for p in df["pools"] if p["name"] == pool),
                    float(df["stats"]["total_avail_bytes"]))
        return total / GIB, min(free, total) / GIB

    def _pool_name(self) -> str:
        if self._data_pool is None:
            volumes = json.loads(self.ceph.mon("fs ls", format="json", action="list the CephFS volumes"))
            assert isinstance(volumes, list)
            match = [v for v in volumes if v.get("name") == self.fs_name]
            if not match:
                raise DriverError(f"the cluster has no CephFS volume {self.fs_name!r}; create it "
                                  f"(`ceph fs volume create {self.fs_name}`) or set the backend's fs_name")
            self._data_pool = str(match[0]["data_pools"][0])
        return self._data_pool

    def _max_snapshots(self) -> int:
        try:
            return int(self.ceph.mon("config get", who="mds", key="mds_max_snaps_per_dir", action="read a limit")
                       .strip())
        except (DriverError, ValueError):
            return 100

    def pools(self) -> list[PoolInfo]:
        total, free = self._capacity()
        return [PoolInfo(
            name=self.fs_name,
            total_capacity_gb=round(total, 3),
            free_capacity_gb=round(free, 3),
            group_support=GroupSupport.POOL,
            atomic_cgsnapshot=True,
            access_enforced=True,  # cephx caps on the subvolume's path
            thin_provisioning=True,  # a quota is a limit; space is taken as data is written
            copy_on_write_clones=False,  # restores copy the data
            extra={
                "lockstep:storage": "cephfs",
                "lockstep:size_enforced": True,
                "lockstep:restore": "copy, O(data): shares from snapshots and groups from cgsnapshots",
                "lockstep:protocols": "CEPHFS (cephx access rules)",
            },
        )]

    def _require_fit(self, what: str, needed_gb: int) -> None:
        require_fit(what, needed_gb, lambda: self._capacity()[1], self.fs_name)

    # Shares ---------------------------------------------------------------------
    def _exists(self, share_id: str, group_id: str | None) -> bool:
        return (self._group_dir(group_id) / check_id(share_id, "share")).is_dir()

    def create_share(self, share: ShareSpec) -> ShareResult:
        if not self._exists(share.id, share.group_id):
            if share.group_id is not None and not self._group_dir(share.group_id).is_dir():
                raise DriverError(f"group {share.group_id} does not exist on {self.fs_name}; create it first")
            self._require_fit(f"share {share.id}", share.size_gb)
            self._mgr("fs subvolume create", sub_name=share.id, group_name=self._group_name(share.group_id),
                      size=share.size_gb * GIB, action=f"create share {share.id}")
        return self._result(share)

    def delete_share(self, share: ShareSpec) -> None:
        self._remove_share(share.id, share.group_id)

    def _remove_share(self, share_id: str, group_id: str | None) -> bool:
        """Remove the subvolume (and its cephx grants); False while its own snapshots hold it."""
        group = self._group_name(group_id)
        if not self._exists(share_id, group_id):
            self._clear_copying(group_id, share_id)
            return True
        self._revoke_all(share_id, group)
        try:
            self._mgr("fs subvolume rm", sub_name=share_id, group_name=group, force=True,
                      action=f"delete share {share_id}")
        except CephCommandError as exc:
            if exc.errno != errno.ENOTEMPTY:
                raise
            return False
        self._clear_copying(group_id, share_id)
        return True

    def _resize(self, share: ShareSpec, new_size_gb: int, *, shrink: bool) -> None:
        self._mgr("fs subvolume resize", sub_name=share.id, new_size=str(new_size_gb * GIB),
                  group_name=self._group_name(share.group_id), no_shrink=None if shrink else True,
                  action=f"resize share {share.id} to {new_size_gb} GiB")

    def _existing_path(self, share: ShareSpec) -> Path:
        if not self._exists(share.id, share.group_id):
            raise DriverError(f"share {share.id} does not exist on {self.fs_name}; it cannot be resized or snapshotted")
        return Path(self._result(share).export_locations[0].path)

    def extend_share(self, share: ShareSpec, new_size_gb: int) -> None:
        self._existing_path(share)
        self._require_fit(f"extending share {share.id} to {new_size_gb} GiB", new_size_gb - share.size_gb)
        self._resize(share, new_size_gb, shrink=False)

    def shrink_share(self, share: ShareSpec, new_size_gb: int) -> None:
        # The client's own walk, not `ceph.dir.rbytes`: recursive stats reach the MDS lazily, and data
        # written a moment ago must count.
        path = self._existing_path(share)
        refuse_shrink_below_usage(share.id, tree_usage_bytes(path), new_size_gb)
        self._resize(share, new_size_gb, shrink=True)

    # Snapshots ------------------------------------------------------------------
    def _snapshot_limit_error(self, what: str, exc: Exception) -> DriverError:
        return DriverError(
            f"{what}: CephFS allows {self._max_snapshots()} snapshots per directory (mds_max_snaps_per_dir), "
            "and a share's own snapshots and its group's cgsnapshots count together; delete some snapshots "
            f"or cgsnapshots first ({exc})")

    def create_snapshot(self, snapshot: SnapshotSpec) -> SnapshotResult:
        share = snapshot.share
        if not self._exists(share.id, share.group_id):
            raise DriverError(f"share {share.id} does not exist on {self.fs_name}; it cannot be snapshotted")
        try:
            self._mgr("fs subvolume snapshot create", sub_name=share.id, snap_name=check_id(snapshot.id, "snapshot"),
                      group_name=self._group_name(share.group_id), action=f"create snapshot {snapshot.id}")
        except CephCommandError as exc:
            if exc.errno == errno.EMLINK:
                raise self._snapshot_limit_error(f"snapshot {snapshot.id} of share {share.id}", exc) from exc
            raise
        return SnapshotResult(size_gb=share.size_gb,
                              provider_location=f"{self._group_name(share.group_id)}/{share.id}@{snapshot.id}")

    def delete_snapshot(self, snapshot: SnapshotSpec) -> None:
        self._remove_snapshot(snapshot.id, snapshot.share.id, snapshot.share.group_id)

    def _remove_snapshot(self, snapshot_id: str, share_id: str, group_id: str | None) -> None:
        if not (self._group_dir(group_id) / check_id(share_id, "share") / ".snap" / snapshot_id).is_dir():
            return
        self._mgr("fs subvolume snapshot rm", sub_name=share_id, snap_name=snapshot_id,
                  group_name=self._group_name(group_id), force=True, action=f"delete snapshot {snapshot_id}")

    def create_share_from_snapshot(self, share: ShareSpec, snapshot: SnapshotSpec) -> ShareResult:
        # A copy through the mount, like a group restore, not the mgr's `snapshot clone`: the mgr's
        # cloner took 9 s for 4 MiB here (it works through a queue at its own pace), cp 0.5 s.
        if self._exists(share.id, share.group_id) and not self._copying(self._group_dir(share.group_id), share.id):
            return self._result(share)
        source = snapshot.share
        snapshots = self._group_dir(source.group_id) / check_id(source.id, "share") / ".snap"
        if not (snapshots / check_id(snapshot.id, "snapshot")).is_dir():
            raise DriverError(f"snapshot {snapshot.id} does not exist on {self.fs_name}; "
                              f"cannot create share {share.id} from it")
        if share.group_id is not None and not self._group_dir(share.group_id).is_dir():
            raise DriverError(f"group {share.group_id} does not exist on {self.fs_name}; create it first")
        self._require_fit(f"share {share.id}", share.size_gb)
        self._copy_in([(share, snapshot.id)], snapshots)
        return self._result(share)

    # Groups ---------------------------------------------------------------------
    def create_group(self, group: GroupSpec) -> None:
        self._mgr("fs subvolumegroup create", group_name=self._group_name(group.id), action=f"create group {group.id}")

    def delete_group(self, group: GroupSpec) -> None:
        self._remove_group(group.id)

    def _remove_group(self, group_id: str) -> bool:
        """Remove the subvolume group; False while shares live in it. A group whose cgsnapshots
        remain is marked deleted and goes with the last of them."""
        directory = self._group_dir(group_id)
        if not directory.is_dir():
            return True
        if any(not n.startswith((".", "_")) for n in os.listdir(directory)):
            return False
        if self._own_snapshots(directory):
            os.setxattr(directory, DELETED, b"1")
            return True
        try:
            self._mgr("fs subvolumegroup rm", group_name=self._group_name(group_id), force=True,
                      action=f"delete group {group_id}")
        except CephCommandError as exc:
            if exc.errno != errno.ENOTEMPTY:
                raise
            return False
        return True

    @staticmethod
    def _own_snapshots(directory: Path) -> list[str]:
        """Snapshots of this directory (an ancestor's show up as `_<name>_<inode>` and are not its own)."""
        try:
            return [n for n in os.listdir(directory / ".snap") if not n.startswith("_")]
        except FileNotFoundError:
            return []

    @staticmethod
    def _marked_deleted(directory: Path) -> bool:
        try:
            return os.getxattr(directory, DELETED) == b"1"
        except OSError:
            return False

    def create_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> CGSnapshotResult:
        directory = self._group_dir(cgsnapshot.group.id)
        cut = directory / ".snap" / check_id(cgsnapshot.id, "cgsnapshot")
        if cut.is_dir():
            return CGSnapshotResult(method=CutMethod.ATOMIC, spread_ms=0.0)
        if not directory.is_dir() or self._marked_deleted(directory):
            raise DriverError(f"group {cgsnapshot.group.id} does not exist on {self.fs_name}; cannot cut it")
        outside = [m.share.id for m in cgsnapshot.members if not (directory / check_id(m.share.id, "share")).is_dir()]
        if outside:
            raise DriverError(f"cgsnapshot {cgsnapshot.id}: shares {', '.join(outside)} are not in group "
                              f"{cgsnapshot.group.id} on {self.fs_name}; a cut covers the group's own shares only")
        if delay := float(os.environ.get(TEST_CUT_DELAY) or 0):
            time.sleep(delay)  # tests only (see TEST_CUT_DELAY)
        try:
            os.mkdir(cut)  # one MDS operation: one snapid over every member
        except FileExistsError:
            pass
        except OSError as exc:
            if exc.errno == errno.EMLINK:
                raise self._snapshot_limit_error(f"cgsnapshot {cgsnapshot.id} of group {cgsnapshot.group.id}",
                                                 exc) from exc
            raise DriverError(f"cgsnapshot {cgsnapshot.id}: mkdir {cut} failed: {exc}; check that the identity "
                              f"{self.ceph.client_id} has the MDS 's' cap (snapshots) and retry") from exc
        return CGSnapshotResult(method=CutMethod.ATOMIC, spread_ms=0.0)

    def delete_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> None:
        self._remove_cgsnapshot(cgsnapshot.id, self._group_dir(cgsnapshot.group.id), cgsnapshot.group.id)

    def _remove_cgsnapshot(self, cgsnapshot_id: str, directory: Path, group_id: str | None) -> None:
        try:
            os.rmdir(directory / ".snap" / check_id(cgsnapshot_id, "cgsnapshot"))
        except FileNotFoundError:
            pass
        if group_id is not None and self._marked_deleted(directory) and not self._own_snapshots(directory):
            self._remove_group(group_id)

    @contextmanager
    def _reader(self) -> Iterator[Path]:
        """A ceph-fuse client of its own, for reading a cut the main mount cannot. A client that has
        looked at a member's inherited snapshots (inventory lists `<share>/.snap`) answers ENOENT for
        that member's copy in the group's snapshot for good once the member is removed (ceph-fuse
        16.2.15; the gate test shows it); a new client reads it."""
        point = self.mountpoint.with_name(f".{self.mountpoint.name}.reader-{os.getpid()}-{uuid.uuid4().hex[:6]}")
        self.ceph.mount(point, self.fs_name)
        try:
            yield point
        finally:
            detach(point)
            point.rmdir()

    def _member_source(self, cut: Path, share_id: str, settle: float) -> Path:
        """The member's data inside the cut: `<cut>/<share id>/<uuid>`, the one directory the subvolume
        held. Waits `settle` seconds at most for the moment when a member removed after the cut answers
        ENOENT (the mgr is moving it to its trash) to pass."""
        deadline = time.monotonic() + settle
        while True:
            try:
                found = [n for n in os.listdir(cut / share_id) if not n.startswith(".")]
                if len(found) != 1:
                    raise DriverError(f"{cut / share_id} holds {found or 'nothing'}, not one subvolume data "
                                      "directory; the member is not an mgr subvolume")
                source = cut / share_id / found[0]
                os.listdir(source)
                return source
            except FileNotFoundError:
                if not cut.is_dir():
                    raise DriverError(f"{cut} does not exist; the cgsnapshot is gone") from None
                if time.monotonic() > deadline:
                    raise _Unreadable(f"the cgsnapshot at {cut} has no readable copy of share {share_id}; "
                                      "the member id is wrong or the cut is damaged") from None
                time.sleep(0.1)

    def create_group_from_cgsnapshot(
        self, group: GroupSpec, cgsnapshot: CGSnapshotSpec, clones: Sequence[CloneSpec]
    ) -> Mapping[str, ShareResult]:
        cut = self._group_dir(cgsnapshot.group.id) / ".snap" / check_id(cgsnapshot.id, "cgsnapshot")
        if not cut.is_dir():
            raise DriverError(f"cgsnapshot {cgsnapshot.id} does not exist at {cut}; cannot restore group {group.id}")
        self.create_group(group)
        directory = self._group_dir(group.id)
        pending = [c for c in clones if not self._exists(c.share.id, group.id) or self._copying(directory, c.share.id)]
        self._require_fit(f"restoring group {group.id}", sum(c.share.size_gb for c in pending))
        self._copy_in([(ShareSpec(c.share.id, c.share.size_gb, c.share.proto, c.share.pool, group.id),
                         check_id(c.member.share.id, "share")) for c in pending], cut)
        return {c.share.id: self._result(ShareSpec(c.share.id, c.share.size_gb, c.share.proto, c.share.pool, group.id))
                for c in clones}

    def _copy_in(self, copies: Sequence[tuple[ShareSpec, str]], snapshots: Path) -> None:
        """Make each share a new subvolume holding a copy of `<snapshots>/<name>/<uuid>/` (a cut's member, a
        share's snapshot): through the worker's mount, else through a client of its own (`_reader`)."""
        if not copies:
            return
        try:
            sources = [self._member_source(snapshots, name, QUICK_SETTLE_SECONDS) for _, name in copies]
        except _Unreadable:
            with self._reader() as reader:
                seen = reader / snapshots.relative_to(self.mountpoint)
                sources = [self._member_source(seen, name, SNAPSHOT_SETTLE_SECONDS) for _, name in copies]
                self._copy_each(copies, sources)
            return
        self._copy_each(copies, sources)

    def _copy_each(self, copies: Sequence[tuple[ShareSpec, str]], sources: Sequence[Path]) -> None:
        for (share, _), source in zip(copies, sources, strict=True):
            directory = self._group_dir(share.group_id)
            # Marked before the subvolume exists and cleared once the copy is durable: a crash in
            # between leaves a leftover that the next attempt (or the sweep) removes.
            os.setxattr(directory, f"{COPYING}{share.id}", b"1")
            self._remove_share(share.id, share.group_id)
            os.setxattr(directory, f"{COPYING}{share.id}", b"1")
            self._mgr("fs subvolume create", sub_name=share.id, group_name=self._group_name(share.group_id),
                      size=share.size_gb * GIB, action=f"create share {share.id}")
            target = Path(self._result(share).export_locations[0].path)
            copy_contents(source, target, reflink="never")
            syncfs(target)
            self._clear_copying(share.group_id, share.id)

    @staticmethod
    def _copying(directory: Path, share_id: str) -> bool:
        try:
            return share_id in CephfsDriver._copies(directory)
        except OSError:
            return False

    @staticmethod
    def _copies(directory: Path) -> set[str]:
        return {n[len(COPYING):] for n in os.listxattr(directory) if n.startswith(COPYING)}

    def _clear_copying(self, group_id: str | None, share_id: str) -> None:
        try:
            os.removexattr(self._group_dir(group_id), f"{COPYING}{share_id}")
        except OSError:
            pass  # no mark (ENODATA) or no group

    # Access rules ---------------------------------------------------------------
    def update_access(self, share: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        if not self._exists(share.id, share.group_id):
            raise DriverError(f"share {share.id} does not exist on {self.fs_name}; cannot set its access rules")
        group = self._group_name(share.group_id)
        wanted: dict[str, str] = {}
        results: dict[str, AccessResult] = {}
        for rule in rules:
            if rule.access_type != "cephx":
                results[rule.id] = AccessResult(applied=False, reason=(
                    f"the cephfs backend serves the CephFS protocol only: use a cephx rule, not {rule.access_type}"))
            elif rule.access_to in (self.ceph.client_id, "admin"):
                results[rule.id] = AccessResult(applied=False, reason=f"cephx id {rule.access_to} is Lockstep's own")
            elif wanted.get(rule.access_to) == "rw":
                results[rule.id] = AccessResult(applied=True)
            else:
                wanted[rule.access_to] = rule.access_level
        keys = {auth_id: self._grant(share.id, group, auth_id, level) for auth_id, level in wanted.items()}
        for auth_id, outcome in keys.items():
            if isinstance(outcome, CephCommandError):
                refused = AccessResult(applied=False, reason=outcome.detail.splitlines()[-1][:200])
                results.update({r.id: refused for r in rules if r.access_type == "cephx" and r.access_to == auth_id})
        for rule in rules:
            if rule.id not in results:
                key = keys.get(rule.access_to)
                results[rule.id] = AccessResult(applied=True, access_key=key if isinstance(key, str) else None)
        for auth_id in set(self._granted(share.id, group)) - set(wanted):
            self._revoke(share.id, group, auth_id)
        return results

    def _grant(self, share_id: str, group: str, auth_id: str, level: str) -> str | CephCommandError:
        """Caps for `auth_id` on the share's path (`fs subvolume authorize`); its cephx key, or why not
        (an id that exists outside mgr/volumes is refused, for one)."""
        try:
            # The mgr writes `level` into the caps as it is: `r`, not the API's `ro`.
            self._mgr("fs subvolume authorize", sub_name=share_id, auth_id=auth_id, group_name=group,
                      access_level="rw" if level == "rw" else "r",
                      action=f"grant {auth_id} {level} on share {share_id}")
            return self.ceph.mon("auth get-key", entity=f"client.{auth_id}",
                                 action=f"read the cephx key of {auth_id}").strip()
        except CephCommandError as exc:
            return exc

    def _granted(self, share_id: str, group: str) -> list[str]:
        out = self._mgr("fs subvolume authorized_list", sub_name=share_id, group_name=group, format="json",
                        action=f"list the cephx grants of share {share_id}")
        entries = json.loads(out) if out.strip() else []
        return [auth_id for entry in entries for auth_id in entry]

    def _revoke(self, share_id: str, group: str, auth_id: str) -> None:
        """Take the caps away, then evict the id's sessions on the share (eviction blocklists them)."""
        self._mgr("fs subvolume deauthorize", sub_name=share_id, auth_id=auth_id, group_name=group,
                  action=f"revoke {auth_id} on share {share_id}")
        self._mgr("fs subvolume evict", sub_name=share_id, auth_id=auth_id, group_name=group,
                  action=f"evict {auth_id} from share {share_id}")

    def _revoke_all(self, share_id: str, group: str) -> None:
        # mgr/volumes keeps a subvolume's grants in `/volumes/_<group>:<subvolume>.meta` from its first
        # `authorize` on: without that file there is nothing to revoke (and no mgr call to make).
        if not (self._volumes() / f"_{group}:{share_id}.meta").exists():
            return
        for auth_id in self._granted(share_id, group):
            self._revoke(share_id, group, auth_id)

    # Fencing --------------------------------------------------------------------
    def fence(self, previous_owner: str) -> None:
        """Evict every MDS session of the worker process `previous_owner` ran in (its ceph-fuse mounts carry
        its process identity as client metadata; this process's own carry another): the MDS blocklists
        each evicted client's address (mds_session_blocklist_on_evict), so that process, if only paused,
        can no longer write to the volume when it resumes; it mounts again with a new address if it lives
        on. Evicting an identity with no sessions left is a success (the process is gone or was fenced)."""
        tag = process_of(previous_owner)
        self.ceph.run("tell", f"mds.{self.fs_name}:0", "client", "evict", f"client_metadata.{OWNER_KEY}={tag}",
                      action=f"fence the Ceph clients of the worker {tag} (evict and blocklist them)", timeout=60.0)

    def evict(self, client_id: str) -> None:
        """Evict every session of the cephx id `client_id` from the volume's MDS. Eviction blocklists
        the client's address (mds_session_blocklist_on_evict), so a stopped worker that resumes can no
        longer write: what must happen before another worker takes its operation over."""
        self.ceph.run("tell", f"mds.{self.fs_name}:0", "client", "evict", f"auth_name={client_id}",
                      action=f"evict the sessions of {client_id}")

    # Housekeeping ---------------------------------------------------------------
    def inventory(self) -> Inventory:
        shares: set[str] = set()
        snapshots: set[str] = set()
        groups: set[str] = set()
        cgsnapshots: set[str] = set()
        leftovers: set[tuple[str, str]] = set()
        for group_id, directory in self._our_groups():
            copying = self._copies(directory)
            leftovers |= {("share", share_id) for share_id in copying}
            for name in os.listdir(directory):
                if name.startswith((".", "_")) or not (directory / name).is_dir():
                    continue
                if name not in copying:
                    shares.add(name)
                snapshots.update(self._own_snapshots(directory / name))
            if group_id is None:
                continue
            cgsnapshots.update(self._own_snapshots(directory))
            if not self._marked_deleted(directory):
                groups.add(group_id)
        return Inventory(shares=frozenset(shares), snapshots=frozenset(snapshots), groups=frozenset(groups),
                         cgsnapshots=frozenset(cgsnapshots), leftovers=frozenset(leftovers))

    def reclaim(self, kind: str, object_id: str) -> bool:
        check_kind(kind)
        check_id(object_id, kind)
        for group_id, directory in list(self._our_groups()):
            if kind == "share" and ((directory / object_id).is_dir() or self._copying(directory, object_id)):
                return self._remove_share(object_id, group_id)
            if kind == "snapshot":
                for name in os.listdir(directory):
                    if not name.startswith((".", "_")) and (directory / name / ".snap" / object_id).is_dir():
                        self._remove_snapshot(object_id, name, group_id)
                        return True
            if kind == "cgsnapshot" and (directory / ".snap" / object_id).is_dir():
                self._remove_cgsnapshot(object_id, directory, group_id)
                return True
            if kind == "group" and group_id == object_id:
                return self._remove_group(object_id)
        return True
