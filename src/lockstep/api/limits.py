"""What one client may hold of a server process: time to send a request, and connections.

uvicorn closes a keep-alive connection that stays idle after a response, but waits forever for a
connection that never sends a whole request (silent or half-sent: enough of them exhaust the file
descriptors), and its own concurrency limit answers in plain text. `GuardedProtocol` adds both
limits to uvicorn's httptools protocol and answers as Manila's API does, with a JSON fault body:

- a request must arrive whole (request line, headers and body) within `request_timeout` seconds of
  its first byte, or of the connection's opening for the first request. A connection that sent
  nothing is closed; one that sent part of a request is told 408 first.
- beyond `max_connections` open connections, a new connection's request is answered 503 and the
  connection closed. It gets a shorter time to send that request, so that a flood of silent
  connections past the bound is shed quickly.
- a request uvicorn cannot parse is answered 400 (405 for a method HTTP does not define) with a
  fault body rather than plain text.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from lockstep.api.errors import fault_body

log = logging.getLogger("lockstep.api")

# The time a connection past the bound has to send its request (a client that means it sends at once).
OVERLOADED_REQUEST_TIMEOUT = 5.0
# At most one warning about refused connections per this many seconds (a flood must not flood the log).
WARN_EVERY = 10.0


@dataclass(frozen=True)
class ConnectionLimits:
    request_timeout: float = 30.0  # seconds for a whole request to arrive
    max_connections: int = 1000  # open connections per process before new ones are answered 503


def protocol_factory(limits: ConnectionLimits) -> Any:
    """uvicorn's `http=` option: picklable, so that `workers=N` processes get the same limits.

    `Any` because uvicorn's annotation names a protocol class, though it calls whatever it is given
    with the class's arguments (a partial of the class is what carries the limits).
    """
    factory: Callable[..., asyncio.Protocol] = functools.partial(GuardedProtocol, limits=limits)
    return factory


def _response(status: int, reason: str, message: str) -> bytes:
    body = orjson.dumps(fault_body(status, message))
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: application/json", f"Content-Length: {len(body)}",
            "Connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class GuardedProtocol(HttpToolsProtocol):
    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None, *, limits: ConnectionLimits) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._deadline: asyncio.TimerHandle | None = None
        self._timeout = limits.request_timeout
        self._partial = False  # some bytes of the request being awaited have arrived

    # asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            _warn_overloaded(self.limits.max_connections)
            self.app = functools.partial(_overloaded, self.limits.max_connections)
            self._timeout = min(self._timeout, OVERLOADED_REQUEST_TIMEOUT)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # uvicorn's own data_received, but for the deadline and the answers to unparsable requests.
        if self._deadline is None:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        self._partial = True
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserInvalidMethodError:
            # A method HTTP does not define is 405; a defined one that no route serves stays Manila's 404.
            self._refuse(405, "Method Not Allowed", "The request method is not one this API knows.")
        except httptools.HttpParserError:
            self._refuse(400, "Bad Request", "Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:  # as uvicorn: e.g. curl's `Upgrade: h2c` is served as HTTP/1.1
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # httptools parser callbacks -----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm()  # a pipelined request that began in the bytes of the one before it
        self._partial = True

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "Bad Request", msg)

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_response(status, reason, message))
            self.transport.close()

    # the request deadline --------------------------------------------------------------------------
    def _arm(self) -> None:
        self._disarm()
        self._partial = False
        self._deadline = self.loop.call_later(self._timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._partial:
            message = (f"The request did not arrive whole within {self._timeout:g} seconds; "
                       "send the request line, headers and body without pausing.")
            self.transport.write(_response(408, "Request Timeout", message))
        # The application, if it was waiting for the body, sees a disconnect and answers nothing.
        self.transport.close()


_last_warning = [0.0]


def _warn_overloaded(limit: int) -> None:
    now = time.monotonic()
    if now - _last_warning[0] >= WARN_EVERY:
        _last_warning[0] = now
        log.warning("more than %d open connections: new ones are answered 503 (max_connections)", limit)


async def _overloaded(limit: int, scope: Any, receive: Any, send: Any) -> None:
    body = orjson.dumps(fault_body(503, f"The server has {limit} open connections, its limit; retry shortly."))
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})
