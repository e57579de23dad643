"""Share group types: their rows, group specs, project access and supported share types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from lockstep.adapters.db import tables as t
from lockstep.adapters.db.common import chunks
from lockstep.adapters.db.repository import _Repo
from lockstep.domain.group_types import ShareGroupType
from lockstep.domain.model import utcnow

_SPECS = t.share_group_type_specs
_PROJECTS = t.share_group_type_projects
_SHARE_TYPES = t.share_group_type_share_types


def _with_specs(where: Any) -> Any:
    table = t.share_group_types
    return (select(table, _SPECS.c.key.label("spec_key"), _SPECS.c.value.label("spec_value"))
            .select_from(table.outerjoin(_SPECS, _SPECS.c.share_group_type_id == table.c.id)).where(where))


_BY_ID = _with_specs(t.share_group_types.c.id == bindparam("key"))
_BY_NAME = _with_specs(t.share_group_types.c.name == bindparam("key"))
_MAPPED = (select(_SHARE_TYPES.c.share_type_id).where(_SHARE_TYPES.c.share_group_type_id == bindparam("type_id"))
           .order_by(_SHARE_TYPES.c.id))


class ShareGroupTypeRepo(_Repo):
    table = t.share_group_types

    def _load(self, rows: Sequence[RowMapping]) -> list[ShareGroupType]:
        types = [ShareGroupType(id=r["id"], name=r["name"], is_public=r["is_public"], created_at=r["created_at"])
                 for r in rows]
        by_id = {gt.id: gt for gt in types}
        for part in chunks(list(by_id)):
            for row in self.conn.execute(select(_SPECS).where(_SPECS.c.share_group_type_id.in_(part))).mappings():
                by_id[row["share_group_type_id"]].group_specs[row["key"]] = row["value"]
            mapped = (select(_SHARE_TYPES).where(_SHARE_TYPES.c.share_group_type_id.in_(part))
                      .order_by(_SHARE_TYPES.c.id))
            for row in self.conn.execute(mapped).mappings():
                by_id[row["share_group_type_id"]].share_types.append(row["share_type_id"])
        return types

    def get(self, type_id: str) -> ShareGroupType | None:
        return self._one(_BY_ID, type_id)

    def get_by_name(self, name: str) -> ShareGroupType | None:
        return self._one(_BY_NAME, name)

    def _one(self, statement: Any, key: str) -> ShareGroupType | None:
        """One type: its row with its specs (a row per spec), then its share types: two statements."""
        rows = self.conn.execute(statement, {"key": key}).mappings().all()
        if not rows:
            return None
        r = rows[0]
        group_type = ShareGroupType(id=r["id"], name=r["name"], is_public=r["is_public"], created_at=r["created_at"])
        group_type.group_specs.update({row["spec_key"]: row["spec_value"] for row in rows
                                       if row["spec_key"] is not None})
        group_type.share_types.extend(self.conn.execute(_MAPPED, {"type_id": group_type.id}).scalars())
        return group_type

    def find(self, *, public: bool | None, project_id: str | None) -> list[ShareGroupType]:
        """public None: every type; True: public + granted to project; False: private only."""
        query = select(self.table)
        if public is False:
            query = query.where(self.table.c.is_public.is_(False))
        elif public is True:
            granted = select(_PROJECTS.c.share_group_type_id).where(_PROJECTS.c.project_id == project_id)
            query = query.where(self.table.c.is_public.is_(True) | self.table.c.id.in_(granted))
        return self._load(self.conn.execute(query.order_by(self.table.c.name)).mappings().all())

    def is_visible(self, group_type: ShareGroupType, project_id: str) -> bool:
        return group_type.is_public or project_id in self.projects(group_type.id)

    def create(self, group_type: ShareGroupType) -> None:
        self.insert_row(id=group_type.id, name=group_type.name, is_public=group_type.is_public,
                        created_at=group_type.created_at or utcnow())
        self.set_specs(group_type.id, group_type.group_specs)
        if group_type.share_types:
            self.conn.execute(insert(_SHARE_TYPES), [{"share_group_type_id": group_type.id, "share_type_id": st}
                                                     for st in group_type.share_types])

    def set_specs(self, type_id: str, specs: Mapping[str, str]) -> None:
        for key, value in specs.items():
            updated = self.conn.execute(
                update(_SPECS).where(_SPECS.c.share_group_type_id == type_id, _SPECS.c.key == key).values(value=value)
            ).rowcount
            if not updated:
                self.conn.execute(insert(_SPECS), {"share_group_type_id": type_id, "key": key, "value": value})

    def delete_spec(self, type_id: str, key: str) -> bool:
        return self.conn.execute(
            delete(_SPECS).where(_SPECS.c.share_group_type_id == type_id, _SPECS.c.key == key)
        ).rowcount == 1

    def projects(self, type_id: str) -> list[str]:
        return list(self.conn.execute(
            select(_PROJECTS.c.project_id).where(_PROJECTS.c.share_group_type_id == type_id)
            .order_by(_PROJECTS.c.project_id)
        ).scalars())

    def add_project(self, type_id: str, project_id: str) -> bool:
        if project_id in self.projects(type_id):
            return False
        self.conn.execute(insert(_PROJECTS), {"share_group_type_id": type_id, "project_id": project_id})
        return True

    def remove_project(self, type_id: str, project_id: str) -> bool:
        return self.conn.execute(delete(_PROJECTS).where(
            _PROJECTS.c.share_group_type_id == type_id, _PROJECTS.c.project_id == project_id
        )).rowcount == 1

    def in_use(self, type_id: str) -> bool:
        used = select(t.consistency_groups.c.id).where(t.consistency_groups.c.share_group_type_id == type_id)
        return self.conn.execute(used.limit(1)).first() is not None
