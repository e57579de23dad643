"""Helpers shared by the consistency-group and cgsnapshot API tests."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support import Client, Server, database, fault, live_server

GENERIC_404 = "The resource could not be found."
RESET_STATES = {"creating", "available", "deleting", "error", "error_deleting", "migrating", "migrating_to"}


def expect_fault(resp: httpx.Response, status: int, message: str) -> None:
    """The response is a Manila fault with exactly this status, fault name and message."""
    names = {400: "badRequest", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest",
             413: "overLimit", 422: "computeFault"}
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert fault(resp) == (names[status], status, message)


def unknown_id() -> str:
    return str(uuid.uuid4())


def make_type(admin: Client, *, dhss: bool = False, public: bool = True) -> dict[str, Any]:
    body = {"share_type": {"name": f"t-{uuid.uuid4().hex[:12]}",
                           "extra_specs": {"driver_handles_share_servers": dhss},
                           "share_type_access:is_public": public}}
    resp = admin.post("/types", body)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share_type"])


def default_type_id(client: Client) -> str:
    resp = client.get("/types/default")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["share_type"]["id"])


def make_network(client: Client) -> dict[str, Any]:
    resp = client.post("/share-networks", {"share_network": {"name": "net"}})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share_network"])


def post_group(client: Client, **fields: Any) -> httpx.Response:
    return client.post("/consistency-groups", {"consistency_group": fields})


def reset(admin: Client, collection: str, item_id: str, status: str) -> None:
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


def wait_gone(client: Client, path: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if client.get(path).status_code == 404:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} still exists")


@contextlib.contextmanager
def configured_server(tmp: Path, db_kind: str, toml: str | None = None, **env: str) -> Iterator[Server]:
    """A live server with its own database and extra settings (a TOML config and/or environment)."""
    overrides = dict(env)
    if toml is not None:
        config = tmp / "lockstep.toml"
        config.write_text(toml)
        overrides["LOCKSTEP_CONFIG"] = str(config)
    with database(db_kind, tmp) as url, live_server(tmp / "data", url, start=True, **overrides) as srv:
        yield srv
