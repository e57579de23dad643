"""Helpers for the foundation API tests (shares, types, networks, snapshots, pools)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.support import Client, fault

GENERIC_400 = (
    "The server could not comply with the request since it is either malformed or otherwise incorrect."
)
GENERIC_404 = "The resource could not be found."
REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    501: "notImplemented",
    503: "serviceUnavailable",
}
RESET_STATES = "creating, available, deleting, error, error_deleting, migrating, migrating_to"


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def expect_fault(resp: httpx.Response, status: int, message: str | None = None) -> str:
    """Assert a JSON fault with the status's fault name (and exact message if given); returns the message."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    name, code, text = fault(resp)
    assert name == FAULT_NAMES.get(status, "computeFault"), resp.text
    assert code == status
    if message is not None:
        assert text == message, resp.text
    return text


def policy_denied(resp: httpx.Response, rule: str) -> None:
    expect_fault(resp, 403, f"Policy doesn't allow {rule} to be performed.")


def create_type(
    client: Client, name: str | None = None, *, public: bool = True, dhss: Any = False, **specs: Any
) -> dict[str, Any]:
    body = {
        "share_type": {
            "name": name or unique("type"),
            "share_type_access:is_public": public,
            "extra_specs": {"driver_handles_share_servers": dhss, **specs},
        }
    }
    resp = client.post("/types", body)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share_type"])


def start_share(client: Client, size: int = 1, proto: str = "NFS", **fields: Any) -> dict[str, Any]:
    """POST /shares without waiting."""
    resp = client.post("/shares", {"share": {"size": size, "share_proto": proto, **fields}})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share"])


def create_snapshot(client: Client, share_id: str, **fields: Any) -> dict[str, Any]:
    resp = client.post("/snapshots", {"snapshot": {"share_id": share_id, **fields}})
    assert resp.status_code == 202, resp.text
    return client.wait(f"/snapshots/{resp.json()['snapshot']['id']}", "snapshot")


def create_network(client: Client, **fields: Any) -> dict[str, Any]:
    resp = client.post("/share-networks", {"share_network": fields})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share_network"])


def reset_share(client: Client, share_id: str, status: str) -> None:
    resp = client.post(f"/shares/{share_id}/action", {"reset_status": {"status": status}})
    assert resp.status_code == 202, resp.text


def action(client: Client, path: str, key: str, value: Any = None) -> httpx.Response:
    return client.post(f"{path}/action", {key: value})
