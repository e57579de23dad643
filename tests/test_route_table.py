"""The route table: every route is guarded by a policy rule, and every rule guards something."""

from __future__ import annotations

from sqlalchemy import create_engine

from lockstep.api.routes import register_all
from lockstep.api.routing import OnTarget, Router
from lockstep.bootstrap import build_services
from lockstep.config import Settings
from lockstep.service.policy import Rule

# Rules other rules are written in terms of.
BASE = {Rule.CONTEXT_IS_ADMIN, Rule.ADMIN_OR_OWNER, Rule.DEFAULT, Rule.ADMIN_API}
# Checked by a list use case only when the query asks for it (other projects, a share server).
CONDITIONAL = {Rule.SHARE_LIST_BY_SERVER, Rule.NETWORK_GET_ALL}
CONDITIONAL |= {Rule.SECURITY_SERVICE_GET_ALL}  # all_tenants on /security-services (ignored when refused)


def route_table() -> Router:
    services = build_services(Settings(), create_engine("sqlite://"))
    router = Router(services.policy)
    register_all(router, services)
    return router


def test_every_rule_guards_a_route_or_a_query() -> None:
    guarded = {r.guard.rule if isinstance(r.guard, OnTarget) else r.guard for r in route_table().routes}
    assert set(Rule) - BASE - CONDITIONAL == guarded


def test_os_actions_have_their_plain_spelling() -> None:
    """Manila renamed `os-<action>` (up to 2.6) to `<action>` (from 2.7); both are served."""
    actions = {(r.template, r.action, str(r.scope.max)) for r in route_table().routes if r.action}
    for template, action, until in actions:
        if action.startswith("os-"):
            assert until == "2.6"
            assert (template, action.removeprefix("os-"), "None") in actions
