"""Who is calling: the request context every use case receives."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    user_id: str
    project_id: str
    roles: tuple[str, ...] = ()
    is_admin: bool = False
    request_id: str = ""
    auth_token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def scope(self) -> str | None:
        """The project id to filter by for lookups: None (everything) for admins (decision 1)."""
        return None if self.is_admin else self.project_id


# The request being served, for the work it records: an operation remembers the request that asked
# for it, so that a user message about its failure can name that request. Ambient like a log
# correlation id, rather than a parameter of every `enqueue` call.
_REQUEST_ID: ContextVar[str | None] = ContextVar("lockstep_request_id", default=None)


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


@contextlib.contextmanager
def serving(request_id: str) -> Iterator[None]:
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)
