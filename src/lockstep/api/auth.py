"""Who the caller is: noauth tokens (decision 7) or keystone (decision 8)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lockstep.service.context import RequestContext
from lockstep.service.policy import Policy
from lockstep.service.validation import MAX_ID


class Unauthenticated(Exception):
    """401: the token is missing or invalid."""


class BadIdentity(Exception):
    """400: the token names a user or project id no record could hold."""


def _checked(user: str, project: str) -> tuple[str, str]:
    for what, value in (("user", user), ("project", project)):
        if len(value) > MAX_ID:
            raise BadIdentity(f"Invalid input received: the token's {what} id is longer than {MAX_ID} characters.")
    return user, project


class NoAuth:
    """`X-Auth-Token: <user>:<project>`; only configured users are admins."""

    def __init__(self, policy: Policy, admin_users: Iterable[str]) -> None:
        self.policy = policy
        self.admin_users = frozenset(admin_users)

    def context(self, headers: Mapping[str, str], request_id: str) -> RequestContext | None:
        token = headers.get("x-auth-token")
        if token is None:
            return None
        user, sep, project = token.partition(":")
        if not sep or not project:
            project = user
        user, project = _checked(user, project)
        roles: tuple[str, ...] = ("admin",) if user in self.admin_users else ("member",)
        return RequestContext(user_id=user, project_id=project, roles=roles, is_admin=self.policy.is_admin(roles),
                              request_id=request_id, auth_token=token)


def context_from_keystone_headers(headers: Mapping[str, str], policy: Policy, request_id: str) -> RequestContext:
    """The headers keystonemiddleware's auth_token sets after validating a token."""
    user = headers.get("x-user-id") or headers.get("x-user")
    if not user:
        raise Unauthenticated("no user in the validated token")
    project = (headers.get("x-project-id") or headers.get("x-tenant-id") or headers.get("x-tenant"))
    if not project:
        raise Unauthenticated("the token is not scoped to a project")
    user, project = _checked(user, project)
    roles_header = headers.get("x-roles") or headers.get("x-role") or ""
    roles = tuple(r.strip() for r in roles_header.split(",") if r.strip())
    return RequestContext(user_id=user, project_id=project, roles=roles, is_admin=policy.is_admin(roles),
                          request_id=request_id, auth_token=headers.get("x-auth-token"))


class Keystone:
    """Runs keystonemiddleware's token validation (a WSGI filter) around a probe that reads the
    identity headers it sets. Needs the `keystone` extra: `pip install 'lockstep[keystone]'`."""

    def __init__(self, policy: Policy, options: Mapping[str, str]) -> None:
        try:
            from keystonemiddleware import auth_token
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "auth = 'keystone' needs keystonemiddleware: run `pip install 'lockstep[keystone]'` "
                "or set LOCKSTEP_AUTH=noauth"
            ) from exc
        self.policy = policy
        self._local = threading.local()

        def probe(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            self._local.environ = environ
            start_response("200 OK", [])
            return [b""]

        self._filter = auth_token.AuthProtocol(probe, dict(options))

    def context(self, headers: Mapping[str, str], request_id: str) -> RequestContext:
        environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "lockstep",
                                   "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": None}
        for key, value in headers.items():
            if key.lower().startswith("x-"):
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        self._local.environ = None
        status: list[str] = []
        self._filter(environ, lambda s, h, *a: status.append(s))
        seen = self._local.environ
        if not status or not status[0].startswith("200") or seen is None:
            raise Unauthenticated(status[0] if status else "token validation failed")
        validated = {k[5:].replace("_", "-").lower(): v for k, v in seen.items() if k.startswith("HTTP_")}
        return context_from_keystone_headers(validated, self.policy, request_id)
