"""The route table: every route is guarded by a policy rule, and every rule guards something."""

from __future__ import annotations

from sqlalchemy import create_engine

from lockstep.api.routes import register_all
from lockstep.api.routing import OnTarget, Router
from lockstep.bootstrap import build_services
from lockstep.config import Settings
from lockstep.service.policy import Rule

# Rules other rules are written in terms of.
BASE = {Rule.CONTEXT_IS_ADMIN, Rule.ADMIN_OR_OWNER, Rule.DEFAULT, Rule.ADMIN_API, Rule.ADMIN_OR_OWNER_USER}
# Checked by a list use case only when the query asks for it (other projects, a share server), or by a
# use case only when the body asks for it (a forced extend, an admin-only metadata key) or the share's
# type limits it (extending past provisioning:max_share_size).
CONDITIONAL = {Rule.SHARE_LIST_BY_SERVER, Rule.NETWORK_GET_ALL, Rule.SHARE_FORCE_EXTEND,
               Rule.SHARE_EXTEND_BEYOND_MAX_SIZE, Rule.SHARE_UPDATE_ADMIN_ONLY_METADATA}
# Checked by the access rule use cases only when a rule carries a lock (or a grant asks for one).
LOCKS = {Rule.RESOURCE_LOCK_CREATE, Rule.RESOURCE_LOCK_DELETE, Rule.RESOURCE_LOCK_BYPASS_SHOW}
# Checked, as in Manila, by every use case that loads one access rule, behind its route's own rule.
BEHIND_ANOTHER = {Rule.SHARE_ACCESS_GET}
CONDITIONAL |= {Rule.SECURITY_SERVICE_GET_ALL}  # all_tenants on /security-services (ignored when refused)


def route_table() -> Router:
    services = build_services(Settings(), create_engine("sqlite://"))
    router = Router(services.policy)
    register_all(router, services)
    return router


def test_every_rule_guards_a_route_or_a_query() -> None:
    guarded = {r.guard.rule if isinstance(r.guard, OnTarget) else r.guard for r in route_table().routes}
    assert set(Rule) - BASE - CONDITIONAL - LOCKS - BEHIND_ANOTHER == guarded


def test_os_actions_have_their_plain_spelling() -> None:
    """Manila renamed `os-<action>` (up to 2.6) to `<action>` (from 2.7); both are served."""
    actions = {(r.template, r.action, str(r.scope.min), str(r.scope.max)) for r in route_table().routes if r.action}
    plain = {(template, action, since) for template, action, since, _ in actions}
    for template, action, _, until in actions:
        if action.startswith("os-"):
            assert until == "2.6"
            assert (template, action.removeprefix("os-"), "2.7") in plain
