"""Repositories: typed reads and writes of the tables, nothing else.

The service layer calls these inside a unit of work. Status changes go through
`compare_and_set`, so that two racing requests cannot both win.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from lockstep.adapters.db import filters
from lockstep.adapters.db import tables as t
from lockstep.adapters.db.access import access_rules_status
from lockstep.adapters.db.common import chunks, compare_and_set, load_subnets, paged, write_metadata
from lockstep.domain.model import (
    CGSnapshot,
    CGSnapshotMember,
    ConsistencyGroup,
    ExportLocation,
    SchedulerHints,
    Share,
    ShareNetwork,
    ShareType,
    Snapshot,
    SnapshotExportLocation,
    utcnow,
)
from lockstep.domain.queries import (
    CGSnapshotQuery,
    GroupQuery,
    Page,
    ShareNetworkQuery,
    ShareQuery,
    SnapshotQuery,
)


class _Repo:
    table: Table

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def cas(self, row_id: str, expected: Iterable[str] | None, **values: Any) -> bool:
        return compare_and_set(self.conn, self.table, row_id, expected, **values)

    def delete(self, row_id: str, expected: Iterable[str] | None = None) -> bool:
        stmt = delete(self.table).where(self.table.c.id == row_id)
        if expected is not None:
            stmt = stmt.where(self.table.c.status.in_([str(s) for s in expected]))
        return self.conn.execute(stmt).rowcount == 1

    def insert_row(self, **values: Any) -> None:
        values.setdefault("created_at", utcnow())
        self.conn.execute(insert(self.table), values)

    def exists(self, row_id: str) -> bool:
        return self.conn.execute(select(self.table.c.id).where(self.table.c.id == row_id)).first() is not None

    def in_status(self, statuses: Iterable[str], limit: int = 1000) -> list[tuple[str, str]]:
        """(id, status) of rows in one of `statuses` (tables with a status only)."""
        rows = self.conn.execute(select(self.table.c.id, self.table.c.status).where(
            self.table.c.status.in_([str(s) for s in statuses])).order_by(self.table.c.id).limit(limit))
        return [(row.id, row.status) for row in rows]


def _type_with_specs(where: Any) -> Any:
    specs = t.share_type_extra_specs
    return (select(t.share_types, specs.c.key.label("spec_key"), specs.c.value.label("spec_value"))
            .select_from(t.share_types.outerjoin(specs, specs.c.share_type_id == t.share_types.c.id))
            .where(where))


_TYPE_BY_ID = _type_with_specs(t.share_types.c.id == bindparam("key"))
_TYPE_BY_NAME = _type_with_specs(t.share_types.c.name == bindparam("key"))
_TYPES_BY_IDS = _type_with_specs(t.share_types.c.id.in_(bindparam("keys", expanding=True)))


class ShareTypeRepo(_Repo):
    table = t.share_types

    def _load(self, rows: Sequence[RowMapping]) -> list[ShareType]:
        ids = [r["id"] for r in rows]
        specs: dict[str, dict[str, str]] = {i: {} for i in ids}
        for part in chunks(ids):
            for row in self.conn.execute(
                select(t.share_type_extra_specs).where(t.share_type_extra_specs.c.share_type_id.in_(part))
            ).mappings():
                specs[row["share_type_id"]][row["key"]] = row["value"]
        return [
            ShareType(id=r["id"], name=r["name"], is_public=r["is_public"], extra_specs=specs[r["id"]],
                      created_at=r["created_at"], description=r["description"])
            for r in rows
        ]

    def get(self, type_id: str) -> ShareType | None:
        return self._one(_TYPE_BY_ID, type_id)

    def get_by_name(self, name: str) -> ShareType | None:
        return self._one(_TYPE_BY_NAME, name)

    def _one(self, statement: Any, key: str) -> ShareType | None:
        """One type and its extra specs, in one statement (a row per spec; a type without any has one)."""
        rows = self.conn.execute(statement, {"key": key}).mappings().all()
        if not rows:
            return None
        r = rows[0]
        specs = {row["spec_key"]: row["spec_value"] for row in rows if row["spec_key"] is not None}
        return ShareType(id=r["id"], name=r["name"], is_public=r["is_public"], extra_specs=specs,
                         created_at=r["created_at"], description=r["description"])

    def get_many(self, ids: Iterable[str]) -> dict[str, ShareType]:
        found: dict[str, ShareType] = {}
        for part in chunks(list(set(ids))):
            for r in self.conn.execute(_TYPES_BY_IDS, {"keys": list(part)}).mappings():
                share_type = found.get(r["id"])
                if share_type is None:
                    share_type = found[r["id"]] = ShareType(
                        id=r["id"], name=r["name"], is_public=r["is_public"], extra_specs={},
                        created_at=r["created_at"], description=r["description"])
                if r["spec_key"] is not None:
                    share_type.extra_specs[r["spec_key"]] = r["spec_value"]
        return found

    def find(self, *, public: bool | None, project_id: str | None) -> list[ShareType]:
        """public None: every type; True: public + granted to project; False: private only."""
        query = select(t.share_types)
        if public is False:
            query = query.where(t.share_types.c.is_public.is_(False))
        elif public is True:
            granted = select(t.share_type_projects.c.share_type_id).where(
                t.share_type_projects.c.project_id == project_id
            )
            query = query.where(t.share_types.c.is_public.is_(True) | t.share_types.c.id.in_(granted))
        rows = self.conn.execute(query.order_by(t.share_types.c.name)).mappings().all()
        return self._load(rows)

    def is_visible(self, share_type: ShareType, project_id: str) -> bool:
        if share_type.is_public:
            return True
        return project_id in self.projects(share_type.id)

    def create(self, share_type: ShareType) -> None:
        self.insert_row(id=share_type.id, name=share_type.name, is_public=share_type.is_public,
                        created_at=share_type.created_at or utcnow(), description=share_type.description)
        self.set_specs(share_type.id, share_type.extra_specs)

    def update(self, type_id: str, **values: Any) -> bool:
        """Set name, description and/or is_public; False if the type does not exist."""
        return self.conn.execute(update(t.share_types).where(t.share_types.c.id == type_id)
                                 .values(updated_at=utcnow(), **values)).rowcount == 1

    def set_specs(self, type_id: str, specs: Mapping[str, str]) -> None:
        for key, value in specs.items():
            updated = self.conn.execute(
                update(t.share_type_extra_specs)
                .where(t.share_type_extra_specs.c.share_type_id == type_id, t.share_type_extra_specs.c.key == key)
                .values(value=value)
            ).rowcount
            if not updated:
                self.conn.execute(insert(t.share_type_extra_specs),
                                  {"share_type_id": type_id, "key": key, "value": value})

    def delete_spec(self, type_id: str, key: str) -> bool:
        return self.conn.execute(
            delete(t.share_type_extra_specs).where(
                t.share_type_extra_specs.c.share_type_id == type_id, t.share_type_extra_specs.c.key == key
            )
        ).rowcount == 1

    def projects(self, type_id: str) -> list[str]:
        return list(self.conn.execute(
            select(t.share_type_projects.c.project_id).where(t.share_type_projects.c.share_type_id == type_id)
            .order_by(t.share_type_projects.c.project_id)
        ).scalars())

    def add_project(self, type_id: str, project_id: str) -> bool:
        if project_id in self.projects(type_id):
            return False
        self.conn.execute(insert(t.share_type_projects), {"share_type_id": type_id, "project_id": project_id})
        return True

    def remove_project(self, type_id: str, project_id: str) -> bool:
        return self.conn.execute(delete(t.share_type_projects).where(
            t.share_type_projects.c.share_type_id == type_id, t.share_type_projects.c.project_id == project_id
        )).rowcount == 1

    def in_use(self, type_id: str) -> bool:
        share = self.conn.execute(select(t.shares.c.id).where(t.shares.c.share_type_id == type_id).limit(1)).first()
        group = self.conn.execute(
            select(t.consistency_group_share_types.c.id)
            .where(t.consistency_group_share_types.c.share_type_id == type_id).limit(1)
        ).first()
        group_type = self.conn.execute(
            select(t.share_group_type_share_types.c.id)
            .where(t.share_group_type_share_types.c.share_type_id == type_id).limit(1)
        ).first()
        return share is not None or group is not None or group_type is not None


_NETWORK_FIELDS = tuple(f for f in ShareNetwork.__dataclass_fields__ if f != "subnets")


class ShareNetworkRepo(_Repo):
    """Share networks with their subnets; links to security services."""

    table = t.share_networks

    def _load(self, rows: Sequence[RowMapping]) -> list[ShareNetwork]:
        networks = [ShareNetwork(**{f: r[f] for f in _NETWORK_FIELDS}) for r in rows]
        by_id = {n.id: n for n in networks}
        for part in chunks(list(by_id)):
            for subnet in load_subnets(self.conn, t.share_network_subnets.c.share_network_id.in_(part)):
                by_id[subnet.share_network_id].subnets.append(subnet)
        return networks

    def get(self, network_id: str, project_id: str | None = None) -> ShareNetwork | None:
        query = select(t.share_networks).where(t.share_networks.c.id == network_id)
        if project_id is not None:
            query = query.where(t.share_networks.c.project_id == project_id)
        rows = self.conn.execute(query).mappings().all()
        return self._load(rows)[0] if rows else None

    def find(self, query: ShareNetworkQuery) -> list[ShareNetwork]:
        rows = select(t.share_networks).where(*filters.share_networks(query)).order_by(
            t.share_networks.c.created_at, t.share_networks.c.id
        ).offset(query.offset).limit(query.limit)
        return self._load(self.conn.execute(rows).mappings().all())

    def security_service_ids(self, network_id: str) -> list[str]:
        links = t.share_network_security_services
        return list(self.conn.execute(select(links.c.security_service_id).where(
            links.c.share_network_id == network_id).order_by(links.c.created_at, links.c.security_service_id)
        ).scalars())

    def link(self, network_id: str, security_service_id: str) -> bool:
        """Link a security service; False if it already was."""
        if security_service_id in self.security_service_ids(network_id):
            return False
        self.conn.execute(insert(t.share_network_security_services), {
            "share_network_id": network_id, "security_service_id": security_service_id, "created_at": utcnow()})
        return True

    def unlink(self, network_id: str, security_service_id: str) -> bool:
        links = t.share_network_security_services
        return self.conn.execute(delete(links).where(
            links.c.share_network_id == network_id, links.c.security_service_id == security_service_id
        )).rowcount == 1

    def count_shares(self, network_id: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(t.shares).where(t.shares.c.share_network_id == network_id)
        ).scalar_one())

    def count_groups(self, network_id: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(t.consistency_groups)
            .where(t.consistency_groups.c.share_network_id == network_id)
        ).scalar_one())


_SHARE_FIELDS = tuple(f for f in Share.__dataclass_fields__
                      if f not in ("metadata", "export_locations", "share_type_name", "scheduler_hints",
                                   "access_rules_status"))


def _hints(stored: str | None) -> SchedulerHints | None:
    if not stored:
        return None
    data = json.loads(stored)
    return SchedulerHints(same_host=tuple(data.get("same_host", ())),
                          different_host=tuple(data.get("different_host", ())), only_host=data.get("only_host"))


def _dump_hints(hints: SchedulerHints | None) -> str | None:
    """The stored form of a share's scheduler hints (the `scheduler_hints` column)."""
    if not hints:
        return None
    return json.dumps({"same_host": list(hints.same_host), "different_host": list(hints.different_host),
                       "only_host": hints.only_host})
# Shares with their type's name in one statement (the name is in every detail view).
_SHARES_WITH_TYPE_NAME = select(t.shares, t.share_types.c.name.label("share_type_name")).select_from(
    t.shares.outerjoin(t.share_types, t.share_types.c.id == t.shares.c.share_type_id))


class ShareRepo(_Repo):
    table = t.shares

    def insert_row(self, **values: Any) -> None:
        if "scheduler_hints" in values:
            values["scheduler_hints"] = _dump_hints(values["scheduler_hints"])
        super().insert_row(**values)

    def _load(self, rows: Sequence[RowMapping], *, detail: bool = True) -> list[Share]:
        shares = [Share(**{f: r[f] for f in _SHARE_FIELDS}, scheduler_hints=_hints(r["scheduler_hints"]))
                  for r in rows]
        if not detail or not shares:
            return shares
        by_id = {s.id: s for s in shares}
        ids = list(by_id)
        for share, row in zip(shares, rows, strict=True):
            share.share_type_name = row.get("share_type_name")
        for part in chunks(ids):
            meta_query = select(t.share_metadata).where(t.share_metadata.c.share_id.in_(part))
            for m in self.conn.execute(meta_query).mappings():
                by_id[m["share_id"]].metadata[m["key"]] = m["value"]
            for e in self.conn.execute(
                select(t.export_locations).where(t.export_locations.c.share_id.in_(part))
                .order_by(t.export_locations.c.created_at, t.export_locations.c.id)
            ).mappings():
                by_id[e["share_id"]].export_locations.append(ExportLocation(
                    id=e["id"], path=e["path"], is_admin_only=e["is_admin_only"], preferred=e["preferred"],
                    created_at=e["created_at"], updated_at=e["updated_at"],
                ))
            for share_id, status in access_rules_status(self.conn, part).items():
                by_id[share_id].access_rules_status = status
        return shares

    def get(self, share_id: str, project_id: str | None = None) -> Share | None:
        query = _SHARES_WITH_TYPE_NAME.where(t.shares.c.id == share_id)
        if project_id is not None:
            query = query.where(t.shares.c.project_id == project_id)
        rows = self.conn.execute(query).mappings().all()
        return self._load(rows)[0] if rows else None

    def find(self, query: ShareQuery, *, detail: bool) -> list[Share]:
        base = _SHARES_WITH_TYPE_NAME if detail else select(t.shares)
        rows = paged(self.conn, t.shares, base.where(*filters.shares(query)), query.page)
        return self._load(self.conn.execute(rows).mappings().all(), detail=detail)

    def soft_deleted_before(self, moment: dt.datetime, limit: int = 100) -> list[Share]:
        """Shares in the recycle bin whose time there ended by `moment` (2.69)."""
        query = _SHARES_WITH_TYPE_NAME.where(
            t.shares.c.is_soft_deleted.is_(True), t.shares.c.scheduled_to_be_deleted_at <= moment,
        ).order_by(t.shares.c.scheduled_to_be_deleted_at, t.shares.c.id).limit(limit)
        return self._load(self.conn.execute(query).mappings().all())

    def count(self, query: ShareQuery) -> int:
        """How many shares the query's filters select, whatever its page (`with_count`, 2.42)."""
        return int(self.conn.execute(
            select(func.count()).select_from(t.shares).where(*filters.shares(query))).scalar_one())

    def settle_created(self, ids: Sequence[str], availability_zone: str) -> list[str]:
        """Move many `creating` shares to `available` at once; returns the ids that moved."""
        moved: list[str] = []
        for part in chunks(list(ids)):
            waiting = list(self.conn.execute(select(t.shares.c.id).where(
                t.shares.c.id.in_(part), t.shares.c.status == "creating")).scalars())
            if waiting:
                self.conn.execute(update(t.shares).where(
                    t.shares.c.id.in_(waiting), t.shares.c.status == "creating").values(
                    status="available", updated_at=utcnow(), progress="100%",
                    availability_zone=func.coalesce(t.shares.c.availability_zone, availability_zone)))
            moved.extend(waiting)
        return moved

    def add_export_locations(self, locations: Mapping[str, Sequence[dict[str, Any]]]) -> None:
        now = utcnow()
        rows = [{"share_id": share_id, "created_at": now, "updated_at": now, **loc}
                for share_id, locs in locations.items() for loc in locs]
        if rows:
            self.conn.execute(insert(t.export_locations), rows)

    def get_many(self, ids: Sequence[str]) -> dict[str, Share]:
        """Several shares by id, without metadata or export locations (for the worker)."""
        rows: list[RowMapping] = []
        for part in chunks(list(ids)):
            rows.extend(self.conn.execute(select(t.shares).where(t.shares.c.id.in_(part))).mappings())
        return {s.id: s for s in self._load(rows, detail=False)}

    def in_group(self, group_id: str) -> list[Share]:
        rows = self.conn.execute(
            select(t.shares).where(t.shares.c.consistency_group_id == group_id)
            .order_by(t.shares.c.created_at, t.shares.c.id)
        ).mappings().all()
        return self._load(rows, detail=False)

    def count_snapshots(self, share_id: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(t.snapshots).where(t.snapshots.c.share_id == share_id)
        ).scalar_one())

    def count_cgsnapshot_members(self, share_id: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(t.cgsnapshot_members).where(t.cgsnapshot_members.c.share_id == share_id)
        ).scalar_one())

    def set_metadata(self, share_id: str, metadata: Mapping[str, str], *, replace: bool) -> None:
        write_metadata(self.conn, t.share_metadata, "share_id", share_id, metadata, replace=replace)

    def delete_metadata(self, share_id: str, key: str) -> bool:
        return self.conn.execute(delete(t.share_metadata).where(
            t.share_metadata.c.share_id == share_id, t.share_metadata.c.key == key
        )).rowcount == 1

    def replace_export_locations(self, share_id: str, locations: Sequence[dict[str, Any]]) -> None:
        self.conn.execute(delete(t.export_locations).where(t.export_locations.c.share_id == share_id))
        now = utcnow()
        for loc in locations:
            self.conn.execute(
                insert(t.export_locations), {"share_id": share_id, "created_at": now, "updated_at": now, **loc})



_SNAPSHOT_FIELDS = tuple(f for f in Snapshot.__dataclass_fields__ if f != "metadata")


class SnapshotRepo(_Repo):
    table = t.snapshots

    def _load(self, rows: Sequence[RowMapping]) -> list[Snapshot]:
        """Snapshots with their metadata."""
        snapshots = [Snapshot(**{k: r[k] for k in _SNAPSHOT_FIELDS}) for r in rows]
        by_id = {s.id: s for s in snapshots}
        meta = t.snapshot_metadata
        for part in chunks(list(by_id)):
            for m in self.conn.execute(select(meta).where(meta.c.snapshot_id.in_(part))).mappings():
                by_id[m["snapshot_id"]].metadata[m["key"]] = m["value"]
        return snapshots

    def get(self, snapshot_id: str, project_id: str | None = None) -> Snapshot | None:
        query = select(t.snapshots).where(t.snapshots.c.id == snapshot_id)
        if project_id is not None:
            query = query.where(t.snapshots.c.project_id == project_id)
        rows = self.conn.execute(query).mappings().all()
        return self._load(rows)[0] if rows else None

    def find(self, query: SnapshotQuery) -> list[Snapshot]:
        rows = paged(self.conn, t.snapshots, select(t.snapshots).where(*filters.snapshots(query)), query.page)
        return self._load(self.conn.execute(rows).mappings().all())

    def export_locations(self, snapshot_id: str) -> list[SnapshotExportLocation]:
        els = t.snapshot_export_locations
        # Where clients mount it first, admin-only locations after.
        rows = self.conn.execute(select(els).where(els.c.snapshot_id == snapshot_id)
                                 .order_by(els.c.is_admin_only, els.c.created_at, els.c.id)).mappings()
        return [SnapshotExportLocation(**{k: r[k] for k in SnapshotExportLocation.__dataclass_fields__})
                for r in rows]

    def replace_export_locations(self, snapshot_id: str, locations: Sequence[dict[str, Any]]) -> None:
        els = t.snapshot_export_locations
        self.conn.execute(delete(els).where(els.c.snapshot_id == snapshot_id))
        now = utcnow()
        rows = [{"snapshot_id": snapshot_id, "created_at": now, "updated_at": now, **loc} for loc in locations]
        if rows:
            self.conn.execute(insert(els), rows)

    def count(self, query: SnapshotQuery) -> int:
        """How many snapshots the query's filters select, whatever its page (`with_count`, 2.79)."""
        return int(self.conn.execute(
            select(func.count()).select_from(t.snapshots).where(*filters.snapshots(query))).scalar_one())


_GROUP_FIELDS = tuple(f for f in ConsistencyGroup.__dataclass_fields__ if f != "share_types")
# One statement: the group's row once per share type (LEFT JOIN keeps a group without any). Built once: a
# group show runs it, and building it per call cost more than SQLAlchemy's cached compilation.
_GROUP_GET = (
    select(t.consistency_groups, t.consistency_group_share_types.c.share_type_id.label("mapped_share_type_id"))
    .select_from(t.consistency_groups.outerjoin(
        t.consistency_group_share_types,
        t.consistency_group_share_types.c.consistency_group_id == t.consistency_groups.c.id))
    .where(t.consistency_groups.c.id == bindparam("group_id"))
    .order_by(t.consistency_group_share_types.c.id)
)
_GROUP_DEPENDENTS = select(
    select(func.count()).select_from(t.cgsnapshots)
    .where(t.cgsnapshots.c.consistency_group_id == bindparam("group_id")).scalar_subquery(),
    select(func.count()).select_from(t.shares)
    .where(t.shares.c.consistency_group_id == bindparam("group_id")).scalar_subquery(),
)
_GROUP_GET_IN = _GROUP_GET.where(t.consistency_groups.c.project_id == bindparam("project_id"))


class GroupRepo(_Repo):
    table = t.consistency_groups

    def _load(self, rows: Sequence[RowMapping]) -> list[ConsistencyGroup]:
        fields = [f for f in ConsistencyGroup.__dataclass_fields__ if f != "share_types"]
        groups = [ConsistencyGroup(**{f: r[f] for f in fields}) for r in rows]
        by_id = {g.id: g for g in groups}
        mapping = t.consistency_group_share_types
        if len(by_id) == 1:
            # The common case (show, create): an equality the statement cache can reuse.
            (only,) = by_id
            query = select(mapping.c.share_type_id).where(mapping.c.consistency_group_id == only).order_by(mapping.c.id)
            by_id[only].share_types.extend(self.conn.execute(query).scalars())
            return groups
        for part in chunks(list(by_id)):
            for m in self.conn.execute(
                select(mapping).where(mapping.c.consistency_group_id.in_(part)).order_by(mapping.c.id)
            ).mappings():
                by_id[m["consistency_group_id"]].share_types.append(m["share_type_id"])
        return groups

    def get(self, group_id: str, project_id: str | None = None) -> ConsistencyGroup | None:
        if project_id is None:
            rows = self.conn.execute(_GROUP_GET, {"group_id": group_id}).mappings().all()
        else:
            rows = self.conn.execute(_GROUP_GET_IN, {"group_id": group_id, "project_id": project_id}).mappings().all()
        if not rows:
            return None
        group = ConsistencyGroup(**{f: rows[0][f] for f in _GROUP_FIELDS})
        group.share_types = [r["mapped_share_type_id"] for r in rows if r["mapped_share_type_id"] is not None]
        return group

    def find(self, query: GroupQuery, *, detail: bool) -> list[ConsistencyGroup]:
        selected = select(t.consistency_groups).where(*filters.groups(query))
        rows = self.conn.execute(paged(self.conn, t.consistency_groups, selected, query.page)).mappings().all()
        if detail:
            return self._load(rows)
        fields = [f for f in ConsistencyGroup.__dataclass_fields__ if f != "share_types"]
        return [ConsistencyGroup(**{f: r[f] for f in fields}) for r in rows]

    def create(self, group: ConsistencyGroup) -> None:
        fields = {f: getattr(group, f) for f in ConsistencyGroup.__dataclass_fields__ if f != "share_types"}
        self.insert_row(**fields)
        for type_id in group.share_types:
            self.conn.execute(insert(t.consistency_group_share_types),
                              {"consistency_group_id": group.id, "share_type_id": type_id})

    def count_cgsnapshots(self, group_id: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(t.cgsnapshots).where(t.cgsnapshots.c.consistency_group_id == group_id)
        ).scalar_one())

    def count_shares(self, group_id: str) -> int:
        return int(self.conn.execute(
            select(func.count()).select_from(t.shares).where(t.shares.c.consistency_group_id == group_id)
        ).scalar_one())

    def dependents(self, group_id: str) -> tuple[int, int]:
        cgsnapshots, shares = self.conn.execute(_GROUP_DEPENDENTS, {"group_id": group_id}).one()
        return int(cgsnapshots), int(shares)

    def untyped(self) -> list[ConsistencyGroup]:
        rows = self.conn.execute(select(t.consistency_groups).where(
            t.consistency_groups.c.share_group_type_id.is_(None))).mappings().all()
        return self._load(rows)


_CGSNAPSHOT_FIELDS = tuple(f for f in CGSnapshot.__dataclass_fields__ if f != "members")


class CGSnapshotRepo(_Repo):
    table = t.cgsnapshots

    @staticmethod
    def _to(r: RowMapping) -> CGSnapshot:
        return CGSnapshot(**{k: r[k] for k in _CGSNAPSHOT_FIELDS})

    def get(self, cgsnapshot_id: str, project_id: str | None = None) -> CGSnapshot | None:
        query = select(t.cgsnapshots).where(t.cgsnapshots.c.id == cgsnapshot_id)
        if project_id is not None:
            query = query.where(t.cgsnapshots.c.project_id == project_id)
        row = self.conn.execute(query).mappings().first()
        return self._to(row) if row else None

    def find(self, query: CGSnapshotQuery) -> list[CGSnapshot]:
        selected = select(t.cgsnapshots).where(*filters.cgsnapshots(query))
        rows = self.conn.execute(paged(self.conn, t.cgsnapshots, selected, query.page)).mappings()
        return [self._to(r) for r in rows]

    def members(self, cgsnapshot_id: str, page: Page | None = None) -> list[CGSnapshotMember]:
        query = select(t.cgsnapshot_members).where(t.cgsnapshot_members.c.cgsnapshot_id == cgsnapshot_id)
        if page is not None:
            query = paged(self.conn, t.cgsnapshot_members, query, page)
        else:
            query = query.order_by(t.cgsnapshot_members.c.created_at, t.cgsnapshot_members.c.id)
        return [CGSnapshotMember(**{k: r[k] for k in CGSnapshotMember.__dataclass_fields__})
                for r in self.conn.execute(query).mappings()]


    def member(self, member_id: str) -> CGSnapshotMember | None:
        row = self.conn.execute(select(t.cgsnapshot_members).where(t.cgsnapshot_members.c.id == member_id)
                                ).mappings().first()
        return CGSnapshotMember(**{k: row[k] for k in CGSnapshotMember.__dataclass_fields__}) if row else None

    def members_of(self, cgsnapshot_ids: Sequence[str]) -> dict[str, list[CGSnapshotMember]]:
        found: dict[str, list[CGSnapshotMember]] = {i: [] for i in cgsnapshot_ids}
        members = t.cgsnapshot_members
        for part in chunks(list(found)):
            query = select(members).where(members.c.cgsnapshot_id.in_(part)).order_by(
                members.c.created_at, members.c.id)
            for r in self.conn.execute(query).mappings():
                found[r["cgsnapshot_id"]].append(
                    CGSnapshotMember(**{k: r[k] for k in CGSnapshotMember.__dataclass_fields__}))
        return found

    def add_member(self, member: CGSnapshotMember) -> None:
        self.conn.execute(insert(t.cgsnapshot_members),
                          {k: getattr(member, k) for k in CGSnapshotMember.__dataclass_fields__})

    def set_members_status(self, cgsnapshot_id: str, status: str) -> None:
        self.conn.execute(update(t.cgsnapshot_members).where(t.cgsnapshot_members.c.cgsnapshot_id == cgsnapshot_id)
                          .values(status=status, updated_at=utcnow()))

