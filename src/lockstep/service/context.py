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


# The operation a worker thread is running, for its log lines (with the request that asked for it).
_OPERATION_ID: ContextVar[int | None] = ContextVar("lockstep_operation_id", default=None)


def current_operation_id() -> int | None:
    return _OPERATION_ID.get()


@contextlib.contextmanager
def working_on(operation_id: int, request_id: str | None) -> Iterator[None]:
    op_token = _OPERATION_ID.set(operation_id)
    request_token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(request_token)
        _OPERATION_ID.reset(op_token)
