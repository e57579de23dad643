"""A backend on any POSIX directory: shares are directories, snapshots are copies.

Options:

- ``path`` (required): the root directory. It is created if missing.

Layout under ``path`` (the four directories are ``layout.DirectoryLayout``, shared with btrfs)::

    shares/<share_id>/                       a share; its export location is this absolute path
    snapshots/<snapshot_id>/                 a copy of a share
    groups/<group_id>/                       an empty marker directory (shares do not live in it)
    cgsnapshots/<cgsnapshot_id>/<member_id>/ one copy per member
    cgsnapshots/<cgsnapshot_id>/.cut.json    how the cut was taken (method, spread)

Copies use ``cp -a --reflink=auto``: on a filesystem that can share blocks (btrfs, xfs) a copy is
cheap, elsewhere it is a full copy. Every copy is made into ``<kind>/.tmp-<id>`` and renamed into
place after a ``syncfs``, so a crash mid-copy never leaves something that looks complete; the next
attempt removes the leftover and starts again. Deletion renames to ``.trash-<id>`` first.

What is enforced: nothing about sizes. A share may grow beyond its size (``PoolInfo.extra`` says
``lockstep:size_enforced = False``). Creating or extending a share is refused with ShareDoesNotFit
when the requested size (or growth) exceeds the filesystem's free space at that moment; shrinking is
refused when the data already in the share does not fit the new size.

Consistency: a cgsnapshot copies its members one after another, so a writer that touches several
shares while the copy runs can be cut at different instants in different members (a *torn* cut).
It is reported as ``CutMethod.SEQUENTIAL`` with ``spread_ms`` = the time from the start of the first
member's copy to the end of the last member's copy, i.e. the window during which writes may land in
some members' copies and not in others'.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from lockstep.adapters.drivers._support import (
    check_id,
    copy_tree,
    discard_tree,
    fsync_dir,
    leftover_ids,
    leftover_paths,
    list_ids,
    refuse_shrink_below_usage,
    remove_leftover,
    remove_tree,
    require_fit,
    statvfs_gb,
    syncfs,
    tree_usage_bytes,
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

POOL_NAME = "posix"
_CUT_FILE = ".cut.json"


class PosixDriver(ShareDriver):
    kind = "posix"

    def __init__(self, options: Mapping[str, str]) -> None:
        self.layout = DirectoryLayout.from_options(
            options, driver="posix", path_means="the root directory of its shares"
        )
        self.root = self.layout.root
        # Set when the service wanted btrfs and fell back to posix: shown in the pool's capabilities.
        self.fallback_reason = options.get("fallback_reason") or None

    # Lifecycle ------------------------------------------------------------------
    def setup(self) -> None:
        self._ensure_layout()

    def _ensure_layout(self) -> None:
        self.layout.ensure("posix")

    # Capacity -------------------------------------------------------------------
    def _capacity(self) -> tuple[float, float]:
        self._ensure_layout()
        return statvfs_gb(self.root)

    def pools(self) -> list[PoolInfo]:
        total, free = self._capacity()
        return [
            PoolInfo(
                name=POOL_NAME,
                total_capacity_gb=round(total, 3),
                free_capacity_gb=round(free, 3),
                group_support=GroupSupport.POOL,
                atomic_cgsnapshot=False,
                access_enforced=False,  # no network front end: rules are records only
                thin_provisioning=True,  # directories: nothing is set aside, snapshots and clones copy
                extra={
                    "lockstep:storage": "posix",
                    "lockstep:size_enforced": False,
                    **({"lockstep:fallback_reason": self.fallback_reason} if self.fallback_reason else {}),
                },
            )
        ]

    def _require_fit(self, what: str, needed_gb: int) -> None:
        require_fit(what, needed_gb, lambda: self._capacity()[1], POOL_NAME)

    # Paths ----------------------------------------------------------------------
    def _copy_into_place(self, src: Path, final: Path) -> None:
        """Copy `src` to `final` through a temp name; `final` appears only once the copy is durable."""
        tmp = temp_path(final)
        remove_tree(tmp)  # a previous attempt that crashed mid-copy
        copy_tree(src, tmp, reflink="auto")
        syncfs(tmp)
        os.rename(tmp, final)
        fsync_dir(final.parent)

    # Shares ---------------------------------------------------------------------
    def create_share(self, share: ShareSpec) -> ShareResult:
        path = self.layout.share(share.id)
        if path.is_dir():
            return export_at(path)
        self._require_fit(f"share {share.id}", share.size_gb)
        path.mkdir(mode=0o755)
        fsync_dir(path.parent)
        return export_at(path)

    def delete_share(self, share: ShareSpec) -> None:
        self._discard("share", share.id)

    def _existing_share(self, share: ShareSpec) -> Path:
        path = self.layout.share(share.id)
        if not path.is_dir():
            raise DriverError(f"share {share.id} does not exist at {path}; it cannot be resized or snapshotted")
        return path

    def extend_share(self, share: ShareSpec, new_size_gb: int) -> None:
        self._existing_share(share)
        self._require_fit(f"extending share {share.id} to {new_size_gb} GiB", new_size_gb - share.size_gb)

    def shrink_share(self, share: ShareSpec, new_size_gb: int) -> None:
        path = self._existing_share(share)
        refuse_shrink_below_usage(share.id, tree_usage_bytes(path), new_size_gb)

    # Snapshots ------------------------------------------------------------------
    def create_snapshot(self, snapshot: SnapshotSpec) -> SnapshotResult:
        final = self.layout.snapshot(snapshot.id)
        if not final.is_dir():
            src = self._existing_share(snapshot.share)
            self._copy_into_place(src, final)
        return SnapshotResult(size_gb=snapshot.share.size_gb, provider_location=str(final))

    def delete_snapshot(self, snapshot: SnapshotSpec) -> None:
        self._discard("snapshot", snapshot.id)

    def snapshot_directory(self, snapshot: SnapshotSpec) -> str | None:
        path = self.layout.snapshot(snapshot.id)
        return str(path) if path.is_dir() else None

    def cgsnapshot_member_directory(self, cgsnapshot_id: str, member: CGSnapshotMemberSpec) -> str | None:
        path = self.layout.cgsnapshot(cgsnapshot_id) / check_id(member.id, "cgsnapshot member")
        return str(path) if path.is_dir() else None

    def create_share_from_snapshot(self, share: ShareSpec, snapshot: SnapshotSpec) -> ShareResult:
        final = self.layout.share(share.id)
        if final.is_dir():
            return export_at(final)
        src = self.layout.snapshot(snapshot.id)
        if not src.is_dir():
            raise DriverError(f"snapshot {snapshot.id} does not exist at {src}; cannot create share {share.id}")
        self._require_fit(f"share {share.id}", share.size_gb)
        self._copy_into_place(src, final)
        return export_at(final)

    # Groups ---------------------------------------------------------------------
    def create_group(self, group: GroupSpec) -> None:
        path = self.layout.group(group.id)
        if not path.is_dir():
            self._ensure_layout()
            path.mkdir(exist_ok=True)
            fsync_dir(path.parent)

    def delete_group(self, group: GroupSpec) -> None:
        self._discard("group", group.id)

    def create_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> CGSnapshotResult:
        final = self.layout.cgsnapshot(cgsnapshot.id)
        if final.is_dir():
            return self._read_cut(final)
        sources = [(check_id(m.id, "cgsnapshot member"), self._existing_share(m.share)) for m in cgsnapshot.members]
        tmp = temp_path(final)
        remove_tree(tmp)
        tmp.mkdir()
        first_start = last_end = time.monotonic()
        for index, (member_id, src) in enumerate(sources):
            started = time.monotonic()
            if index == 0:
                first_start = started
            copy_tree(src, tmp / member_id, reflink="auto")
            last_end = time.monotonic()
        spread_ms = (last_end - first_start) * 1000.0 if sources else 0.0
        result = CGSnapshotResult(method=CutMethod.SEQUENTIAL, spread_ms=round(spread_ms, 3))
        (tmp / _CUT_FILE).write_text(
            json.dumps({"method": result.method.value, "spread_ms": result.spread_ms}), encoding="utf-8"
        )
        syncfs(tmp)
        os.rename(tmp, final)
        fsync_dir(final.parent)
        return result

    @staticmethod
    def _read_cut(path: Path) -> CGSnapshotResult:
        try:
            data = json.loads((path / _CUT_FILE).read_text(encoding="utf-8"))
            return CGSnapshotResult(method=CutMethod(data["method"]), spread_ms=float(data["spread_ms"]))
        except (OSError, ValueError, KeyError, TypeError):
            return CGSnapshotResult(method=CutMethod.SEQUENTIAL, spread_ms=0.0)

    def delete_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> None:
        self._discard("cgsnapshot", cgsnapshot.id)

    def create_group_from_cgsnapshot(
        self, group: GroupSpec, cgsnapshot: CGSnapshotSpec, clones: Sequence[CloneSpec]
    ) -> Mapping[str, ShareResult]:
        cut = self.layout.cgsnapshot(cgsnapshot.id)
        if not cut.is_dir():
            raise DriverError(f"cgsnapshot {cgsnapshot.id} does not exist at {cut}; cannot restore group {group.id}")
        pending: list[tuple[Path, Path]] = []
        for clone in clones:
            final = self.layout.share(clone.share.id)
            src = cut / check_id(clone.member.id, "cgsnapshot member")
            if final.is_dir():
                continue
            if not src.is_dir():
                raise DriverError(
                    f"cgsnapshot {cgsnapshot.id} has no copy of member {clone.member.id} at {src}; "
                    "the cgsnapshot is incomplete or the member id is wrong"
                )
            pending.append((src, final))
        needed = sum(c.share.size_gb for c in clones if not self.layout.share(c.share.id).is_dir())
        self._require_fit(f"restoring group {group.id}", needed)
        self.create_group(group)
        for src, final in pending:
            self._copy_into_place(src, final)
        return {clone.share.id: export_at(self.layout.share(clone.share.id)) for clone in clones}

    # Access rules ---------------------------------------------------------------
    def update_access(self, share: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        """No network front end exports the share yet: the rules are records only."""
        self._existing_share(share)
        return records_only(rules)

    # Housekeeping ---------------------------------------------------------------
    def inventory(self) -> Inventory:
        return Inventory(
            shares=frozenset(list_ids(self.layout.shares_dir)),
            snapshots=frozenset(list_ids(self.layout.snapshots_dir)),
            groups=frozenset(list_ids(self.layout.groups_dir)),
            cgsnapshots=frozenset(list_ids(self.layout.cgsnapshots_dir)),
            leftovers=frozenset((kind, object_id) for kind in CATEGORIES
                                for object_id in leftover_ids(self.layout.directory(kind))),
        )

    def reclaim(self, kind: str, object_id: str) -> bool:
        # Posix shares never live inside a group directory, so a group is always removable.
        self._discard(kind, object_id)
        return True

    def _discard(self, kind: str, object_id: str) -> None:
        """Remove the object and whatever interrupted work on it left (a half copy, a half-deleted tree)."""
        self._ensure_layout()
        path = self.layout.path(kind, object_id)
        for leftover in leftover_paths(path.parent, object_id):
            remove_leftover(leftover)
        discard_tree(path)
