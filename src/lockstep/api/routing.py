"""Routes, the request a handler sees, and the reply it returns.

A route is declared with the policy rule that guards it, the microversions it serves and the
request shapes Manila checked before that rule; the router checks all three before the handler runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lockstep.api.errors import HTTPFault
from lockstep.api.microversions import (
    CG_VERSION,
    LAST_CG_VERSION,
    LAST_OS_ACTIONS,
    MIN_VERSION,
    PLAIN_ACTIONS,
    SHARE_GROUP_GA,
    SHARE_GROUP_VERSION,
    APIVersion,
)
from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy, Rule

UNPROCESSABLE = "Unable to process the contained instructions"


@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int


@dataclass
class ApiRequest:
    ctx: RequestContext
    version: APIVersion
    experimental: bool
    params: dict[str, str]
    query: Mapping[str, str]
    raw_query: str
    body: Any
    app_url: str  # scheme://host[:port]/v2 (or the configured base URL)
    project_id: str  # as the URL names it; "" for a URL without one (2.60)
    max_limit: int
    # Filled in by the router from what the route declares (see `Route`).
    entity: dict[str, Any] = field(default_factory=dict)
    action_body: Any = None
    page: Paging = Paging(0, 0)

    def at_least(self, major: int, minor: int) -> bool:
        return self.version.tuple >= (major, minor)

    def paging(self) -> Paging:
        offset_raw = self.query.get("offset", "0")
        limit_raw = self.query.get("limit")
        try:
            offset = int(offset_raw)
        except ValueError:
            raise HTTPFault(400, "offset param must be an integer") from None
        if offset < 0:
            raise HTTPFault(400, "offset param must be positive")
        offset = min(offset, 2**31 - 1)  # Manila sliced in Python; an offset past any row is just empty
        limit = self.max_limit
        if limit_raw is not None:
            try:
                limit = int(limit_raw)
            except ValueError:
                raise HTTPFault(400, "limit param must be an integer") from None
            if limit < 0:
                raise HTTPFault(400, "limit param must be positive")
            limit = min(limit or self.max_limit, self.max_limit)
        return Paging(offset, limit)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest], Reply]


@dataclass(frozen=True)
class VersionScope:
    """The microversions a route serves, and whether it needs the experimental header."""

    min: APIVersion = MIN_VERSION
    max: APIVersion | None = None
    experimental: bool = False
    # From this version on the experimental header is no longer needed (the feature graduated).
    graduated: APIVersion | None = None

    def serves(self, version: APIVersion, experimental: bool) -> bool:
        if version < self.min:
            return False
        if self.max is not None and version > self.max:
            return False
        return experimental or not self.experimental or (self.graduated is not None and version >= self.graduated)

    def since(self, version: APIVersion | str) -> VersionScope:
        bound = APIVersion.parse(version) if isinstance(version, str) else version
        return replace(self, min=max(self.min, bound))

    def until(self, version: APIVersion | str) -> VersionScope:
        bound = APIVersion.parse(version) if isinstance(version, str) else version
        return replace(self, max=bound if self.max is None else min(self.max, bound))


ALL_VERSIONS = VersionScope()
# Consistency groups and cgsnapshots: experimental, from 2.4 (Manila's own scope for them) to 2.30; from
# 2.31 the same records are share groups and share group snapshots (experimental until 2.54).
CG_SCOPE = VersionScope(min=CG_VERSION, max=LAST_CG_VERSION, experimental=True)
SHARE_GROUP_SCOPE = VersionScope(min=SHARE_GROUP_VERSION, experimental=True, graduated=SHARE_GROUP_GA)


@dataclass(frozen=True)
class OnTarget:
    """A rule the use case checks itself, once it has loaded the target.

    Either the target's project is part of the check (admin_or_owner on someone's share), or Manila
    answered 404 for a missing target before it answered 403; checking up front would change both.
    """

    rule: Rule


Guard = Rule | OnTarget


@dataclass(frozen=True)
class Envelope:
    """The object a create/update body must hold (`{"share": {...}}`); Manila checked it before policy."""

    key: str
    aliases: tuple[str, ...] = ()
    status: int = 422
    message: str = UNPROCESSABLE

    def open(self, body: Any) -> dict[str, Any]:
        if isinstance(body, dict):
            for name in (self.key, *self.aliases):
                value = body.get(name)
                if isinstance(value, dict):
                    return value
        raise HTTPFault(self.status, self.message)


@dataclass(frozen=True)
class Route:
    method: str  # "*" matches any method
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    guard: Guard
    scope: VersionScope = ALL_VERSIONS
    action: str | None = None
    envelope: Envelope | None = None
    paged: bool = False  # offset/limit are checked (400) before the rule (the order clients have seen)

    def serves(self, version: APIVersion, experimental: bool) -> bool:
        return self.scope.serves(version, experimental)


def _compile(template: str) -> re.Pattern[str]:
    # Exactly the template: Manila's router served no path with a trailing slash (`GET /v2/shares/`
    # is a 404 there), so neither does Lockstep; only the version documents take one (app.py).
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return re.compile(f"^{regex}$")


def _first_segment(path: str) -> str:
    return path[1:].partition("/")[0] if path.startswith("/") else path.partition("/")[0]


class Router:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.routes: list[Route] = []
        # The routes by the literal first segment of their template ("" for one that starts with a
        # parameter: tried for every path), in table order; and the routes of each template and method.
        # Built at the first match (the table is complete by then): a match tried every regex of the table.
        self._by_segment: dict[str, list[Route]] | None = None
        self._open: list[Route] = []
        self._same: dict[tuple[str, str], list[Route]] = {}

    def add(self, method: str, template: str, handler: Handler, *, rule: Guard, scope: VersionScope = ALL_VERSIONS,
            action: str | None = None, envelope: Envelope | None = None, paged: bool = False) -> None:
        self.routes.append(Route(method, _compile(template), template, handler, rule, scope, action, envelope,
                                 paged))
        self._by_segment = None

    def _index(self) -> dict[str, list[Route]]:
        by_segment: dict[str, list[Route]] = {}
        self._open = [r for r in self.routes if "{" in _first_segment(r.template)]
        for route in self.routes:
            first = _first_segment(route.template)
            if "{" not in first:
                by_segment.setdefault(first, []).append(route)
        order = {id(route): i for i, route in enumerate(self.routes)}
        for segment, routes in by_segment.items():  # a parameter-first route keeps its place in the table
            by_segment[segment] = sorted(routes + self._open, key=lambda r: order[id(r)])
        self._same = {}
        self._by_segment = by_segment
        return by_segment

    def add_admin_action(self, template: str, name: str, handler: Handler, *, rule: Guard,
                         scope: VersionScope = ALL_VERSIONS, method: str = "POST") -> None:
        """`os-<name>` up to 2.6 and `<name>` from 2.7, the two spellings of one action."""
        self.add(method, template, handler, rule=rule, scope=scope.until(LAST_OS_ACTIONS), action=f"os-{name}")
        self.add(method, template, handler, rule=rule, scope=scope.since(PLAIN_ACTIONS), action=name)

    def match(self, method: str, path: str) -> tuple[list[Route], dict[str, str]]:
        """All routes of the first template that matches path and method."""
        by_segment = self._by_segment if self._by_segment is not None else self._index()
        for route in by_segment.get(_first_segment(path), self._open):
            if route.method not in ("*", method):
                continue
            found = route.pattern.match(path)
            if found:
                same = self._same.get((route.template, method))
                if same is None:
                    same = self._same[(route.template, method)] = [
                        r for r in self.routes if r.template == route.template and r.method in ("*", method)]
                return list(same), found.groupdict()
        return [], {}

    def knows(self, path: str) -> bool:
        """Whether any route, of any method, has this path."""
        return any(route.pattern.match(path) for route in self.routes)

    def admit(self, route: Route, request: ApiRequest) -> None:
        """What the route declares, in Manila's order: the body's envelope, paging, then the policy rule."""
        if route.envelope is not None:
            request.entity = route.envelope.open(request.body)
        if route.paged:
            request.page = request.paging()
        if isinstance(route.guard, Rule):
            self.policy.authorize(request.ctx, route.guard)
