"""The ASGI application: version negotiation, auth, routing, faults. Handlers live in routes/."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson

from lockstep.api import openapi, ops, versions
from lockstep.api.auth import BadIdentity, Keystone, NoAuth, Unauthenticated
from lockstep.api.errors import GENERIC_400, GENERIC_500, HTTPFault, fault_body, status_of
from lockstep.api.microversions import (
    EXPERIMENTAL_HEADER,
    PROJECTLESS_URLS,
    VERSION_HEADER,
    APIVersion,
    VersionFormatError,
    VersionNotSupported,
    experimental_requested,
    negotiate,
)
from lockstep.api.routing import ApiRequest, Reply, Route, Router
from lockstep.api.threads import HandlerThreads
from lockstep.domain.errors import LockstepError, QuotaExceeded
from lockstep.service.context import RequestContext, serving

log = logging.getLogger("lockstep.api")
access_log = logging.getLogger("lockstep.access")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

NOT_FOUND = "The resource could not be found."
MAX_BODY = 112 * 1024  # Manila's sizelimit filter default (osapi_max_request_body_size)
UNMATCHED = "(unmatched)"  # the route label of requests no route serves (keeps the metrics' labels bounded)

Response = tuple[int, list[tuple[str, str]], bytes]
# The route template the request being handled matched, for the access log and the metrics' labels.
_ROUTE: ContextVar[str] = ContextVar("lockstep_route", default=UNMATCHED)


class LockstepApp:
    def __init__(self, router: Router, auth: NoAuth | Keystone, *, max_limit: int, base_url: str | None,
                 ops_endpoints: ops.OpsEndpoints | None = None) -> None:
        self.router = router
        self.ops = ops_endpoints
        self.auth = auth
        self.max_limit = max_limit
        self.base_url = base_url.rstrip("/") if base_url else None
        self.threads = HandlerThreads(64)
        self._openapi: dict[str, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.threads.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        try:
            body = await _read_body(receive)
        except _ClientGone:
            return  # the client left (or was cut off) before its request was whole: nothing to answer
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        try:
            status, out_headers, payload = await self.threads.run(
                self._handle_from, scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
                headers, body, _origin(scope, headers), client[0] if client else None,
            )
        except Exception:  # noqa: BLE001 - outside the route's own wrapper (auth, negotiation): still a fault body
            log.exception("%s %s failed", scope["method"], scope["path"])
            status, out_headers, payload = _fault(500, GENERIC_500, f"req-{uuid.uuid4()}", None, False)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode("ascii"), _header_value(v)) for k, v in out_headers]})
        await send({"type": "http.response.body", "body": payload})

    def _handle_from(self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes | None,
                     origin: str, peer: str | None) -> Response:
        return self.handle(method, path, raw_query, headers, body, origin, peer=peer)

    # The whole request, synchronously (runs in a worker thread) ----------------------------
    def handle(self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes | None,
               origin: str, *, peer: str | None = None) -> Response:
        """One request: its reply, one access-log line, and its sample in the metrics.

        `peer` is the client's address (None when unknown: in-process callers), which `/metrics` checks.
        """
        request_id = f"req-{uuid.uuid4()}"
        started = time.perf_counter()
        route = _ROUTE.set(UNMATCHED)
        try:
            with serving(request_id):
                status, out, payload = self._answer(method, path, raw_query, headers, body, origin, peer, request_id)
                elapsed = time.perf_counter() - started
                template = _ROUTE.get()
                if access_log.isEnabledFor(logging.INFO):
                    access_log.info("%s %s %d %.1fms", method, template, status, elapsed * 1000,
                                    extra={"fields": {"method": method, "route": template, "status": status,
                                                      "duration_ms": round(elapsed * 1000, 3)}})
        finally:
            _ROUTE.reset(route)
        if self.ops is not None and self.ops.metrics is not None:
            self.ops.metrics.observe_request(method, template, status, elapsed)
        return status, out, payload

    def _answer(self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes | None,
                origin: str, peer: str | None, request_id: str) -> Response:
        if self.ops is not None and path in ops.PATHS:
            _ROUTE.set(path)
            return self._operator(method, path, headers, request_id, origin, peer)
        if body is None:
            return _fault(413, "Request is too large.", request_id, None, False)
        base = self.base_url or origin
        if path in ("/", ""):
            _ROUTE.set("/")
            return _json(300, versions.document(base), [])
        if not (path == "/v2" or path.startswith("/v2/")):
            return self._outside_v2(method, path, request_id)
        experimental = experimental_requested(headers.get(EXPERIMENTAL_HEADER.lower()))
        try:
            version = negotiate(headers.get(VERSION_HEADER.lower()))
        except VersionFormatError as exc:
            return _fault(400, str(exc), request_id, None, experimental)
        except VersionNotSupported as exc:
            return _fault(406, str(exc), request_id, None, experimental, version_headers=False)
        if method == "HEAD":
            # No route answers HEAD (Manila's router matched none either); the fault is JSON like any other.
            return _fault(404, NOT_FOUND, request_id, version, experimental)
        rest = path[len("/v2"):]
        if self._is_version_document(rest):
            _ROUTE.set("/v2/{project_id}" if rest.strip("/") else "/v2")
            if self._legacy_auth_handshake(headers):
                return 204, _token_headers(headers, origin + path), b""
            # Decision 11: no token needed, so that keystoneauth can discover the microversion.
            return _json(200, versions.document(base), _version_headers(version, experimental)
                         + _request_ids(request_id))
        ctx = self._identify(headers, request_id, origin + path, version, experimental)
        if not isinstance(ctx, RequestContext):
            return ctx  # the reply to a request without a (good) token
        return self._serve(method, path, raw_query, headers, body, base + "/v2", ctx, version, experimental)

    def _outside_v2(self, method: str, path: str, request_id: str) -> Response:
        """The OpenAPI document, or a 404."""
        if path == "/openapi.json" and method == "GET":
            _ROUTE.set(path)
            return _json(200, self.openapi_document(), _request_ids(request_id))
        return _fault(404, NOT_FOUND, request_id, None, False)

    def openapi_document(self) -> dict[str, Any]:
        """The OpenAPI description of the route table (built once: the table does not change)."""
        if self._openapi is None:
            self._openapi = openapi.document(self.router)
        return self._openapi

    def _operator(self, method: str, path: str, headers: dict[str, str], request_id: str, origin: str,
                  peer: str | None) -> Response:
        """`/healthcheck[/detailed]` and `/metrics` (self.ops is set when this is called)."""
        assert self.ops is not None
        if method not in ("GET", "HEAD"):
            return _fault(405, "Method not allowed.", request_id, None, False)
        if path == ops.HEALTHCHECK:
            return self.ops.healthcheck(method, headers)
        if path == ops.METRICS:
            return self.ops.exposition(peer)
        try:
            ctx = self.auth.context(headers, request_id)
        except Unauthenticated as exc:
            return _fault(401, f"Authentication required: {exc}", request_id, None, False)
        if ctx is None:  # noauth without a token
            return _fault(401, "Authentication required: an admin token", request_id, None, False)
        return self.ops.detailed(ctx.is_admin)

    def _is_version_document(self, rest: str) -> bool:
        """`/v2`, `/v2/` and `/v2/{project_id}[/]`; a single segment that names a collection
        (`/v2/shares`, a 2.60 URL without a project id) is that collection instead."""
        segments = [s for s in rest.split("/") if s]
        return not segments or (len(segments) == 1 and not self.router.knows("/" + segments[0]))

    def _legacy_auth_handshake(self, headers: dict[str, str]) -> bool:
        """noauth's emulation of the auth 1.1 handshake (`X-Auth-User`/`X-Auth-Key` in, a token out).

        Manila's noauth answered every request without a token this way; on the version documents
        only clients that present those credentials get it, the others (keystoneauth's discovery,
        which sends no credentials at all) get the document.
        """
        return (isinstance(self.auth, NoAuth) and "x-auth-token" not in headers
                and ("x-auth-user" in headers or "x-auth-key" in headers))

    def _serve(self, method: str, path: str, raw_query: str, headers: dict[str, str], body: bytes, app_url: str,
               ctx: RequestContext, version: APIVersion,
               experimental: bool) -> tuple[int, list[tuple[str, str]], bytes]:
        """A /v2/[{project_id}/]... request of an authenticated caller, as a fault or the handler's reply."""
        request_id = ctx.request_id
        try:
            project_id, routes, params = self._locate(method, path[len("/v2/"):], ctx, version)
            with serving(request_id):
                reply = self._dispatch(routes, params, project_id, ctx, version, experimental, raw_query, headers,
                                       body, app_url)
        except HTTPFault as fault:
            return _fault(fault.status, fault.message, request_id, version, experimental)
        except LockstepError as error:
            status, out, payload = _fault(status_of(error), error.message, request_id, version, experimental)
            if isinstance(error, QuotaExceeded):
                out.append(("Retry-After", "0"))  # as Manila's quota faults say
            return status, out, payload
        except Exception:  # noqa: BLE001 - the fault wrapper: log it, answer Manila's generic 500
            log.exception("%s %s failed (%s)", method, path, request_id)
            return _fault(500, GENERIC_500, request_id, version, experimental)
        out = _version_headers(version, experimental) + [(k, v) for k, v in reply.headers.items()]
        if reply.body is None:
            # Manila sent no request id on bodiless replies; Lockstep sends it on every response so
            # that any call can be traced in the logs.
            return reply.status, out + _request_ids(request_id) + [("Content-Length", "0")], b""
        return _json(reply.status, reply.body, out + _request_ids(request_id))

    def _locate(self, method: str, rest: str, ctx: RequestContext,
                version: APIVersion) -> tuple[str, list[Route], dict[str, str]]:
        """The project id the URL names ("" for a URL without one) and the routes of its path.

        `/v2/{project_id}/shares` and, from 2.60, `/v2/shares`. Lockstep's project ids are free-form
        (noauth tokens), so the caller's own project is tried first; a first segment that is neither
        the caller's project nor the start of a route is taken as someone else's project (400).
        """
        project, _, tail = rest.partition("/")
        routes, params = self.router.match(method, "/" + tail)
        if routes and project == ctx.project_id:
            return project, routes, params
        if version >= PROJECTLESS_URLS:
            whole, whole_params = self.router.match(method, "/" + rest)
            if whole:
                return "", whole, whole_params
        if routes:
            return project, routes, params
        raise HTTPFault(404, NOT_FOUND)

    def _identify(self, headers: dict[str, str], request_id: str, url: str, version: APIVersion,
                  experimental: bool) -> RequestContext | tuple[int, list[tuple[str, str]], bytes]:
        """The caller's context, or the reply to a request that does not identify one."""
        try:
            return self._authenticate(headers, request_id, url)
        except _NoToken as missing:
            return 204, missing.headers, b""
        except Unauthenticated as exc:
            return _fault(401, f"Authentication required: {exc}", request_id, version, experimental)
        except BadIdentity as exc:
            return _fault(400, str(exc), request_id, version, experimental)

    def _authenticate(self, headers: dict[str, str], request_id: str, url: str) -> RequestContext:
        if isinstance(self.auth, NoAuth):
            ctx = self.auth.context(headers, request_id)
            if ctx is None:
                # Manila's noauth: a request without a token is answered with one to use.
                raise _NoToken(_token_headers(headers, url))
            return ctx
        return self.auth.context(headers, request_id)

    def _dispatch(self, routes: list[Route], params: dict[str, str], project_id: str, ctx: RequestContext,
                  version: APIVersion, experimental: bool, raw_query: str, headers: dict[str, str], body: bytes,
                  app_url: str) -> Reply:
        is_json = headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"
        parsed: Any = None
        if routes[0].action is not None:
            parsed, routes = _action(body, routes)
        elif body and is_json:
            parsed = _load(body)
        if project_id and project_id != ctx.project_id:
            raise HTTPFault(400, "Malformed request url")
        route = _select(routes, version, experimental)
        action = f" ({route.action})" if route.action else ""
        _ROUTE.set(f"/v2/{{project_id}}{route.template}{action}" if project_id else f"/v2{route.template}{action}")
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = value
        if _has_nul(params) or _has_nul(query) or _has_nul(parsed):
            # No id, name or value can hold one (PostgreSQL text cannot store it).
            raise HTTPFault(400, "Invalid input received: the request contains a NUL character.")
        request = ApiRequest(ctx=ctx, version=version, experimental=experimental, params=params, query=query,
                             raw_query=raw_query, body=parsed, app_url=app_url, project_id=project_id,
                             max_limit=self.max_limit)
        if route.action is not None:
            request.action_body = parsed[route.action]
        elif route.method in ("POST", "PUT") and parsed is None:
            raise HTTPFault(400, GENERIC_400)
        self.router.admit(route, request)
        return route.handler(request)


def _header_value(value: str) -> bytes:
    """A header value that HTTP can carry: values echo the request (the URL in noauth's
    `X-Server-Management-Url`), whose path may hold any character once decoded; those outside
    printable ASCII are percent-encoded, as they would be in a URL."""
    if value.isascii() and value.isprintable():
        return value.encode("ascii")
    return quote(value, safe=_PRINTABLE).encode("ascii")


_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


def _load(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise HTTPFault(400, "Malformed request body") from None


def _action(body: bytes, routes: list[Route]) -> tuple[Any, list[Route]]:
    """An action body names exactly one action: `{"<action>": <its arguments>}`."""
    parsed = _load(body) if body else None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise HTTPFault(400, "Malformed request body")
    key = next(iter(parsed))
    named = [r for r in routes if r.action == key]
    if not named:
        raise HTTPFault(400, f"There is no such action: {key}")
    return parsed, named


class _ClientGone(Exception):
    """The connection closed before the request's body was whole."""


class _NoToken(Exception):
    def __init__(self, headers: list[tuple[str, str]]) -> None:
        super().__init__("no token")
        self.headers = headers


def _token_headers(headers: dict[str, str], url: str) -> list[tuple[str, str]]:
    user = headers.get("x-auth-user", "admin")
    project = headers.get("x-auth-project-id", "admin")
    return [("X-Auth-Token", f"{user}:{project}"), ("X-Server-Management-Url", f"{url.rstrip('/')}/{project}"),
            ("Content-Type", "text/plain; charset=UTF-8"), ("Content-Length", "0")]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _select(routes: list[Route], version: APIVersion, experimental: bool) -> Route:
    for route in routes:
        if route.serves(version, experimental):
            return route
    raise HTTPFault(404, NOT_FOUND)


def _version_headers(version: APIVersion, experimental: bool) -> list[tuple[str, str]]:
    headers = [(VERSION_HEADER, str(version)), ("Vary", VERSION_HEADER)]
    if experimental:
        headers.append((EXPERIMENTAL_HEADER, "True"))
    return headers


def _request_ids(request_id: str) -> list[tuple[str, str]]:
    return [("x-compute-request-id", request_id), ("x-openstack-request-id", request_id)]


def _json(status: int, body: Any, headers: list[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], bytes]:
    payload = orjson.dumps(body)
    return status, headers + [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))], payload


def _fault(status: int, message: str, request_id: str, version: APIVersion | None, experimental: bool,
           *, version_headers: bool = True) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = _request_ids(request_id)
    if version_headers and version is not None:
        headers = _version_headers(version, experimental) + headers
    return _json(status, fault_body(status, message), headers)


def _origin(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    if size > MAX_BODY:
        return None
    return b"".join(chunks)
