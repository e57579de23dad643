"""Access rules: the share actions (grant, revoke, the legacy list) and `/share-access-rules` (2.45+)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from lockstep.api import bodies, queries, views
from lockstep.api.errors import GENERIC_400, HTTPFault
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, OnTarget, Reply, Router
from lockstep.domain.access import ACCESS_LEVELS, MAX_LOCK_REASON, check_grantee, check_level
from lockstep.domain.errors import Invalid, NotFound
from lockstep.domain.model import parse_bool
from lockstep.domain.queries import AccessRuleQuery
from lockstep.service.access import SeenRule
from lockstep.service.commands import AccessLocks, Checked, DenyAccess, GrantAccess, Grantee, SetAccessMetadata
from lockstep.service.policy import Rule
from lockstep.service.services import Services

T = TypeVar("T")

SINCE_RULES_API = ALL_VERSIONS.since("2.45")


# Bodies -------------------------------------------------------------------------------------
def _deferred(parse: Callable[[], T]) -> Checked[T]:
    """A check Manila made only after it found the share: reported then, not now."""
    try:
        return parse()
    except Invalid as error:
        return error


def _arguments(req: ApiRequest, name: str) -> dict[str, Any]:
    """The action's object (`{"allow_access": {...}}`)."""
    if not isinstance(req.action_body, dict):
        spelled = name if req.at_least(2, 7) else f"os-{name}"
        raise Invalid(f"Invalid input received: '{spelled}' must be an object.")
    return req.action_body


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    try:
        return parse_bool(value, strict=True) if value is not None else False
    except ValueError:
        raise Invalid(f"Invalid input received: '{key}' must be a boolean.") from None


def _string(body: dict[str, Any], key: str) -> str:
    if key not in body:
        raise Invalid(f"Invalid input received: '{key}' must be given.")
    value = body[key]
    if not isinstance(value, str):
        raise Invalid(f"Invalid input received: '{key}' must be a string.")
    return value


def _locks(body: dict[str, Any]) -> AccessLocks:
    locks = AccessLocks(deletion=_flag(body, "lock_deletion"), visibility=_flag(body, "lock_visibility"),
                        reason=_reason(body))
    if locks.reason and not locks.any:
        raise Invalid("Lock reason can only be specified when locking the visibility or the deletion of an "
                      "access rule.")
    return locks


def _reason(body: dict[str, Any]) -> str | None:
    value = body.get("lock_reason")
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid("Invalid input received: 'lock_reason' must be a string.")
    if len(value) > MAX_LOCK_REASON:
        raise Invalid(f"Invalid input received: 'lock_reason' is longer than {MAX_LOCK_REASON} characters.")
    return value


def _grantee(body: dict[str, Any], req: ApiRequest) -> Grantee:
    if "access_type" not in body:
        raise Invalid("Invalid input received: 'access_type' must be given.")
    access_to = _string(body, "access_to")
    access_type = body["access_type"]
    check_grantee(str(access_type), access_to, cephx=req.at_least(2, 13), ipv6=req.at_least(2, 38))
    return Grantee(str(access_type), access_to)


def grant_command(req: ApiRequest) -> GrantAccess:
    body = _arguments(req, "allow_access")
    locks = _deferred(lambda: _locks(body)) if req.at_least(2, 82) else AccessLocks()
    metadata = _deferred(lambda: bodies.check_metadata(body.get("metadata"))) if req.at_least(2, 45) else {}
    return GrantAccess(
        share_id=req.params["id"], locks=locks, grantee=_deferred(lambda: _grantee(body, req)),
        access_level=_deferred(lambda: check_level(body.get("access_level"))), metadata=metadata,
        refuse_if_rules_failed=not req.at_least(2, 28), refuse_if_share_failed=not req.at_least(2, 74),
    )


def deny_command(req: ApiRequest) -> DenyAccess:
    body = _arguments(req, "deny_access")
    return DenyAccess(share_id=req.params["id"], access_id=_string(body, "access_id"),
                      unrestrict=_flag(body, "unrestrict") if req.at_least(2, 82) else False,
                      refuse_if_share_failed=not req.at_least(2, 74))


def _rule_metadata(value: dict[Any, Any]) -> dict[str, str]:
    """Metadata set on an existing rule; Manila's messages here are terser than a grant's."""
    for key, item in value.items():
        if not key:
            raise Invalid("Invalid metadata.")
        if len(key) > 255:
            raise Invalid("Invalid metadata size.")
        if not item:
            raise Invalid("Invalid metadata.")
        if not isinstance(item, str):
            raise Invalid("Malformed request body")
        if len(item) > 1023:
            raise Invalid("Invalid metadata size.")
    return dict(value)


def _object(body: Any, key: str) -> dict[Any, Any]:
    """Manila's `is_valid_body`: `{key: {...}}`, else a bare 400."""
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise HTTPFault(400, GENERIC_400)
    inner: dict[Any, Any] = body[key]
    return inner


def _level_update(body: Any) -> str:
    level = _object(body, "update_access").get("access_level")
    if not level:
        raise Invalid("Invalid input. Missing 'access_level' in update request.")
    if level not in ACCESS_LEVELS:
        raise Invalid(f"Invalid or unsupported share access level: {level}.")
    return str(level)


# Routes -------------------------------------------------------------------------------------
def register(router: Router, s: Services) -> None:
    def listed(req: ApiRequest, rules: list[SeenRule]) -> Reply:
        return Reply(200, {"access_list": [views.access_rule(req, seen, with_share_id=False) for seen in rules]})

    def grant(req: ApiRequest) -> Reply:
        seen = s.access.grant(req.ctx, grant_command(req))
        return Reply(200, {"access": views.access_rule(req, seen, with_share_id=True)})

    def deny(req: ApiRequest) -> Reply:
        s.access.deny(req.ctx, deny_command(req))
        return Reply(202)

    def access_list(req: ApiRequest) -> Reply:
        return listed(req, s.access.rules(req.ctx, AccessRuleQuery(share_id=req.params["id"])))

    def index(req: ApiRequest) -> Reply:
        query, hide_restricted = queries.access_rules(req)
        try:
            rules = s.access.rules(req.ctx, query, hide_restricted=hide_restricted)
        except NotFound:
            raise Invalid(f"Share {query.share_id} not found.") from None
        return listed(req, rules)

    def show(req: ApiRequest) -> Reply:
        return Reply(200, {"access": views.access_rule(req, s.access.get(req.ctx, req.params["id"]),
                                                       with_share_id=True)})

    def update(req: ApiRequest) -> Reply:
        seen = s.access.update_level(req.ctx, req.params["id"], _level_update(req.body))
        return Reply(200, {"access": views.access_rule(req, seen, with_share_id=True)})

    def set_metadata(req: ApiRequest) -> Reply:
        metadata = _object(req.body, "metadata")
        cmd = SetAccessMetadata(req.params["id"], _deferred(lambda: _rule_metadata(metadata)))
        return Reply(200, {"metadata": s.access.set_metadata(req.ctx, cmd)})

    def delete_metadata(req: ApiRequest) -> Reply:
        s.access.delete_metadata(req.ctx, req.params["id"], req.params["key"])
        return Reply(200)

    path = "/shares/{id}/action"
    router.add_admin_action(path, "allow_access", grant, rule=Rule.SHARE_ALLOW_ACCESS)
    router.add_admin_action(path, "deny_access", deny, rule=Rule.SHARE_DENY_ACCESS)
    # Checked once the share is found (Manila answered 404 before this rule's 403); gone from 2.45.
    router.add_admin_action(path, "access_list", access_list, rule=OnTarget(Rule.SHARE_ACCESS_GET_ALL),
                            scope=ALL_VERSIONS.until("2.44"))
    router.add("GET", "/share-access-rules", index, rule=Rule.ACCESS_RULE_INDEX, scope=SINCE_RULES_API)
    router.add("GET", "/share-access-rules/{id}", show, rule=Rule.ACCESS_RULE_GET, scope=SINCE_RULES_API)
    router.add("PUT", "/share-access-rules/{id}", update, rule=Rule.ACCESS_RULE_UPDATE,
               scope=ALL_VERSIONS.since("2.88"))
    router.add("PUT", "/share-access-rules/{id}/metadata", set_metadata, rule=Rule.ACCESS_METADATA_UPDATE,
               scope=SINCE_RULES_API)
    router.add("DELETE", "/share-access-rules/{id}/metadata/{key}", delete_metadata,
               rule=Rule.ACCESS_METADATA_DELETE, scope=SINCE_RULES_API)
