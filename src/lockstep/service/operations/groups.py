"""Settling consistency groups: create (placing it first), delete, create from a cgsnapshot."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence

from lockstep.domain.errors import NoValidHost
from lockstep.domain.group_types import CONSISTENT_SNAPSHOT_SPEC
from lockstep.domain.hosts import backend_key, pool_of
from lockstep.domain.model import ConsistencyGroup, Share, Status, utcnow
from lockstep.domain.operations import Entity, GroupPlacement, Operation
from lockstep.service.exports import NfsExports
from lockstep.service.operations import failures
from lockstep.service.operations.cgsnapshots import cgsnapshot_spec
from lockstep.service.operations.settle import Context, Job, fail, in_progress, locations, planned, settle, share_spec
from lockstep.service.storage import CGSnapshotSpec, CloneSpec, DriverError, GroupSpec, ShareResult
from lockstep.service.unit_of_work import UnitOfWork

log = logging.getLogger("lockstep.worker")


def _spec(group: ConsistencyGroup) -> GroupSpec:
    return GroupSpec(id=group.id, pool=pool_of(group.host))


def _created(_: object) -> dict[str, object]:
    return {"created_at": utcnow()}


def create_group(ctx: Context, op: Operation) -> None:
    placed = _place(ctx, op)
    if placed is None:
        return

    def prepare(uow: UnitOfWork) -> Job[None] | None:
        # The group as placement left it (committed by it a moment ago): no second read.
        group = placed
        return Job(group.id, group.host, lambda: ctx.driver(group.host).create_group(_spec(group)), values=_created)

    settle(ctx, op, prepare)


def _place(ctx: Context, op: Operation) -> ConsistencyGroup | None:
    """Give an unplaced group a pool; the group as placed, or None when there is nothing (more) to do.
    (Whatever happens to it from here on, the compare-and-set of `settle` finds.)"""
    placement = op.payload_as(GroupPlacement)
    with ctx.db.write() as uow:
        group = uow.groups.get(op.target_id)
        if not in_progress(group, op):
            return None
        if group.host:
            return group
        share_types = list(uow.share_types.get_many(group.share_types).values())
        try:
            pool = ctx.scheduler.place_group(uow, share_types, placement.atomic, placement.consistent)
        except NoValidHost as exc:
            log.warning("group %s: %s", group.id, exc.message)
            fail(uow, op.kind, group.id, failures.no_valid_host(Entity.GROUP, group.id, exc.message),
                 request_id=op.request_id, message_ttl=ctx.message_ttl)
            uow.commit()
            return None
        # What the share-group view shows from then on: where it is, and what its snapshots guarantee.
        placed = {"host": pool.name, "availability_zone": group.availability_zone or ctx.availability_zone,
                  "consistent_snapshot_support": pool.capabilities.get(CONSISTENT_SNAPSHOT_SPEC)}
        if not uow.groups.cas(group.id, [Status.CREATING], **placed):
            return None  # deleted (or reset) while it waited to be placed: nothing to make
        uow.commit()
        return dataclasses.replace(group, host=pool.name, availability_zone=placed["availability_zone"],
                                   consistent_snapshot_support=placed["consistent_snapshot_support"])


def delete_group(ctx: Context, op: Operation) -> None:
    def prepare(uow: UnitOfWork) -> Job[None] | None:
        group = uow.groups.get(op.target_id)
        if not in_progress(group, op):
            return None
        return Job(group.id, group.host, lambda: ctx.driver(group.host).delete_group(_spec(group)))

    settle(ctx, op, prepare)


def create_group_from_cgsnapshot(ctx: Context, op: Operation) -> None:
    """The group and its shares (recorded by the API, status creating) are cloned in one driver call."""
    if _abandon_clones(ctx, op):
        return

    def prepare(uow: UnitOfWork) -> Job[Mapping[str, ShareResult]] | None:
        group = uow.groups.get(op.target_id)
        if not in_progress(group, op):
            return None
        shares = uow.shares.in_group(group.id)
        plan = planned(lambda: _clone_plan(uow, group, shares))
        source_record = uow.cgsnapshots.get(group.source_cgsnapshot_id or "")
        method = (source_record.cut_method if source_record else None) or "unknown"

        def drive() -> Mapping[str, ShareResult]:
            if isinstance(plan, DriverError):
                raise plan
            source, clones = plan
            driver = ctx.driver(group.host)
            started = time.perf_counter()
            results = driver.create_group_from_cgsnapshot(_spec(group), source, clones)
            ctx.telemetry.restore(backend_key(group.host), method, time.perf_counter() - started)
            return results

        def recorded(uow: UnitOfWork, results: Mapping[str, ShareResult], _: bool) -> None:
            for share in _settle_clones(uow, shares, results, ctx.availability_zone, ctx.nfs):
                failures.record(uow, project_id=share.project_id, entity=Entity.SHARE, target_id=share.id,
                                action=failures.action_of(op.kind), request_id=op.request_id, ttl=ctx.message_ttl,
                                failure=failures.clone_failed(share.id, group.id, group.source_cgsnapshot_id,
                                                              group_failed=False))

        return Job(group.id, group.host, drive, values=_created, recorded=recorded)

    settle(ctx, op, prepare)


def _abandon_clones(ctx: Context, op: Operation) -> bool:
    """The group went (force-deleted) before its restore ran: this operation alone would have made its
    shares, so none of them may stay `creating`. False while the group still waits for it."""
    with ctx.db.write() as uow:
        group = uow.groups.get(op.target_id)
        if in_progress(group, op):
            return False
        for share in uow.shares.in_group(op.target_id):
            if share.source_cgsnapshot_member_id and uow.shares.cas(share.id, [Status.CREATING],
                                                                    status=Status.ERROR):
                failures.record(uow, project_id=share.project_id, entity=Entity.SHARE, target_id=share.id,
                                action=failures.action_of(op.kind), request_id=op.request_id, ttl=ctx.message_ttl,
                                failure=failures.clone_abandoned(share.id, op.target_id))
        uow.commit()
    return True


def _clone_plan(uow: UnitOfWork, group: ConsistencyGroup,
                shares: Sequence[Share]) -> tuple[CGSnapshotSpec, list[CloneSpec]]:
    source = uow.cgsnapshots.get(group.source_cgsnapshot_id or "")
    if source is None:
        raise DriverError(f"source cgsnapshot {group.source_cgsnapshot_id} is gone")
    spec = cgsnapshot_spec(uow, source.id, uow.groups.get(source.consistency_group_id), source.consistency_group_id)
    by_member = {m.id: m for m in spec.members}
    clones = []
    for share in shares:
        member = by_member.get(share.source_cgsnapshot_member_id or "")
        if member is None:
            raise DriverError(f"share {share.id} names no member of cgsnapshot {spec.id}")
        clones.append(CloneSpec(share=share_spec(share), member=member))
    return spec, clones


def _settle_clones(uow: UnitOfWork, shares: Sequence[Share], results: Mapping[str, ShareResult],
                   availability_zone: str, nfs: NfsExports | None) -> list[Share]:
    """Returns the clones the driver did not make (now in error)."""
    # A 64-share group settles in a handful of statements, not a few per share.
    missing = [share for share in shares
               if share.id not in results and uow.shares.cas(share.id, [Status.CREATING], status=Status.ERROR)]
    by_id = {share.id: share for share in shares if share.id in results}
    moved = uow.shares.settle_created(list(by_id), availability_zone)
    uow.shares.add_export_locations({i: locations(results[i], i, nfs) for i in moved})
    return missing
