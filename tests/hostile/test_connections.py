"""Hostile clients against a live `lockstep serve`: silent and half-sent requests are cut off, the
connection bound answers a JSON 503, and whatever uvicorn itself answers is a Manila fault body.

The server runs with a 1-second request timeout and a bound of 20 connections, so that the limits are
reached in a test; every wait below is an upper bound on a socket read, not a measured time.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lockstep import config
from tests.support import LiveServer, live_server

MAX_CONNECTIONS = 20
READ_BOUND = 15.0  # seconds a socket read may wait before the test calls the server stuck


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("hostile")
    with live_server(tmp / "data", f"sqlite:///{tmp / 'lockstep.sqlite'}", LOCKSTEP_REQUEST_TIMEOUT="1",
                     LOCKSTEP_MAX_CONNECTIONS=str(MAX_CONNECTIONS)) as srv:
        yield srv


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=READ_BOUND)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response from a connection that stays open (Content-Length framed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def fault_of(status: int, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    assert headers["content-type"] == "application/json", (status, headers, body)
    doc = json.loads(body)
    (name, inner), = doc.items()
    assert inner["code"] == status
    return name, inner["message"]


def request(path: str, project: str = "p", method: str = "GET", body: bytes = b"") -> bytes:
    head = (f"{method} /v2/{project}{path} HTTP/1.1\r\nHost: lockstep\r\nX-Auth-Token: admin:{project}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def test_silent_connections_are_closed(server: LiveServer) -> None:
    socks = [connect(server) for _ in range(10)]
    try:
        for sock in socks:
            assert read_all(sock) == b""  # closed without a word: nothing was asked
    finally:
        for sock in socks:
            sock.close()
    assert server.http.get(server.url + "/").status_code == 300


@pytest.mark.parametrize("partial", [
    b"GET /v2/p/shares HTTP/1.1\r\nHost: lockstep\r\n",  # headers never finished
    b"GET /v2/p/sha",  # request line never finished
])
def test_half_sent_headers_are_answered_408_and_closed(server: LiveServer, partial: bytes) -> None:
    with contextlib.closing(connect(server)) as sock:
        sock.sendall(partial)
        status, headers, body = parse(read_all(sock))
    assert status == 408
    name, message = fault_of(status, headers, body)
    assert name == "computeFault" and "within 1 seconds" in message


def test_half_sent_body_is_not_served(server: LiveServer) -> None:
    project = f"half-{time.time_ns()}"
    whole = b'{"share_network": {"name": "half"}}'
    # The declared length promises more than is sent; what was sent is valid JSON on its own.
    head = request("/share-networks", project, "POST", whole).replace(
        f"Content-Length: {len(whole)}".encode(), f"Content-Length: {len(whole) + 10}".encode())
    with contextlib.closing(connect(server)) as sock:
        sock.sendall(head)
        status, headers, body = parse(read_all(sock))
    assert status == 408
    fault_of(status, headers, body)
    listed = server.client(project=project).get("/share-networks")
    assert listed.status_code == 200 and listed.json() == {"share_networks": []}


def test_idle_keep_alive_outlives_the_request_timeout(server: LiveServer) -> None:
    with contextlib.closing(connect(server)) as sock:
        sock.sendall(request("/shares"))
        assert read_response(sock)[0] == 200
        time.sleep(2.5)  # idle between requests: the keep-alive timeout (75 s) applies, not the request timeout
        sock.sendall(request("/shares"))
        assert read_response(sock)[0] == 200


def test_connections_beyond_the_bound_get_a_json_503(server: LiveServer) -> None:
    held: list[socket.socket] = []
    try:
        # Kept-alive connections count until they close (earlier tests' clients may hold a few too).
        for _ in range(MAX_CONNECTIONS):
            sock = connect(server)
            sock.sendall(request("/shares"))
            status = read_response(sock)[0]
            if status == 503:
                break
            assert status == 200
            held.append(sock)
        assert MAX_CONNECTIONS - 5 <= len(held) <= MAX_CONNECTIONS
        resp = httpx.get(f"{server.url}/v2/p/shares", headers={"X-Auth-Token": "admin:p"}, timeout=READ_BOUND)
        assert resp.status_code == 503
        name, message = fault_of(503, {k.lower(): v for k, v in resp.headers.items()}, resp.content)
        assert name == "serviceUnavailable" and f"{MAX_CONNECTIONS} open connections" in message
        assert resp.headers["retry-after"] == "1" and resp.headers["connection"] == "close"
    finally:
        for sock in held:
            sock.close()
    deadline = time.time() + READ_BOUND
    while True:  # the server sees the closes asynchronously
        resp = httpx.get(f"{server.url}/v2/p/shares", headers={"X-Auth-Token": "admin:p"}, timeout=READ_BOUND)
        if resp.status_code == 200 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert resp.status_code == 200, resp.text


def test_unparsable_request_is_a_json_400(server: LiveServer) -> None:
    with contextlib.closing(connect(server)) as sock:
        sock.sendall(b"GET /v2/ HTTP/1.1\r\nno colon in this header\r\n\r\n")
        status, headers, body = parse(read_all(sock))
    assert status == 400
    assert fault_of(status, headers, body)[0] == "badRequest"


@pytest.mark.parametrize("method,status,name", [
    ("BREW", 405, "badMethod"),  # not an HTTP method at all
    ("OPTIONS", 404, "itemNotFound"),  # HTTP methods no route serves: Manila's 404
    ("TRACE", 404, "itemNotFound"),
    ("PATCH", 404, "itemNotFound"),
])
def test_unknown_methods_and_head_are_json_faults_on_the_wire(server: LiveServer, method: str, status: int,
                                                              name: str) -> None:
    resp = httpx.request(method, f"{server.url}/v2/p/shares", headers={"X-Auth-Token": "admin:p"})
    assert resp.status_code == status
    assert fault_of(status, {k.lower(): v for k, v in resp.headers.items()}, resp.content)[0] == name
    head = httpx.head(f"{server.url}/v2/p/shares", headers={"X-Auth-Token": "admin:p"})
    assert head.status_code == 404 and head.headers["content-type"] == "application/json"
    for path in ("/nothing", "/v3/"):
        resp = httpx.get(server.url + path)
        assert fault_of(404, {k.lower(): v for k, v in resp.headers.items()}, resp.content)[0] == "itemNotFound"


def test_limits_are_configured_and_checked() -> None:
    settings = config.load(env={"LOCKSTEP_REQUEST_TIMEOUT": "2.5", "LOCKSTEP_MAX_CONNECTIONS": "7"})
    assert (settings.request_timeout, settings.max_connections) == (2.5, 7)
    assert (config.load(env={}).request_timeout, config.load(env={}).max_connections) == (30.0, 1000)
    for key, value in (("REQUEST_TIMEOUT", "0"), ("REQUEST_TIMEOUT", "soon"), ("MAX_CONNECTIONS", "-1"),
                       ("MAX_CONNECTIONS", "many")):
        with pytest.raises(config.ConfigError, match=f"{key.lower()} must be a positive number"):
            config.load(env={f"LOCKSTEP_{key}": value})


def test_a_pipelined_request_left_unfinished_is_cut_off(server: LiveServer) -> None:
    with contextlib.closing(connect(server)) as sock:
        sock.sendall(request("/shares") + b"GET /v2/p/shares HTTP/1.1\r\nHost: lock")
        first = read_response(sock)
        assert first[0] == 200
        rest = read_all(sock)  # the second request never finishes: 408, then the server closes
    status, headers, body = parse(rest)
    assert status == 408
    fault_of(status, headers, body)


@pytest.mark.parametrize("segment", ["%1F%16", "%F3%9B%A3%A7%C3%A9", "%E2%80%A8"])
def test_reply_headers_that_echo_the_url_stay_valid_http(server: LiveServer, segment: str) -> None:
    """noauth's token handshake echoes the URL in a header; a path with control or non-Latin-1
    characters once decoded must not break the reply (it was a dropped connection or a plain 500)."""
    resp = httpx.get(f"{server.url}/v2/p/shares/{segment}")  # no token: the 204 handshake
    assert resp.status_code == 204
    assert resp.headers["x-server-management-url"].isascii()
    assert resp.headers["x-server-management-url"].endswith(f"/shares/{segment}/admin")
    assert "Traceback" not in server.log_text()


def test_an_upgrade_request_is_served_as_http_1_1(server: LiveServer) -> None:
    """`curl --http2` asks to upgrade to h2c; the request is answered as HTTP/1.1 (as uvicorn does)."""
    resp = httpx.get(f"{server.url}/v2/p/shares", headers={"X-Auth-Token": "admin:p", "Connection": "Upgrade",
                                                          "Upgrade": "h2c"})
    assert resp.status_code == 200 and resp.json() == {"shares": []}
