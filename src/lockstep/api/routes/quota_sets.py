"""/quota-sets (`/os-quota-sets` up to 2.6) and /limits."""

from __future__ import annotations

from typing import Any

from lockstep.api import supporting_views
from lockstep.api.routing import ALL_VERSIONS, ApiRequest, Reply, Router
from lockstep.domain.errors import Invalid
from lockstep.domain.model import parse_bool
from lockstep.domain.quotas import MAX_LIMIT, Resource
from lockstep.service.commands import Checked, QuotaTarget, UpdateQuotas
from lockstep.service.policy import Rule
from lockstep.service.services import Services
from lockstep.service.validation import MAX_ID

LEGACY = ALL_VERSIONS.until("2.6")
CURRENT = ALL_VERSIONS.since("2.7")
# Quota keys later versions added; a request below that version may not name them.
KEY_SINCE: dict[Resource, tuple[int, int]] = {
    Resource.SHARE_GROUPS: (2, 40), Resource.SHARE_GROUP_SNAPSHOTS: (2, 40),
    Resource.SHARE_REPLICAS: (2, 53), Resource.REPLICA_GIGABYTES: (2, 53),
    Resource.PER_SHARE_GIGABYTES: (2, 62),
}
NON_QUOTA_KEYS = ("tenant_id", "id", "force", "share_type")
_RESOURCES = {str(r) for r in Resource}


def target(req: ApiRequest) -> QuotaTarget:
    share_type = req.query.get("share_type") or None
    if share_type and not req.at_least(2, 39):
        raise Invalid("'share_type' key is not supported by this microversion. Use 2.39 or greater microversion to "
                      "be able to use 'share_type' quotas.")
    project, user = req.params["id"], req.query.get("user_id") or None
    for what, value in (("project", project), ("user", user or "")):
        if len(value) > MAX_ID:
            raise Invalid(f"Invalid input received: the {what} id is longer than {MAX_ID} characters.")
    return QuotaTarget(project, user, share_type)


def update_command(req: ApiRequest) -> UpdateQuotas:
    quota_target = target(req)
    body: Any = req.body.get("quota_set", {}) if isinstance(req.body, dict) else {}
    if not isinstance(body, dict):
        body = {}
    for resource, since in KEY_SINCE.items():
        if body.get(str(resource)) is not None and req.version.tuple < since:
            version = f"{since[0]}.{since[1]}"
            raise Invalid(f"'{resource}' key is not supported by this microversion. Use {version} or greater "
                          f"microversion to be able to use '{resource}' quotas.")
    if all(body.get(name) is None for name in _RESOURCES):
        raise Invalid("Must supply at least one quota field to update.")
    names_groups = bool(body.get("share_groups", body.get("share_group_snapshots")))
    try:
        limits: Checked[dict[Resource, int]] = _limits(body, by_share_type=quota_target.share_type is not None)
    except Invalid as refused:
        limits = refused  # reported after the share type is looked up (Manila's order)
    return UpdateQuotas(quota_target, limits, force=parse_bool(body.get("force", False)), names_groups=names_groups)


def _limits(body: dict[str, Any], *, by_share_type: bool) -> dict[Resource, int]:
    """The new limits in the body's order; null values are skipped, as in Manila."""
    values: dict[Resource, int] = {}
    bad: list[str] = []
    for key, value in body.items():
        if key == "share_networks" and by_share_type:
            raise Invalid("'share_networks' quota cannot be set for share type. It can be set only for project "
                          "or user.")
        if key not in _RESOURCES:
            if key not in NON_QUOTA_KEYS:
                bad.append(key)
            continue
        if value is None or value == "":
            continue
        values[Resource(key)] = _integer(key, value)
    if bad:
        raise Invalid(f"Bad key(s) {','.join(bad)} in quota_set.")
    return values


def _integer(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise Invalid(f"Quota '{value}' for {key} should be integer.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Invalid(f"Quota '{value}' for {key} should be integer.") from None
    if number > MAX_LIMIT:
        raise Invalid(f"Quota limit must be less than {MAX_LIMIT}.")
    return number


def register(router: Router, s: Services) -> None:
    def show(req: ApiRequest, detail: bool = False) -> Reply:
        found = s.quotas.show(req.ctx, target(req), detail=detail)
        return Reply(200, supporting_views.quota_set(req, found))

    def defaults(req: ApiRequest) -> Reply:
        return Reply(200, supporting_views.quota_set(req, s.quotas.defaults(req.params["id"])))

    def update(req: ApiRequest) -> Reply:
        updated = s.quotas.update(req.ctx, update_command(req))
        return Reply(200, supporting_views.quota_set(req, updated, with_id=False))

    def delete(req: ApiRequest) -> Reply:
        s.quotas.reset(req.ctx, target(req))
        return Reply(202)

    for prefix, scope in (("/os-quota-sets", LEGACY), ("/quota-sets", CURRENT)):
        # quota_set:show is checked against the caller's own project; another project's set is refused
        # by the use case (403), as Manila did.
        router.add("GET", prefix + "/{id}", show, rule=Rule.QUOTA_SHOW, scope=scope)
        router.add("GET", prefix + "/{id}/defaults", defaults, rule=Rule.QUOTA_SHOW, scope=scope)
        router.add("PUT", prefix + "/{id}", update, rule=Rule.QUOTA_UPDATE, scope=scope)
        router.add("DELETE", prefix + "/{id}", delete, rule=Rule.QUOTA_DELETE, scope=scope)
    router.add("GET", "/quota-sets/{id}/detail", lambda r: show(r, detail=True), rule=Rule.QUOTA_SHOW,
               scope=CURRENT.since("2.25"))

    def limits(req: ApiRequest) -> Reply:
        return Reply(200, supporting_views.limits(req, s.quotas.absolute_limits(req.ctx)))

    router.add("GET", "/limits", limits, rule=Rule.LIMITS)
