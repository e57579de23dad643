"""/cgsnapshots: create validation, views, members, paging, update, delete, admin actions, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import GENERIC_404, RESET_STATES, expect_fault, follow, reset, unknown_id
from tests.support import Client, Server

SNAPS = "/cgsnapshots"
SUMMARY_KEYS = {"id", "name", "links"}
DETAIL_KEYS = {"id", "name", "created_at", "status", "description", "project_id", "consistency_group_id",
               "links", "lockstep:consistency"}
MEMBER_KEYS = {"id", "created_at", "size", "share_protocol", "project_id", "share_type_id", "cgsnapshot_id",
               "share_id"}


def not_found(cgsnapshot_id: str) -> str:
    return f"Consistency group snapshot {cgsnapshot_id} not found."


def post_snapshot(client: Client, **fields: Any) -> Any:
    return client.post(SNAPS, {"cgsnapshot": fields})


def status_of(client: Client, cgsnapshot_id: str) -> str:
    return str(client.get(f"{SNAPS}/{cgsnapshot_id}").json()["cgsnapshot"]["status"])


# -- create --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [{"snapshot": {}}, {"cgsnapshot": "x"}, {"cgsnapshot": None}])
def test_create_without_entity(client: Client, body: Any) -> None:
    expect_fault(client.post(SNAPS, body), 400, "'cgsnapshot' is missing from the request body")


@pytest.mark.parametrize("fields", [{}, {"consistency_group_id": ""}, {"consistency_group_id": None},
                                    {"name": "x"}])
def test_create_requires_group_id(client: Client, fields: dict[str, Any]) -> None:
    expect_fault(post_snapshot(client, **fields), 400, "Must supply 'consistency_group_id' attribute.")


@pytest.mark.parametrize("group_id", ["cg", "1234", 5])
def test_create_group_id_must_be_uuid(client: Client, group_id: Any) -> None:
    expect_fault(post_snapshot(client, consistency_group_id=group_id), 400,
                 "The 'consistency_group_id' attribute must be a uuid.")


def test_create_unknown_group_is_400(client: Client) -> None:
    missing = unknown_id()
    expect_fault(post_snapshot(client, consistency_group_id=missing), 400,
                 f"ConsistencyGroup {missing} could not be found.")


@pytest.mark.parametrize("status", ["creating", "error", "deleting"])
def test_create_needs_available_group(client: Client, status: str) -> None:
    group = client.create_group()
    reset(client, "consistency-groups", group["id"], status)
    expect_fault(post_snapshot(client, consistency_group_id=group["id"]), 409,
                 "Invalid ConsistencyGroup: Consistency group status must be available")


def test_create_needs_every_share_available(client: Client) -> None:
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    bad = client.create_share(consistency_group_id=group["id"])
    reset(client, "shares", bad["id"], "error")
    expect_fault(post_snapshot(client, consistency_group_id=group["id"]), 409,
                 f"Invalid ConsistencyGroup: Share {bad['id']} in consistency group must have status of "
                 "available in order to create a CG snapshot")
    assert client.get(SNAPS).json()["cgsnapshots"] == []


def test_create_ignores_unknown_keys_and_returns_detail(client: Client, member: Client) -> None:
    group = client.create_group()
    resp = post_snapshot(member, consistency_group_id=group["id"], name="nightly", description="d", bogus=1)
    assert resp.status_code == 202, resp.text
    created = resp.json()["cgsnapshot"]
    assert set(created) == DETAIL_KEYS
    assert (created["status"], created["name"], created["description"]) == ("creating", "nightly", "d")
    assert (created["consistency_group_id"], created["project_id"]) == (group["id"], client.project)
    done = member.wait(f"{SNAPS}/{created['id']}", "cgsnapshot")
    assert done["status"] == "available"
    assert done["lockstep:consistency"] == {"method": "atomic", "spread_ms": 0.0}


def test_empty_group_snapshot_has_no_members(client: Client) -> None:
    group = client.create_group()
    cgsnapshot = client.create_cgsnapshot(group["id"])
    assert cgsnapshot["status"] == "available"
    assert client.get(f"{SNAPS}/{cgsnapshot['id']}/members").json() == {"cgsnapshot_members": []}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", 1, "Invalid input received: 'name' must be a string, got int."),
    ("description", "d" * 256, "Invalid input received: 'description' is longer than 255 characters."),
])
def test_create_text_fields_checked(client: Client, field: str, value: Any, message: str) -> None:
    group = client.create_group()
    expect_fault(post_snapshot(client, consistency_group_id=group["id"], **{field: value}), 400, message)


# -- members -------------------------------------------------------------------------------------------
def test_members_rows(client: Client, member: Client) -> None:
    group = client.create_group()
    nfs = client.create_share(size=2, consistency_group_id=group["id"])
    cifs = client.create_share(size=3, proto="cifs", consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    resp = member.get(f"{SNAPS}/{cgsnapshot['id']}/members")
    assert resp.status_code == 200
    rows = resp.json()["cgsnapshot_members"]
    assert [set(r) for r in rows] == [MEMBER_KEYS, MEMBER_KEYS]
    by_share = {r["share_id"]: r for r in rows}
    assert set(by_share) == {nfs["id"], cifs["id"]}
    for share, size, proto in ((nfs, 2, "NFS"), (cifs, 3, "CIFS")):
        row = by_share[share["id"]]
        assert (row["size"], row["share_protocol"]) == (size, proto)
        assert row["share_type_id"] == share["share_type"]
        assert (row["cgsnapshot_id"], row["project_id"]) == (cgsnapshot["id"], client.project)
    assert len({r["id"] for r in rows}) == 2


def test_members_of_unknown_snapshot_is_404(client: Client) -> None:
    missing = unknown_id()
    expect_fault(client.get(f"{SNAPS}/{missing}/members"), 404, not_found(missing))


def test_members_paging_follows_next_links(client: Client) -> None:
    group = client.create_group()
    for _ in range(5):
        client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    path = f"{SNAPS}/{cgsnapshot['id']}/members"
    everything = [m["id"] for m in client.get(path).json()["cgsnapshot_members"]]
    assert len(everything) == 5
    assert "cgsnapshot_members_links" not in client.get(path).json()
    page = client.get(path, params={"limit": 2}).json()
    assert [m["id"] for m in page["cgsnapshot_members"]] == everything[:2]
    assert [link["rel"] for link in page["cgsnapshot_members_links"]] == ["next"]
    followed = follow(client, client.get(path, params={"limit": 2}), "cgsnapshot_members",
                      "cgsnapshot_members_links")
    assert [m["id"] for m in followed] == everything
    offset = client.get(path, params={"offset": 4}).json()["cgsnapshot_members"]
    assert [m["id"] for m in offset] == everything[4:]
    expect_fault(client.get(path, params={"limit": "two"}), 400, "limit param must be an integer")
    expect_fault(client.get(path, params={"offset": "-1"}), 400, "offset param must be positive")


# -- views, listing ------------------------------------------------------------------------------------
def test_summary_detail_and_show_keys(server: Server, client: Client) -> None:
    group = client.create_group()
    cgsnapshot = client.create_cgsnapshot(group["id"], name="s")
    summary = client.get(SNAPS).json()
    assert [set(c) for c in summary["cgsnapshots"]] == [SUMMARY_KEYS]
    assert "lockstep:consistency" not in summary["cgsnapshots"][0]
    detail = client.get(f"{SNAPS}/detail").json()["cgsnapshots"]
    assert [set(c) for c in detail] == [DETAIL_KEYS]
    assert detail[0] == cgsnapshot
    shown = client.get(f"{SNAPS}/{cgsnapshot['id']}").json()["cgsnapshot"]
    assert shown == cgsnapshot
    assert shown["links"] == [
        {"rel": "self", "href": f"{server.url}/v2/{client.project}/cgsnapshot/{cgsnapshot['id']}"},
        {"rel": "bookmark", "href": f"{server.url}/{client.project}/cgsnapshot/{cgsnapshot['id']}"},
    ]
    assert summary["cgsnapshots"][0]["links"] == shown["links"]


@pytest.mark.parametrize("path", [SNAPS, f"{SNAPS}/detail"])
def test_paging(client: Client, path: str) -> None:
    group = client.create_group()
    for i in range(4):  # settled first: created_at (the sort key) is reset when creation finishes
        client.create_cgsnapshot(group["id"], name=f"s{i}")
    everything = [c["id"] for c in client.get(path).json()["cgsnapshots"]]
    assert len(everything) == 4
    page = client.get(path, params={"limit": 3}).json()
    assert [c["id"] for c in page["cgsnapshots"]] == everything[:3]
    (nxt,) = page["cgsnapshot_links"]
    assert nxt["rel"] == "next" and nxt["href"].endswith(f"limit=3&marker={everything[2]}")
    followed = follow(client, client.get(path, params={"limit": 1}), "cgsnapshots", "cgsnapshot_links")
    assert [c["id"] for c in followed] == everything
    followed = follow(client, client.get(path, params={"limit": 1, "offset": 2}), "cgsnapshots",
                      "cgsnapshot_links")
    assert [c["id"] for c in followed] == everything[2:]
    marker = client.get(path, params={"marker": everything[0]}).json()["cgsnapshots"]
    assert [c["id"] for c in marker] == everything[1:]
    assert "cgsnapshot_links" not in client.get(path, params={"limit": 5}).json()
    expect_fault(client.get(path, params={"limit": "-3"}), 400, "limit param must be positive")
    expect_fault(client.get(path, params={"offset": "x"}), 400, "offset param must be an integer")


def test_all_tenants(client: Client, member: Client) -> None:
    mine = client.create_cgsnapshot(client.create_group()["id"])
    other = client.with_(project=unknown_id().replace("-", ""))
    theirs = other.create_cgsnapshot(other.create_group()["id"])
    for path in (SNAPS, f"{SNAPS}/detail"):
        assert listed_ids(client, path, None) == {mine["id"]}
        assert {mine["id"], theirs["id"]} <= listed_ids(client, path, "true")
        assert listed_ids(client, path, "0") == {mine["id"]}
        assert listed_ids(member, path, "1") == {mine["id"]}


def listed_ids(who: Client, path: str, all_tenants: str | None) -> set[str]:
    params = {} if all_tenants is None else {"all_tenants": all_tenants}
    resp = who.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return {c["id"] for c in resp.json()["cgsnapshots"]}


# -- update ----------------------------------------------------------------------------------------------
def test_update(client: Client, member: Client) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"], name="a")
    resp = member.put(f"{SNAPS}/{cgsnapshot['id']}", {"cgsnapshot": {"name": "b", "description": "c"}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["cgsnapshot"]
    assert set(updated) == DETAIL_KEYS
    assert (updated["name"], updated["description"]) == ("b", "c")
    assert client.get(f"{SNAPS}/{cgsnapshot['id']}").json()["cgsnapshot"]["name"] == "b"


def test_update_errors(client: Client) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"])
    body = {"cgsnapshot": {"consistency_group_id": unknown_id()}}
    expect_fault(client.put(f"{SNAPS}/{cgsnapshot['id']}", body), 400,
                 "The fields {'consistency_group_id'} are invalid or not allowed to be updated.")
    expect_fault(client.put(f"{SNAPS}/{cgsnapshot['id']}", {"snapshot": {}}), 400,
                 "'cgsnapshot' is missing from the request body")
    missing = unknown_id()
    expect_fault(client.put(f"{SNAPS}/{missing}", {"cgsnapshot": {"name": "x"}}), 404, not_found(missing))
    expect_fault(client.get(f"{SNAPS}/{missing}"), 404, not_found(missing))


# -- delete ----------------------------------------------------------------------------------------------
def test_delete(client: Client, member: Client) -> None:
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    resp = member.delete(f"{SNAPS}/{cgsnapshot['id']}")
    assert resp.status_code == 202 and resp.content == b""
    client.wait_gone(f"{SNAPS}/{cgsnapshot['id']}")
    expect_fault(client.get(f"{SNAPS}/{cgsnapshot['id']}/members"), 404, not_found(cgsnapshot["id"]))


def test_delete_error_snapshot(client: Client) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"])
    reset(client, "cgsnapshots", cgsnapshot["id"], "error")
    assert client.delete(f"{SNAPS}/{cgsnapshot['id']}").status_code == 202
    client.wait_gone(f"{SNAPS}/{cgsnapshot['id']}")


@pytest.mark.parametrize("status", ["creating", "deleting", "error_deleting"])
def test_delete_refused_by_status(client: Client, status: str) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"])
    reset(client, "cgsnapshots", cgsnapshot["id"], status)
    expect_fault(client.delete(f"{SNAPS}/{cgsnapshot['id']}"), 409,
                 "Invalid CGSnapshot: Consistency group snapshot status must be one of ('available', "
                 "'error')")
    assert status_of(client, cgsnapshot["id"]) == status


def test_delete_unknown(client: Client) -> None:
    missing = unknown_id()
    expect_fault(client.delete(f"{SNAPS}/{missing}"), 404, not_found(missing))


# -- admin actions -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "key"), [("2.4", "os-reset_status"), ("2.6", "os-reset_status"),
                                              ("2.7", "reset_status")])
def test_reset_status_names_by_version(client: Client, version: str, key: str) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"])
    at = client.with_(version=version)
    resp = at.post(f"{SNAPS}/{cgsnapshot['id']}/action", {key: {"status": "error_deleting"}})
    assert resp.status_code == 202 and resp.content == b"", resp.text
    assert status_of(client, cgsnapshot["id"]) == "error_deleting"
    other = "reset_status" if key.startswith("os-") else "os-reset_status"
    expect_fault(at.post(f"{SNAPS}/{cgsnapshot['id']}/action", {other: {"status": "available"}}), 404,
                 GENERIC_404)


def test_reset_status_validation(client: Client, member: Client) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"])
    action = f"{SNAPS}/{cgsnapshot['id']}/action"
    expect_fault(client.post(action, {"reset_status": {}}), 400, "Must specify 'status'")
    expect_fault(client.post(action, {"reset_status": None}), 400, "Must specify 'status'")
    resp = client.post(action, {"reset_status": {"status": "gone"}})
    assert resp.status_code == 400
    message = resp.json()["badRequest"]["message"]
    assert message.startswith("Invalid state. Valid states: ")
    states = message.removeprefix("Invalid state. Valid states: ").removesuffix(".")
    assert set(states.split(", ")) == set(RESET_STATES)
    expect_fault(client.post(f"{SNAPS}/{unknown_id()}/action", {"reset_status": {"status": "error"}}), 404,
                 GENERIC_404)
    expect_fault(member.post(action, {"reset_status": {"status": "error"}}), 403,
                 "Policy doesn't allow cgsnapshot:reset_status to be performed.")
    expect_fault(member.post(action, {"force_delete": None}), 403,
                 "Policy doesn't allow cgsnapshot:force_delete to be performed.")
    expect_fault(client.post(action, {"nope": None}), 400, "There is no such action: nope")
    assert status_of(client, cgsnapshot["id"]) == "available"


@pytest.mark.parametrize(("version", "key"), [("2.4", "os-force_delete"), ("2.30", "force_delete")])
def test_force_delete_from_any_state(client: Client, version: str, key: str) -> None:
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    reset(client, "cgsnapshots", cgsnapshot["id"], "deleting")
    at = client.with_(version=version)
    other = "force_delete" if key.startswith("os-") else "os-force_delete"
    expect_fault(at.post(f"{SNAPS}/{cgsnapshot['id']}/action", {other: None}), 404, GENERIC_404)
    resp = at.post(f"{SNAPS}/{cgsnapshot['id']}/action", {key: None})
    assert resp.status_code == 202 and resp.content == b"", resp.text
    expect_fault(client.get(f"{SNAPS}/{cgsnapshot['id']}"), 404, not_found(cgsnapshot["id"]))
    expect_fault(client.get(f"{SNAPS}/{cgsnapshot['id']}/members"), 404, not_found(cgsnapshot["id"]))
    # the group no longer has a cgsnapshot
    assert client.delete(f"/consistency-groups/{group['id']}").json()["conflictingRequest"]["message"] == (
        "Invalid ConsistencyGroup: Cannot delete a consistency group with shares")
    expect_fault(client.post(f"{SNAPS}/{unknown_id()}/action", {"force_delete": None}), 404, GENERIC_404)


def test_cgsnapshot_action_route_is_post_only(client: Client) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"])
    resp = client.put(f"{SNAPS}/{cgsnapshot['id']}/action", {"reset_status": {"status": "error"}})
    expect_fault(resp, 404, GENERIC_404)  # issue 9: unmatched routes answer Manila's JSON fault
    assert status_of(client, cgsnapshot["id"]) == "available"


# -- isolation -------------------------------------------------------------------------------------------
def test_other_projects_cgsnapshot_is_not_found_for_members(server: Server, client: Client) -> None:
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    sid = cgsnapshot["id"]
    stranger_admin = server.client()
    stranger = stranger_admin.with_(user="bob")
    expect_fault(stranger.get(f"{SNAPS}/{sid}"), 404, not_found(sid))
    expect_fault(stranger.get(f"{SNAPS}/{sid}/members"), 404, not_found(sid))
    expect_fault(stranger.put(f"{SNAPS}/{sid}", {"cgsnapshot": {"name": "x"}}), 404, not_found(sid))
    expect_fault(stranger.delete(f"{SNAPS}/{sid}"), 404, not_found(sid))
    body = {"consistency_group": {"source_cgsnapshot_id": sid}}
    expect_fault(stranger.post("/consistency-groups", body), 400,
                 f"Consistency group snapshot {sid} could not be found.")
    for path in (SNAPS, f"{SNAPS}/detail"):
        assert stranger.get(path, params={"all_tenants": "yes"}).json()["cgsnapshots"] == []
    # an admin of any project addresses it by id
    assert stranger_admin.get(f"{SNAPS}/{sid}").json()["cgsnapshot"]["project_id"] == client.project
    assert len(stranger_admin.get(f"{SNAPS}/{sid}/members").json()["cgsnapshot_members"]) == 1
    renamed = stranger_admin.put(f"{SNAPS}/{sid}", {"cgsnapshot": {"name": "by-admin"}})
    assert renamed.status_code == 200 and renamed.json()["cgsnapshot"]["name"] == "by-admin"
    reset(stranger_admin, "cgsnapshots", sid, "error")
    assert status_of(client, sid) == "error"
    assert stranger_admin.delete(f"{SNAPS}/{sid}").status_code == 202
    client.wait_gone(f"{SNAPS}/{sid}")


def test_admin_of_other_project_force_deletes(server: Server, client: Client) -> None:
    cgsnapshot = client.create_cgsnapshot(client.create_group()["id"])
    stranger_admin = server.client()
    resp = stranger_admin.post(f"{SNAPS}/{cgsnapshot['id']}/action", {"force_delete": None})
    assert resp.status_code == 202, resp.text
    expect_fault(client.get(f"{SNAPS}/{cgsnapshot['id']}"), 404, not_found(cgsnapshot["id"]))
