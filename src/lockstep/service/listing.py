"""List queries: filters, sorting and paging for shares and snapshots.

Manila's quirks here are kept where clients depend on them and fixed where the spec decides
(`all_tenants` is a boolean, `marker` is honoured).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select

from lockstep.adapters.db import tables as t
from lockstep.adapters.db.common import Page
from lockstep.domain.errors import Invalid
from lockstep.domain.model import Share, Snapshot, parse_bool
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule
from lockstep.service.unit_of_work import Database

PAGING_KEYS = ("limit", "offset", "marker")
_MAX_INT = 2**31 - 1  # the INTEGER columns' range: larger filter values match nothing
_SHARE_SORT = {"id", "created_at", "updated_at", "size", "name", "project_id", "user_id", "share_proto",
               "is_public", "task_state", "status", "host", "share_network_id", "share_type_id", "snapshot_id",
               "availability_zone", "consistency_group_id", "description"}
_SHARE_NON_ADMIN = {"name", "status", "share_server_id", "volume_type_id", "share_type_id", "snapshot_id", "host",
                    "share_network_id", "is_public", "metadata", "extra_specs", "sort_key", "sort_dir",
                    "consistency_group_id", "cgsnapshot_id", "all_tenants"}
_SHARE_COLUMNS = {"id", "status", "host", "share_type_id", "snapshot_id", "share_network_id", "project_id",
                  "user_id", "size", "share_proto", "consistency_group_id", "availability_zone", "name",
                  "description", "source_cgsnapshot_member_id", "task_state"}
_SNAPSHOT_SORT = {"id", "created_at", "updated_at", "size", "share_id", "status", "project_id", "user_id",
                  "share_size", "share_proto", "progress", "name", "description"}


def all_tenants(ctx: RequestContext, params: Mapping[str, str]) -> bool:
    """Decision 2: a boolean, effective for admins only."""
    value = params.get("all_tenants")
    return ctx.is_admin and value is not None and parse_bool(value)


def _literal_dict(value: str, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError:
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise Invalid(f"Invalid input received: Wrong {what} filter provided: {value}.") from None
    if not isinstance(parsed, dict):
        raise Invalid(f"Invalid input received: Wrong {what} filter provided: {value}.")
    return parsed


def _sort(params: dict[str, str], allowed: set[str], default_key: str) -> tuple[str, str]:
    key = params.pop("sort_key", default_key)
    direction = params.pop("sort_dir", "desc")
    key = {"display_name": "name", "share_type": "share_type_id", "volume_type_id": "share_type_id"}.get(key, key)
    if key not in allowed:
        raise Invalid(f"Invalid input received: Wrong sorting key provided - '{key}'.")
    if direction not in ("asc", "desc"):
        raise Invalid(f"Invalid input received: Wrong sorting data provided: sort key is '{key}' and sort "
                      f"direction is '{direction}'.")
    return key, direction


class ListingService:
    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy

    def shares(self, ctx: RequestContext, query: Mapping[str, str], offset: int, limit: int,
               *, detail: bool) -> list[Share]:
        params = {k: v for k, v in query.items() if k not in PAGING_KEYS}
        if not ctx.is_admin:
            params = {k: v for k, v in params.items() if k in _SHARE_NON_ADMIN or k == "display_name"}
        sort_key, sort_dir = _sort(params, _SHARE_SORT, "created_at")
        scope_all = all_tenants(ctx, params)
        params.pop("all_tenants", None)
        conditions: list[ColumnElement[bool]] = []
        public = params.pop("is_public", None)
        include_public = False
        if public is not None:
            try:
                include_public = parse_bool(public, strict=True)
            except ValueError:
                raise Invalid(f"Invalid input received: Invalid value for is_public: {public}.") from None
        if not scope_all:
            own = t.shares.c.project_id == ctx.project_id
            project = params.pop("project_id", None) if ctx.is_admin else None
            if project is not None:
                own = t.shares.c.project_id == project
            conditions.append(or_(own, t.shares.c.is_public.is_(True)) if include_public else own)
        if "share_server_id" in params:
            self.policy.authorize(ctx, Rule.SHARE_LIST_BY_SERVER)
            params.pop("share_server_id")
            conditions.append(false())  # Lockstep's drivers use no share servers.
        if "cgsnapshot_id" in params:
            params.pop("cgsnapshot_id")
            conditions.append(false())  # no share attribute carries it (as in Manila)
        metadata = params.pop("metadata", None)
        if metadata is not None:
            for key, value in _literal_dict(metadata, "metadata").items():
                conditions.append(exists(select(t.share_metadata.c.share_id).where(
                    t.share_metadata.c.share_id == t.shares.c.id, t.share_metadata.c.key == str(key),
                    t.share_metadata.c.value == str(value))))
        extra_specs = params.pop("extra_specs", None)
        if extra_specs is not None:
            for key, value in _literal_dict(extra_specs, "extra_specs").items():
                conditions.append(exists(select(t.share_type_extra_specs.c.share_type_id).where(
                    t.share_type_extra_specs.c.share_type_id == t.shares.c.share_type_id,
                    t.share_type_extra_specs.c.key == str(key),
                    t.share_type_extra_specs.c.value.in_(_spec_spellings(value)))))
        for key, value in params.items():
            column = {"display_name": "name", "volume_type_id": "share_type_id"}.get(key, key)
            if column not in _SHARE_COLUMNS:
                conditions.append(false())  # Manila answers an empty list for unknown filters
                continue
            if column == "size":
                if not value.isdigit() or int(value) > _MAX_INT:
                    conditions.append(false())
                    continue
                conditions.append(t.shares.c.size == int(value))
            else:
                conditions.append(t.shares.c[column] == value)
        page = Page(limit=limit, offset=offset, marker=query.get("marker"), sort_key=sort_key, sort_dir=sort_dir)
        with self.db.read() as uow:
            return uow.shares.find(conditions, page, detail=detail)

    def snapshots(self, ctx: RequestContext, query: Mapping[str, str], offset: int, limit: int) -> list[Snapshot]:
        params = {k: v for k, v in query.items() if k not in PAGING_KEYS}
        if params.get("sort_key") == "name":  # Manila maps no `name` sort key for snapshots (display_name works)
            raise Invalid("Invalid input received: Wrong sorting key provided - 'name'.")
        sort_key, sort_dir = _sort(params, _SNAPSHOT_SORT, "created_at")
        scope_all = all_tenants(ctx, params)
        params.pop("all_tenants", None)
        usage = params.pop("usage", None) if ctx.is_admin else None
        if "display_name" in params:
            params["name"] = params.pop("display_name")
        if not ctx.is_admin:
            params = {k: v for k, v in params.items() if k in ("name", "status", "share_id", "size")}
        conditions: list[ColumnElement[bool]] = []
        if not scope_all:
            conditions.append(t.snapshots.c.project_id == ctx.project_id)
        used = exists(select(t.shares.c.id).where(t.shares.c.snapshot_id == t.snapshots.c.id))
        if usage == "used":
            conditions.append(used)
        elif usage == "unused":
            conditions.append(~used)
        elif usage not in (None, "any"):
            raise Invalid(f"Invalid input received: Wrong 'usage' filter provided: '{usage}'.")
        for key, value in params.items():
            if not value:
                raise Invalid(f"Invalid input received: Wrong '{key}' filter provided: '{value}'.")
            if key not in t.snapshots.c:
                conditions.append(false())
            elif key in ("size", "share_size"):
                conditions.append(and_(t.snapshots.c[key] == int(value))
                                  if value.isdigit() and int(value) <= _MAX_INT else false())
            else:
                conditions.append(t.snapshots.c[key] == value)
        page = Page(limit=limit, offset=offset, marker=query.get("marker"), sort_key=sort_key, sort_dir=sort_dir)
        with self.db.read() as uow:
            return uow.snapshots.find(conditions, page)


def _spec_spellings(value: object) -> list[str]:
    text = str(value)
    if isinstance(value, bool) or text.lower() in ("true", "false"):
        word = "True" if (value is True or text.lower() == "true") else "False"
        return [word, word.lower(), f"<is> {word}"]
    return [text]
