"""A stand-in for Keystone's v3 token API (what keystonemiddleware calls), for the keystone-mode test.

Keystone itself cannot run in this test environment; this serves the three calls auth_token makes:
version discovery, service-user authentication (POST /v3/auth/tokens) and token validation
(GET /v3/auth/tokens with X-Subject-Token). Tokens it knows are in `users`.
"""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EXPIRES = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def token_body(user: str, project: str, roles: list[str], base: str) -> dict[str, Any]:
    endpoints = [{"id": f"e-{iface}", "interface": iface, "region": "RegionOne", "region_id": "RegionOne", "url": base}
                 for iface in ("public", "admin", "internal")]
    domain = {"id": "default", "name": "Default"}
    return {"token": {
        "methods": ["password"], "expires_at": EXPIRES, "issued_at": EXPIRES,
        "user": {"id": user, "name": user, "domain": domain},
        "project": {"id": project, "name": project, "domain": domain},
        "roles": [{"id": r, "name": r} for r in roles],
        "catalog": [{"type": "identity", "name": "keystone", "id": "k", "endpoints": endpoints}],
    }}


class Stub:
    def __init__(self) -> None:
        self.users: dict[str, tuple[str, str, list[str]]] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                base = f"http://127.0.0.1:{stub.port}/v3"
                path = self.path.rstrip("/")
                if path in ("", "/v3"):
                    version = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
                               "links": [{"rel": "self", "href": base + "/"}], "media-types": MEDIA}
                    if path == "":
                        return self._send(300, {"versions": {"values": [version]}})
                    return self._send(200, {"version": version})
                if self.path.startswith("/v3/auth/tokens"):
                    token = self.headers.get("X-Subject-Token") or ""
                    if token in stub.users:
                        user, project, roles = stub.users[token]
                        return self._send(200, token_body(user, project, roles, base), (("X-Subject-Token", token),))
                    return self._send(404, {"error": {"code": 404, "message": "not found", "title": "Not Found"}})
                return self._send(404, {})

            def do_POST(self) -> None:  # noqa: N802
                base = f"http://127.0.0.1:{stub.port}/v3"
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.startswith("/v3/auth/tokens"):
                    body = token_body("lockstep", "service", ["service", "admin"], base)
                    return self._send(201, body, (("X-Subject-Token", "service-token"),))
                return self._send(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
