"""A backend on a mounted btrfs filesystem: consistency-group snapshots are ONE atomic snapshot.

Options:

- ``path`` (required): a directory on a mounted btrfs filesystem (the mount point itself or any
  directory below it). The service's embedded default makes one with ``loopfs.ensure_btrfs_image``.
- ``release_on_close`` (set by the ``auto`` driver for its loop image): ``close()`` unmounts ``path``
  and detaches its loop device, so that stopping the service leaves no mount or loop device behind.

Layout under ``path`` (the four directories are ``layout.DirectoryLayout``, shared with posix)::

    shares/<share_id>                  subvolume: a share that is in no group
    groups/<group_id>                  subvolume: a consistency group ...
    groups/<group_id>/<share_id>/      ... and each of its shares, a plain directory inside it
    groups/<group_id>.json             sidecar (outside the subvolume): sizes of the group's shares
    snapshots/<snapshot_id>            read-only subvolume holding one share's data
    cgsnapshots/<cgsnapshot_id>        read-only snapshot of a whole group subvolume

Export location: the absolute path of the share's directory (``shares/<id>`` or
``groups/<group>/<id>``).

Why shares of a group are directories of one subvolume: btrfs snapshots one subvolume per ioctl,
and two snapshot ioctls are two instants. Keeping all of a group's shares in a single subvolume
makes a cgsnapshot ``btrfs subvolume snapshot -r groups/<g> cgsnapshots/<c>``: one operation, one
transaction, every member cut at the same instant (``CutMethod.ATOMIC``, ``spread_ms`` 0).
Restoring (``create_group_from_cgsnapshot``) is one writable snapshot of the cgsnapshot into a new
group subvolume followed by renaming each member directory (named after the source share) to the
new share's id: constant time in the amount of data. Member directories that are not cloned are
removed from the new group (proportional to their file count, not to their data).

Single-share snapshots: a share that is its own subvolume gets a read-only subvolume snapshot. A
share inside a group is cut by a temporary read-only snapshot of the group subvolume (so the cut is
still point-in-time), whose member directory is then reflink-copied (``cp -a --reflink=always``,
shares extents, copies only metadata) into a new subvolume ``snapshots/<id>``, made read-only.
``create_share_from_snapshot`` is a writable snapshot (standalone target) or a reflink copy (target
inside a group).

Sizes (btrfs qgroups; quotas are enabled on the filesystem by ``setup()``):

- enforced: a standalone share's subvolume has a qgroup limit on *referenced* bytes equal to its
  size, so writing beyond the size fails with EDQUOT;
- enforced per group only: a group subvolume's limit is the sum of its shares' sizes (kept in the
  sidecar, updated on every create/delete/extend/shrink of a member). One share of a group can
  use more than its own size as long as the group as a whole stays within the sum;
- not enforced: snapshots and cgsnapshots have no limit (they are read-only);
- qgroup accounting is per transaction, so a writer can overshoot a limit by a little before the
  next commit; usage of shared (reflinked/snapshotted) extents counts fully in each subvolume.

Creating or extending a share is refused with ShareDoesNotFit when the requested size (growth)
exceeds the filesystem's free space as reported by statvfs; a share from a snapshot and a restored
group are not, since they are snapshots sharing every block (the pool reports thin provisioning
and copy-on-write clones, and the scheduler charges them nothing). Shrinking is refused when the data in
the share does not fit the new size.

Deleting: ``btrfs subvolume delete --commit-after``, then ``btrfs qgroup destroy 0/<id>``. The
qgroup can only go once the btrfs cleaner has dropped the subvolume (up to a commit interval
later), so when it is still busy it is left "stale"; recent kernels remove it themselves, and
``setup()`` and ``inventory()`` run ``btrfs qgroup clear-stale`` for the others. The space is
freed by the cleaner in the background either way.
Nothing here depends on anything else: snapshots and clones share extents but do not reference
each other, so every object can be deleted in any order.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from lockstep.adapters.drivers import loopfs
from lockstep.adapters.drivers._support import (
    GIB,
    TMP_PREFIX,
    TRASH_PREFIX,
    check_id,
    check_kind,
    copy_contents,
    copy_tree,
    discard_tree,
    fsync_dir,
    leftover_ids,
    leftover_paths,
    list_ids,
    read_json,
    refuse_shrink_below_usage,
    remove_leftover,
    remove_tree,
    require_fit,
    run,
    statvfs_gb,
    tree_usage_bytes,
    write_json_atomic,
)
from lockstep.adapters.drivers.layout import CATEGORIES, DirectoryLayout, export_at, temp_path
from lockstep.service.storage import (
    AccessResult,
    AccessRuleSpec,
    CGSnapshotMemberSpec,
    CGSnapshotResult,
    CGSnapshotSpec,
    CloneSpec,
    CutMethod,
    DriverError,
    GroupSpec,
    GroupSupport,
    Inventory,
    PoolInfo,
    ShareDriver,
    ShareResult,
    ShareSpec,
    SnapshotResult,
    SnapshotSpec,
    records_only,
)

POOL_NAME = "btrfs"
_SUBVOLUME_ROOT_INODE = 256  # BTRFS_FIRST_FREE_OBJECTID: the root directory of every subvolume
_RENAME_PREFIX = ".rn-"
_CUT_PREFIX = ".tmp-cut-"
#: What interrupted work leaves next to an object (longest first: ".tmp-cut-" begins with ".tmp-").
_LEFTOVER_PREFIXES = (_CUT_PREFIX, TMP_PREFIX, TRASH_PREFIX)
_SIDECAR_SUFFIX = ".json"


def _btrfs(args: Sequence[str], action: str, hint: str = "") -> str:
    return run(["btrfs", *args], action=action, hint=hint).stdout


def is_subvolume(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return st.st_ino == _SUBVOLUME_ROOT_INODE and (st.st_mode & 0o170000) == 0o040000


class BtrfsDriver(ShareDriver):
    kind = "btrfs"

    def __init__(self, options: Mapping[str, str]) -> None:
        self.layout = DirectoryLayout.from_options(
            options, driver="btrfs", path_means="a directory on a mounted btrfs"
        )
        self.root = self.layout.root
        self._release_on_close = options.get("release_on_close", "") == "true"
        self._ready = False
        self._lock = threading.Lock()

    # Lifecycle ------------------------------------------------------------------
    def setup(self) -> None:
        self._ready = False
        self._ensure_ready()
        self.clear_stale_qgroups()  # qgroups of subvolumes deleted before a restart

    def close(self) -> None:
        if self._release_on_close:
            loopfs.release(self.root)
            self._ready = False

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        if not self.root.is_dir():
            raise DriverError(
                f"btrfs backend path {self.root} does not exist; mount a btrfs filesystem there "
                "(or let the service create its loop image) and restart"
            )
        proc = run(["btrfs", "inspect-internal", "rootid", str(self.root)], action="inspect", check=False)
        if proc.returncode != 0:
            raise DriverError(
                f"{self.root} is not on a btrfs filesystem ({proc.stderr.strip()}); "
                "point the option 'path' at a mounted btrfs filesystem"
            )
        self.layout.ensure("btrfs")
        _btrfs(
            ["quota", "enable", str(self.root)],
            action=f"enable btrfs quotas on {self.root}",
            hint="share sizes cannot be enforced without quotas; check that the filesystem is writable",
        )
        self._ready = True

    # Capacity -------------------------------------------------------------------
    def pools(self) -> list[PoolInfo]:
        self._ensure_ready()
        total, free = statvfs_gb(self.root)
        return [
            PoolInfo(
                name=POOL_NAME,
                total_capacity_gb=round(total, 3),
                free_capacity_gb=round(free, 3),
                group_support=GroupSupport.POOL,
                atomic_cgsnapshot=True,
                access_enforced=False,  # no network front end: rules are records only
                thin_provisioning=True,
                copy_on_write_clones=True,
                extra={
                    "lockstep:storage": "btrfs",
                    "lockstep:size_enforced": True,
                    "lockstep:size_enforced_in_group": "group total",
                },
            )
        ]

    def _require_fit(self, what: str, needed_gb: int) -> None:
        require_fit(what, needed_gb, lambda: statvfs_gb(self.root)[1], POOL_NAME)

    # Subvolume primitives -------------------------------------------------------
    @staticmethod
    def _subvolume_id(path: Path) -> int:
        out = _btrfs(["inspect-internal", "rootid", str(path)], action=f"read the subvolume id of {path}")
        return int(out.strip())

    @staticmethod
    def _create_subvolume(path: Path) -> None:
        _btrfs(["subvolume", "create", str(path)], action=f"create subvolume {path}", hint="check free space")

    @staticmethod
    def _snapshot(src: Path, dst: Path, *, readonly: bool) -> None:
        args = ["subvolume", "snapshot", *(["-r"] if readonly else []), str(src), str(dst)]
        _btrfs(args, action=f"snapshot {src} to {dst}", hint="check free space and that the source exists")

    def _delete_subvolume(self, path: Path) -> None:
        """Delete a subvolume and its qgroup. A missing path is fine."""
        if not path.exists():
            return
        if not is_subvolume(path):
            remove_tree(path)  # a leftover plain directory with a subvolume's name
            return
        subvol_id = self._subvolume_id(path)
        _btrfs(
            ["subvolume", "delete", "--commit-after", str(path)],
            action=f"delete subvolume {path}",
            hint="if it is read-only and this fails, check the mount options (user_subvol_rm_allowed)",
        )
        fsync_dir(path.parent)
        # The qgroup can only be destroyed once the cleaner has dropped the subvolume, which can take
        # a commit interval (~30 s); waiting for it (`btrfs subvolume sync`) would make every delete
        # that slow. Recent kernels remove the qgroup themselves when the cleaner is done; otherwise
        # it stays "stale" until clear_stale_qgroups() (setup() and inventory()) removes it.
        run(
            ["btrfs", "qgroup", "destroy", f"0/{subvol_id}", str(self.root)],
            action=f"destroy qgroup 0/{subvol_id}",
            check=False,
        )

    def clear_stale_qgroups(self) -> None:
        """Remove the qgroups of deleted subvolumes the cleaner has dropped (best effort)."""
        run(["btrfs", "qgroup", "clear-stale", str(self.root)], action="clear stale qgroups", check=False)

    def _limit(self, path: Path, size_bytes: int | None) -> None:
        value = "none" if not size_bytes else str(size_bytes)
        _btrfs(
            ["qgroup", "limit", value, str(path)],
            action=f"set the qgroup limit of {path} to {value}",
            hint="check that quotas are enabled (`btrfs quota enable`)",
        )

    def _discard_subvolume_tmp(self, tmp: Path) -> None:
        if is_subvolume(tmp):
            self._delete_subvolume(tmp)
        else:
            remove_tree(tmp)

    # Paths ----------------------------------------------------------------------
    def _sidecar(self, group_id: str) -> Path:
        return self.layout.groups_dir / f"{check_id(group_id, 'group')}.json"

    def _share_path(self, share: ShareSpec) -> Path:
        if share.group_id:
            return self.layout.group(share.group_id) / check_id(share.id, "share")
        return self.layout.share(share.id)

    def _find_share(self, share_id: str) -> Path | None:
        """Where a share's directory is, whatever group (or none) it is in."""
        standalone = self.layout.share(share_id)
        if standalone.is_dir():
            return standalone
        for group_id in list_ids(self.layout.groups_dir):
            candidate = self.layout.groups_dir / group_id / share_id
            if candidate.is_dir():
                return candidate
        return None

    @staticmethod
    def _member_dirs(group_path: Path) -> set[str]:
        return list_ids(group_path)

    # Group sidecar (sizes of the shares of a group) -----------------------------
    @contextmanager
    def _sidecar_lock(self) -> Iterator[None]:
        with self._lock:
            fd = os.open(self.layout.groups_dir, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _read_sizes(self, group_id: str) -> dict[str, int]:
        data = read_json(self._sidecar(group_id))
        if not isinstance(data, dict) or not isinstance(data.get("shares"), dict):
            return {}
        return {str(k): int(v) for k, v in data["shares"].items()}

    def _write_sizes(self, group_id: str, sizes: Mapping[str, int], subvolume: Path | None = None) -> None:
        """Record the member sizes of a group and set the group subvolume's limit to their sum."""
        write_json_atomic(self._sidecar(group_id), {"shares": dict(sorted(sizes.items()))})
        target = subvolume if subvolume is not None else self.layout.group(group_id)
        if is_subvolume(target):
            self._limit(target, sum(sizes.values()) * GIB)

    def _set_member_size(self, group_id: str, share_id: str, size_gb: int | None) -> None:
        with self._sidecar_lock():
            sizes = self._read_sizes(group_id)
            if size_gb is None:
                if share_id not in sizes:
                    return
                sizes.pop(share_id)
            else:
                sizes[share_id] = size_gb
            self._write_sizes(group_id, sizes)

    # Shares ---------------------------------------------------------------------
    def create_share(self, share: ShareSpec) -> ShareResult:
        self._ensure_ready()
        path = self._share_path(share)
        if share.group_id:
            group_path = self.layout.group(share.group_id)
            if not is_subvolume(group_path):
                raise DriverError(
                    f"group {share.group_id} does not exist at {group_path}; create the group before its shares"
                )
            if path.is_dir():
                self._set_member_size(share.group_id, share.id, share.size_gb)
                return export_at(path)
            self._require_fit(f"share {share.id}", share.size_gb)
            self._set_member_size(share.group_id, share.id, share.size_gb)
            path.mkdir(mode=0o755, exist_ok=True)
            fsync_dir(group_path)
            return export_at(path)
        if is_subvolume(path):
            return export_at(path)
        self._require_fit(f"share {share.id}", share.size_gb)
        tmp = temp_path(path)
        self._discard_subvolume_tmp(tmp)
        self._create_subvolume(tmp)
        self._limit(tmp, share.size_gb * GIB)
        os.rename(tmp, path)
        fsync_dir(path.parent)
        return export_at(path)

    def _remove_share_at(self, path: Path) -> None:
        if path.parent == self.layout.shares_dir:
            self._delete_subvolume(path)
            return
        group_id = path.parent.name
        # A group at its qgroup limit refuses even the rename that hides the directory (EDQUOT):
        # lift the limit while deleting; the sidecar update sets the new, smaller limit.
        self._limit(path.parent, None)
        discard_tree(path)
        self._set_member_size(group_id, path.name, None)

    def delete_share(self, share: ShareSpec) -> None:
        self._ensure_ready()
        path = self._share_path(share)
        found = path if path.exists() else self._find_share(share.id)
        if found is not None:
            self._remove_share_at(found)
        elif share.group_id:  # a crash after removing the directory, before the sidecar update
            self._set_member_size(share.group_id, share.id, None)
        # A crash mid-delete leaves `.trash-<id>` in place of the directory (a retry finds no share).
        self._discard_share_leftovers(share.id, [share.group_id] if share.group_id else [])

    def _discard_share_leftovers(self, share_id: str, group_ids: Sequence[str]) -> None:
        for path in leftover_paths(self.layout.shares_dir, share_id, _LEFTOVER_PREFIXES):
            self._remove_leftover(path)
        for group_id in group_ids:
            group_path = self.layout.group(group_id)
            paths = leftover_paths(group_path, share_id, _LEFTOVER_PREFIXES) if is_subvolume(group_path) else []
            if not paths:
                continue
            self._limit(group_path, None)  # a group at its limit may refuse even removals (EDQUOT)
            try:
                for path in paths:
                    self._remove_leftover(path)
            finally:
                with self._sidecar_lock():  # sets the limit again, without the share's size
                    sizes = self._read_sizes(group_id)
                    sizes.pop(share_id, None)
                    self._write_sizes(group_id, sizes)

    def _discard_leftovers(self, kind: str, object_id: str) -> None:
        directory = self.layout.directory(kind)
        paths = leftover_paths(directory, object_id, _LEFTOVER_PREFIXES)
        if kind == "group":
            paths += leftover_paths(directory, f"{object_id}{_SIDECAR_SUFFIX}", (TMP_PREFIX,))
        for path in paths:
            self._remove_leftover(path)

    def _remove_leftover(self, path: Path) -> None:
        if is_subvolume(path):
            self._delete_subvolume(path)
        else:
            remove_leftover(path)

    def _existing_share(self, share: ShareSpec) -> Path:
        self._ensure_ready()
        path = self._share_path(share)
        if path.is_dir():
            return path
        found = self._find_share(share.id)
        if found is None:
            raise DriverError(f"share {share.id} does not exist under {self.root}; it cannot be used")
        return found

    def extend_share(self, share: ShareSpec, new_size_gb: int) -> None:
        path = self._existing_share(share)
        self._require_fit(f"extending share {share.id} to {new_size_gb} GiB", new_size_gb - share.size_gb)
        self._resize(path, share.id, new_size_gb)

    def shrink_share(self, share: ShareSpec, new_size_gb: int) -> None:
        path = self._existing_share(share)
        refuse_shrink_below_usage(share.id, tree_usage_bytes(path), new_size_gb)
        self._resize(path, share.id, new_size_gb)

    def _resize(self, path: Path, share_id: str, new_size_gb: int) -> None:
        if path.parent == self.layout.shares_dir:
            self._limit(path, new_size_gb * GIB)
        else:
            self._set_member_size(path.parent.name, share_id, new_size_gb)

    # Snapshots ------------------------------------------------------------------
    def create_snapshot(self, snapshot: SnapshotSpec) -> SnapshotResult:
        self._ensure_ready()
        final = self.layout.snapshot(snapshot.id)
        if not is_subvolume(final):
            src = self._existing_share(snapshot.share)
            if src.parent == self.layout.shares_dir:
                # Atomic: appears complete or not at all. Leftovers of a crashed in-group copy go.
                self._discard_subvolume_tmp(temp_path(final))
                self._snapshot(src, final, readonly=True)
            else:
                self._snapshot_group_member(src, final)
            fsync_dir(final.parent)
        return SnapshotResult(size_gb=snapshot.share.size_gb, provider_location=str(final))

    def _snapshot_group_member(self, src: Path, final: Path) -> None:
        """Point-in-time copy of one share of a group: cut the group, reflink the member out of the cut."""
        cut = final.with_name(f"{_CUT_PREFIX}{final.name}")
        tmp = temp_path(final)
        self._discard_subvolume_tmp(cut)
        self._discard_subvolume_tmp(tmp)
        self._snapshot(src.parent, cut, readonly=True)
        try:
            self._create_subvolume(tmp)
            copy_contents(cut / src.name, tmp, reflink="always")
            _btrfs(["property", "set", "-ts", str(tmp), "ro", "true"], action=f"make {tmp} read-only")
            os.rename(tmp, final)
        finally:
            self._delete_subvolume(cut)

    def delete_snapshot(self, snapshot: SnapshotSpec) -> None:
        self._ensure_ready()
        self._delete_subvolume(self.layout.snapshot(snapshot.id))
        self._discard_leftovers("snapshot", snapshot.id)

    def snapshot_directory(self, snapshot: SnapshotSpec) -> str | None:
        path = self.layout.snapshot(snapshot.id)
        return str(path) if path.is_dir() else None

    def cgsnapshot_member_directory(self, cgsnapshot_id: str, member: CGSnapshotMemberSpec) -> str | None:
        # The cut is a read-only snapshot of the whole group subvolume: the member is its share's directory.
        path = self.layout.cgsnapshot(cgsnapshot_id) / check_id(member.share.id, "share")
        return str(path) if path.is_dir() else None

    def create_share_from_snapshot(self, share: ShareSpec, snapshot: SnapshotSpec) -> ShareResult:
        self._ensure_ready()
        final = self._share_path(share)
        if final.is_dir():
            return export_at(final)
        src = self.layout.snapshot(snapshot.id)
        if not is_subvolume(src):
            raise DriverError(f"snapshot {snapshot.id} does not exist at {src}; cannot create share {share.id}")
        # No capacity check: a snapshot of a snapshot shares every block (thin: the scheduler decides).
        tmp = temp_path(final)
        if share.group_id:
            group_path = self.layout.group(share.group_id)
            if not is_subvolume(group_path):
                raise DriverError(f"group {share.group_id} does not exist at {group_path}; create it first")
            self._set_member_size(share.group_id, share.id, share.size_gb)
            remove_tree(tmp)
            copy_tree(src, tmp, reflink="always")
            os.chmod(tmp, 0o755)
        else:
            self._discard_subvolume_tmp(tmp)
            self._snapshot(src, tmp, readonly=False)
            self._limit(tmp, share.size_gb * GIB)
        os.rename(tmp, final)
        fsync_dir(final.parent)
        return export_at(final)

    # Groups ---------------------------------------------------------------------
    def create_group(self, group: GroupSpec) -> None:
        self._ensure_ready()
        path = self.layout.group(group.id)
        if is_subvolume(path):
            return
        tmp = temp_path(path)
        self._discard_subvolume_tmp(tmp)
        self._create_subvolume(tmp)
        with self._sidecar_lock():
            self._write_sizes(group.id, self._read_sizes(group.id), subvolume=tmp)
        os.rename(tmp, path)
        fsync_dir(path.parent)

    def delete_group(self, group: GroupSpec) -> None:
        self._ensure_ready()
        path = self.layout.group(group.id)
        members = self._member_dirs(path) if is_subvolume(path) else set()
        if members:
            raise DriverError(f"group {group.id} still holds shares {sorted(members)}; delete them before the group")
        self._delete_subvolume(path)
        self._sidecar(group.id).unlink(missing_ok=True)
        self._discard_leftovers("group", group.id)

    def create_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> CGSnapshotResult:
        self._ensure_ready()
        final = self.layout.cgsnapshot(cgsnapshot.id)
        if not is_subvolume(final):
            group_path = self.layout.group(cgsnapshot.group.id)
            if not is_subvolume(group_path):
                raise DriverError(f"group {cgsnapshot.group.id} does not exist at {group_path}")
            present = self._member_dirs(group_path)
            missing = [m.share.id for m in cgsnapshot.members if m.share.id not in present]
            if missing:
                raise DriverError(
                    f"shares {missing} are not in group {cgsnapshot.group.id}; a cgsnapshot can only cut "
                    "shares created in the group"
                )
            self._snapshot(group_path, final, readonly=True)  # the one atomic cut
            fsync_dir(final.parent)
        return CGSnapshotResult(method=CutMethod.ATOMIC, spread_ms=0.0)

    def delete_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> None:
        self._ensure_ready()
        self._delete_subvolume(self.layout.cgsnapshot(cgsnapshot.id))
        self._discard_leftovers("cgsnapshot", cgsnapshot.id)

    def create_group_from_cgsnapshot(
        self, group: GroupSpec, cgsnapshot: CGSnapshotSpec, clones: Sequence[CloneSpec]
    ) -> Mapping[str, ShareResult]:
        self._ensure_ready()
        final = self.layout.group(group.id)
        new_ids = {check_id(c.share.id, "share") for c in clones}
        results = {c.share.id: export_at(final / c.share.id) for c in clones}
        sizes = {c.share.id: c.share.size_gb for c in clones}
        if is_subvolume(final):
            present = self._member_dirs(final)
            if new_ids <= present:  # done before (a retry)
                with self._sidecar_lock():
                    self._write_sizes(group.id, {**self._read_sizes(group.id), **sizes})
                return results
            if present:
                raise DriverError(
                    f"group {group.id} already exists with other shares {sorted(present)}; "
                    "a group can only be restored from a cgsnapshot into a new or empty group"
                )
            self._delete_subvolume(final)  # an empty group made by create_group: replace it
        cut = self.layout.cgsnapshot(cgsnapshot.id)
        if not is_subvolume(cut):
            raise DriverError(f"cgsnapshot {cgsnapshot.id} does not exist at {cut}; cannot restore group {group.id}")
        # No capacity check: the restore is one snapshot sharing every block (the scheduler charged it).
        tmp = temp_path(final)
        self._discard_subvolume_tmp(tmp)
        self._snapshot(cut, tmp, readonly=False)  # constant time, whatever the amount of data
        # Rename in two steps so that a new id equal to another member's old id cannot collide.
        for clone in clones:
            src = tmp / check_id(clone.member.share.id, "share")
            if not src.is_dir():
                raise DriverError(
                    f"cgsnapshot {cgsnapshot.id} holds no directory for share {clone.member.share.id} "
                    f"(member {clone.member.id}); it was not in the group when the cut was taken"
                )
            os.rename(src, tmp / f"{_RENAME_PREFIX}{clone.share.id}")
        for entry in os.listdir(tmp):
            if not entry.startswith(_RENAME_PREFIX):
                remove_tree(tmp / entry)  # members that are not cloned, leftovers of old deletes
        for clone in clones:
            os.rename(tmp / f"{_RENAME_PREFIX}{clone.share.id}", tmp / clone.share.id)
        with self._sidecar_lock():
            self._write_sizes(group.id, sizes, subvolume=tmp)
        fsync_dir(tmp)
        os.rename(tmp, final)
        fsync_dir(final.parent)
        return results

    # Access rules ---------------------------------------------------------------
    def update_access(self, share: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        """No network front end exports the share yet: the rules are records only."""
        self._existing_share(share)
        return records_only(rules)

    # Housekeeping ---------------------------------------------------------------
    def inventory(self) -> Inventory:
        self._ensure_ready()
        self.clear_stale_qgroups()  # housekeeping: the reclaimer calls inventory() periodically
        groups = {g for g in list_ids(self.layout.groups_dir) if is_subvolume(self.layout.groups_dir / g)}
        shares = set(list_ids(self.layout.shares_dir))
        for group_id in groups:
            shares |= self._member_dirs(self.layout.groups_dir / group_id)
        return Inventory(
            shares=frozenset(shares),
            snapshots=frozenset(list_ids(self.layout.snapshots_dir)),
            groups=frozenset(groups),
            cgsnapshots=frozenset(list_ids(self.layout.cgsnapshots_dir)),
            leftovers=frozenset(self._leftovers(groups)),
        )

    def _leftovers(self, groups: set[str]) -> set[tuple[str, str]]:
        """Temp and trash entries next to objects and inside groups, and sidecars of groups that are gone."""
        found = set()
        for kind in CATEGORIES:
            for name in leftover_ids(self.layout.directory(kind), _LEFTOVER_PREFIXES):
                found.add((kind, name.removesuffix(_SIDECAR_SUFFIX) if kind == "group" else name))
        for group_id in groups:
            found |= {("share", i) for i in leftover_ids(self.layout.groups_dir / group_id, _LEFTOVER_PREFIXES)}
        for entry in os.scandir(self.layout.groups_dir):
            group_id = entry.name.removesuffix(_SIDECAR_SUFFIX)
            if entry.name.endswith(_SIDECAR_SUFFIX) and not entry.name.startswith(".") and group_id not in groups:
                found.add(("group", group_id))
        return found

    def reclaim(self, kind: str, object_id: str) -> bool:
        check_kind(kind)
        self._ensure_ready()
        check_id(object_id, kind)
        if kind == "share":
            found = self._find_share(object_id)
            if found is not None:
                self._remove_share_at(found)
            self._discard_share_leftovers(object_id, sorted(list_ids(self.layout.groups_dir)))
        elif kind == "snapshot":
            self._delete_subvolume(self.layout.snapshot(object_id))
        elif kind == "cgsnapshot":
            self._delete_subvolume(self.layout.cgsnapshot(object_id))
        else:
            path = self.layout.group(object_id)
            if is_subvolume(path) and self._member_dirs(path):
                return False  # shares still live in it; they are reclaimed (or kept) first
            self._delete_subvolume(path)
            self._sidecar(object_id).unlink(missing_ok=True)
        if kind != "share":
            self._discard_leftovers(kind, object_id)
        return True
