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
from dataclasses import replace
from typing import Any, TypeVar

from lockstep.api.routing import ApiRequest
from lockstep.domain.access import ACCESS_LEVELS, AccessType, check_grantee
from lockstep.domain.errors import Invalid
from lockstep.domain.host_services import ServiceQuery
from lockstep.domain.model import parse_bool
from lockstep.domain.queries import (
    AccessRuleField,
    AccessRuleQuery,
    CGSnapshotField,
    CGSnapshotQuery,
    GroupField,
    GroupQuery,
    MessageField,
    MessageQuery,
    Page,
    PoolQuery,
    SecurityServiceField,
    SecurityServiceQuery,
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
_SHARE_ALIASES = {"display_name": "name", "volume_type_id": "share_type_id", "display_description": "description"}
# Filters Manila added after 2.30: below its version a key is dropped, as if it had not been sent.
_SHARE_FILTERS_SINCE = {
    "export_location_id": (2, 35), "export_location_path": (2, 35),
    "name~": (2, 36), "description~": (2, 36), "description": (2, 36),
    "is_soft_deleted": (2, 69), "encryption_key_ref": (2, 90), "availability_zone": (2, 97),
}
# ... and the ones a non-admin may use (Manila 23's list; `display_description` at every version).
_SHARE_NON_ADMIN_LATER = {"export_location_id", "export_location_path", "name~", "description~", "description",
                          "display_description", "is_soft_deleted", "mount_point_name", "availability_zone"}
_SNAPSHOT_FILTERS_SINCE = {"name~": (2, 36), "description~": (2, 36), "description": (2, 36)}
_SNAPSHOT_SORT = {"id", "created_at", "updated_at", "size", "share_id", "status", "project_id", "user_id",
                  "share_size", "share_proto", "progress", "name", "description"}
_SNAPSHOT_NON_ADMIN = ("name", "status", "share_id", "size", "name~", "description~", "description",
                       "display_description")
_SORT_ALIASES = {"display_name": "name", "share_type": "share_type_id", "volume_type_id": "share_type_id"}
_NETWORK_FIELDS = {str(f) for f in ShareNetworkField}
_NETWORK_INTS = {ShareNetworkField.SEGMENTATION_ID, ShareNetworkField.IP_VERSION, ShareNetworkField.MTU}
_NETWORK_IGNORED = ("limit", "offset", "marker", "sort_key", "sort_dir")
_SECURITY_SERVICE_FIELDS = {str(f) for f in SecurityServiceField}
_SECURITY_SERVICE_NON_ADMIN = ("name", "id", "type", "user", "server", "dns_ip", "domain")


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


def literal_dict(value: str, what: str) -> dict[Any, Any]:
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


def spec_spellings(value: object) -> tuple[str, ...]:
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
def shares(req: ApiRequest, offset: int, limit: int, *, zones: tuple[str, str] = ("", "")) -> ShareQuery:
    """`zones`: the name and id of the one availability zone served (the 2.97 filter takes either)."""
    ctx = req.ctx
    params = _since(req, {k: v for k, v in req.query.items() if k not in PAGING_KEYS}, _SHARE_FILTERS_SINCE)
    params.pop("with_count", None)  # not a filter (the route reads it)
    if req.at_least(2, 31) and "share_group_id" in params:
        # One store: a share group is the consistency group of the same id.
        params["consistency_group_id"] = params.pop("share_group_id")
    if not ctx.is_admin:
        params = {k: v for k, v in params.items() if k in _SHARE_NON_ADMIN or k in _SHARE_NON_ADMIN_LATER}
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
    later = _later_share_filters(params, zones)
    metadata = params.pop("metadata", None)
    metadata_pairs = () if metadata is None else tuple(
        (str(k), str(v)) for k, v in literal_dict(metadata, "metadata").items())
    specs = params.pop("extra_specs", None)
    spec_pairs = () if specs is None else tuple(
        (str(k), spec_spellings(v)) for k, v in literal_dict(specs, "extra_specs").items())
    equals, unmatched = _equals(params, ShareField, (ShareField.SIZE,), _SHARE_ALIASES)
    return replace(later, page=_page(req, offset, limit, sort), scope=scope,
                   include_public=include_public and scope is not None, by_share_server=by_share_server,
                   matches_nothing=later.matches_nothing or nothing or unmatched, equals=equals,
                   metadata=metadata_pairs, extra_specs=spec_pairs)


def _since(req: ApiRequest, params: dict[str, str], since: Mapping[str, tuple[int, int]]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in since or req.version.tuple >= since[k]}


def _later_share_filters(params: dict[str, str], zones: tuple[str, str]) -> ShareQuery:
    """The filters of 2.35-2.97, taken out of `params` (a ShareQuery holding only them)."""
    location_id = params.pop("export_location_id", None) or None
    location_path = params.pop("export_location_path", None) or None
    name_like = params.pop("name~", None) or None
    description_like = params.pop("description~", None) or None
    soft_deleted = _strict_bool(params.pop("is_soft_deleted", None), "is_soft_deleted")
    zone = params.pop("availability_zone", None)
    # No share has an encryption key or a mount point name (both are refused at create).
    nothing = bool(params.pop("encryption_key_ref", None)) | bool(params.pop("mount_point_name", None))
    if zone:
        if zone in zones:
            params["availability_zone"] = zones[0]
        else:
            nothing = True
    named = "name" in params or "display_name" in params
    described = "description" in params or "display_description" in params
    return ShareQuery(page=Page(limit=0), scope=None, matches_nothing=nothing,
                      export_location_id=location_id, export_location_path=location_path,
                      name_contains=None if named else name_like,
                      description_contains=None if described else description_like,
                      soft_deleted=bool(soft_deleted))


def with_count(req: ApiRequest, since: tuple[int, int] | None) -> bool:
    """`with_count=<bool>` (shares 2.42, snapshots 2.79; None: every version, as Manila's detail lists)."""
    if since is not None and req.version.tuple < since:
        return False
    return bool(_strict_bool(req.query.get("with_count"), "with_count"))


def _strict_bool(value: str | None, key: str) -> bool | None:
    if value is None:
        return None
    try:
        return parse_bool(value, strict=True)
    except ValueError:
        raise Invalid(f"Invalid value {value} for {key}. Expecting a boolean.") from None


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
    params = _since(req, {k: v for k, v in req.query.items() if k not in PAGING_KEYS}, _SNAPSHOT_FILTERS_SINCE)
    params.pop("with_count", None)  # not a filter (the route reads it)
    if params.get("sort_key") == "name":  # Manila maps no `name` sort key for snapshots (display_name works)
        raise Invalid("Invalid input received: Wrong sorting key provided - 'name'.")
    sort = _sort(params, _SNAPSHOT_SORT)
    scope_all = all_tenants(ctx, params)
    params.pop("all_tenants", None)
    usage = params.pop("usage", None) if ctx.is_admin else None
    if "display_name" in params:
        params["name"] = params.pop("display_name")
    metadata = params.pop("metadata", None)  # a filter from 2.73, ignored before
    metadata_pairs = _snapshot_metadata(metadata) if metadata is not None and req.at_least(2, 73) else ()
    if not ctx.is_admin:
        params = {k: v for k, v in params.items() if k in _SNAPSHOT_NON_ADMIN}
    used = {None: None, "any": None, "used": True, "unused": False}
    if usage not in used:
        raise Invalid(f"Invalid input received: Wrong 'usage' filter provided: '{usage}'.")
    for key, value in params.items():
        if not value:
            raise Invalid(f"Invalid input received: Wrong '{key}' filter provided: '{value}'.")
    name_like, description_like = params.pop("name~", None), params.pop("description~", None)
    if "display_description" in params:
        params["description"] = params.pop("display_description")
    equals, unmatched = _equals(params, SnapshotField, (SnapshotField.SIZE, SnapshotField.SHARE_SIZE))
    return SnapshotQuery(page=_page(req, offset, limit, sort), scope=None if scope_all else ctx.project_id,
                         used=used[usage], matches_nothing=unmatched, equals=equals,
                         name_contains=None if "name" in params else name_like,
                         description_contains=None if "description" in params else description_like,
                         metadata=metadata_pairs)



def _snapshot_metadata(value: str) -> tuple[tuple[str, str], ...]:
    """`?metadata={'k': 'v'}` (a Python literal, as Manila reads it)."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise Invalid("Invalid value for metadata filter.") from None
    if not isinstance(parsed, dict):
        raise Invalid("Invalid value for metadata filter.")
    return tuple((str(k), str(v)) for k, v in parsed.items())


# consistency groups and cgsnapshots -----------------------------------------------------------------
def groups(req: ApiRequest, offset: int, limit: int) -> GroupQuery:
    scope = None if all_tenants(req.ctx, req.query) else req.ctx.project_id
    return GroupQuery(page=_page(req, offset, limit), scope=scope)


def cgsnapshots(req: ApiRequest, offset: int, limit: int) -> CGSnapshotQuery:
    scope = None if all_tenants(req.ctx, req.query) else req.ctx.project_id
    return CGSnapshotQuery(page=_page(req, offset, limit), scope=scope)


def members(req: ApiRequest, offset: int, limit: int) -> Page:
    return _page(req, offset, limit)


# share groups and share group snapshots (2.31+) -----------------------------------------------------
_SHARE_GROUP_FIELDS = {str(f): f for f in GroupField} | {
    "group_type_id": GroupField.SHARE_GROUP_TYPE_ID,
    "source_share_group_snapshot_id": GroupField.SOURCE_CGSNAPSHOT_ID,
}
_SHARE_GROUP_CONTAINS = {"name~": GroupField.NAME, "description~": GroupField.DESCRIPTION}
_SHARE_GROUP_SNAPSHOT_FIELDS = {str(f): f for f in CGSnapshotField} | {
    "share_group_id": CGSnapshotField.CONSISTENCY_GROUP_ID}
_SHARE_GROUP_SNAPSHOT_SORT = {k: str(v) for k, v in _SHARE_GROUP_SNAPSHOT_FIELDS.items()} | {
    "created_at": "created_at", "updated_at": "updated_at"}
_SHARE_GROUP_SORT = {k: str(v) for k, v in _SHARE_GROUP_FIELDS.items()} | {
    "created_at": "created_at", "updated_at": "updated_at"}


def _group_page(req: ApiRequest, params: dict[str, str], offset: int, limit: int,
                sortable: Mapping[str, str]) -> Page:
    """Share-group lists sort as Manila's database layer did: direction first, then the key."""
    key = params.pop("sort_key", "created_at")
    direction = params.pop("sort_dir", "desc")
    if direction.lower() not in ("asc", "desc"):
        raise Invalid(f"Invalid input received: Wrong sorting data provided: sort key is '{key}' and sort "
                      f"direction is '{direction}'.")
    if key not in sortable:
        raise Invalid(f"Invalid input received: Wrong sorting key provided - '{key}'.")
    return _page(req, offset, limit, (sortable[key], direction.lower()))


def share_groups(req: ApiRequest, offset: int, limit: int) -> GroupQuery:
    params = {k: v for k, v in req.query.items() if k not in PAGING_KEYS}
    scope = None if all_tenants(req.ctx, params) else req.ctx.project_id
    params.pop("all_tenants", None)
    sort: dict[str, str] = {k: params.pop(k) for k in ("sort_key", "sort_dir") if k in params}
    contains = []
    for key, field in _SHARE_GROUP_CONTAINS.items():
        value = params.pop(key, None)
        if value is not None and req.at_least(2, 36):  # ignored before 2.36, as Manila did
            contains.append((field, value))
    equals = []
    for key, value in params.items():
        if key not in _SHARE_GROUP_FIELDS:
            raise Invalid(f"Invalid input received: Share groups cannot be filtered using '{key}' key.")
        equals.append((_SHARE_GROUP_FIELDS[key], value))
    return GroupQuery(page=_group_page(req, sort, offset, limit, _SHARE_GROUP_SORT), scope=scope,
                      equals=tuple(equals), contains=tuple(contains))


def share_group_snapshots(req: ApiRequest, offset: int, limit: int) -> CGSnapshotQuery:
    params = {k: v for k, v in req.query.items() if k not in PAGING_KEYS}
    scope = None if all_tenants(req.ctx, params) else req.ctx.project_id
    params.pop("all_tenants", None)
    sort: dict[str, str] = {k: params.pop(k) for k in ("sort_key", "sort_dir") if k in params}
    equals = []
    for key, value in params.items():
        if key not in _SHARE_GROUP_SNAPSHOT_FIELDS:
            raise Invalid(f"Invalid input received: Share group snapshots cannot be filtered using '{key}' key.")
        equals.append((_SHARE_GROUP_SNAPSHOT_FIELDS[key], value))
    return CGSnapshotQuery(page=_group_page(req, sort, offset, limit, _SHARE_GROUP_SNAPSHOT_SORT), scope=scope,
                           equals=tuple(equals))


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
    security_service_id = params.pop("security_service_id", None)
    for key in _NETWORK_IGNORED:
        params.pop(key, None)
    # 2.36's inexact filters; below 2.36 Manila rejected them as unknown filters, as Lockstep does.
    name_like = params.pop("name~", None) if req.at_least(2, 36) else None
    description_like = params.pop("description~", None) if req.at_least(2, 36) else None
    equals, unmatched = _network_equals(params)
    return ShareNetworkQuery(
        offset=offset, limit=limit, scope=scope, asks_all_tenants=asked_all is not None, created_since=since,
        created_before=before + dt.timedelta(days=1) if before is not None else None,
        matches_nothing=unmatched, equals=equals, security_service_id=security_service_id,
        name_contains=name_like, description_contains=description_like)


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


# security services ----------------------------------------------------------------------------------
def security_services(req: ApiRequest, offset: int, limit: int) -> tuple[SecurityServiceQuery, bool]:
    """The query, and whether `all_tenants` asks for every project's (the use case checks the policy)."""
    params = {k: v for k, v in req.query.items() if k not in PAGING_KEYS}
    params.pop("status", None)  # no longer an attribute; Manila dropped the filter
    network_id = params.pop("share_network_id", None)
    asked_all = params.pop("all_tenants", None)
    if not req.ctx.is_admin:
        params = {k: v for k, v in params.items() if k in _SECURITY_SERVICE_NON_ADMIN}
    equals = tuple((SecurityServiceField(k), v) for k, v in params.items() if k in _SECURITY_SERVICE_FIELDS)
    query = SecurityServiceQuery(offset=offset, limit=limit,
                                 scope=None if network_id is not None else req.ctx.project_id,
                                 share_network_id=network_id, matches_nothing=len(equals) != len(params),
                                 equals=equals)
    return query, asked_all is not None and parse_bool(asked_all)


# pools ----------------------------------------------------------------------------------------------
def pools(req: ApiRequest) -> PoolQuery:
    params = dict(req.query)
    share_type = params.pop("share_type", None) if req.at_least(2, 23) else None
    return PoolQuery(patterns=tuple(params.items()), share_type=share_type)


# access rules ---------------------------------------------------------------------------------------
_RULE_FILTERS = {str(f) for f in AccessRuleField}


def access_rules(req: ApiRequest) -> tuple[AccessRuleQuery, bool]:
    """`GET /share-access-rules`: the query, and whether rules a visibility lock hides from the caller
    are left out (when it filters on what such a lock hides). Filters other than these are ignored."""
    params = dict(req.query)
    share_id = params.pop("share_id", None)
    if share_id is None:
        raise Invalid("The field 'share_id' has to be specified.")
    metadata = params.pop("metadata", None)
    metadata_pairs = () if metadata is None else tuple(
        (str(k), str(v)) for k, v in literal_dict(metadata, "metadata").items())
    if req.at_least(2, 82):
        _check_rule_filters(params)
    equals = tuple((AccessRuleField(k), v) for k, v in params.items() if k in _RULE_FILTERS)
    query = AccessRuleQuery(share_id=share_id, equals=equals, metadata=metadata_pairs)
    return query, "access_to" in params or "access_key" in params


def _check_rule_filters(params: Mapping[str, str]) -> None:
    """2.82 validates the filters it added (as a grant would, for a type and target)."""
    access_type = params.get("access_type")
    access_to = params.get("access_to")
    if access_type and access_type not in [str(t) for t in AccessType]:
        raise Invalid(f"Invalid or unsupported share access type: {access_type}.")
    if access_to and not access_type:
        raise Invalid("Invalid input received: 'access_type' parameter must be provided when specifying "
                      "'access_to'..")
    if access_type and access_to:
        check_grantee(access_type, access_to, cephx=True, ipv6=True)
    level = params.get("access_level")
    if level and level not in ACCESS_LEVELS:
        raise Invalid(f"Invalid or unsupported share access level: {level}.")


# share group types ----------------------------------------------------------------------------------
def group_specs(req: ApiRequest) -> dict[str, str] | None:
    """The `group_specs` filter of the share group type list (2.66+): `{'key': 'value'}`, all must match."""
    value = req.query.get("group_specs")
    if not value:
        return None
    if not req.at_least(2, 66):
        raise Invalid("Filter by 'group_specs' is not supported by this microversion. Use 2.66 or greater "
                      "microversion to be able to use filter search by 'group_specs.")
    parsed = literal_dict(value, "group_specs")
    return {str(k): ("True" if v is True else "False" if v is False else str(v)) for k, v in parsed.items()}


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
