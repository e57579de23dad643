"""Share types: list, show, default, create, delete, extra specs, project access."""

from __future__ import annotations

from dataclasses import dataclass

from lockstep.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lockstep.domain.model import AVAILABILITY_ZONES_SPEC, DHSS, ShareType, parse_bool, utcnow
from lockstep.service.commands import ChangeTypeAccess, CreateShareType, SetExtraSpecs, ShareTypeChanges
from lockstep.service.context import RequestContext
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import is_uuid_like, new_id


@dataclass(frozen=True)
class TypeSpecFilter:
    """The `extra_specs` filter of the type list (2.43): every named spec holds one of the spellings
    of the asked value; `availability_zones` asks for types usable in all of the given zones."""

    specs: tuple[tuple[str, tuple[str, ...]], ...] = ()
    zones: tuple[str, ...] = ()

    def matches(self, share_type: ShareType) -> bool:
        specs = share_type.extra_specs
        if any(specs.get(key) not in spellings for key, spellings in self.specs):
            return False
        allowed = [zone.strip() for zone in specs.get(AVAILABILITY_ZONES_SPEC, "").split(",") if zone.strip()]
        return not allowed or set(self.zones) <= set(allowed)


class ShareTypeService:
    def __init__(self, db: Database, default_type_name: str | None) -> None:
        self.db = db
        self.default_type_name = default_type_name

    # lookups ---------------------------------------------------------------
    def visible(self, uow: UnitOfWork, ctx: RequestContext, type_id: str) -> ShareType | None:
        share_type = uow.share_types.get(type_id)
        if share_type is None:
            return None
        if ctx.is_admin or uow.share_types.is_visible(share_type, ctx.project_id):
            return share_type
        return None

    def default_type(self, uow: UnitOfWork) -> ShareType | None:
        if not self.default_type_name:
            return None
        return uow.share_types.get_by_name(self.default_type_name)

    def resolve(self, uow: UnitOfWork, ctx: RequestContext, name_or_id: str) -> ShareType:
        """A type the caller may use, named by uuid or by name.

        Manila let any project use a private type it named by name (only the uuid lookup checked
        access); Lockstep checks access either way, so a private type stays private.
        """
        if is_uuid_like(name_or_id):
            found = self.visible(uow, ctx, name_or_id)
        else:
            found = uow.share_types.get_by_name(name_or_id)
            if found is not None and not (ctx.is_admin or uow.share_types.is_visible(found, ctx.project_id)):
                found = None
        if found is None:
            raise NotFound("Share type not found.")
        return found

    # use cases -------------------------------------------------------------
    def list_all(self, ctx: RequestContext, is_public: str | None,
                 extra_specs: TypeSpecFilter | None = None) -> list[ShareType]:
        with self.db.read() as uow:
            found = self._listed(uow, ctx, is_public)
        if extra_specs is None:
            return found
        return [share_type for share_type in found if extra_specs.matches(share_type)]

    @staticmethod
    def _listed(uow: UnitOfWork, ctx: RequestContext, is_public: str | None) -> list[ShareType]:
        if not ctx.is_admin or is_public is None:
            return uow.share_types.find(public=True, project_id=ctx.project_id)
        if is_public.lower() == "all":
            return uow.share_types.find(public=None, project_id=None)
        try:
            public = parse_bool(is_public, strict=True)
        except ValueError:
            raise Invalid(f"Invalid is_public filter [{is_public}]") from None
        return uow.share_types.find(public=True if public else False, project_id=ctx.project_id)

    def show(self, ctx: RequestContext, type_id: str) -> ShareType:
        with self.db.read() as uow:
            found = self.visible(uow, ctx, type_id)
        if found is None:
            raise NotFound("Share type not found.")
        return found

    def show_default(self, ctx: RequestContext) -> ShareType:
        with self.db.read() as uow:
            found = self.default_type(uow)
        if found is None:
            raise NotFound("Default share type not found")
        return found

    def create(self, ctx: RequestContext, cmd: CreateShareType) -> ShareType:
        share_type = ShareType(id=new_id(), name=cmd.name, is_public=cmd.is_public, extra_specs=dict(cmd.extra_specs),
                               created_at=utcnow(), description=cmd.description)
        with self.db.write() as uow:
            if uow.share_types.get_by_name(cmd.name) is not None:
                raise Conflict(f"Share Type {cmd.name} already exists.")
            uow.share_types.create(share_type)
            uow.commit()
        share_type.extra_specs = dict(cmd.extra_specs)
        return share_type

    def update(self, ctx: RequestContext, type_id: str, changes: ShareTypeChanges) -> ShareType:
        """`PUT /types/{id}` (2.50): name, description, is_public."""
        values = changes.values()
        with self.db.write() as uow:
            found = uow.share_types.get(type_id)
            if found is None:
                raise NotFound(f"Share type {type_id} could not be found.")
            name = values.get("name")
            if isinstance(name, str) and name != found.name and uow.share_types.get_by_name(name) is not None:
                raise Conflict(f"Share Type {name} already exists.")
            uow.share_types.update(type_id, **values)
            updated = uow.share_types.get(type_id)
            uow.commit()
        assert updated is not None
        return updated

    def is_default(self, share_type: ShareType) -> bool:
        """2.46: the type the configuration names as the default (`default_share_type`)."""
        return self.default_type_name is not None and share_type.name == self.default_type_name

    def delete(self, ctx: RequestContext, type_id: str) -> None:
        with self.db.write() as uow:
            if uow.share_types.get(type_id) is None:
                raise NotFound(f"Share type {type_id} could not be found.")
            if uow.share_types.in_use(type_id):
                raise Invalid("Target share type is still in use.")
            uow.share_types.delete(type_id)
            uow.commit()

    # extra specs ------------------------------------------------------------
    def _must_exist(self, uow: UnitOfWork, ctx: RequestContext, type_id: str) -> ShareType:
        found = self.visible(uow, ctx, type_id)
        if found is None:
            raise NotFound(f"Share type {type_id} could not be found.")
        return found

    def specs(self, ctx: RequestContext, type_id: str) -> dict[str, str]:
        with self.db.read() as uow:
            return self._must_exist(uow, ctx, type_id).extra_specs

    def spec(self, ctx: RequestContext, type_id: str, key: str) -> dict[str, str]:
        with self.db.read() as uow:
            specs = self._must_exist(uow, ctx, type_id).extra_specs
        if key not in specs:
            raise NotFound(f"Share Type {type_id} has no extra specs with key {key}.")
        return {key: specs[key]}

    def set_specs(self, ctx: RequestContext, cmd: SetExtraSpecs) -> dict[str, str]:
        with self.db.write() as uow:
            self._must_exist(uow, ctx, cmd.share_type_id)
            uow.share_types.set_specs(cmd.share_type_id, cmd.extra_specs)
            uow.commit()
        return cmd.extra_specs

    def delete_spec(self, ctx: RequestContext, type_id: str, key: str, *, snapshot_support_required: bool) -> None:
        """`snapshot_support_required`: before 2.24 every type had to name snapshot_support."""
        if key == DHSS or (key == "snapshot_support" and snapshot_support_required):
            raise Forbidden(f"Extra spec '{key}' can't be deleted.")
        with self.db.write() as uow:
            self._must_exist(uow, ctx, type_id)
            if not uow.share_types.delete_spec(type_id, key):
                raise NotFound(f"Share Type {type_id} has no extra specs with key {key}.")
            uow.commit()

    # project access ---------------------------------------------------------
    def access_list(self, ctx: RequestContext, type_id: str) -> list[str]:
        with self.db.read() as uow:
            found = uow.share_types.get(type_id)
            if found is None:
                raise NotFound(f"Share type {type_id} not found.")
            if found.is_public:
                raise NotFound("Access list not available for public share types.")
            return uow.share_types.projects(type_id)

    def change_access(self, ctx: RequestContext, cmd: ChangeTypeAccess) -> None:
        type_id, project, add = cmd.share_type_id, cmd.project_id, cmd.add
        with self.db.write() as uow:
            found = uow.share_types.get(type_id)
            if found is None:
                raise NotFound(f"Share type {type_id} could not be found.")
            if found.is_public:
                raise Conflict("Type access modification is not applicable to public share type.")
            if add:
                if not uow.share_types.add_project(type_id, project):
                    raise Conflict(f"Share type access for {type_id} / {project} combination already exists.")
            elif not uow.share_types.remove_project(type_id, project):
                raise NotFound(f"Share type access not found for {type_id} / {project} combination.")
            uow.commit()
