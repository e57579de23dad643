"""What the worker does for each kind of operation: call a driver, write what it returned.

Every handler is safe to run again after a crash: it reads the record, skips what is already
settled, and drivers are idempotent. A handler never holds a database transaction open while a
driver works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lockstep.adapters.drivers.base import (
    CGSnapshotMemberSpec,
    CGSnapshotSpec,
    CloneSpec,
    DriverError,
    GroupSpec,
    ShareDriver,
    ShareResult,
    ShareSpec,
    SnapshotSpec,
)
from lockstep.domain.errors import NoValidHost
from lockstep.domain.model import ConsistencyGroup, Share, Status, utcnow
from lockstep.domain.operations import Operation
from lockstep.service.scheduler import Scheduler, backend_of
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id

log = logging.getLogger("lockstep.worker")


class Handoff(Exception):
    """The operation now belongs to another backend's worker (set after placement)."""

    def __init__(self, backend: str) -> None:
        super().__init__(backend)
        self.backend = backend


class RetryLater(Exception):
    """Nothing failed, but the operation cannot finish yet (e.g. a reclaim that must wait)."""


def pool_of(host: str) -> str:
    return host.split("#", 1)[1] if "#" in host else ""


def share_spec(share: Share) -> ShareSpec:
    return ShareSpec(id=share.id, size_gb=share.size, proto=share.share_proto, pool=pool_of(share.host),
                     group_id=share.consistency_group_id)


def _locations(result: ShareResult) -> list[dict[str, object]]:
    return [{"id": new_id(), "path": loc.path, "is_admin_only": loc.is_admin_only, "preferred": loc.preferred}
            for loc in result.export_locations]


@dataclass
class Tasks:
    db: Database
    drivers: Mapping[str, ShareDriver]  # keyed by host@backend
    scheduler: Scheduler
    availability_zone: str

    def handler(self, kind: str) -> Callable[[Operation], None]:
        found = getattr(self, f"do_{kind}", None)
        if found is None:
            raise ValueError(f"unknown operation kind {kind!r}")
        return found  # type: ignore[no-any-return]

    def driver(self, host: str | None) -> ShareDriver:
        backend = backend_of(host or "")
        if backend not in self.drivers:
            raise Handoff(backend)
        return self.drivers[backend]

    def _enqueue_reclaim(self, kind: str, object_id: str, host: str | None) -> None:
        if not host:
            return
        with self.db.write() as uow:
            uow.operations.enqueue("reclaim", object_id, backend=backend_of(host), object_kind=kind)
            uow.commit()

    # failure after too many attempts ----------------------------------------------
    def give_up(self, op: Operation, error: str) -> None:
        """The operation cannot be completed: move its resource to the matching error state."""
        target = {"create_share": ("shares", Status.CREATING, Status.ERROR),
                  "delete_share": ("shares", Status.DELETING, Status.ERROR_DELETING),
                  "extend_share": ("shares", Status.EXTENDING, Status.EXTENDING_ERROR),
                  "shrink_share": ("shares", Status.SHRINKING, Status.SHRINKING_ERROR),
                  "create_snapshot": ("snapshots", Status.CREATING, Status.ERROR),
                  "delete_snapshot": ("snapshots", Status.DELETING, Status.ERROR_DELETING),
                  "create_group": ("groups", Status.CREATING, Status.ERROR),
                  "delete_group": ("groups", Status.DELETING, Status.ERROR),
                  "create_cgsnapshot": ("cgsnapshots", Status.CREATING, Status.ERROR),
                  "delete_cgsnapshot": ("cgsnapshots", Status.DELETING, Status.ERROR),
                  "create_group_from_cgsnapshot": ("groups", Status.CREATING, Status.ERROR)}.get(op.kind)
        log.error("operation %s %s on %s failed for good: %s", op.id, op.kind, op.target_id, error)
        if target is None:
            return
        repo_name, current, failed = target
        with self.db.write() as uow:
            getattr(uow, repo_name).cas(op.target_id, [current], status=failed)
            if op.kind == "create_group_from_cgsnapshot":
                self._fail_group_shares(uow, op.target_id)
            uow.commit()

    @staticmethod
    def _fail_group_shares(uow: UnitOfWork, group_id: str) -> None:
        for share in uow.shares.in_group(group_id):
            uow.shares.cas(share.id, [Status.CREATING], status=Status.ERROR)

    # shares -----------------------------------------------------------------------
    def do_create_share(self, op: Operation) -> None:
        with self.db.write() as uow:
            share = uow.shares.get(op.target_id)
            if share is None or share.status != Status.CREATING:
                return
            if not share.host:
                group_host = None
                if share.consistency_group_id:
                    group = uow.groups.get(share.consistency_group_id)
                    group_host = group.host if group else None
                share_type = uow.share_types.get(share.share_type_id) if share.share_type_id else None
                try:
                    if share.consistency_group_id and not group_host:
                        raise NoValidHost("No valid host was found: the share's consistency group is not placed.")
                    pool = self.scheduler.place_share(uow, share.size, share_type, group_host)
                except NoValidHost as exc:
                    log.warning("share %s: %s", share.id, exc.message)
                    uow.shares.cas(share.id, [Status.CREATING], status=Status.ERROR)
                    uow.commit()
                    return
                if not uow.shares.cas(share.id, [Status.CREATING], host=pool.name):
                    return  # deleted (or reset) while it waited to be placed
                uow.pools.allocate(pool.name, share.size)
                share.host = pool.name
                uow.commit()
            snapshot = uow.snapshots.get(share.snapshot_id) if share.snapshot_id else None
            parent = uow.shares.get(snapshot.share_id) if snapshot else None
        driver = self.driver(share.host)
        try:
            if share.snapshot_id:
                if snapshot is None or parent is None:
                    raise DriverError(f"source snapshot {share.snapshot_id} is gone")
                result = driver.create_share_from_snapshot(
                    share_spec(share), SnapshotSpec(id=snapshot.id, share=share_spec(parent)))
            else:
                result = driver.create_share(share_spec(share))
        except DriverError as exc:
            log.warning("share %s: create failed: %s", share.id, exc)
            with self.db.write() as uow:
                uow.shares.cas(share.id, [Status.CREATING], status=Status.ERROR)
                uow.commit()
            return
        with self.db.write() as uow:
            won = uow.shares.cas(share.id, [Status.CREATING], status=Status.AVAILABLE,
                                 availability_zone=share.availability_zone or self.availability_zone)
            if won:
                uow.shares.replace_export_locations(share.id, _locations(result))
            gone = not won and uow.shares.get(share.id) is None
            uow.commit()
        if gone:
            self._enqueue_reclaim("share", share.id, share.host)

    def do_delete_share(self, op: Operation) -> None:
        force = bool(op.payload.get("force"))
        with self.db.read() as uow:
            share = uow.shares.get(op.target_id)
        if share is None or share.status != Status.DELETING:
            return
        try:
            if share.host:
                self.driver(share.host).delete_share(share_spec(share))
        except DriverError as exc:
            log.warning("share %s: delete failed: %s", share.id, exc)
            with self.db.write() as uow:
                if force:
                    uow.shares.delete(share.id)
                    uow.operations.enqueue("reclaim", share.id, backend=backend_of(share.host), object_kind="share")
                else:
                    uow.shares.cas(share.id, [Status.DELETING], status=Status.ERROR_DELETING)
                uow.commit()
            return
        with self.db.write() as uow:
            uow.shares.delete(share.id, [Status.DELETING])
            if share.consistency_group_id and uow.groups.get(share.consistency_group_id) is None:
                # The group was force-deleted; its storage may have waited for this share to go.
                uow.operations.expedite(share.consistency_group_id, "reclaim")
            uow.commit()

    def _resize(self, op: Operation, current: Status, failed: Status, shrink: bool) -> None:
        new_size = int(op.payload["new_size"])
        with self.db.read() as uow:
            share = uow.shares.get(op.target_id)
        if share is None or share.status != current:
            return
        driver = self.driver(share.host)
        try:
            if shrink:
                driver.shrink_share(share_spec(share), new_size)
            else:
                driver.extend_share(share_spec(share), new_size)
        except DriverError as exc:
            log.warning("share %s: resize failed: %s", share.id, exc)
            with self.db.write() as uow:
                status = Status.SHRINKING_POSSIBLE_DATA_LOSS_ERROR if shrink else failed
                uow.shares.cas(share.id, [current], status=status)
                uow.commit()
            return
        with self.db.write() as uow:
            if uow.shares.cas(share.id, [current], status=Status.AVAILABLE, size=new_size):
                uow.pools.allocate(share.host, new_size - share.size)
            uow.commit()

    def do_extend_share(self, op: Operation) -> None:
        self._resize(op, Status.EXTENDING, Status.EXTENDING_ERROR, shrink=False)

    def do_shrink_share(self, op: Operation) -> None:
        self._resize(op, Status.SHRINKING, Status.SHRINKING_ERROR, shrink=True)

    # single-share snapshots ---------------------------------------------------------
    def do_create_snapshot(self, op: Operation) -> None:
        with self.db.read() as uow:
            snapshot = uow.snapshots.get(op.target_id)
            share = uow.shares.get(snapshot.share_id) if snapshot else None
        if snapshot is None or snapshot.status != Status.CREATING:
            return
        try:
            if share is None:
                raise DriverError(f"share {snapshot.share_id} is gone")
            result = self.driver(share.host).create_snapshot(SnapshotSpec(id=snapshot.id, share=share_spec(share)))
        except DriverError as exc:
            log.warning("snapshot %s: create failed: %s", snapshot.id, exc)
            with self.db.write() as uow:
                uow.snapshots.cas(snapshot.id, [Status.CREATING], status=Status.ERROR)
                uow.commit()
            return
        with self.db.write() as uow:
            won = uow.snapshots.cas(snapshot.id, [Status.CREATING], status=Status.AVAILABLE, progress="100%",
                                    provider_location=result.provider_location)
            gone = not won and uow.snapshots.get(snapshot.id) is None
            uow.commit()
        if gone:
            self._enqueue_reclaim("snapshot", snapshot.id, share.host)

    def do_delete_snapshot(self, op: Operation) -> None:
        force = bool(op.payload.get("force"))
        with self.db.read() as uow:
            snapshot = uow.snapshots.get(op.target_id)
            share = uow.shares.get(snapshot.share_id) if snapshot else None
        if snapshot is None or snapshot.status != Status.DELETING:
            return
        try:
            if share is not None and share.host:
                self.driver(share.host).delete_snapshot(SnapshotSpec(id=snapshot.id, share=share_spec(share)))
        except DriverError as exc:
            log.warning("snapshot %s: delete failed: %s", snapshot.id, exc)
            with self.db.write() as uow:
                if force:
                    uow.snapshots.delete(snapshot.id)
                    uow.operations.enqueue("reclaim", snapshot.id, backend=backend_of(share.host if share else ""),
                                           object_kind="snapshot")
                else:
                    uow.snapshots.cas(snapshot.id, [Status.DELETING], status=Status.ERROR_DELETING)
                uow.commit()
            return
        with self.db.write() as uow:
            uow.snapshots.delete(snapshot.id, [Status.DELETING])
            uow.commit()

    # consistency groups ---------------------------------------------------------------
    def do_create_group(self, op: Operation) -> None:
        with self.db.write() as uow:
            group = uow.groups.get(op.target_id)
            if group is None or group.status != Status.CREATING:
                return
            if not group.host:
                share_types = list(uow.share_types.get_many(group.share_types).values())
                try:
                    pool = self.scheduler.place_group(uow, share_types, bool(op.payload.get("atomic")))
                except NoValidHost as exc:
                    log.warning("group %s: %s", group.id, exc.message)
                    uow.groups.cas(group.id, [Status.CREATING], status=Status.ERROR)
                    uow.commit()
                    return
                if not uow.groups.cas(group.id, [Status.CREATING], host=pool.name):
                    return  # deleted (or reset) while it waited to be placed: nothing to make
                group.host = pool.name
                uow.commit()
        driver = self.driver(group.host)
        try:
            driver.create_group(GroupSpec(id=group.id, pool=pool_of(group.host or "")))
        except DriverError as exc:
            log.warning("group %s: create failed: %s", group.id, exc)
            with self.db.write() as uow:
                uow.groups.cas(group.id, [Status.CREATING], status=Status.ERROR)
                uow.commit()
            return
        with self.db.write() as uow:
            won = uow.groups.cas(group.id, [Status.CREATING], status=Status.AVAILABLE, created_at=utcnow())
            gone = not won and uow.groups.get(group.id) is None
            uow.commit()
        if gone:
            self._enqueue_reclaim("group", group.id, group.host)

    def do_delete_group(self, op: Operation) -> None:
        with self.db.read() as uow:
            group = uow.groups.get(op.target_id)
        if group is None or group.status != Status.DELETING:
            return
        try:
            self.driver(group.host).delete_group(GroupSpec(id=group.id, pool=pool_of(group.host or "")))
        except DriverError as exc:
            log.warning("group %s: delete failed: %s", group.id, exc)
            with self.db.write() as uow:
                uow.groups.cas(group.id, [Status.DELETING], status=Status.ERROR)
                uow.commit()
            return
        with self.db.write() as uow:
            uow.groups.delete(group.id, [Status.DELETING])
            uow.commit()

    def _cgsnapshot_spec(self, uow: UnitOfWork, cgsnapshot_id: str, group: ConsistencyGroup | None,
                         group_id: str) -> CGSnapshotSpec:
        members = []
        host = group.host if group else None
        rows = uow.cgsnapshots.members(cgsnapshot_id)
        shares = uow.shares.get_many([m.share_id for m in rows])
        for member in rows:
            share = shares.get(member.share_id)
            if share is None:
                raise DriverError(f"member share {member.share_id} is gone")
            host = host or share.host
            members.append(CGSnapshotMemberSpec(id=member.id, share=share_spec(share)))
        return CGSnapshotSpec(id=cgsnapshot_id, group=GroupSpec(id=group_id, pool=pool_of(host or "")),
                              members=members)

    def do_create_cgsnapshot(self, op: Operation) -> None:
        with self.db.read() as uow:
            cgsnapshot = uow.cgsnapshots.get(op.target_id)
            if cgsnapshot is None or cgsnapshot.status != Status.CREATING:
                return
            group = uow.groups.get(cgsnapshot.consistency_group_id)
            try:
                spec = self._cgsnapshot_spec(uow, cgsnapshot.id, group, cgsnapshot.consistency_group_id)
            except DriverError as exc:
                spec, failure = None, exc
        host = group.host if group else None
        try:
            if spec is None:
                raise failure
            result = self.driver(host).create_cgsnapshot(spec)
        except DriverError as exc:
            log.warning("cgsnapshot %s: create failed: %s", cgsnapshot.id, exc)
            with self.db.write() as uow:
                uow.cgsnapshots.cas(cgsnapshot.id, [Status.CREATING], status=Status.ERROR)
                uow.commit()
            return
        with self.db.write() as uow:
            won = uow.cgsnapshots.cas(cgsnapshot.id, [Status.CREATING], status=Status.AVAILABLE,
                                      cut_method=str(result.method), cut_spread_ms=float(result.spread_ms),
                                      created_at=utcnow())
            if won:
                uow.cgsnapshots.set_members_status(cgsnapshot.id, Status.AVAILABLE)
            gone = not won and uow.cgsnapshots.get(cgsnapshot.id) is None
            uow.commit()
        if gone:
            self._enqueue_reclaim("cgsnapshot", cgsnapshot.id, host)

    def do_delete_cgsnapshot(self, op: Operation) -> None:
        with self.db.read() as uow:
            cgsnapshot = uow.cgsnapshots.get(op.target_id)
            if cgsnapshot is None or cgsnapshot.status != Status.DELETING:
                return
            group = uow.groups.get(cgsnapshot.consistency_group_id)
            try:
                spec = self._cgsnapshot_spec(uow, cgsnapshot.id, group, cgsnapshot.consistency_group_id)
            except DriverError:
                spec = None
        try:
            if spec is not None:
                self.driver(op.backend).delete_cgsnapshot(spec)
            elif not self.driver(op.backend).reclaim("cgsnapshot", cgsnapshot.id):
                raise DriverError("cgsnapshot storage is still needed by clones")
        except DriverError as exc:
            log.warning("cgsnapshot %s: delete failed: %s", cgsnapshot.id, exc)
            with self.db.write() as uow:
                uow.cgsnapshots.cas(cgsnapshot.id, [Status.DELETING], status=Status.ERROR)
                uow.commit()
            return
        with self.db.write() as uow:
            uow.cgsnapshots.delete(cgsnapshot.id, [Status.DELETING])
            uow.commit()

    def do_create_group_from_cgsnapshot(self, op: Operation) -> None:
        with self.db.read() as uow:
            group = uow.groups.get(op.target_id)
            if group is None or group.status != Status.CREATING:
                return
            clones_shares = uow.shares.in_group(group.id)
            failure: DriverError | None = None
            spec = None
            source = uow.cgsnapshots.get(group.source_cgsnapshot_id or "")
            if source is None:
                failure = DriverError(f"source cgsnapshot {group.source_cgsnapshot_id} is gone")
            else:
                source_group = uow.groups.get(source.consistency_group_id)
                try:
                    spec = self._cgsnapshot_spec(uow, source.id, source_group, source.consistency_group_id)
                except DriverError as exc:
                    failure = exc
        clones = []
        if spec is not None:
            by_member = {m.id: m for m in spec.members}
            for share in clones_shares:
                member = by_member.get(share.source_cgsnapshot_member_id or "")
                if member is None:
                    failure = DriverError(f"share {share.id} names no member of cgsnapshot {spec.id}")
                    break
                clones.append(CloneSpec(share=share_spec(share), member=member))
        try:
            if failure is not None or spec is None:
                raise failure or DriverError("no source")
            results = self.driver(group.host).create_group_from_cgsnapshot(
                GroupSpec(id=group.id, pool=pool_of(group.host or "")), spec, clones)
        except DriverError as exc:
            log.warning("group %s: create from cgsnapshot failed: %s", group.id, exc)
            with self.db.write() as uow:
                uow.groups.cas(group.id, [Status.CREATING], status=Status.ERROR)
                self._fail_group_shares(uow, group.id)
                uow.commit()
            return
        with self.db.write() as uow:
            # A 64-share group settles in a handful of statements, not a few per share.
            for share in clones_shares:
                if share.id not in results:
                    uow.shares.cas(share.id, [Status.CREATING], status=Status.ERROR)
            by_id = {share.id: share for share in clones_shares if share.id in results}
            moved = uow.shares.settle_created(list(by_id), self.availability_zone)
            uow.shares.add_export_locations({i: _locations(results[i]) for i in moved})
            allocated: dict[str, int] = {}
            for share_id in moved:
                share = by_id[share_id]
                allocated[share.host] = allocated.get(share.host, 0) + share.size
            for host, size in allocated.items():
                uow.pools.allocate(host, size)
            won = uow.groups.cas(group.id, [Status.CREATING], status=Status.AVAILABLE, created_at=utcnow())
            gone = not won and uow.groups.get(group.id) is None
            uow.commit()
        if gone:
            self._enqueue_reclaim("group", group.id, group.host)

    # housekeeping -------------------------------------------------------------------
    def do_reclaim(self, op: Operation) -> None:
        kind = str(op.payload["object_kind"])
        if op.backend is None or op.backend not in self.drivers:
            raise Handoff(op.backend or "")
        if not self.drivers[op.backend].reclaim(kind, op.target_id):
            log.warning("reclaim of %s %s on %s waits: it still holds data that remaining records need",
                        kind, op.target_id, op.backend)
            raise RetryLater(f"{kind} {op.target_id} still holds data that records need; will try again")
        log.info("reclaimed %s %s on %s", kind, op.target_id, op.backend)

    def sweep(self, backend: str) -> int:
        """Queue a reclaim for every storage object of `backend` that no record references.

        Records are always written before their storage is made, so an object without a record is
        an orphan (a force-deleted record whose reclaim was lost, a crash between steps).
        """
        inventory = self.drivers[backend].inventory()
        present = {"share": inventory.shares, "snapshot": inventory.snapshots, "group": inventory.groups,
                   "cgsnapshot": inventory.cgsnapshots}
        queued = 0
        with self.db.write() as uow:
            busy = uow.operations.targets()
            exists = {"share": uow.shares.exists, "snapshot": uow.snapshots.exists, "group": uow.groups.exists,
                      "cgsnapshot": uow.cgsnapshots.exists}
            for kind, ids in present.items():
                for object_id in sorted(ids - busy):
                    if exists[kind](object_id):
                        continue
                    log.warning("orphaned %s %s on %s: no record references it; reclaiming", kind, object_id,
                                backend)
                    uow.operations.enqueue("reclaim", object_id, backend=backend, object_kind=kind)
                    queued += 1
            uow.commit()
        return queued
