"""/share-group-snapshots: create validation, views, members, filters, paging, update, delete, admin actions."""

from __future__ import annotations

import pytest

from tests.api.group_helpers import (
    SGS,
    SNAPS,
    at,
    create_group_snapshot,
    create_share_group,
    post_group_snapshot,
)
from tests.api.helpers import DATE, GENERIC_404, expect_fault, follow, policy_denied, unknown_id
from tests.support import Client

DETAIL_KEYS = {"id", "name", "created_at", "status", "description", "project_id", "share_group_id", "members",
               "links", "lockstep:consistency"}
MEMBER_KEYS = {"id", "created_at", "size", "share_protocol", "project_id", "share_group_snapshot_id", "share_id"}


def not_found(snapshot_id: str) -> str:
    return f"Share group snapshot {snapshot_id} not found."


def reset(client: Client, path: str, status: str) -> None:
    resp = at(client).post(f"{path}/action", {"reset_status": {"status": status}})
    assert resp.status_code == 202, resp.text


def test_create_makes_one_member_per_share_and_cuts_atomically(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    shares = [sg.create_share(size=size, share_group_id=group["id"]) for size in (1, 3)]
    resp = post_group_snapshot(sg, group["id"], name="n", description="d", unknown_key="accepted")
    assert resp.status_code == 202, resp.text
    created = resp.json()["share_group_snapshot"]
    assert set(created) == DETAIL_KEYS
    assert (created["status"], created["name"], created["description"]) == ("creating", "n", "d")
    assert created["lockstep:consistency"] is None
    assert sorted((m["share_id"], m["size"]) for m in created["members"]) == sorted(
        (s["id"], s["size"]) for s in shares)
    assert all(set(m) == {"id", "size", "share_id"} for m in created["members"])
    done = sg.wait(f"{SNAPS}/{created['id']}", "share_group_snapshot")
    assert done["status"] == "available" and DATE.match(done["created_at"])
    assert done["lockstep:consistency"] == {"method": "atomic", "spread_ms": 0.0}
    assert done["links"][0]["href"].endswith(f"/v2/{client.project}/share-group-snapshots/{created['id']}")


def test_create_validation(client: Client) -> None:
    sg = at(client)
    expect_fault(sg.post(SNAPS, {"cgsnapshot": {}}), 400, "'share_group_snapshot' is missing from the request body.")
    expect_fault(sg.post(SNAPS, {"share_group_snapshot": {"name": "x"}}), 400,
                 "Must supply 'share_group_id' attribute.")
    expect_fault(post_group_snapshot(sg, "group"), 400, "The 'share_group_id' attribute must be a uuid.")
    missing = unknown_id()
    expect_fault(post_group_snapshot(sg, missing), 400, f"Share group {missing} could not be found.")
    group = create_share_group(sg)
    share = sg.create_share(share_group_id=group["id"])
    reset(client, f"/shares/{share['id']}", "error")
    expect_fault(post_group_snapshot(sg, group["id"]), 409,
                 f"Invalid share group: Share {share['id']} in share group must have status of available in order "
                 "to create a group snapshot")
    reset(client, f"{SGS}/{group['id']}", "error")
    expect_fault(post_group_snapshot(sg, group["id"]), 409,
                 "Invalid share group: Share group status must be available")
    assert sg.get(SNAPS).json()["share_group_snapshots"] == []


def test_empty_group_snapshot_has_no_members(client: Client) -> None:
    sg = at(client)
    snapshot = create_group_snapshot(sg, create_share_group(sg)["id"])
    assert snapshot["members"] == [] and snapshot["status"] == "available"
    assert sg.get(f"{SNAPS}/{snapshot['id']}/members").json() == {"share_group_snapshot_members": []}


def test_show_list_and_detail(client: Client, member: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    share = sg.create_share(share_group_id=group["id"])
    snapshot = create_group_snapshot(sg, group["id"])
    shown = at(member).get(f"{SNAPS}/{snapshot['id']}").json()["share_group_snapshot"]
    assert shown == snapshot
    assert shown["members"][0]["share_id"] == share["id"]
    summary = sg.get(SNAPS).json()["share_group_snapshots"]
    assert summary == [{"id": snapshot["id"], "name": None, "links": snapshot["links"]}]
    assert sg.get(f"{SNAPS}/detail").json()["share_group_snapshots"] == [snapshot]
    missing = unknown_id()
    expect_fault(sg.get(f"{SNAPS}/{missing}"), 404, not_found(missing))


def test_members(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    shares = [sg.create_share(share_group_id=group["id"]) for _ in range(3)]
    snapshot = create_group_snapshot(sg, group["id"])
    path = f"{SNAPS}/{snapshot['id']}/members"
    members = sg.get(path).json()["share_group_snapshot_members"]
    assert all(set(m) == MEMBER_KEYS for m in members)
    assert {m["share_id"] for m in members} == {s["id"] for s in shares}
    assert {(m["share_group_snapshot_id"], m["share_protocol"], m["size"], m["project_id"]) for m in members} == {
        (snapshot["id"], "NFS", 1, client.project)}
    first = sg.get(path, params={"limit": "2"})
    links = first.json()["share_group_snapshot_members_links"]
    assert f"/share-group-snapshots/{snapshot['id']}/members?limit=2&marker=" in links[0]["href"]
    assert follow(sg, first, "share_group_snapshot_members", "share_group_snapshot_members_links") == members
    missing = unknown_id()
    expect_fault(sg.get(f"{SNAPS}/{missing}/members"), 404, not_found(missing))


def test_foreign_snapshot_is_404(client: Client) -> None:
    sg = at(client)
    snapshot = create_group_snapshot(sg, create_share_group(sg)["id"])
    stranger = at(client.with_(project=unknown_id().replace("-", ""), user="bob"))
    for path in (f"{SNAPS}/{snapshot['id']}", f"{SNAPS}/{snapshot['id']}/members"):
        expect_fault(stranger.get(path), 404, not_found(snapshot["id"]))
    expect_fault(stranger.delete(f"{SNAPS}/{snapshot['id']}"), 404, not_found(snapshot["id"]))


def test_filters_sorting_and_paging(client: Client) -> None:
    sg = at(client)
    group, other = create_share_group(sg), create_share_group(sg)
    made = [create_group_snapshot(sg, group["id"], name=f"s{i}") for i in range(4)]
    elsewhere = create_group_snapshot(sg, other["id"], name="x")
    reset(client, f"{SNAPS}/{made[0]['id']}", "error")

    def ids(**params: str) -> list[str]:
        resp = sg.get(f"{SNAPS}/detail", params=params)
        assert resp.status_code == 200, resp.text
        return [s["id"] for s in resp.json()["share_group_snapshots"]]

    assert ids(share_group_id=group["id"]) == [s["id"] for s in reversed(made)]
    assert ids(share_group_id=other["id"]) == [elsewhere["id"]]
    assert ids(status="error") == [made[0]["id"]]
    assert ids(name="s2") == [made[2]["id"]]
    assert ids(sort_key="name", sort_dir="asc", share_group_id=group["id"]) == [s["id"] for s in made]
    expect_fault(sg.get(SNAPS, params={"size": "1"}), 400,
                 "Invalid input received: Share group snapshots cannot be filtered using 'size' key.")
    expect_fault(sg.get(SNAPS, params={"sort_key": "size"}), 400,
                 "Invalid input received: Wrong sorting key provided - 'size'.")
    first = sg.get(SNAPS, params={"limit": "2"})
    assert "share_group_snapshot_links" in first.json()
    assert {s["id"] for s in follow(sg, first, "share_group_snapshots", "share_group_snapshot_links")} == {
        s["id"] for s in [*made, elsewhere]}


def test_update(client: Client) -> None:
    sg = at(client)
    snapshot = create_group_snapshot(sg, create_share_group(sg)["id"])
    path = f"{SNAPS}/{snapshot['id']}"
    resp = sg.put(path, {"share_group_snapshot": {"name": "new", "description": "d"}})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["share_group_snapshot"]["name"], resp.json()["share_group_snapshot"]["description"]) == (
        "new", "d")
    expect_fault(sg.put(path, {"share_group_snapshot": {"share_group_id": unknown_id()}}), 400,
                 "The fields {'share_group_id'} are invalid or not allowed to be updated.")
    expect_fault(sg.put(path, {"snapshot": {}}), 400, "'share_group_snapshot' is missing from the request body.")
    missing = unknown_id()
    expect_fault(sg.put(f"{SNAPS}/{missing}", {"share_group_snapshot": {"name": "x"}}), 404, not_found(missing))


@pytest.mark.parametrize("status", ["creating", "deleting", "error_deleting"])
def test_delete_needs_available_or_error(client: Client, status: str) -> None:
    sg = at(client)
    snapshot = create_group_snapshot(sg, create_share_group(sg)["id"])
    reset(client, f"{SNAPS}/{snapshot['id']}", status)
    expect_fault(sg.delete(f"{SNAPS}/{snapshot['id']}"), 409,
                 "Invalid share group snapshot: Share group snapshot status must be one of ('available', 'error')")


def test_delete_the_source_of_a_live_group(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    sg.create_share(share_group_id=group["id"])
    snapshot = create_group_snapshot(sg, group["id"])
    restored = create_share_group(sg, source_share_group_snapshot_id=snapshot["id"])
    resp = sg.delete(f"{SNAPS}/{snapshot['id']}")
    assert resp.status_code == 202 and resp.content == b""
    sg.wait_gone(f"{SNAPS}/{snapshot['id']}")
    kept = sg.get(f"{SGS}/{restored['id']}").json()["share_group"]
    assert kept["source_share_group_snapshot_id"] == snapshot["id"] and kept["status"] == "available"


def test_admin_actions(client: Client, member: Client) -> None:
    sg = at(client)
    snapshot = create_group_snapshot(sg, create_share_group(sg)["id"])
    action = f"{SNAPS}/{snapshot['id']}/action"
    policy_denied(at(member).post(action, {"reset_status": {"status": "error"}}),
                  "share_group_snapshot:reset_status")
    policy_denied(at(member).post(action, {"force_delete": None}), "share_group_snapshot:force_delete")
    reset(client, f"{SNAPS}/{snapshot['id']}", "server_migrating")
    assert sg.get(f"{SNAPS}/{snapshot['id']}").json()["share_group_snapshot"]["status"] == "server_migrating"
    expect_fault(sg.post(action, {"reset_status": {"status": "bogus"}}), 400,
                 "Invalid state. Valid states: creating, available, deleting, error, error_deleting, migrating, "
                 "migrating_to, server_migrating.")
    expect_fault(sg.post(f"{SNAPS}/{unknown_id()}/action", {"force_delete": None}), 404, GENERIC_404)
    assert sg.post(action, {"force_delete": None}).status_code == 202
    expect_fault(sg.get(f"{SNAPS}/{snapshot['id']}"), 404, not_found(snapshot["id"]))


def test_members_may_read_and_make_their_own(member: Client) -> None:
    sg = at(member)
    group = create_share_group(sg)
    snapshot = create_group_snapshot(sg, group["id"])
    assert sg.put(f"{SNAPS}/{snapshot['id']}", {"share_group_snapshot": {"name": "m"}}).status_code == 200
    assert sg.delete(f"{SNAPS}/{snapshot['id']}").status_code == 202
    sg.wait_gone(f"{SNAPS}/{snapshot['id']}")
