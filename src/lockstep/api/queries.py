"""List query strings parsed into typed queries (`lockstep.domain.queries`).

Manila's quirks are kept where clients depend on them and fixed where the spec decides
(`all_tenants` is a boolean, `marker` is honoured). The checks run in Manila's order, which the
tests pin: the first problem found is the one reported.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Container, Mapping
from typing import Any, TypeVar

from lockstep.api.routing import ApiRequest
from lockstep.domain.errors import Invalid
from lockstep.domain.host_services import ServiceQuery
from lockstep.domain.model import parse_bool
from lockstep.domain.queries import (
    CGSnapshotQuery,
    GroupQuery,
    MessageField,
    MessageQuery,
    Page,
    PoolQuery,
    ShareField,
    ShareNetworkField,
    ShareNetworkQuery,
    ShareQuery,
    SnapshotField,
    SnapshotQuery,
)
from lockstep.service.context import RequestContext

F = TypeVar("F", ShareField, SnapshotField)

PAGING_KEYS = ("limit", "offset", "marker")
_MAX_INT = 2**31 - 1  # the INTEGER columns' range: larger filter values match nothing
_SHARE_SORT = {"id", "created_at", "updated_at", "size", "name", "project_id", "user_id", "share_proto",
               "is_public", "task_state", "status", "host", "share_network_id", "share_type_id", "snapshot_id",
               "availability_zone", "consistency_group_id", "description"}
_SHARE_NON_ADMIN = {"name", "status", "share_server_id", "volume_type_id", "share_type_id", "snapshot_id", "host",
                    "share_network_id", "is_public", "metadata", "extra_specs", "sort_key", "sort_dir",
                    "consistency_group_id", "cgsnapshot_id", "all_tenants", "display_name"}
_SHARE_ALIASES = {"display_name": "name", "volume_type_id": "share_type_id"}
_SNAPSHOT_SORT = {"id", "created_at", "updated_at", "size", "share_id", "status", "project_id", "user_id",
                  "share_size", "share_proto", "progress", "name", "description"}
_SNAPSHOT_NON_ADMIN = ("name", "status", "share_id", "size")
_SORT_ALIASES = {"display_name": "name", "share_type": "share_type_id", "volume_type_id": "share_type_id"}
_NETWORK_FIELDS = {str(f) for f in ShareNetworkField}
_NETWORK_INTS = {ShareNetworkField.SEGMENTATION_ID, ShareNetworkField.IP_VERSION, ShareNetworkField.MTU}
_NETWORK_IGNORED = ("limit", "offset", "marker", "sort_key", "sort_dir")


def all_tenants(ctx: RequestContext, params: Mapping[str, str]) -> bool:
    """Decision 2: a boolean, effective for admins only."""
    value = params.get("all_tenants")
    return ctx.is_admin and value is not None and parse_bool(value)


def _page(req: ApiRequest, offset: int, limit: int, sort: tuple[str, str] | None = None) -> Page:
    marker = req.query.get("marker")
    if sort is None:
        return Page(limit=limit, offset=offset, marker=marker)
    return Page(limit=limit, offset=offset, marker=marker, sort_key=sort[0], sort_dir=sort[1])


def _sort(params: dict[str, str], allowed: set[str]) -> tuple[str, str]:
    key = params.pop("sort_key", "created_at")
    direction = params.pop("sort_dir", "desc")
    key = _SORT_ALIASES.get(key, key)
    if key not in allowed:
        raise Invalid(f"Invalid input received: Wrong sorting key provided - '{key}'.")
    if direction not in ("asc", "desc"):
        raise Invalid(f"Invalid input received: Wrong sorting data provided: sort key is '{key}' and sort "
                      f"direction is '{direction}'.")
    return key, direction


def _literal_dict(value: str, what: str) -> dict[Any, Any]:
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


def _spec_spellings(value: object) -> tuple[str, ...]:
    text = str(value)
    if isinstance(value, bool) or text.lower() in ("true", "false"):
        word = "True" if (value is True or text.lower() == "true") else "False"
        return (word, word.lower(), f"<is> {word}")
    return (text,)


def _small_int(value: str) -> int | None:
    """The integer a size filter asks for, or None when no row can match it."""
    if not value.isdigit() or int(value) > _MAX_INT:
        return None
    return int(value)


# shares ---------------------------------------------------------------------------------------------
def shares(req: ApiRequest, offset: int, limit: int) -> ShareQuery:
    ctx = req.ctx
    params = {k: v for k, v in req.query.items() if k not in PAGING_KEYS}
    if not ctx.is_admin:
        params = {k: v for k, v in params.items() if k in _SHARE_NON_ADMIN}
    sort = _sort(params, _SHARE_SORT)
    scope_all = all_tenants(ctx, params)
    params.pop("all_tenants", None)
    include_public = _is_public(params.pop("is_public", None))
    scope: str | None = None
    if not scope_all:
        # An admin's project_id names the scope; with all_tenants it is an ordinary filter (below).
        asked = params.pop("project_id", None) if ctx.is_admin else None
        scope = ctx.project_id if asked is None else asked
    by_share_server = params.pop("share_server_id", None) is not None
    # Lockstep's drivers use no share servers, and no share attribute carries a cgsnapshot (as in Manila).
    nothing = by_share_server or params.pop("cgsnapshot_id", None) is not None
    metadata = params.pop("metadata", None)
    metadata_pairs = () if metadata is None else tuple(
        (str(k), str(v)) for k, v in _literal_dict(metadata, "metadata").items())
    specs = params.pop("extra_specs", None)
    spec_pairs = () if specs is None else tuple(
        (str(k), _spec_spellings(v)) for k, v in _literal_dict(specs, "extra_specs").items())
    equals, unmatched = _equals(params, ShareField, (ShareField.SIZE,), _SHARE_ALIASES)
    return ShareQuery(page=_page(req, offset, limit, sort), scope=scope,
                      include_public=include_public and scope is not None, by_share_server=by_share_server,
                      matches_nothing=nothing or unmatched, equals=equals, metadata=metadata_pairs,
                      extra_specs=spec_pairs)


def _is_public(value: str | None) -> bool:
    if value is None:
        return False
    try:
        return parse_bool(value, strict=True)
    except ValueError:
        raise Invalid(f"Invalid input received: Invalid value for is_public: {value}.") from None


def _equals(params: Mapping[str, str], field_type: type[F], numeric: Container[F],
            aliases: Mapping[str, str] | None = None) -> tuple[tuple[tuple[F, str | int], ...], bool]:
    """Equality filters, and whether one can match nothing (Manila answers unknown filters with [])."""
    names = {str(f) for f in field_type}
    equals: list[tuple[F, str | int]] = []
    unmatched = False
    for key, value in params.items():
        name = (aliases or {}).get(key, key)
        if name not in names:
            unmatched = True
            continue
        field = field_type(name)
        if field not in numeric:
            equals.append((field, value))
        elif (number := _small_int(value)) is not None:
            equals.append((field, number))
        else:
            unmatched = True
    return tuple(equals), unmatched


# snapshots ------------------------------------------------------------------------------------------
def snapshots(req: ApiRequest, offset: int, limit: int) -> SnapshotQuery:
    ctx = req.ctx
    params = {k: v for k, v in req.query.items() if k not in PAGING_KEYS}
    if params.get("sort_key") == "name":  # Manila maps no `name` sort key for snapshots (display_name works)
        raise Invalid("Invalid input received: Wrong sorting key provided - 'name'.")
    sort = _sort(params, _SNAPSHOT_SORT)
    scope_all = all_tenants(ctx, params)
    params.pop("all_tenants", None)
    usage = params.pop("usage", None) if ctx.is_admin else None
    if "display_name" in params:
        params["name"] = params.pop("display_name")
    if not ctx.is_admin:
        params = {k: v for k, v in params.items() if k in _SNAPSHOT_NON_ADMIN}
    used = {None: None, "any": None, "used": True, "unused": False}
    if usage not in used:
        raise Invalid(f"Invalid input received: Wrong 'usage' filter provided: '{usage}'.")
    for key, value in params.items():
        if not value:
            raise Invalid(f"Invalid input received: Wrong '{key}' filter provided: '{value}'.")
    equals, unmatched = _equals(params, SnapshotField, (SnapshotField.SIZE, SnapshotField.SHARE_SIZE))
    return SnapshotQuery(page=_page(req, offset, limit, sort), scope=None if scope_all else ctx.project_id,
                         used=used[usage], matches_nothing=unmatched, equals=equals)


# consistency groups and cgsnapshots -----------------------------------------------------------------
def groups(req: ApiRequest, offset: int, limit: int) -> GroupQuery:
    scope = None if all_tenants(req.ctx, req.query) else req.ctx.project_id
    return GroupQuery(page=_page(req, offset, limit), scope=scope)


def cgsnapshots(req: ApiRequest, offset: int, limit: int) -> CGSnapshotQuery:
    scope = None if all_tenants(req.ctx, req.query) else req.ctx.project_id
    return CGSnapshotQuery(page=_page(req, offset, limit), scope=scope)


def members(req: ApiRequest, offset: int, limit: int) -> Page:
    return _page(req, offset, limit)


# share networks -------------------------------------------------------------------------------------
def share_networks(req: ApiRequest, offset: int, limit: int) -> ShareNetworkQuery:
    params = {k: v for k, v in req.query.items() if k not in ("limit", "offset")}
    asked_all = params.pop("all_tenants", None)
    project = params.pop("project_id", None)
    scope: str | None = project
    if project is None:
        scope = None if asked_all is not None and parse_bool(asked_all) else req.ctx.project_id
    since = _day(params.pop("created_since", None))
    before = _day(params.pop("created_before", None))
    # No security services exist, so no network is linked to one.
    nothing = params.pop("security_service_id", None) is not None
    for key in _NETWORK_IGNORED:
        params.pop(key, None)
    equals, unmatched = _network_equals(params)
    return ShareNetworkQuery(
        offset=offset, limit=limit, scope=scope, asks_all_tenants=asked_all is not None, created_since=since,
        created_before=before + dt.timedelta(days=1) if before is not None else None,
        matches_nothing=nothing or unmatched, equals=equals)


def _day(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise Invalid(f"{value} is not in yyyy-mm-dd format.") from None


def _network_equals(params: Mapping[str, str]) -> tuple[tuple[tuple[ShareNetworkField, str | int], ...], bool]:
    equals: list[tuple[ShareNetworkField, str | int]] = []
    unmatched = False
    for key, value in params.items():
        if key not in _NETWORK_FIELDS:
            raise Invalid(f"Invalid input received: Unknown filter '{key}'.")
        field = ShareNetworkField(key)
        if field not in _NETWORK_INTS:
            equals.append((field, value))
            continue
        try:
            number = int(value)
        except ValueError:
            raise Invalid(f"Invalid input received: '{key}' must be an integer.") from None
        if abs(number) > _MAX_INT:
            unmatched = True
        else:
            equals.append((field, number))
    return tuple(equals), unmatched


# pools ----------------------------------------------------------------------------------------------
def pools(req: ApiRequest) -> PoolQuery:
    params = dict(req.query)
    share_type = params.pop("share_type", None) if req.at_least(2, 23) else None
    return PoolQuery(patterns=tuple(params.items()), share_type=share_type)


# user messages --------------------------------------------------------------------------------------
_MESSAGE_SORT = {"id", "project_id", "request_id", "resource_type", "resource_id", "action_id", "detail_id",
                 "message_level", "created_at", "expires_at"}


def messages(req: ApiRequest, offset: int, limit: int) -> MessageQuery:
    """Manila's legal filters (others are ignored); the time filters from 2.52; any column sorts."""
    params = {k: v for k, v in req.query.items() if k not in PAGING_KEYS}
    since = before = None
    if req.at_least(2, 52):
        since = _isotime(params, "created_since")
        before = _isotime(params, "created_before")
    sort_key = params.pop("sort_key", "created_at")
    sort_dir = "desc" if params.pop("sort_dir", "desc") == "desc" else "asc"  # as Manila: anything else is asc
    if sort_key not in _MESSAGE_SORT:
        raise Invalid(f"Invalid input received: Invalid sort key {sort_key}.")
    equals = tuple((field, params[str(field)]) for field in MessageField if str(field) in params)
    return MessageQuery(page=_page(req, offset, limit, (sort_key, sort_dir)), scope=req.ctx.scope(),
                        equals=equals, created_since=since, created_before=before)


def _isotime(params: Mapping[str, str], key: str) -> dt.datetime | None:
    value = params.get(key)
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"Invalid value specified for the query key: {key}") from None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


# services -------------------------------------------------------------------------------------------
def host_services(req: ApiRequest) -> ServiceQuery:
    """Exact filters. As in Manila, a status other than enabled/disabled, or (from 2.93) an `ensuring` that
    is not a boolean, matches nothing rather than failing; `topic` is the binary's name."""
    query = req.query
    nothing = False
    status = query.get("status")
    disabled = None
    if status:
        nothing = status not in ("enabled", "disabled")
        disabled = status == "disabled"
    ensuring = query.get("ensuring") if req.at_least(2, 93) else None
    if ensuring is not None:
        try:
            nothing = nothing or parse_bool(ensuring, strict=True)  # no service of Lockstep is ever ensuring
        except ValueError:
            nothing = True
    binary, topic = query.get("binary"), query.get("topic")
    if topic is not None and binary is not None and topic != binary:
        nothing = True
    return ServiceQuery(host=query.get("host"), binary=binary if binary is not None else topic,
                        zone=query.get("zone") or None, state=query.get("state"), disabled=disabled,
                        matches_nothing=nothing)
