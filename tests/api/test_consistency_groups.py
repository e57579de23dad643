"""/consistency-groups: gating, create validation, views, paging, update, delete, admin actions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import (
    GENERIC_404,
    RESET_STATES,
    create_network,
    create_type,
    default_type_id,
    expect_fault,
    follow,
    post_group,
    reset,
    unknown_id,
)
from tests.support import Client, Server, fault

SUMMARY_KEYS = {"id", "name", "links"}
DETAIL_KEYS = {"id", "name", "description", "status", "created_at", "project_id", "host",
               "source_cgsnapshot_id", "share_network_id", "share_types", "links"}
CGS = "/consistency-groups"


def status_of(client: Client, group_id: str) -> str:
    return str(client.get(f"{CGS}/{group_id}").json()["consistency_group"]["status"])


def not_found(group_id: str) -> str:
    return f"Consistency group {group_id} not found."


# -- experimental gating --------------------------------------------------------------------------
def endpoints(group_id: str, cgsnapshot_id: str, version: str) -> list[tuple[str, str, Any]]:
    major, minor = (int(x) for x in version.split("."))
    old = (major, minor) < (2, 7)
    reset_key, force_key = ("os-reset_status", "os-force_delete") if old else ("reset_status", "force_delete")
    return [
        ("GET", "/consistency-groups", None),
        ("GET", "/consistency-groups/detail", None),
        ("GET", f"/consistency-groups/{group_id}", None),
        ("POST", "/consistency-groups", {"consistency_group": {"name": "x"}}),
        ("PUT", f"/consistency-groups/{group_id}", {"consistency_group": {"name": "x"}}),
        ("DELETE", f"/consistency-groups/{group_id}", None),
        ("POST", f"/consistency-groups/{group_id}/action", {reset_key: {"status": "error"}}),
        ("POST", f"/consistency-groups/{group_id}/action", {force_key: None}),
        ("GET", "/cgsnapshots", None),
        ("GET", "/cgsnapshots/detail", None),
        ("GET", f"/cgsnapshots/{cgsnapshot_id}", None),
        ("GET", f"/cgsnapshots/{cgsnapshot_id}/members", None),
        ("POST", "/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group_id}}),
        ("PUT", f"/cgsnapshots/{cgsnapshot_id}", {"cgsnapshot": {"name": "x"}}),
        ("DELETE", f"/cgsnapshots/{cgsnapshot_id}", None),
        ("POST", f"/cgsnapshots/{cgsnapshot_id}/action", {reset_key: {"status": "error"}}),
        ("POST", f"/cgsnapshots/{cgsnapshot_id}/action", {force_key: None}),
    ]


@pytest.mark.parametrize(("version", "experimental"), [
    ("2.30", False), ("2.4", False), ("2.3", True), ("2.0", True), (None, True), (None, False),
])
def test_every_endpoint_is_404_without_experimental_header_or_below_2_4(
        client: Client, version: str | None, experimental: bool) -> None:
    group = client.create_group()
    cgsnapshot = client.create_cgsnapshot(group["id"])
    gated = client.with_(version=version, experimental=experimental)
    for method, path, body in endpoints(group["id"], cgsnapshot["id"], version or "2.0"):
        resp = gated.http.request(method, path, json=body)
        assert resp.status_code == 404, (method, path, resp.text)
        expect_fault(resp, 404, GENERIC_404)
        assert resp.headers["X-OpenStack-Manila-API-Version"] == (version or "2.0")
    # nothing happened to either resource
    assert status_of(client, group["id"]) == "available"
    assert client.get(f"/cgsnapshots/{cgsnapshot['id']}").json()["cgsnapshot"]["name"] is None


def test_experimental_at_2_4_serves_and_echoes_header(client: Client) -> None:
    at_24 = client.with_(version="2.4")
    resp = at_24.get("/consistency-groups")
    assert resp.status_code == 200
    assert resp.headers["X-OpenStack-Manila-API-Version"] == "2.4"
    assert resp.headers["X-OpenStack-Manila-API-Experimental"] == "True"
    assert resp.json() == {"consistency_groups": []}


# -- create: validation, in order ----------------------------------------------------------------
def test_create_without_entity(client: Client) -> None:
    expect_fault(client.post("/consistency-groups", {"share": {}}), 400,
                 "'consistency_group' is missing from the request body.")
    expect_fault(client.post("/consistency-groups", {"consistency_group": "x"}), 400,
                 "'consistency_group' is missing from the request body.")


def test_create_with_invalid_field(client: Client) -> None:
    expect_fault(post_group(client, name="g", share_server_id="x"), 400,
                 "The fields {'share_server_id'} are invalid.")


def test_create_invalid_fields_checked_before_both_sources(client: Client) -> None:
    resp = post_group(client, bogus=1, share_types=[], source_cgsnapshot_id=None)
    expect_fault(resp, 400, "The fields {'bogus'} are invalid.")


@pytest.mark.parametrize("share_types", [None, [], ["not-a-uuid"]])
def test_create_with_share_types_and_source(client: Client, share_types: Any) -> None:
    resp = post_group(client, share_types=share_types, source_cgsnapshot_id=None)
    expect_fault(resp, 400, "Cannot supply both 'share_types' and 'source_cgsnapshot_id' attributes.")


@pytest.mark.parametrize("share_types", ["missing", []])
def test_create_without_types_uses_default_type(client: Client, share_types: Any) -> None:
    fields: dict[str, Any] = {} if share_types == "missing" else {"share_types": share_types}
    resp = post_group(client, **fields)
    assert resp.status_code == 202, resp.text
    created = resp.json()["consistency_group"]
    assert created["share_types"] == [default_type_id(client)]
    assert created["status"] == "creating"
    assert created["host"] is None
    assert created["source_cgsnapshot_id"] is None


@pytest.mark.parametrize("share_types", ["0b6a64c7-6eb0-4a38-9a35-0b42d64bc4b4", ["abc"], [1], [None]])
def test_create_share_types_must_be_uuids(client: Client, share_types: Any) -> None:
    expect_fault(post_group(client, share_types=share_types), 400,
                 "The 'share_types' attribute must be a list of uuids")


def test_create_network_with_source(client: Client) -> None:
    resp = post_group(client, source_cgsnapshot_id=unknown_id(), share_network_id=unknown_id())
    expect_fault(resp, 400, "Cannot supply both 'share_network_id' and 'source_cgsnapshot_id' attributes as "
                            "the share network is inherited from the source.")


def test_create_source_must_be_uuid(client: Client) -> None:
    expect_fault(post_group(client, source_cgsnapshot_id="snap"), 400,
                 "The 'source_cgsnapshot_id' attribute must be a uuid.")


def test_create_network_must_be_uuid(client: Client) -> None:
    expect_fault(post_group(client, share_network_id="net"), 400,
                 "The 'share_network_id' attribute must be a uuid.")


def test_create_source_not_found_is_400(client: Client) -> None:
    missing = unknown_id()
    expect_fault(post_group(client, source_cgsnapshot_id=missing), 400,
                 f"Consistency group snapshot {missing} could not be found.")


def test_create_source_not_available_is_409(client: Client) -> None:
    group = client.create_group()
    cgsnapshot = client.create_cgsnapshot(group["id"])
    reset(client, "cgsnapshots", cgsnapshot["id"], "error")
    expect_fault(post_group(client, source_cgsnapshot_id=cgsnapshot["id"]), 409,
                 "Invalid CGSnapshot: Consistency group snapshot status must be available")


def test_create_unknown_share_type(client: Client) -> None:
    missing = unknown_id()
    expect_fault(post_group(client, share_types=[default_type_id(client), missing]), 400,
                 f"Share type with id {missing} could not be found")


def test_create_private_type_invisible_to_member(client: Client, member: Client) -> None:
    private = create_type(client, public=False)
    expect_fault(post_group(member, share_types=[private["id"]]), 400,
                 f"Share type with id {private['id']} could not be found")
    # admins see every type
    assert post_group(client, share_types=[private["id"]]).status_code == 202
    # access granted to the project makes it visible
    grant = client.post(f"/types/{private['id']}/action", {"addProjectAccess": {"project": member.project}})
    assert grant.status_code == 202, grant.text
    assert post_group(member, share_types=[private["id"]]).status_code == 202


def test_create_conflicting_dhss(client: Client) -> None:
    with_servers = create_type(client, dhss=True)
    resp = post_group(client, share_types=[default_type_id(client), with_servers["id"]])
    expect_fault(resp, 400, "Invalid input received: The specified share_types cannot have conflicting "
                            "values for the driver_handles_share_servers extra spec.")


def test_create_dhss_false_with_network(client: Client) -> None:
    network = create_network(client, name="net")
    resp = post_group(client, share_network_id=network["id"])
    expect_fault(resp, 400, "Invalid input received: When using a share types with the "
                            "driver_handles_share_servers extra spec as False, a share_network_id must not "
                            "be provided.")


def test_create_service_checks_in_order(client: Client) -> None:
    with_servers = create_type(client, dhss=True)
    missing_type, missing_net = unknown_id(), unknown_id()
    # source lookup before types; unknown type before the DHSS checks
    missing_source = unknown_id()
    expect_fault(post_group(client, source_cgsnapshot_id=missing_source), 400,
                 f"Consistency group snapshot {missing_source} could not be found.")
    expect_fault(post_group(client, share_types=[missing_type, with_servers["id"], default_type_id(client)],
                            share_network_id=missing_net), 400,
                 f"Share type with id {missing_type} could not be found")
    # conflicting DHSS before the network checks
    expect_fault(post_group(client, share_types=[with_servers["id"], default_type_id(client)],
                            share_network_id=missing_net), 400,
                 "Invalid input received: The specified share_types cannot have conflicting values for the "
                 "driver_handles_share_servers extra spec.")
    # DHSS=False with a network is refused before the network is looked up
    expect_fault(post_group(client, share_network_id=missing_net), 400,
                 "Invalid input received: When using a share types with the driver_handles_share_servers "
                 "extra spec as False, a share_network_id must not be provided.")


def test_create_from_cgsnapshot_whose_group_was_force_deleted(client: Client) -> None:
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    assert client.post(f"{CGS}/{group['id']}/action", {"force_delete": None}).status_code == 202
    expect_fault(post_group(client, source_cgsnapshot_id=cgsnapshot["id"]), 409,
                 f"Invalid CGSnapshot: the consistency group of cgsnapshot {cgsnapshot['id']} no longer "
                 "exists; its storage may already be reclaimed.")


def test_create_network_not_found(client: Client, member: Client) -> None:
    with_servers = create_type(client, dhss=True)
    expect_fault(post_group(client, share_types=[with_servers["id"]], share_network_id=unknown_id()), 400,
                 "Invalid input received: The specified share network does not exist.")
    # another project's network does not exist for a member (decision 1)
    foreign = create_network(client.with_(project=unknown_id().replace("-", "")), name="net")
    expect_fault(post_group(member, share_types=[with_servers["id"]], share_network_id=foreign["id"]), 400,
                 "Invalid input received: The specified share network does not exist.")


def test_create_dhss_true_without_network(client: Client) -> None:
    with_servers = create_type(client, dhss=True)
    expect_fault(post_group(client, share_types=[with_servers["id"]]), 400,
                 "Invalid input received: When using a share type with the driver_handles_share_servers "
                 "extra spec as True, a share_network_id must be provided.")


def test_create_dhss_true_with_network_is_accepted(client: Client) -> None:
    with_servers = create_type(client, dhss=True)
    network = create_network(client, name="net")
    resp = post_group(client, share_types=[with_servers["id"]], share_network_id=network["id"], name="n",
                      description="d")
    assert resp.status_code == 202, resp.text
    created = resp.json()["consistency_group"]
    assert created["share_network_id"] == network["id"]
    assert created["share_types"] == [with_servers["id"]]
    assert (created["name"], created["description"]) == ("n", "d")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", 5, "Invalid input received: 'name' must be a string, got int."),
    ("description", ["x"], "Invalid input received: 'description' must be a string, got list."),
    ("name", "x" * 256, "Invalid input received: 'name' is longer than 255 characters."),
])
def test_create_text_fields_are_checked(client: Client, field: str, value: Any, message: str) -> None:
    expect_fault(post_group(client, **{field: value}), 400, message)


def test_create_persists_and_becomes_available(client: Client) -> None:
    resp = post_group(client, name="db", description="all of it")
    assert resp.status_code == 202
    created = resp.json()["consistency_group"]
    assert set(created) == DETAIL_KEYS | {"share_server_id"}
    assert created["project_id"] == client.project
    group = client.wait(f"/consistency-groups/{created['id']}", "consistency_group")
    assert group["status"] == "available"
    assert group["host"] == "lockstep@default#fake"
    assert group["share_server_id"] is None


# -- views -------------------------------------------------------------------------------------------------
def test_summary_and_detail_keys(client: Client) -> None:
    group = client.create_group(name="g")
    summary = client.get("/consistency-groups").json()["consistency_groups"]
    assert [set(g) for g in summary] == [SUMMARY_KEYS]
    assert summary[0]["name"] == "g"
    detail = client.get("/consistency-groups/detail").json()["consistency_groups"]
    assert [set(g) for g in detail] == [DETAIL_KEYS | {"share_server_id"}]
    assert detail[0] == group


def test_member_never_sees_share_server_id_but_sees_host(client: Client, member: Client) -> None:
    group = client.create_group()
    shown = member.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]
    assert set(shown) == DETAIL_KEYS
    assert shown["host"] == group["host"] and shown["host"]
    listed = member.get("/consistency-groups/detail").json()["consistency_groups"]
    assert [set(g) for g in listed] == [DETAIL_KEYS]
    created = post_group(member).json()["consistency_group"]
    assert "share_server_id" not in created
    updated = member.put(f"/consistency-groups/{group['id']}", {"consistency_group": {"name": "m"}})
    assert "share_server_id" not in updated.json()["consistency_group"]


def test_links_use_manila_collection_segment(server: Server, client: Client) -> None:
    group = client.create_group()
    expected = [
        {"rel": "self", "href": f"{server.url}/v2/{client.project}/consistency_groups/{group['id']}"},
        {"rel": "bookmark", "href": f"{server.url}/{client.project}/consistency_groups/{group['id']}"},
    ]
    assert group["links"] == expected
    assert client.get("/consistency-groups").json()["consistency_groups"][0]["links"] == expected


# -- paging ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/consistency-groups", "/consistency-groups/detail"])
def test_paging_with_limit_offset_marker(client: Client, path: str) -> None:
    # settled first: created_at (the sort key) is reset when creation finishes
    ids = [client.create_group(name=f"g{i}")["id"] for i in range(5)]
    everything = [g["id"] for g in client.get(path).json()["consistency_groups"]]
    assert sorted(everything) == sorted(ids)
    assert "consistency_groups_links" not in client.get(path).json()

    page = client.get(path, params={"limit": 2}).json()
    assert [g["id"] for g in page["consistency_groups"]] == everything[:2]
    (nxt,) = page["consistency_groups_links"]
    assert nxt["rel"] == "next"
    assert nxt["href"].endswith(f"limit=2&marker={everything[1]}")

    offset = client.get(path, params={"offset": 3}).json()["consistency_groups"]
    assert [g["id"] for g in offset] == everything[3:]
    marker = client.get(path, params={"marker": everything[1]}).json()["consistency_groups"]
    assert [g["id"] for g in marker] == everything[2:]
    # a page that is not full has no next link
    assert "consistency_groups_links" not in client.get(path, params={"limit": 10}).json()
    assert [g["id"] for g in client.get(path, params={"limit": 0}).json()["consistency_groups"]] == everything

    followed = follow(client, client.get(path, params={"limit": 2}), "consistency_groups",
                      "consistency_groups_links")
    assert [g["id"] for g in followed] == everything
    if path.endswith("detail"):
        assert all(set(g) == DETAIL_KEYS | {"share_server_id"} for g in followed)
    followed = follow(client, client.get(path, params={"limit": 2, "offset": 1}), "consistency_groups",
                      "consistency_groups_links")
    assert [g["id"] for g in followed] == everything[1:]


@pytest.mark.parametrize(("params", "message"), [
    ({"limit": "x"}, "limit param must be an integer"),
    ({"limit": "-1"}, "limit param must be positive"),
    ({"offset": "1.5"}, "offset param must be an integer"),
    ({"offset": "-2"}, "offset param must be positive"),
])
@pytest.mark.parametrize("path", ["/consistency-groups", "/consistency-groups/detail"])
def test_paging_errors(client: Client, path: str, params: dict[str, str], message: str) -> None:
    expect_fault(client.get(path, params=params), 400, message)


# -- all_tenants -------------------------------------------------------------------------------------------
def test_all_tenants_is_a_boolean_for_admins_only(client: Client, member: Client) -> None:
    mine = client.create_group()
    other = client.with_(project=unknown_id().replace("-", ""))
    theirs = post_group(other).json()["consistency_group"]
    for path in ("/consistency-groups", "/consistency-groups/detail"):
        assert listed_ids(client, path) == {mine["id"]}
        for truthy in ("1", "true", "yes", "on", "True"):
            assert {mine["id"], theirs["id"]} <= listed_ids(client, path, all_tenants=truthy)
        for falsy in ("0", "false", "no", "off"):
            assert listed_ids(client, path, all_tenants=falsy) == {mine["id"]}
        assert listed_ids(member, path, all_tenants="1") == {mine["id"]}


def listed_ids(who: Client, path: str, **params: str) -> set[str]:
    resp = who.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return {g["id"] for g in resp.json()["consistency_groups"]}


# -- update ------------------------------------------------------------------------------------------------
def test_update_name_and_description(client: Client, member: Client) -> None:
    group = client.create_group(name="a", description="b")
    resp = member.put(f"/consistency-groups/{group['id']}",
                      {"consistency_group": {"name": "new", "description": "Edited description"}})
    assert resp.status_code == 200, resp.text
    updated = resp.json()["consistency_group"]
    assert (updated["name"], updated["description"]) == ("new", "Edited description")
    assert updated["status"] == "available"
    assert client.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]["name"] == "new"
    # empty dict allowed, any state
    reset(client, "consistency-groups", group["id"], "error_deleting")
    resp = member.put(f"/consistency-groups/{group['id']}", {"consistency_group": {}})
    assert resp.status_code == 200
    assert resp.json()["consistency_group"]["name"] == "new"


def test_update_invalid_fields_before_lookup(client: Client) -> None:
    group = client.create_group()
    expect_fault(client.put(f"{CGS}/{group['id']}", {"consistency_group": {"share_types": []}}), 400,
                 "The fields {'share_types'} are invalid or not allowed to be updated.")
    expect_fault(client.put(f"{CGS}/{unknown_id()}", {"consistency_group": {"status": "x"}}), 400,
                 "The fields {'status'} are invalid or not allowed to be updated.")
    expect_fault(client.put(f"/consistency-groups/{group['id']}", {"cg": {}}), 400,
                 "'consistency_group' is missing from the request body.")


def test_update_and_show_unknown(client: Client) -> None:
    missing = unknown_id()
    expect_fault(client.put(f"/consistency-groups/{missing}", {"consistency_group": {"name": "x"}}), 404,
                 f"Consistency group {missing} not found.")
    expect_fault(client.get(f"/consistency-groups/{missing}"), 404, f"Consistency group {missing} not found.")


# -- delete ------------------------------------------------------------------------------------------------
def test_delete_available_group(client: Client, member: Client) -> None:
    group = client.create_group()
    resp = member.delete(f"/consistency-groups/{group['id']}")
    assert resp.status_code == 202 and resp.content == b""
    client.wait_gone(f"/consistency-groups/{group['id']}")
    assert client.get("/consistency-groups").json()["consistency_groups"] == []


def test_delete_unknown(client: Client) -> None:
    missing = unknown_id()
    expect_fault(client.delete(f"{CGS}/{missing}"), 404, not_found(missing))


@pytest.mark.parametrize("status", ["creating", "deleting", "error_deleting", "migrating"])
def test_delete_refused_by_status(client: Client, status: str) -> None:
    group = client.create_group()
    reset(client, "consistency-groups", group["id"], status)
    expect_fault(client.delete(f"/consistency-groups/{group['id']}"), 409,
                 "Invalid ConsistencyGroup: Consistency group status must be one of ('available', 'error')")


def test_delete_error_group_is_allowed(client: Client) -> None:
    group = client.create_group()
    reset(client, "consistency-groups", group["id"], "error")
    assert client.delete(f"/consistency-groups/{group['id']}").status_code == 202
    client.wait_gone(f"/consistency-groups/{group['id']}")


def test_delete_refused_with_cgsnapshots_then_shares(client: Client) -> None:
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    expect_fault(client.delete(f"/consistency-groups/{group['id']}"), 409,
                 "Invalid ConsistencyGroup: Cannot delete a consistency group with cgsnapshots")
    assert client.delete(f"/cgsnapshots/{cgsnapshot['id']}").status_code == 202
    client.wait_gone(f"/cgsnapshots/{cgsnapshot['id']}")
    expect_fault(client.delete(f"/consistency-groups/{group['id']}"), 409,
                 "Invalid ConsistencyGroup: Cannot delete a consistency group with shares")
    resp = client.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]})
    assert resp.status_code == 202, resp.text
    client.wait_gone(f"/shares/{share['id']}")
    assert client.delete(f"/consistency-groups/{group['id']}").status_code == 202
    client.wait_gone(f"/consistency-groups/{group['id']}")


def test_status_checked_before_contents(client: Client) -> None:
    group = client.create_group()
    client.create_cgsnapshot(group["id"])
    reset(client, "consistency-groups", group["id"], "creating")
    expect_fault(client.delete(f"/consistency-groups/{group['id']}"), 409,
                 "Invalid ConsistencyGroup: Consistency group status must be one of ('available', 'error')")


def test_unscheduled_group_is_deleted_at_once_in_any_state(client: Client) -> None:
    # DHSS=True: no pool of the fake backend can take it, so it is never placed (host stays null)
    with_servers = create_type(client, dhss=True)
    network = create_network(client, name="net")
    group = client.create_group(share_types=[with_servers["id"]], share_network_id=network["id"])
    assert (group["status"], group["host"]) == ("error", None)
    reset(client, "consistency-groups", group["id"], "creating")
    resp = client.delete(f"/consistency-groups/{group['id']}")
    assert resp.status_code == 202, resp.text
    expect_fault(client.get(f"{CGS}/{group['id']}"), 404, not_found(group["id"]))


# -- reset_status ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "key"), [("2.4", "os-reset_status"), ("2.6", "os-reset_status"),
                                              ("2.7", "reset_status"), ("2.30", "reset_status")])
def test_reset_status_names_by_version(client: Client, version: str, key: str) -> None:
    group = client.create_group()
    at = client.with_(version=version)
    resp = at.post(f"/consistency-groups/{group['id']}/action", {key: {"status": "error"}})
    assert resp.status_code == 202 and resp.content == b"", resp.text
    assert client.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]["status"] == "error"
    other = "reset_status" if key.startswith("os-") else "os-reset_status"
    expect_fault(at.post(f"/consistency-groups/{group['id']}/action", {other: {"status": "available"}}), 404,
                 GENERIC_404)
    assert client.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]["status"] == "error"


@pytest.mark.parametrize("body", [{}, {"state": "error"}, "error", None])
def test_reset_status_requires_status(client: Client, body: Any) -> None:
    group = client.create_group()
    expect_fault(client.post(f"/consistency-groups/{group['id']}/action", {"reset_status": body}), 400,
                 "Must specify 'status'")


def test_reset_status_invalid_state(client: Client) -> None:
    group = client.create_group()
    resp = client.post(f"/consistency-groups/{group['id']}/action", {"reset_status": {"status": "extending"}})
    name, code, message = fault(resp)
    assert (name, code) == ("badRequest", 400)
    prefix = "Invalid state. Valid states: "
    assert message.startswith(prefix) and message.endswith(".")
    assert set(message[len(prefix):-1].split(", ")) == set(RESET_STATES)


@pytest.mark.parametrize("status", sorted(RESET_STATES))
def test_reset_status_writes_every_valid_state(client: Client, status: str) -> None:
    group = client.create_group()
    reset(client, "consistency-groups", group["id"], status)
    assert client.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]["status"] == status


def test_reset_status_unknown_id_is_generic_404(client: Client) -> None:
    expect_fault(client.post(f"{CGS}/{unknown_id()}/action", {"reset_status": {"status": "error"}}), 404,
                 GENERIC_404)


def test_admin_actions_forbidden_to_members(client: Client, member: Client) -> None:
    group = client.create_group()
    expect_fault(member.post(f"{CGS}/{group['id']}/action", {"reset_status": {"status": "error"}}),
                 403, "Policy doesn't allow consistency_group:reset_status to be performed.")
    expect_fault(member.post(f"/consistency-groups/{group['id']}/action", {"force_delete": None}),
                 403, "Policy doesn't allow consistency_group:force_delete to be performed.")
    assert status_of(client, group["id"]) == "available"


def test_unknown_action_and_malformed_body(client: Client) -> None:
    group = client.create_group()
    expect_fault(client.post(f"/consistency-groups/{group['id']}/action", {"frobnicate": {}}), 400,
                 "There is no such action: frobnicate")
    both = {"reset_status": {"status": "error"}, "force_delete": None}
    expect_fault(client.post(f"{CGS}/{group['id']}/action", both), 400, "Malformed request body")
    # Manila's CG action route answers any method (then fails to parse the missing body)
    expect_fault(client.get(f"/consistency-groups/{group['id']}/action"), 400, "Malformed request body")


# -- force_delete ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "key"), [("2.5", "os-force_delete"), ("2.7", "force_delete")])
def test_force_delete_from_any_state_with_contents(client: Client, version: str, key: str) -> None:
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    client.create_cgsnapshot(group["id"])
    reset(client, "consistency-groups", group["id"], "deleting")
    at = client.with_(version=version)
    other = "force_delete" if key.startswith("os-") else "os-force_delete"
    expect_fault(at.post(f"/consistency-groups/{group['id']}/action", {other: None}), 404, GENERIC_404)
    resp = at.post(f"/consistency-groups/{group['id']}/action", {key: {"ignored": True}})
    assert resp.status_code == 202 and resp.content == b"", resp.text
    expect_fault(client.get(f"{CGS}/{group['id']}"), 404, not_found(group["id"]))
    # the share is untouched and keeps naming the group
    kept = client.get(f"/shares/{share['id']}").json()["share"]
    assert (kept["status"], kept["consistency_group_id"]) == ("available", group["id"])


def test_force_delete_unknown_id_is_generic_404(client: Client) -> None:
    expect_fault(client.post(f"{CGS}/{unknown_id()}/action", {"force_delete": None}), 404, GENERIC_404)


# -- cross-project isolation -------------------------------------------------------------------------------
def test_other_projects_group_is_not_found_for_members(server: Server, client: Client) -> None:
    group = client.create_group()
    gid = group["id"]
    stranger_admin = server.client()
    stranger = stranger_admin.with_(user="bob")
    expect_fault(stranger.get(f"/consistency-groups/{gid}"), 404, f"Consistency group {gid} not found.")
    expect_fault(stranger.put(f"/consistency-groups/{gid}", {"consistency_group": {"name": "x"}}), 404,
                 f"Consistency group {gid} not found.")
    expect_fault(stranger.delete(f"/consistency-groups/{gid}"), 404, f"Consistency group {gid} not found.")
    expect_fault(stranger.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": gid}}), 400,
                 f"ConsistencyGroup {gid} could not be found.")
    share = {"size": 1, "share_proto": "NFS", "consistency_group_id": gid}
    expect_fault(stranger.post("/shares", {"share": share}), 400,
                 f"ConsistencyGroup {gid} could not be found.")
    for path in ("/consistency-groups", "/consistency-groups/detail"):
        assert stranger.get(path, params={"all_tenants": "1"}).json()["consistency_groups"] == []
    # an admin of another project can address it by id
    shown = stranger_admin.get(f"/consistency-groups/{gid}")
    assert shown.status_code == 200 and shown.json()["consistency_group"]["project_id"] == client.project
    renamed = stranger_admin.put(f"/consistency-groups/{gid}", {"consistency_group": {"name": "by-admin"}})
    assert renamed.status_code == 200 and renamed.json()["consistency_group"]["name"] == "by-admin"
    reset(stranger_admin, "consistency-groups", gid, "error")
    assert client.get(f"/consistency-groups/{gid}").json()["consistency_group"]["status"] == "error"
    assert stranger_admin.delete(f"/consistency-groups/{gid}").status_code == 202
    client.wait_gone(f"/consistency-groups/{gid}")


def test_other_projects_group_admin_force_delete(server: Server, client: Client) -> None:
    group = client.create_group()
    stranger_admin = server.client()
    expect_fault(stranger_admin.with_(user="bob").post(f"/consistency-groups/{group['id']}/action",
                                                       {"force_delete": None}),
                 403, "Policy doesn't allow consistency_group:force_delete to be performed.")
    resp = stranger_admin.post(f"{CGS}/{group['id']}/action", {"force_delete": None})
    assert resp.status_code == 202, resp.text
    expect_fault(client.get(f"{CGS}/{group['id']}"), 404, not_found(group["id"]))


# -- scheduler stats ---------------------------------------------------------------------------------------
def test_pools_detail_reports_consistency_group_support(client: Client, member: Client) -> None:
    pools = client.get("/scheduler-stats/pools/detail").json()["pools"]
    assert [p["name"] for p in pools] == ["lockstep@default#fake"]
    assert pools[0]["capabilities"]["consistency_group_support"] == "pool"
    expect_fault(member.get("/scheduler-stats/pools/detail"), 403,
                 "Policy doesn't allow scheduler_stats:pools:detail to be performed.")
