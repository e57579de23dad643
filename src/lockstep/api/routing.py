"""Routes, the request a handler sees, and the reply it returns."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lockstep.api.errors import HTTPFault
from lockstep.api.microversions import APIVersion
from lockstep.service.context import RequestContext


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
    project_id: str
    max_limit: int

    def at_least(self, major: int, minor: int) -> bool:
        return self.version.tuple >= (major, minor)

    def entity(self, key: str, *aliases: str) -> dict[str, Any]:
        """The top-level object of a create/update body; missing ⇒ 422 as in Manila."""
        if isinstance(self.body, dict):
            for name in (key, *aliases):
                value = self.body.get(name)
                if isinstance(value, dict):
                    return value
        raise HTTPFault(422, "Unable to process the contained instructions")

    def paging(self) -> tuple[int, int]:
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
        return offset, limit


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ApiRequest], Reply]


@dataclass(frozen=True)
class Route:
    method: str  # "*" matches any method
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    min_version: APIVersion
    max_version: APIVersion | None
    experimental: bool
    action: str | None = None

    def serves(self, version: APIVersion, experimental: bool) -> bool:
        if version < self.min_version:
            return False
        if self.max_version is not None and version > self.max_version:
            return False
        return experimental or not self.experimental


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template.rstrip("/"))
    return re.compile(f"^{regex}/?$")


def _version(text: str | None) -> APIVersion | None:
    if text is None:
        return None
    major, minor = text.split(".")
    return APIVersion(int(major), int(minor))


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, min: str = "2.0", max: str | None = None,
            experimental: bool = False, action: str | None = None) -> None:
        min_version = _version(min)
        assert min_version is not None
        self.routes.append(Route(method, _compile(template), template, handler, min_version, _version(max),
                                 experimental, action))

    def match(self, method: str, path: str) -> tuple[list[Route], dict[str, str]]:
        """All routes of the first template that matches path and method."""
        for route in self.routes:
            if route.method not in ("*", method):
                continue
            found = route.pattern.match(path)
            if found:
                same = [r for r in self.routes if r.template == route.template and r.method in ("*", method)]
                return same, found.groupdict()
        return [], {}
