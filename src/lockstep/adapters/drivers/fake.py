"""An in-memory backend for tests and for trying the API without storage.

It implements the whole contract and passes the same contract tests as the real drivers.
Options (from the backend's configuration):

- ``fail``: comma-separated operation names that raise DriverError (``create_cgsnapshot``...);
- ``fail_access``: comma-separated ``access_to`` values whose rules ``update_access`` reports as
  not applied (the other rules of the set still are);
- ``delay``: seconds every operation sleeps, to observe intermediate states;
- ``spin``: seconds every operation computes in Python, holding the GIL as busy storage code would
  (to show that the API answers while the worker works);
- ``group_support``: ``pool`` (default), ``host`` or ``none``;
- ``atomic``: ``true`` (default) or ``false``: how cgsnapshots report their cut;
- ``capacity_gb``: total capacity of the single pool (default 1000);
- ``provisioning``: ``thick`` (default: every share's size is taken from the pool) or ``thin``
  (sizes are limits and nothing is written, so the pool stays free; a share larger than the
  pool is refused; clones share their source's blocks, as on btrfs or zfs);
- ``state_file``: keep the state in this JSON file, so that it survives a restart (crash tests);
- ``call_log``: append one line ``<operation> <id> <pid>`` per call to this file (exactly-once tests;
  the pid shows which process ran the storage work).
- ``storage_protocol``: the protocols its pool reports (default ``NFS_CIFS``; ``CEPHFS`` stands for a
  CephFS backend in placement tests);
- ``snapshot_exports``: ``true`` to pretend snapshots are mountable: each gets an export location
  and an admin-only one (default ``false``: no export locations, as the real backends today).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence

from lockstep.domain.model import SWITCH_BOOL, parse_bool
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
    ShareDoesNotFit,
    ShareDriver,
    ShareResult,
    ShareSpec,
    SnapshotResult,
    SnapshotSpec,
)


class FakeDriver(ShareDriver):
    kind = "fake"

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        options = dict(options or {})
        self._fail = {name.strip() for name in options.get("fail", "").split(",") if name.strip()}
        self._fail_access = {to.strip() for to in options.get("fail_access", "").split(",") if to.strip()}
        self._delay = float(options.get("delay", "0") or 0)
        self.storage_protocol = (options.get("storage_protocol") or "NFS_CIFS").upper()
        self._spin = float(options.get("spin", "0") or 0)
        support = options.get("group_support", "pool").lower()
        self._group_support = None if support in ("", "none", "false") else GroupSupport(support)
        self._atomic = parse_bool(options.get("atomic", "true"), spelling=SWITCH_BOOL)
        self._capacity = float(options.get("capacity_gb", "1000"))
        provisioning = options.get("provisioning", "thick").lower()
        if provisioning not in ("thick", "thin"):
            raise DriverError(f"fake backend: provisioning must be 'thick' or 'thin', got {provisioning!r}")
        self._thin = provisioning == "thin"
        self._snapshot_exports = parse_bool(options.get("snapshot_exports", "false"), spelling=SWITCH_BOOL)
        self._lock = threading.Lock()
        self.shares: dict[str, int] = {}
        self.snapshots: dict[str, str] = {}  # snapshot id -> share id
        self.groups: set[str] = set()
        self.cgsnapshots: dict[str, list[str]] = {}  # cgsnapshot id -> member ids
        self.access: dict[str, dict[str, str]] = {}  # share id -> {rule id: level} it was last told to enforce
        self.calls: list[str] = []
        self._state_file = options.get("state_file") or None
        self._call_log = options.get("call_log") or None
        if self._state_file and os.path.exists(self._state_file):
            with open(self._state_file) as fh:
                state = json.load(fh)
            self.shares = {k: int(v) for k, v in state["shares"].items()}
            self.snapshots = dict(state["snapshots"])
            self.groups = set(state["groups"])
            self.cgsnapshots = {k: list(v) for k, v in state["cgsnapshots"].items()}
            self.access = {k: dict(v) for k, v in state.get("access", {}).items()}

    def _enter(self, operation: str, object_id: str = "") -> None:
        self.calls.append(operation)
        if self._call_log:
            with open(self._call_log, "a") as fh:
                fh.write(f"{operation} {object_id} {os.getpid()}\n")
        if self._delay:
            time.sleep(self._delay)
        if self._spin:
            _spin(self._spin)
        if operation in self._fail:
            raise DriverError(f"fake driver configured to fail {operation}")

    @contextlib.contextmanager
    def _mutating(self) -> Iterator[None]:
        with self._lock:
            yield
            self._save()

    def _save(self) -> None:
        if not self._state_file:
            return
        state = {"shares": self.shares, "snapshots": self.snapshots, "groups": sorted(self.groups),
                 "cgsnapshots": self.cgsnapshots, "access": self.access}
        tmp = f"{self._state_file}.tmp"
        with open(tmp, "w") as fh:
            json.dump(state, fh)
        os.replace(tmp, self._state_file)

    def pools(self) -> list[PoolInfo]:
        used = 0 if self._thin else sum(list(self.shares.values()))
        return [
            PoolInfo(
                name="fake",
                total_capacity_gb=self._capacity,
                free_capacity_gb=max(self._capacity - used, 0),
                thin_provisioning=self._thin,
                copy_on_write_clones=self._thin,
                group_support=self._group_support,
                atomic_cgsnapshot=self._atomic,
                access_enforced=False,  # no network front end: rules are records only
                extra={"lockstep:storage": "memory"},
            )
        ]

    @staticmethod
    def _export(share_id: str) -> ShareResult:
        return ShareResult(export_locations=[ExportLocation(path=f"fake:/shares/{share_id}")])

    def _reserve(self, share: ShareSpec, *, clone: bool = False) -> None:
        if share.id in self.shares:
            return
        if self._thin:
            if share.size_gb > self._capacity and not clone:
                raise ShareDoesNotFit(f"share {share.id} needs {share.size_gb} GiB; pool has "
                                      f"{self._capacity:g} GiB free")
            self.shares[share.id] = share.size_gb
            return
        used = sum(self.shares.values())
        if used + share.size_gb > self._capacity:
            raise ShareDoesNotFit(
                f"share {share.id} needs {share.size_gb} GiB; pool has {self._capacity - used:g} GiB free"
            )
        self.shares[share.id] = share.size_gb

    def create_share(self, share: ShareSpec) -> ShareResult:
        self._enter("create_share", share.id)
        with self._mutating():
            self._reserve(share)
        return self._export(share.id)

    def delete_share(self, share: ShareSpec) -> None:
        self._enter("delete_share", share.id)
        with self._mutating():
            self.shares.pop(share.id, None)
            self.access.pop(share.id, None)

    def extend_share(self, share: ShareSpec, new_size_gb: int) -> None:
        self._enter("extend_share", share.id)
        with self._mutating():
            self.shares[share.id] = new_size_gb

    def shrink_share(self, share: ShareSpec, new_size_gb: int) -> None:
        self._enter("shrink_share", share.id)
        with self._mutating():
            self.shares[share.id] = new_size_gb

    def create_snapshot(self, snapshot: SnapshotSpec) -> SnapshotResult:
        self._enter("create_snapshot", snapshot.id)
        with self._mutating():
            if snapshot.share.id not in self.shares:
                raise DriverError(f"share {snapshot.share.id} does not exist on this backend")
            self.snapshots[snapshot.id] = snapshot.share.id
        exports = [ExportLocation(path=f"fake:/snapshots/{snapshot.id}"),
                   ExportLocation(path=f"fake-admin:/snapshots/{snapshot.id}", is_admin_only=True, preferred=False)]
        return SnapshotResult(size_gb=snapshot.share.size_gb, provider_location=f"fake:{snapshot.id}",
                              export_locations=exports if self._snapshot_exports else ())

    def delete_snapshot(self, snapshot: SnapshotSpec) -> None:
        self._enter("delete_snapshot", snapshot.id)
        with self._mutating():
            self.snapshots.pop(snapshot.id, None)

    def create_share_from_snapshot(self, share: ShareSpec, snapshot: SnapshotSpec) -> ShareResult:
        self._enter("create_share_from_snapshot", share.id)
        with self._mutating():
            if snapshot.id not in self.snapshots:
                raise DriverError(f"snapshot {snapshot.id} does not exist on this backend")
            self._reserve(share, clone=True)
        return self._export(share.id)

    def create_group(self, group: GroupSpec) -> None:
        self._enter("create_group", group.id)
        with self._mutating():
            self.groups.add(group.id)

    def delete_group(self, group: GroupSpec) -> None:
        self._enter("delete_group", group.id)
        with self._mutating():
            self.groups.discard(group.id)

    def create_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> CGSnapshotResult:
        self._enter("create_cgsnapshot", cgsnapshot.id)
        with self._mutating():
            missing = [m.share.id for m in cgsnapshot.members if m.share.id not in self.shares]
            if missing:
                raise DriverError(f"shares {missing} do not exist on this backend")
            self.cgsnapshots[cgsnapshot.id] = [m.id for m in cgsnapshot.members]
        method = CutMethod.ATOMIC if self._atomic else CutMethod.SEQUENTIAL
        return CGSnapshotResult(method=method, spread_ms=0.0)

    def delete_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> None:
        self._enter("delete_cgsnapshot", cgsnapshot.id)
        with self._mutating():
            self.cgsnapshots.pop(cgsnapshot.id, None)

    def create_group_from_cgsnapshot(
        self, group: GroupSpec, cgsnapshot: CGSnapshotSpec, clones: Sequence[CloneSpec]
    ) -> Mapping[str, ShareResult]:
        self._enter("create_group_from_cgsnapshot", group.id)
        with self._mutating():
            if cgsnapshot.id not in self.cgsnapshots:
                raise DriverError(f"cgsnapshot {cgsnapshot.id} does not exist on this backend")
            self.groups.add(group.id)
            for clone in clones:
                self._reserve(clone.share, clone=True)
        return {clone.share.id: self._export(clone.share.id) for clone in clones}

    def update_access(self, share: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        """Records the set it was given, like a backend without a network front end: nothing is
        enforced (`access_enforced` is false). Rules for a `fail_access` target are refused."""
        self._enter("update_access", share.id)
        results = {}
        with self._mutating():
            if share.id not in self.shares:
                raise DriverError(f"share {share.id} does not exist on this backend")
            for rule in rules:
                if rule.access_to in self._fail_access:
                    results[rule.id] = AccessResult(applied=False,
                                                    reason=f"fake driver configured to refuse {rule.access_to}")
                else:
                    results[rule.id] = AccessResult(applied=True)
            self.access[share.id] = {rule.id: rule.access_level for rule in rules if results[rule.id].applied}
        return results

    def inventory(self) -> Inventory:
        with self._lock:
            return Inventory(
                shares=frozenset(self.shares),
                snapshots=frozenset(self.snapshots),
                groups=frozenset(self.groups),
                cgsnapshots=frozenset(self.cgsnapshots),
            )

    def reclaim(self, kind: str, object_id: str) -> bool:
        with self._mutating():
            if kind == "share":
                self.shares.pop(object_id, None)
                self.access.pop(object_id, None)
            elif kind == "snapshot":
                self.snapshots.pop(object_id, None)
            elif kind == "group":
                self.groups.discard(object_id)
            elif kind == "cgsnapshot":
                self.cgsnapshots.pop(object_id, None)
            else:
                raise ValueError(f"unknown storage object kind {kind!r}")
        return True


def _spin(seconds: float) -> int:
    """Busy Python work for `seconds` (never releases the GIL on its own, unlike a sleep)."""
    end = time.monotonic() + seconds
    count = 0
    while time.monotonic() < end:
        count += sum(range(1000))
    return count
