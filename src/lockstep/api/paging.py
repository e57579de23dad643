"""Index replies: one page of a collection and Manila's `next` link."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from lockstep.api import views
from lockstep.api.routing import ApiRequest, Reply


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_Identified)


def index_reply(req: ApiRequest, key: str, fetch: Callable[[int, int], Sequence[T]],
                view: Callable[[T], dict[str, Any]], *, links: tuple[str, str] | None = None) -> Reply:
    """One page of a collection; `links` = (body key, collection path) adds Manila's `next` link."""
    found = fetch(req.page.offset, req.page.limit)
    body: dict[str, Any] = {key: [view(item) for item in found]}
    if links is not None:
        links_key, collection = links
        nxt = views.next_link(req, collection, found, req.page.limit, found[-1].id if found else "")
        if nxt:
            body[links_key] = nxt
    return Reply(200, body)
