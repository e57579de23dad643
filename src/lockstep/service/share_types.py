"""Share types: list, show, default, create, delete, extra specs, project access."""

from __future__ import annotations

import re
from typing import Any

from lockstep.domain.errors import Conflict, Forbidden, Invalid, NotFound
from lockstep.domain.model import BOOLEAN_SPECS, DHSS, ShareType, parse_bool, utcnow
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database, UnitOfWork
from lockstep.service.validation import is_uuid_like, new_id

_KEY_RE = re.compile(r"^[\w.\-:]+$")
_PLAIN_BOOLS = frozenset({"true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"})
_PROJECT_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _spec_string(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def _is_plain_bool(value: object) -> bool:
    return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _PLAIN_BOOLS)


def _is_spec_bool(value: object) -> bool:
    if _is_plain_bool(value):
        return True
    if isinstance(value, str):
        text = value.strip()
        if text.lower().startswith("<is>"):
            return text[4:].strip().lower() in ("true", "false")
    return False


def check_standard_specs(specs: dict[str, Any], *, message: str) -> None:
    """Value checks of the specs Manila knows; `message` formats the failing key and value."""
    for key, value in specs.items():
        bad = False
        if key == DHSS:
            bad = not _is_plain_bool(value)
        elif key in BOOLEAN_SPECS:
            bad = not _is_spec_bool(value)
        elif key == "replication_type":
            bad = value not in ("writable", "readable", "dr")
        if bad:
            raise Invalid(message.format(key=key, value=value))


def check_spec_items(specs: object) -> dict[str, str]:
    if not isinstance(specs, dict):
        raise Invalid("Malformed request body")
    result: dict[str, str] = {}
    for key, value in specs.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise Invalid(f"Invalid extra_spec: {key}: {value}")
        if not _KEY_RE.match(key):
            raise Invalid("Key names can only contain alphanumeric characters, underscores, periods, colons "
                          "and hyphens.")
        if not isinstance(value, (str, bool)) or (isinstance(value, str) and not 1 <= len(value) <= 255):
            raise Invalid(f"Invalid extra_spec: {key}: {value}")
        result[key] = _spec_string(value)
    check_standard_specs(specs, message="Invalid extra_spec: {key}: {value}")
    return result


class ShareTypeService:
    def __init__(self, db: Database, policy: Policy, default_type_name: str | None) -> None:
        self.db = db
        self.policy = policy
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
        """A type named by uuid (visible ones) or by name (any), as share create does."""
        if is_uuid_like(name_or_id):
            found = self.visible(uow, ctx, name_or_id)
        else:
            found = uow.share_types.get_by_name(name_or_id)
        if found is None:
            raise NotFound("Share type not found.")
        return found

    # use cases -------------------------------------------------------------
    def list_all(self, ctx: RequestContext, is_public: str | None) -> list[ShareType]:
        self.policy.authorize(ctx, Rule.TYPE_INDEX)
        with self.db.read() as uow:
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
        self.policy.authorize(ctx, Rule.TYPE_SHOW)
        with self.db.read() as uow:
            found = self.visible(uow, ctx, type_id)
        if found is None:
            raise NotFound("Share type not found.")
        return found

    def show_default(self, ctx: RequestContext) -> ShareType:
        self.policy.authorize(ctx, Rule.TYPE_DEFAULT)
        with self.db.read() as uow:
            found = self.default_type(uow)
        if found is None:
            raise NotFound("Default share type not found")
        return found

    def create(self, ctx: RequestContext, entity: dict[str, Any], version: tuple[int, int]) -> ShareType:
        self.policy.authorize(ctx, Rule.TYPE_CREATE)
        name = entity.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise Invalid("Type name is not valid.")
        specs_in = entity.get("extra_specs") or {}
        if not isinstance(specs_in, dict):
            raise Invalid("Invalid input received: 'extra_specs' must be an object.")
        specs_in = dict(specs_in)
        if version < (2, 24) and "snapshot_support" not in specs_in:
            specs_in["snapshot_support"] = True
        if DHSS not in specs_in:
            raise Invalid(f"Invalid extra_spec: Required extra specs '{DHSS}' not specified..")
        if not _is_plain_bool(specs_in[DHSS]):
            raise Invalid(f"Invalid extra_spec: Value of required extra_spec {DHSS} is not valid.")
        check_standard_specs(specs_in, message="Invalid share type: Invalid extra_spec: {key}: {value}.")
        try:
            specs = check_spec_items(specs_in)
        except Invalid as exc:
            raise Invalid(f"Invalid share type: {exc.message}") from None
        public_raw = entity.get("os-share-type-access:is_public",
                                entity.get("share_type_access:is_public", True))
        try:
            is_public = parse_bool(public_raw, strict=True)
        except ValueError:
            raise Invalid(f"Invalid input received: Invalid value for is_public: {public_raw}.") from None
        share_type = ShareType(id=new_id(), name=name, is_public=is_public, extra_specs=specs, created_at=utcnow())
        with self.db.write() as uow:
            if uow.share_types.get_by_name(name) is not None:
                raise Conflict(f"Share Type {name} already exists.")
            uow.share_types.create(share_type)
            uow.commit()
        share_type.extra_specs = specs
        return share_type

    def delete(self, ctx: RequestContext, type_id: str) -> None:
        self.policy.authorize(ctx, Rule.TYPE_DELETE)
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
        self.policy.authorize(ctx, Rule.EXTRA_SPEC_INDEX)
        with self.db.read() as uow:
            return self._must_exist(uow, ctx, type_id).extra_specs

    def spec(self, ctx: RequestContext, type_id: str, key: str) -> dict[str, str]:
        self.policy.authorize(ctx, Rule.EXTRA_SPEC_SHOW)
        with self.db.read() as uow:
            specs = self._must_exist(uow, ctx, type_id).extra_specs
        if key not in specs:
            raise NotFound(f"Share Type {type_id} has no extra specs with key {key}.")
        return {key: specs[key]}

    def set_specs(self, ctx: RequestContext, type_id: str, specs: object, rule: Rule) -> dict[str, str]:
        self.policy.authorize(ctx, rule)
        checked = check_spec_items(specs)
        with self.db.write() as uow:
            self._must_exist(uow, ctx, type_id)
            uow.share_types.set_specs(type_id, checked)
            uow.commit()
        return checked

    def delete_spec(self, ctx: RequestContext, type_id: str, key: str, version: tuple[int, int]) -> None:
        self.policy.authorize(ctx, Rule.EXTRA_SPEC_DELETE)
        if key == DHSS or (key == "snapshot_support" and version < (2, 24)):
            raise Forbidden(f"Extra spec '{key}' can't be deleted.")
        with self.db.write() as uow:
            self._must_exist(uow, ctx, type_id)
            if not uow.share_types.delete_spec(type_id, key):
                raise NotFound(f"Share Type {type_id} has no extra specs with key {key}.")
            uow.commit()

    # project access ---------------------------------------------------------
    def access_list(self, ctx: RequestContext, type_id: str) -> list[str]:
        self.policy.authorize(ctx, Rule.TYPE_LIST_ACCESS)
        with self.db.read() as uow:
            found = uow.share_types.get(type_id)
            if found is None:
                raise NotFound(f"Share type {type_id} not found.")
            if found.is_public:
                raise NotFound("Access list not available for public share types.")
            return uow.share_types.projects(type_id)

    def change_access(self, ctx: RequestContext, type_id: str, body: object, add: bool) -> None:
        self.policy.authorize(ctx, Rule.TYPE_ADD_ACCESS if add else Rule.TYPE_REMOVE_ACCESS)
        project = body.get("project") if isinstance(body, dict) else None
        if not isinstance(project, str) or not _PROJECT_RE.match(project):
            raise Invalid(f"Bad project format: project is not in proper format ({project})")
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
