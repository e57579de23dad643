"""Calls the access rule tests share: the actions in the spelling of the client's version."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Client

VERSION_HEADER = "X-OpenStack-Manila-API-Version"


def version_of(client: Client) -> tuple[int, int]:
    major, minor = client.http.headers.get(VERSION_HEADER, "2.0").split(".")
    return int(major), int(minor)


def spelled(client: Client, name: str) -> str:
    """`os-<name>` up to 2.6, `<name>` from 2.7."""
    return name if version_of(client) >= (2, 7) else f"os-{name}"


def grant(client: Client, share_id: str, access_type: str = "ip", access_to: str = "10.0.0.0/24",
          **fields: Any) -> httpx.Response:
    body = {"access_type": access_type, "access_to": access_to, **fields}
    return client.post(f"/shares/{share_id}/action", {spelled(client, "allow_access"): body})


def granted(client: Client, share_id: str, access_type: str = "ip", access_to: str = "10.0.0.0/24",
            **fields: Any) -> dict[str, Any]:
    resp = grant(client, share_id, access_type, access_to, **fields)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["access"])


def deny(client: Client, share_id: str, access_id: str, **fields: Any) -> httpx.Response:
    return client.post(f"/shares/{share_id}/action", {spelled(client, "deny_access"): {"access_id": access_id,
                                                                                         **fields}})


def legacy_list(client: Client, share_id: str) -> httpx.Response:
    return client.post(f"/shares/{share_id}/action", {spelled(client, "access_list"): None})


def rules_of(client: Client, share_id: str, **params: str) -> list[dict[str, Any]]:
    """The share's rules through the API of the client's version."""
    if version_of(client) >= (2, 45):
        resp = client.get("/share-access-rules", params={"share_id": share_id, **params})
    else:
        resp = legacy_list(client, share_id)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["access_list"])


def rule(client: Client, access_id: str) -> dict[str, Any]:
    resp = client.get(f"/share-access-rules/{access_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["access"])


def rules_status(client: Client, share_id: str) -> Any:
    """The share's `access_rules_status` (absent before 2.10: None)."""
    resp = client.get(f"/shares/{share_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()["share"].get("access_rules_status")
