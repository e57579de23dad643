"""/snapshots: create, list/detail/filters, show, update, delete, reset_status/force_delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.helpers import (
    DATE,
    GENERIC_404,
    RESET_STATES,
    create_snapshot,
    create_type,
    expect_fault,
    reset,
)
from tests.support import Client

UNKNOWN = "4d3c2b1a-0f9e-4d8c-b7a6-958473625140"
DETAIL = {
    "id",
    "share_id",
    "share_size",
    "created_at",
    "status",
    "name",
    "description",
    "size",
    "share_proto",
    "links",
}


def test_create_answers_202_creating_then_available(client: Client) -> None:
    share = client.create_share(size=2, share_proto="CIFS")
    resp = client.post(
        "/snapshots", {"snapshot": {"share_id": share["id"], "name": "s", "description": "d", "force": True}}
    )
    assert resp.status_code == 202
    snap = resp.json()["snapshot"]
    assert snap["status"] == "creating"
    assert (snap["share_id"], snap["size"], snap["share_size"], snap["share_proto"]) == (
        share["id"],
        2,
        2,
        "CIFS",
    )
    assert (snap["name"], snap["description"]) == ("s", "d")
    assert (snap["user_id"], snap["project_id"]) == ("admin", client.project)
    assert DATE.match(snap["created_at"])
    assert snap["links"] == [
        {"rel": "self", "href": f"{client.base}/v2/{client.project}/snapshots/{snap['id']}"},
        {"rel": "bookmark", "href": f"{client.base}/{client.project}/snapshots/{snap['id']}"},
    ]
    assert client.wait(f"/snapshots/{snap['id']}", "snapshot")["status"] == "available"
    display = client.post(
        "/snapshots",
        {"snapshot": {"share_id": share["id"], "display_name": "dn", "display_description": "dd"}},
    ).json()["snapshot"]
    assert (display["name"], display["description"]) == ("dn", "dd")


@pytest.mark.parametrize(
    "version,extra_admin,extra_member",
    [
        ("2.0", set(), set()),
        ("2.11", set(), set()),
        ("2.12", {"provider_location"}, set()),
        ("2.16", {"provider_location"}, set()),
        ("2.17", {"provider_location", "user_id", "project_id"}, {"user_id", "project_id"}),
        ("2.30", {"provider_location", "user_id", "project_id"}, {"user_id", "project_id"}),
    ],
)
def test_view_keys_per_version(
    client: Client, member: Client, version: str, extra_admin: set[str], extra_member: set[str]
) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    for who, extra in ((client, extra_admin), (member, extra_member)):
        c = who.with_(version=version)
        assert set(c.get(f"/snapshots/{snap['id']}").json()["snapshot"]) == DETAIL | extra
        assert set(c.get("/snapshots/detail").json()["snapshots"][0]) == DETAIL | extra
        assert set(c.get("/snapshots").json()["snapshots"][0]) == {"id", "name", "links"}
        updated = c.put(f"/snapshots/{snap['id']}", {"snapshot": {"display_name": "x"}}).json()["snapshot"]
        assert set(updated) == DETAIL | extra


def test_create_errors(client: Client) -> None:
    expect_fault(
        client.post("/snapshots", {"snapshot": {"share_id": UNKNOWN}}),
        404,
        "NotFound: Resource could not be found.",
    )
    expect_fault(
        client.post("/snapshots", {"snap": {"share_id": UNKNOWN}}),
        422,
        "Unable to process the contained instructions",
    )
    no_snaps = create_type(client, snapshot_support=False)
    share = client.create_share(share_type=no_snaps["id"])
    expect_fault(
        client.post("/snapshots", {"snapshot": {"share_id": share["id"]}}),
        422,
        f"Snapshot cannot be created from share '{share['id']}', because share back end does not support it.",
    )
    unset = (
        client.with_(version="2.24")
        .post(
            "/types",
            {"share_type": {"name": f"u{UNKNOWN}", "extra_specs": {"driver_handles_share_servers": False}}},
        )
        .json()["share_type"]
    )
    share = client.create_share(share_type=unset["id"])
    assert share["snapshot_support"] is False
    expect_fault(client.post("/snapshots", {"snapshot": {"share_id": share["id"]}}), 422)
    ok = client.create_share()
    for status in ("error", "creating", "migrating"):
        reset(client, "shares", ok["id"], status)
        expect_fault(
            client.post("/snapshots", {"snapshot": {"share_id": ok["id"]}}),
            400,
            "Invalid share: Source share status must be available.",
        )
    assert client.get("/snapshots").json() == {"snapshots": []}


def test_show_and_update(client: Client) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"], name="orig", description="od")
    expect_fault(client.get(f"/snapshots/{UNKNOWN}"), 404, GENERIC_404)
    resp = client.put(f"/snapshots/{snap['id']}", {"snapshot": {"name": "ignored", "description": "ignored"}})
    assert resp.status_code == 200
    assert (resp.json()["snapshot"]["name"], resp.json()["snapshot"]["description"]) == ("orig", "od")
    resp = client.put(
        f"/snapshots/{snap['id']}",
        {"snapshot": {"display_name": "new", "display_description": "nd", "size": 99}},
    )
    body = resp.json()["snapshot"]
    assert (body["name"], body["description"], body["size"]) == ("new", "nd", 1)
    assert client.get(f"/snapshots/{snap['id']}").json()["snapshot"]["name"] == "new"
    expect_fault(client.put(f"/snapshots/{UNKNOWN}", {"snapshot": {"display_name": "x"}}), 404, GENERIC_404)
    expect_fault(
        client.put(f"/snapshots/{snap['id']}", {"x": {}}), 422, "Unable to process the contained instructions"
    )


def test_delete_settles_gone(client: Client) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    resp = client.delete(f"/snapshots/{snap['id']}")
    assert resp.status_code == 202 and resp.content == b""
    client.wait(f"/snapshots/{snap['id']}", "snapshot", ("deleted",))
    assert client.get("/snapshots").json() == {"snapshots": []}
    expect_fault(client.delete(f"/snapshots/{snap['id']}"), 404, GENERIC_404)


def test_delete_refused_by_status(client: Client) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    for status in ("creating", "deleting", "error_deleting", "migrating"):
        reset(client, "snapshots", snap["id"], status)
        expect_fault(
            client.delete(f"/snapshots/{snap['id']}"),
            400,
            "Invalid share snapshot: Share Snapshot status must be one of ('available', 'error').",
        )
    reset(client, "snapshots", snap["id"], "error")
    assert client.delete(f"/snapshots/{snap['id']}").status_code == 202
    client.wait(f"/snapshots/{snap['id']}", "snapshot", ("deleted",))


@pytest.mark.parametrize(
    "version,reset,force",
    [
        ("2.0", "os-reset_status", "os-force_delete"),
        ("2.6", "os-reset_status", "os-force_delete"),
        ("2.7", "reset_status", "force_delete"),
    ],
)
def test_reset_and_force_delete(client: Client, version: str, reset: str, force: str) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    c = client.with_(version=version)
    path = f"/snapshots/{snap['id']}/action"
    other_reset = "reset_status" if reset.startswith("os-") else "os-reset_status"
    other_force = "force_delete" if force.startswith("os-") else "os-force_delete"
    expect_fault(c.post(path, {other_reset: {"status": "error"}}), 404, GENERIC_404)
    expect_fault(c.post(path, {other_force: None}), 404, GENERIC_404)
    expect_fault(c.post(path, {reset: {}}), 400, "Must specify 'status'")
    expect_fault(
        c.post(path, {reset: {"status": "bogus"}}), 400, f"Invalid state. Valid states: {', '.join(RESET_STATES)}."
    )
    expect_fault(c.post(f"/snapshots/{UNKNOWN}/action", {reset: {"status": "error"}}), 404, GENERIC_404)
    resp = c.post(path, {reset: {"status": "error_deleting"}})
    assert resp.status_code == 202 and resp.content == b""
    assert client.get(f"/snapshots/{snap['id']}").json()["snapshot"]["status"] == "error_deleting"
    expect_fault(c.post(path, {"unknown": {}}), 400, "There is no such action: unknown")
    assert c.post(path, {force: None}).status_code == 202
    client.wait(f"/snapshots/{snap['id']}", "snapshot", ("deleted",))
    expect_fault(c.post(path, {force: None}), 404, GENERIC_404)
    # the share can go now
    assert client.delete(f"/shares/{share['id']}").status_code == 202


# listing ---------------------------------------------------------------------------------------------
@pytest.fixture
def three(client: Client) -> list[dict[str, Any]]:
    a = client.create_share(size=1)
    b = client.create_share(size=2)
    return [
        create_snapshot(client, a["id"], name="one"),
        create_snapshot(client, b["id"], name="two"),
        create_snapshot(client, b["id"], name="three"),
    ]


def ids(client: Client, path: str = "/snapshots", **params: str) -> list[str]:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return [s["id"] for s in resp.json()["snapshots"]]


def test_list_order_and_filters(client: Client, member: Client, three: list[dict[str, Any]]) -> None:
    one, two, drei = (s["id"] for s in three)
    assert ids(client) == [drei, two, one]
    assert ids(client, "/snapshots/detail", sort_dir="asc") == [one, two, drei]
    assert ids(client, sort_key="size", sort_dir="asc")[0] == one
    assert ids(client, sort_key="display_name", sort_dir="asc") == [one, drei, two]
    expect_fault(
        client.get("/snapshots", params={"sort_key": "name"}),
        400,
        "Invalid input received: Wrong sorting key provided - 'name'.",
    )
    expect_fault(
        client.get("/snapshots", params={"sort_key": "bogus"}),
        400,
        "Invalid input received: Wrong sorting key provided - 'bogus'.",
    )
    expect_fault(
        client.get("/snapshots", params={"sort_dir": "sideways"}),
        400,
        "Invalid input received: Wrong sorting data provided: sort key is 'created_at' and sort "
        "direction is 'sideways'.",
    )
    for who in (client, member):
        assert ids(who, name="two") == [two]
        assert ids(who, display_name="one") == [one]
        assert ids(who, "/snapshots/detail", share_id=three[1]["share_id"], sort_dir="asc") == [two, drei]
        assert ids(who, status="available", sort_dir="asc") == [one, two, drei]
        assert ids(who, status="error") == []
    for key in ("name", "status", "share_id"):
        expect_fault(
            client.get("/snapshots", params={key: ""}),
            400,
            f"Invalid input received: Wrong '{key}' filter provided: ''.",
        )
    # admins: unknown keys match nothing; members: dropped
    assert ids(client, bogus="x") == []
    assert len(ids(member, bogus="x", share_proto="CIFS")) == 3


def test_usage_filter(client: Client, member: Client, three: list[dict[str, Any]]) -> None:
    one = three[0]
    client.create_share(snapshot_id=one["id"])
    assert ids(client, usage="used") == [one["id"]]
    assert sorted(ids(client, usage="unused")) == sorted(s["id"] for s in three[1:])
    assert len(ids(client, usage="any")) == 3
    expect_fault(
        client.get("/snapshots", params={"usage": "some"}),
        400,
        "Invalid input received: Wrong 'usage' filter provided: 'some'.",
    )
    assert len(ids(member, usage="used")) == 3  # admin-only key: ignored for members


def test_paging_and_next_links(client: Client, three: list[dict[str, Any]]) -> None:
    newest_first = [s["id"] for s in reversed(three)]
    assert ids(client, limit="1", offset="1") == newest_first[1:2]
    expect_fault(client.get("/snapshots", params={"limit": "a"}), 400, "limit param must be an integer")
    expect_fault(client.get("/snapshots", params={"offset": "-1"}), 400, "offset param must be positive")
    assert "share_snapshots_links" not in client.get("/snapshots").json()
    for path in ("/snapshots", "/snapshots/detail"):
        resp = client.get(path, params={"limit": "1"})
        seen: list[str] = []
        while True:
            body = resp.json()
            assert set(body) <= {"snapshots", "share_snapshots_links"}
            seen += [s["id"] for s in body["snapshots"]]
            if "share_snapshots_links" not in body:
                break
            href = body["share_snapshots_links"][0]["href"]
            assert body["share_snapshots_links"][0]["rel"] == "next"
            assert parse_qs(urlsplit(href).query)["marker"] == [seen[-1]]
            resp = client.http.get(href)
            assert len(seen) < 10
        assert seen == newest_first
