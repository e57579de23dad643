"""Setup calls for the share-group tests (2.31+): group types, groups, group snapshots."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import default_type_id, unique
from tests.support import Client

GA = "2.55"  # share groups need no experimental header from here
SGS = "/share-groups"
SNAPS = "/share-group-snapshots"
TYPES = "/share-group-types"


def at(client: Client, version: str = GA, experimental: bool = False) -> Client:
    return client.with_(version=version, experimental=experimental)


def create_group_type(admin: Client, share_types: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("gtype"), "share_types": share_types or [default_type_id(admin)], **fields}
    resp = at(admin).post(TYPES, {"share_group_type": body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share_group_type"])


def post_share_group(client: Client, **fields: Any) -> httpx.Response:
    return client.post(SGS, {"share_group": fields})


def create_share_group(client: Client, **fields: Any) -> dict[str, Any]:
    resp = post_share_group(client, **fields)
    assert resp.status_code == 202, resp.text
    return client.wait(f"{SGS}/{resp.json()['share_group']['id']}", "share_group")


def post_group_snapshot(client: Client, group_id: str, **fields: Any) -> httpx.Response:
    return client.post(SNAPS, {"share_group_snapshot": {"share_group_id": group_id, **fields}})


def create_group_snapshot(client: Client, group_id: str, **fields: Any) -> dict[str, Any]:
    resp = post_group_snapshot(client, group_id, **fields)
    assert resp.status_code == 202, resp.text
    return client.wait(f"{SNAPS}/{resp.json()['share_group_snapshot']['id']}", "share_group_snapshot")


def group_shares(client: Client, group_id: str) -> list[dict[str, Any]]:
    resp = client.get("/shares/detail", params={"share_group_id": group_id})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["shares"])
