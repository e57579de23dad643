"""The API tests' helpers: Manila's fixed messages, fault assertions and the common setup calls."""

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
}  # any other status is Manila's catch-all computeFault (422 among them)
# The states reset_status accepts, in the order Manila's "Invalid state" message lists them.
RESET_STATES = ("creating", "available", "deleting", "error", "error_deleting", "migrating", "migrating_to")


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unknown_id() -> str:
    return str(uuid.uuid4())


def expect_fault(resp: httpx.Response, status: int, message: str | None = None) -> str:
    """Assert a JSON fault with the status's fault name (and exact message if given); returns the message."""
    assert resp.status_code == status, (resp.status_code, resp.text)
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


def default_type_id(client: Client) -> str:
    resp = client.get("/types/default")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["share_type"]["id"])


def create_network(client: Client, **fields: Any) -> dict[str, Any]:
    resp = client.post("/share-networks", {"share_network": fields})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share_network"])


def start_share(client: Client, size: int | None = 1, proto: str = "NFS", **fields: Any) -> dict[str, Any]:
    """POST /shares without waiting (a null size is allowed for a share from a snapshot)."""
    resp = client.post("/shares", {"share": {"size": size, "share_proto": proto, **fields}})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share"])


def create_snapshot(client: Client, share_id: str, **fields: Any) -> dict[str, Any]:
    resp = client.post("/snapshots", {"snapshot": {"share_id": share_id, **fields}})
    assert resp.status_code == 202, resp.text
    return client.wait(f"/snapshots/{resp.json()['snapshot']['id']}", "snapshot")


def post_group(client: Client, **fields: Any) -> httpx.Response:
    return client.post("/consistency-groups", {"consistency_group": fields})


def reset(admin: Client, collection: str, item_id: str, status: str) -> None:
    """reset_status on /<collection>/<id>/action, which must be accepted."""
    resp = admin.post(f"/{collection}/{item_id}/action", {"reset_status": {"status": status}})
    assert resp.status_code == 202, resp.text


def follow(client: Client, first: httpx.Response, items_key: str, links_key: str) -> list[dict[str, Any]]:
    """Every item of a paged list, following `next` links until there is none."""
    items: list[dict[str, Any]] = []
    resp = first
    for _ in range(100):
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items.extend(body[items_key])
        nxt = [link["href"] for link in body.get(links_key, []) if link["rel"] == "next"]
        if not nxt:
            return items
        resp = client.http.get(nxt[0])
    raise AssertionError("next links never ended")


def create_security_service(client: Client, type_: str = "ldap", **fields: Any) -> dict[str, Any]:
    resp = client.post("/security-services", {"security_service": {"type": type_, **fields}})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["security_service"])
