"""A backend on ZFS datasets (OpenZFS or zfs-fuse): cgsnapshots are one recursive, atomic snapshot.

Options:

- ``dataset`` (required): the parent dataset, e.g. ``tank/lockstep``. Created (``zfs create -p``)
  when its pool exists and it does not. It must be mounted: export locations are mountpoints.

Layout under the parent dataset ``P``::

    P/shares/<share_id>                 a share in no group
    P/groups/<group_id>                 a consistency group (holds no data itself) ...
    P/groups/<group_id>/<share_id>      ... and its shares, child datasets
    <share dataset>@snap-<snapshot_id>  a single-share snapshot
    P/groups/<group_id>@cg-<cgsnapshot_id> and the same name on every member (``zfs snapshot -r``)

Export location: the share dataset's mountpoint.

Cut: ``zfs snapshot -r P/groups/<g>@cg-<c>`` creates the snapshots of the group and all its shares
in one transaction group: ``CutMethod.ATOMIC``, ``spread_ms`` 0. Restoring a group creates the new
group dataset and ``zfs clone``s each member's snapshot into it: constant time in the data size.
A single-share snapshot is ``zfs snapshot``; a share from a snapshot is ``zfs clone``.

Sizes: each share dataset has ``refquota`` = its size: the data a share *references* (what its
users see, including blocks shared with its origin snapshot) cannot exceed its size, while its
snapshots do not eat into it (``quota`` would count them, so a share with snapshots could not be
filled to its size). Writes beyond it fail with EDQUOT. Groups have no quota of their own.
Creating or extending is refused with ShareDoesNotFit when the size (growth) exceeds the parent's
``available`` bytes; clones (a share from a snapshot, a restored group) are not, since they share
every block with their origin (the pool is thin provisioned: the scheduler charges them nothing).
Shrinking is refused when ``referenced`` exceeds the new size.

Dependencies (ZFS clones keep their origin snapshot alive, and snapshots keep their dataset):

- deleting a snapshot or cgsnapshot that clones still depend on is *deferred*: the call succeeds,
  the snapshots with clones stay, ``inventory()`` keeps listing the id and ``reclaim()`` returns
  False until the clones are gone (then it removes them);
- deleting a share that still has snapshots (e.g. it is a member of a cgsnapshot) unmounts it,
  sets ``canmount=noauto`` and the user property ``lockstep:deleted=yes`` instead of destroying
  it, so that cgsnapshots and clones keep working; it is destroyed when its last snapshot is
  deleted. Until then it is listed as a share, ``reclaim("share")`` returns False and it can no
  longer be used (resize, snapshot). A group whose remaining shares are all such kept shares is
  marked the same way by ``delete_group`` and destroyed with its last kept share.
  (Not renamed aside: renaming an origin dataset makes zfs-fuse unmount and remount its clones,
  which fails with "dataset is busy" while they are in use.)

zfs-fuse quirk: ``zfs destroy`` (and sometimes ``rename``) right after a dataset was used fails
with "dataset is busy" for a few seconds; those commands are retried with exponential backoff
(about 15 s in total) before giving up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from lockstep.adapters.drivers._support import (
    GIB,
    check_id,
    check_kind,
    command_error,
    refuse_shrink_below_usage,
    retry,
    run,
)
from lockstep.service.storage import (
    AccessResult,
    AccessRuleSpec,
    CGSnapshotMemberSpec,
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
    ShareDoesNotFit,
    ShareDriver,
    ShareResult,
    ShareSpec,
    SnapshotResult,
    SnapshotSpec,
    records_only,
)

SNAP_PREFIX = "snap-"
CG_PREFIX = "cg-"
_DATASET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$")
_BUSY = ("busy",)
_GONE = ("does not exist", "could not find any snapshots")
DELETED_PROP = "lockstep:deleted"
_HINT = "check `zpool status` and that the zfs daemon (zfs-fuse or the kernel module) is running"


def _zfs(args: Sequence[str], action: str, hint: str = _HINT) -> str:
    return run(["zfs", *args], action=action, hint=hint).stdout


class ZfsDriver(ShareDriver):
    kind = "zfs"

    def __init__(self, options: Mapping[str, str]) -> None:
        dataset = (options.get("dataset") or "").strip().strip("/")
        if not dataset:
            raise DriverError("the zfs backend needs the option 'dataset' (the parent dataset, e.g. tank/lockstep)")
        if not _DATASET_RE.match(dataset):
            raise DriverError(f"{dataset!r} is not a valid ZFS dataset name")
        self.parent = dataset
        self.pool_name = dataset.split("/", 1)[0]
        self.shares_ds = f"{dataset}/shares"
        self.groups_ds = f"{dataset}/groups"
        self._ready = False

    # Lifecycle ------------------------------------------------------------------
    def setup(self) -> None:
        self._ready = False
        self._ensure_ready()

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        proc = run(["zfs", "list", "-H", "-o", "name", self.parent], action="look up the parent dataset", check=False)
        if proc.returncode != 0:
            if "daemon" in proc.stderr or "initialize ZFS library" in proc.stderr:
                raise DriverError(
                    f"zfs is not usable: {proc.stderr.strip()}; start zfs-fuse (`zfs-fuse`) or load the zfs module"
                )
            _zfs(
                ["create", "-p", self.parent],
                action=f"create the parent dataset {self.parent}",
                hint=f"check that pool {self.pool_name} exists (`zpool list`)",
            )
        for name in (self.shares_ds, self.groups_ds):
            if not self._exists(name):
                _zfs(["create", name], action=f"create dataset {name}")
        self._ready = True

    # zfs primitives -------------------------------------------------------------
    @staticmethod
    def _exists(name: str) -> bool:
        proc = run(["zfs", "list", "-H", "-o", "name", "-t", "all", name], action=f"look up {name}", check=False)
        return proc.returncode == 0

    def _names(self, types: str = "filesystem,snapshot", root: str | None = None) -> list[str]:
        proc = run(
            ["zfs", "list", "-H", "-o", "name", "-t", types, "-r", root or self.parent],
            action=f"list the datasets of {root or self.parent}",
            hint=_HINT,
            check=False,
        )
        if proc.returncode != 0:
            if any(marker in proc.stderr for marker in _GONE):
                return []
            raise command_error(f"list the datasets of {root or self.parent}", ["zfs", "list"], proc, _HINT)
        return [line.strip() for line in proc.stdout.splitlines() if line.strip()]

    def _clones_by_origin(self) -> dict[str, list[str]]:
        """origin snapshot -> the datasets cloned from it (zfs-fuse has no `clones` property)."""
        out = _zfs(
            ["list", "-H", "-o", "name,origin", "-t", "filesystem", "-r", self.parent],
            action="list the origins of clones",
        )
        result: dict[str, list[str]] = {}
        for line in out.splitlines():
            name, _, origin = line.partition("\t")
            if origin and origin != "-":
                result.setdefault(origin.strip(), []).append(name)
        return result

    def _unmount(self, name: str) -> None:
        """Unmount a filesystem dataset first: zfs-fuse's implicit unmount in rename/destroy often
        reports "dataset is busy" where an explicit `zfs unmount` succeeds."""
        retry(
            ["zfs", "unmount", name],
            action=f"unmount {name}",
            hint="something still uses it; check `fuser -vm` on its mountpoint and retry",
            transient=_BUSY,
            ok_if=(*_GONE, "not currently mounted", "not mounted", "legacy"),
            attempts=12,
        )

    def _destroy(self, name: str, *, recursive: bool = False) -> None:
        if "@" not in name and self._exists(name):
            for child in reversed(self._names("filesystem", root=name)):
                self._unmount(child)
        retry(
            ["zfs", "destroy", *(["-r"] if recursive else []), name],
            action=f"destroy {name}",
            hint="if it is busy, check that nothing has files open in it (fuser -vm), then retry",
            transient=_BUSY,
            ok_if=_GONE,
            attempts=12,
        )

    def _get(self, name: str, prop: str) -> str:
        return _zfs(["get", "-Hp", "-o", "value", prop, name], action=f"read {prop} of {name}").strip()

    def _export(self, dataset: str) -> ShareResult:
        mountpoint = self._get(dataset, "mountpoint")
        if not mountpoint.startswith("/"):
            raise DriverError(
                f"dataset {dataset} has mountpoint {mountpoint!r}; set a mountpoint on {self.parent} "
                "so that shares are mounted"
            )
        return ShareResult(export_locations=[ExportLocation(path=mountpoint)])

    # Names ----------------------------------------------------------------------
    def _group_ds(self, group_id: str) -> str:
        return f"{self.groups_ds}/{check_id(group_id, 'group')}"

    def _share_ds(self, share: ShareSpec) -> str:
        sid = check_id(share.id, "share")
        return f"{self._group_ds(share.group_id)}/{sid}" if share.group_id else f"{self.shares_ds}/{sid}"

    def _is_share_ds(self, name: str) -> bool:
        if "@" in name:
            return False
        for base, depth in ((self.shares_ds, 1), (self.groups_ds, 2)):
            if name.startswith(base + "/") and name[len(base) + 1 :].count("/") == depth - 1:
                return True
        return False

    def _find_share(self, share_id: str, names: Sequence[str] | None = None) -> str | None:
        for name in names if names is not None else self._names("filesystem"):
            if self._is_share_ds(name) and name.rsplit("/", 1)[1] == share_id:
                return name
        return None

    def _find_snapshots(self, snap_name: str, names: Sequence[str] | None = None) -> list[str]:
        """Every snapshot called `snap_name`, wherever it lives."""
        return [n for n in (names if names is not None else self._names("snapshot")) if n.endswith("@" + snap_name)]

    # Capacity -------------------------------------------------------------------
    def _capacity_bytes(self) -> tuple[int, int]:
        self._ensure_ready()
        out = _zfs(["get", "-Hp", "-o", "value", "available,used", self.parent], action="read capacity")
        available, used = (int(v) for v in out.split())
        return available + used, available

    def pools(self) -> list[PoolInfo]:
        total, free = self._capacity_bytes()
        return [
            PoolInfo(
                name=self.pool_name,
                total_capacity_gb=round(total / GIB, 3),
                free_capacity_gb=round(free / GIB, 3),
                group_support=GroupSupport.POOL,
                atomic_cgsnapshot=True,
                access_enforced=False,  # no network front end: rules are records only
                thin_provisioning=True,
                copy_on_write_clones=True,
                extra={"lockstep:storage": "zfs", "lockstep:size_enforced": True, "lockstep:dataset": self.parent},
            )
        ]

    def _require_fit(self, what: str, needed_gb: int) -> None:
        if needed_gb <= 0:
            return
        _, free = self._capacity_bytes()
        if needed_gb * GIB > free:
            raise ShareDoesNotFit(f"{what} needs {needed_gb} GiB; {self.parent} has {free / GIB:.2f} GiB available")

    # Shares ---------------------------------------------------------------------
    def _require_group(self, group_id: str) -> str:
        group_ds = self._group_ds(group_id)
        if not self._exists(group_ds):
            raise DriverError(f"group {group_id} does not exist ({group_ds}); create the group before its shares")
        return group_ds

    def create_share(self, share: ShareSpec) -> ShareResult:
        self._ensure_ready()
        ds = self._share_ds(share)
        if not self._exists(ds):
            if share.group_id:
                self._require_group(share.group_id)
            self._require_fit(f"share {share.id}", share.size_gb)
            _zfs(["create", "-o", f"refquota={share.size_gb * GIB}", ds], action=f"create dataset {ds}")
        return self._export(ds)

    def _deleted(self) -> set[str]:
        """Datasets kept after their deletion because snapshots still need them."""
        out = _zfs(
            ["get", "-H", "-o", "name,value", "-s", "local", "-r", DELETED_PROP, self.parent],
            action="list deleted datasets",
        )
        pairs = (line.partition("\t") for line in out.splitlines())
        return {name for name, _, value in pairs if value.strip() == "yes" and "@" not in name}

    def _mark_deleted(self, ds: str) -> None:
        self._unmount(ds)
        _zfs(["set", "canmount=noauto", ds], action=f"keep {ds} unmounted")
        _zfs(["set", f"{DELETED_PROP}=yes", ds], action=f"mark {ds} deleted")

    def _remove_share(self, ds: str) -> bool:
        """Destroy a share dataset, or keep it (unmounted) while snapshots of it exist. True if destroyed."""
        snapshots = [n for n in self._names("snapshot", root=ds) if n.startswith(ds + "@")]
        if snapshots:
            self._mark_deleted(ds)
            return False
        self._destroy(ds)
        return True

    def delete_share(self, share: ShareSpec) -> None:
        self._ensure_ready()
        ds = self._share_ds(share)
        if not self._exists(ds):
            found = self._find_share(share.id)
            if found is None:
                return
            ds = found
        self._remove_share(ds)

    def _existing_share(self, share: ShareSpec) -> str:
        self._ensure_ready()
        ds = self._share_ds(share)
        if not self._exists(ds):
            found = self._find_share(share.id)
            if found is None:
                raise DriverError(f"share {share.id} does not exist under {self.parent}")
            ds = found
        if ds in self._deleted():
            raise DriverError(f"share {share.id} was deleted (kept only for its snapshots); it cannot be used")
        return ds

    def extend_share(self, share: ShareSpec, new_size_gb: int) -> None:
        ds = self._existing_share(share)
        self._require_fit(f"extending share {share.id} to {new_size_gb} GiB", new_size_gb - share.size_gb)
        _zfs(["set", f"refquota={new_size_gb * GIB}", ds], action=f"set the refquota of {ds}")

    def shrink_share(self, share: ShareSpec, new_size_gb: int) -> None:
        ds = self._existing_share(share)
        refuse_shrink_below_usage(share.id, int(self._get(ds, "referenced")), new_size_gb)
        _zfs(["set", f"refquota={new_size_gb * GIB}", ds], action=f"set the refquota of {ds}")

    # Snapshots ------------------------------------------------------------------
    def create_snapshot(self, snapshot: SnapshotSpec) -> SnapshotResult:
        self._ensure_ready()
        snap_name = SNAP_PREFIX + check_id(snapshot.id, "snapshot")
        found = self._find_snapshots(snap_name)
        if found:
            full = found[0]
        else:
            full = f"{self._existing_share(snapshot.share)}@{snap_name}"
            _zfs(["snapshot", full], action=f"create snapshot {full}")
        return SnapshotResult(size_gb=snapshot.share.size_gb, provider_location=full)

    def snapshot_directory(self, snapshot: SnapshotSpec) -> str | None:
        return self._snapdir(snapshot.share, SNAP_PREFIX + check_id(snapshot.id, "snapshot"))

    def cgsnapshot_member_directory(self, cgsnapshot_id: str, member: CGSnapshotMemberSpec) -> str | None:
        return self._snapdir(member.share, CG_PREFIX + check_id(cgsnapshot_id, "cgsnapshot"))

    def _snapdir(self, share: ShareSpec, snap_name: str) -> str | None:
        """A snapshot's data under its dataset's `.zfs/snapshot` directory, where the ZFS in use has one
        (zfs-fuse has none: its snapshots cannot be mounted)."""
        try:
            mountpoint = self._get(self._existing_share(share), "mountpoint")
        except DriverError:
            return None
        path = Path(mountpoint) / ".zfs" / "snapshot" / snap_name
        return str(path) if mountpoint.startswith("/") and path.is_dir() else None

    def _destroy_snapshots(self, snap_name: str) -> bool:
        """Destroy every snapshot called `snap_name` that no clone needs. True if none is left."""
        clones = self._clones_by_origin()
        kept = False
        for full in self._find_snapshots(snap_name):
            if clones.get(full):
                kept = True  # deferred: reclaim() removes it once its clones are gone
                continue
            self._destroy(full)
        self._sweep_deleted()
        return not kept

    def _sweep_deleted(self) -> None:
        """Destroy kept (deleted) shares that no snapshot needs any more, then their kept groups."""
        deleted = self._deleted()
        if not deleted:
            return
        names = self._names()
        for ds in sorted(deleted, key=lambda n: -n.count("/")):  # shares before their groups
            is_share = self._is_share_ds(ds)
            if any(n.startswith(ds + "/") or (is_share and n.startswith(ds + "@")) for n in names):
                continue  # a share still has snapshots / a group still has shares
            self._destroy(ds, recursive=not is_share)  # a group's own @cg- snapshots hold no data
            names = [n for n in names if n != ds and not n.startswith(ds + "@")]

    def delete_snapshot(self, snapshot: SnapshotSpec) -> None:
        self._ensure_ready()
        self._destroy_snapshots(SNAP_PREFIX + check_id(snapshot.id, "snapshot"))

    def create_share_from_snapshot(self, share: ShareSpec, snapshot: SnapshotSpec) -> ShareResult:
        self._ensure_ready()
        ds = self._share_ds(share)
        if not self._exists(ds):
            found = self._find_snapshots(SNAP_PREFIX + check_id(snapshot.id, "snapshot"))
            if not found:
                raise DriverError(f"snapshot {snapshot.id} does not exist under {self.parent}")
            if share.group_id:
                self._require_group(share.group_id)
            self._clone(found[0], ds, share.size_gb)  # shares every block: no capacity check
        return self._export(ds)

    @staticmethod
    def _clone(snapshot: str, ds: str, size_gb: int) -> None:
        _zfs(["clone", "-o", f"refquota={size_gb * GIB}", snapshot, ds], action=f"clone {snapshot} to {ds}")

    # Groups ---------------------------------------------------------------------
    def create_group(self, group: GroupSpec) -> None:
        self._ensure_ready()
        ds = self._group_ds(group.id)
        if not self._exists(ds):
            _zfs(["create", ds], action=f"create dataset {ds}")

    def _group_children(self, group_ds: str) -> list[str]:
        return [n for n in self._names("filesystem", root=group_ds) if n != group_ds]

    def delete_group(self, group: GroupSpec) -> None:
        self._ensure_ready()
        ds = self._group_ds(group.id)
        if not self._exists(ds):
            return
        children = self._group_children(ds)
        live = sorted(set(children) - self._deleted())
        if live:
            raise DriverError(f"group {group.id} still holds shares {live}; delete them before the group")
        if children:  # only shares kept for their snapshots: keep the group with them
            self._mark_deleted(ds)
            return
        # -r: the group's own @cg- snapshots (they hold no share data).
        self._destroy(ds, recursive=True)

    def create_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> CGSnapshotResult:
        self._ensure_ready()
        group_ds = self._group_ds(cgsnapshot.group.id)
        full = f"{group_ds}@{CG_PREFIX}{check_id(cgsnapshot.id, 'cgsnapshot')}"
        if not self._exists(full):
            if not self._exists(group_ds):
                raise DriverError(f"group {cgsnapshot.group.id} does not exist ({group_ds})")
            children = set(self._group_children(group_ds))
            missing = [m.share.id for m in cgsnapshot.members if f"{group_ds}/{m.share.id}" not in children]
            if missing:
                raise DriverError(
                    f"shares {missing} are not in group {cgsnapshot.group.id}; a cgsnapshot can only cut "
                    "shares created in the group"
                )
            _zfs(["snapshot", "-r", full], action=f"create the recursive snapshot {full}")  # the atomic cut
        return CGSnapshotResult(method=CutMethod.ATOMIC, spread_ms=0.0)

    def delete_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> None:
        self._ensure_ready()
        self._destroy_snapshots(CG_PREFIX + check_id(cgsnapshot.id, "cgsnapshot"))

    def create_group_from_cgsnapshot(
        self, group: GroupSpec, cgsnapshot: CGSnapshotSpec, clones: Sequence[CloneSpec]
    ) -> Mapping[str, ShareResult]:
        self._ensure_ready()
        group_ds = self._group_ds(group.id)
        snap_name = CG_PREFIX + check_id(cgsnapshot.id, "cgsnapshot")
        names = self._names()
        if not self._find_snapshots(snap_name, names):
            raise DriverError(f"cgsnapshot {cgsnapshot.id} does not exist under {self.parent}; cannot restore it")
        todo: list[tuple[str, str, int]] = []
        for clone in clones:
            target = f"{group_ds}/{check_id(clone.share.id, 'share')}"
            if target in names:
                continue
            source_ds = self._find_share(clone.member.share.id, names)
            sources = [n for n in self._find_snapshots(snap_name, names) if n.split("@", 1)[0] == source_ds]
            if source_ds is None or not sources:
                raise DriverError(
                    f"cgsnapshot {cgsnapshot.id} has no snapshot of share {clone.member.share.id} "
                    f"(member {clone.member.id}); it was not in the group when the cut was taken"
                )
            todo.append((sources[0], target, clone.share.size_gb))
        if todo:
            if group_ds not in names:
                _zfs(["create", group_ds], action=f"create dataset {group_ds}")
            for source, target, size_gb in todo:
                self._clone(source, target, size_gb)  # constant time
        elif group_ds not in names:
            _zfs(["create", group_ds], action=f"create dataset {group_ds}")
        return {clone.share.id: self._export(f"{group_ds}/{clone.share.id}") for clone in clones}

    # Access rules ---------------------------------------------------------------
    def update_access(self, share: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        """No network front end exports the share yet: the rules are records only."""
        self._existing_share(share)
        return records_only(rules)

    # Housekeeping ---------------------------------------------------------------
    def inventory(self) -> Inventory:
        self._ensure_ready()
        shares: set[str] = set()
        groups: set[str] = set()
        snapshots: set[str] = set()
        cgsnapshots: set[str] = set()
        for name in self._names():
            if "@" in name:
                snap = name.split("@", 1)[1]
                if snap.startswith(SNAP_PREFIX):
                    snapshots.add(snap[len(SNAP_PREFIX) :])
                elif snap.startswith(CG_PREFIX):
                    cgsnapshots.add(snap[len(CG_PREFIX) :])
            elif self._is_share_ds(name):
                shares.add(name.rsplit("/", 1)[1])
            elif name.startswith(self.groups_ds + "/"):
                groups.add(name.rsplit("/", 1)[1])
        return Inventory(
            shares=frozenset(shares),
            snapshots=frozenset(snapshots),
            groups=frozenset(groups),
            cgsnapshots=frozenset(cgsnapshots),
        )

    def reclaim(self, kind: str, object_id: str) -> bool:
        check_kind(kind)
        self._ensure_ready()
        check_id(object_id, kind)
        if kind == "share":
            ds = self._find_share(object_id)
            return True if ds is None else self._remove_share(ds)
        if kind == "snapshot":
            return self._destroy_snapshots(SNAP_PREFIX + object_id)
        if kind == "cgsnapshot":
            return self._destroy_snapshots(CG_PREFIX + object_id)
        group_ds = self._group_ds(object_id)
        if not self._exists(group_ds):
            return True
        children = self._group_children(group_ds)
        if children:
            if not set(children) - self._deleted():
                self._mark_deleted(group_ds)
            return False
        self._destroy(group_ds, recursive=True)
        return True
