"""Share group types (2.31+): list, show, default, create, delete, group specs, project access."""

from __future__ import annotations

from collections.abc import Mapping

from lockstep.domain.errors import Conflict, Invalid, NotFound, SilentNotFound
from lockstep.domain.group_types import ShareGroupType
from lockstep.domain.model import parse_bool, utcnow
from lockstep.service.commands import ChangeGroupTypeAccess, CreateShareGroupType, SetGroupSpecs, unwrap
from lockstep.service.context import RequestContext
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import new_id


class ShareGroupTypeService:
    def __init__(self, db: Database, default_type_name: str | None) -> None:
        self.db = db
        self.default_type_name = default_type_name

    # lookups ---------------------------------------------------------------
    def visible(self, uow: UnitOfWork, ctx: RequestContext, type_id: str) -> ShareGroupType | None:
        """A type the caller may use: public, granted to its project, or any for an admin."""
        found = uow.share_group_types.get(type_id)
        if found is None:
            return None
        if ctx.is_admin or uow.share_group_types.is_visible(found, ctx.project_id):
            return found
        return None

    def default_type(self, uow: UnitOfWork) -> ShareGroupType | None:
        if not self.default_type_name:
            return None
        return uow.share_group_types.get_by_name(self.default_type_name)

    def is_default(self, group_type: ShareGroupType) -> bool:
        return bool(self.default_type_name) and group_type.name == self.default_type_name

    # use cases -------------------------------------------------------------
    def list_all(self, ctx: RequestContext, is_public: str | None,
                 group_specs: Mapping[str, str] | None = None) -> list[ShareGroupType]:
        """Non-admins see public types and those shared with them; `is_public` is an admin's filter."""
        with self.db.read() as uow:
            if not ctx.is_admin or is_public is None:
                found = uow.share_group_types.find(public=True, project_id=ctx.project_id)
            elif is_public.lower() == "all":
                found = uow.share_group_types.find(public=None, project_id=None)
            else:
                try:
                    public = parse_bool(is_public, strict=True)
                except ValueError:
                    raise Invalid(f"Invalid is_public filter [{is_public}]") from None
                found = uow.share_group_types.find(public=public, project_id=ctx.project_id)
        if group_specs:
            found = [gt for gt in found if all(gt.group_specs.get(k) == v for k, v in group_specs.items())]
        return found

    def show(self, ctx: RequestContext, type_id: str) -> ShareGroupType:
        with self.db.read() as uow:
            found = self.visible(uow, ctx, type_id)
        if found is None:
            raise NotFound(f"Share group type with id {type_id} not found.")
        return found

    def show_default(self, ctx: RequestContext) -> ShareGroupType:
        with self.db.read() as uow:
            found = self.default_type(uow)
        if found is None:
            raise NotFound("Default share group type not found.")
        return found

    def create(self, ctx: RequestContext, cmd: CreateShareGroupType) -> ShareGroupType:
        with self.db.write() as uow:
            type_ids: list[str] = []
            for ref in cmd.share_types:
                share_type = uow.share_types.get(ref) or uow.share_types.get_by_name(ref)
                if share_type is None:
                    raise NotFound(f"Share Type {ref} does not exist.")
                type_ids.append(share_type.id)
            if uow.share_group_types.get_by_name(cmd.name) is not None:
                raise Conflict(f"Share group type {cmd.name} already exists.")
            group_type = ShareGroupType(id=new_id(), name=cmd.name, is_public=cmd.is_public,
                                        group_specs=dict(cmd.group_specs), share_types=type_ids, created_at=utcnow())
            uow.share_group_types.create(group_type)
            uow.commit()
        return group_type

    def delete(self, ctx: RequestContext, type_id: str) -> None:
        with self.db.write() as uow:
            if self.visible(uow, ctx, type_id) is None:
                raise SilentNotFound()
            if uow.share_group_types.in_use(type_id):
                raise Invalid(f"Target share group type with id {type_id} is still in use.")
            uow.share_group_types.delete(type_id)
            uow.commit()

    # group specs --------------------------------------------------------------
    def _must_exist(self, uow: UnitOfWork, ctx: RequestContext, type_id: str) -> ShareGroupType:
        found = self.visible(uow, ctx, type_id)
        if found is None:
            raise NotFound(f"Share group type {type_id} could not be found.")
        return found

    def specs(self, ctx: RequestContext, type_id: str) -> dict[str, str]:
        with self.db.read() as uow:
            return self._must_exist(uow, ctx, type_id).group_specs

    def spec(self, ctx: RequestContext, type_id: str, key: str) -> dict[str, str]:
        with self.db.read() as uow:
            specs = self._must_exist(uow, ctx, type_id).group_specs
        if key not in specs:
            raise SilentNotFound()
        return {key: specs[key]}

    def set_specs(self, ctx: RequestContext, cmd: SetGroupSpecs) -> None:
        with self.db.write() as uow:
            self._must_exist(uow, ctx, cmd.share_group_type_id)
            uow.share_group_types.set_specs(cmd.share_group_type_id, unwrap(cmd.group_specs))
            uow.commit()

    def delete_spec(self, ctx: RequestContext, type_id: str, key: str) -> None:
        with self.db.write() as uow:
            self._must_exist(uow, ctx, type_id)
            if not uow.share_group_types.delete_spec(type_id, key):
                raise NotFound(f"Share group type {type_id} has no group specs with key {key}.")
            uow.commit()

    # project access ---------------------------------------------------------
    def access_list(self, ctx: RequestContext, type_id: str) -> list[str]:
        with self.db.read() as uow:
            found = uow.share_group_types.get(type_id)
            if found is None:
                raise NotFound(f"Share group type {type_id} not found.")
            if found.is_public:
                raise NotFound("Access list not available for public share group types.")
            return uow.share_group_types.projects(type_id)

    def change_access(self, ctx: RequestContext, cmd: ChangeGroupTypeAccess) -> None:
        type_id, project = cmd.share_group_type_id, cmd.project_id
        with self.db.write() as uow:
            found = uow.share_group_types.get(type_id)
            if found is None:
                raise NotFound(f"Share group type {type_id} could not be found.")
            if found.is_public:
                raise Conflict("Type access modification is not applicable to public share group type.")
            if cmd.add:
                if not uow.share_group_types.add_project(type_id, project):
                    raise Conflict(f"Share group type access for {type_id} / {project} combination already exists.")
            elif not uow.share_group_types.remove_project(type_id, project):
                raise NotFound(f"Share group type access not found for {type_id} / {project} combination.")
            uow.commit()
