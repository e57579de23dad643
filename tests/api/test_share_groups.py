"""/share-groups: gating, create validation in Manila's order, views by version, filters, paging,
update, delete rules, admin actions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.group_helpers import (
    SGS,
    SNAPS,
    TYPES,
    at,
    create_group_snapshot,
    create_group_type,
    create_share_group,
    group_shares,
    post_share_group,
)
from tests.api.helpers import (
    GENERIC_404,
    create_network,
    create_type,
    default_type_id,
    expect_fault,
    follow,
    policy_denied,
    unique,
    unknown_id,
)
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

SUMMARY_KEYS = {"id", "name", "links"}
DETAIL_KEYS_231 = {"id", "name", "created_at", "status", "description", "project_id", "host", "share_group_type_id",
                   "source_share_group_snapshot_id", "share_network_id", "share_types", "links"}
DETAIL_KEYS_234 = DETAIL_KEYS_231 | {"availability_zone", "consistent_snapshot_support"}
SOURCE = "source_share_group_snapshot_id"


def not_found(group_id: str) -> str:
    return f"Share group {group_id} not found."


def status_of(client: Client, group_id: str) -> str:
    return str(at(client).get(f"{SGS}/{group_id}").json()["share_group"]["status"])


def reset(client: Client, path: str, status: str) -> None:
    resp = at(client).post(f"{path}/action", {"reset_status": {"status": status}})
    assert resp.status_code == 202, resp.text


# -- versions ------------------------------------------------------------------------------------------
def endpoints(group_id: str, snapshot_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", SGS, None), ("GET", f"{SGS}/detail", None), ("GET", f"{SGS}/{group_id}", None),
        ("POST", SGS, {"share_group": {"name": "x"}}), ("PUT", f"{SGS}/{group_id}", {"share_group": {"name": "x"}}),
        ("DELETE", f"{SGS}/{group_id}", None),
        ("POST", f"{SGS}/{group_id}/action", {"reset_status": {"status": "error"}}),
        ("POST", f"{SGS}/{group_id}/action", {"force_delete": None}),
        ("GET", SNAPS, None), ("GET", f"{SNAPS}/detail", None), ("GET", f"{SNAPS}/{snapshot_id}", None),
        ("GET", f"{SNAPS}/{snapshot_id}/members", None),
        ("POST", SNAPS, {"share_group_snapshot": {"share_group_id": group_id}}),
        ("PUT", f"{SNAPS}/{snapshot_id}", {"share_group_snapshot": {"name": "x"}}),
        ("DELETE", f"{SNAPS}/{snapshot_id}", None),
        ("POST", f"{SNAPS}/{snapshot_id}/action", {"reset_status": {"status": "error"}}),
        ("POST", f"{SNAPS}/{snapshot_id}/action", {"force_delete": None}),
    ]


@pytest.mark.parametrize(("version", "experimental"), [
    ("2.30", True), ("2.4", True), (None, True), ("2.31", False), ("2.54", False),
])
def test_every_endpoint_is_404_below_2_31_or_without_experimental_header_before_2_55(
        client: Client, version: str | None, experimental: bool) -> None:
    group = create_share_group(at(client))
    snapshot = create_group_snapshot(at(client), group["id"])
    gated = client.with_(version=version, experimental=experimental)
    for method, path, body in endpoints(group["id"], snapshot["id"]):
        resp = gated.http.request(method, path, json=body)
        expect_fault(resp, 404, GENERIC_404)
    assert status_of(client, group["id"]) == "available"
    assert at(client).get(f"{SNAPS}/{snapshot['id']}").json()["share_group_snapshot"]["name"] is None


@pytest.mark.parametrize(("version", "experimental"), [("2.31", True), ("2.54", True), ("2.55", False),
                                                      ("2.99", False)])
def test_served_with_experimental_header_from_2_31_and_without_from_2_55(
        client: Client, version: str, experimental: bool) -> None:
    gated = client.with_(version=version, experimental=experimental)
    group = create_share_group(gated, name="g")
    assert group["status"] == "available"
    assert gated.get(SGS).json()["share_groups"][0]["id"] == group["id"]
    snapshot = create_group_snapshot(gated, group["id"])
    assert snapshot["status"] == "available"


@pytest.mark.parametrize("version", ["2.31", "2.55", "2.99"])
def test_consistency_group_routes_are_gone_from_2_31(client: Client, version: str) -> None:
    group = client.create_group()
    cgsnapshot = client.create_cgsnapshot(group["id"])
    gated = client.with_(version=version, experimental=True)
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/consistency-groups", None), ("GET", "/consistency-groups/detail", None),
        ("GET", f"/consistency-groups/{group['id']}", None),
        ("POST", "/consistency-groups", {"consistency_group": {}}),
        ("PUT", f"/consistency-groups/{group['id']}", {"consistency_group": {"name": "x"}}),
        ("DELETE", f"/consistency-groups/{group['id']}", None),
        ("POST", f"/consistency-groups/{group['id']}/action", {"reset_status": {"status": "error"}}),
        ("POST", f"/consistency-groups/{group['id']}/action", {"force_delete": None}),
        ("GET", "/cgsnapshots", None), ("GET", f"/cgsnapshots/{cgsnapshot['id']}", None),
        ("GET", f"/cgsnapshots/{cgsnapshot['id']}/members", None),
        ("POST", "/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}}),
        ("DELETE", f"/cgsnapshots/{cgsnapshot['id']}", None),
        ("POST", f"/cgsnapshots/{cgsnapshot['id']}/action", {"force_delete": None}),
    ]
    for method, path, body in calls:
        expect_fault(gated.http.request(method, path, json=body), 404, GENERIC_404)
    assert client.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]["status"] == "available"


# -- create: validation, in Manila's order ---------------------------------------------------------------
def test_create_without_entity(client: Client) -> None:
    bodies: list[dict[str, Any]] = [{"consistency_group": {}}, {"share_group": "x"}]
    for body in bodies:
        expect_fault(at(client).post(SGS, body), 400, "'share_group' is missing from the request body.")


@pytest.mark.parametrize(("fields", "message"), [
    ({"bogus": 1, "share_types": [], SOURCE: None}, "The fields {'bogus'} are invalid."),
    ({"source_cgsnapshot_id": unknown_id()}, "The fields {'source_cgsnapshot_id'} are invalid."),
    ({"share_types": [], SOURCE: None}, f"Cannot supply both 'share_types' and '{SOURCE}' attributes."),
    ({"share_types": ["abc"]}, "The 'share_types' attribute must be a list of uuids"),
    ({"share_types": "0b6a64c7-6eb0-4a38-9a35-0b42d64bc4b4"}, "The 'share_types' attribute must be a list of uuids"),
    ({SOURCE: unknown_id(), "share_network_id": None},
     f"Cannot supply both 'share_network_id' and '{SOURCE}' attributes as the share network is inherited from "
     "the source."),
    ({SOURCE: unknown_id(), "availability_zone": "nova"},
     f"Cannot supply both 'availability_zone' and '{SOURCE}' attributes as the availability zone is inherited "
     "from the source."),
    ({SOURCE: "snap"}, f"The '{SOURCE}' attribute must be a uuid."),
    ({SOURCE: None}, f"The '{SOURCE}' attribute must be a uuid."),
    ({"share_network_id": "net"}, "The 'share_network_id' attribute must be a uuid."),
    ({"share_network_id": None}, "The 'share_network_id' attribute must be a uuid."),
    ({"share_group_type_id": "gt"}, "The 'share_group_type_id' attribute must be a uuid."),
    ({"name": 5}, "Invalid input received: 'name' must be a string, got int."),
])
def test_create_body_checks(client: Client, fields: dict[str, Any], message: str) -> None:
    expect_fault(post_share_group(at(client), **fields), 400, message)


def test_create_checks_after_the_body_in_order(client: Client) -> None:
    sg = at(client)
    # the zone is looked up before the ids' formats are checked
    expect_fault(post_share_group(sg, availability_zone="atlantis", share_network_id="net"), 404,
                 "Availability zone atlantis could not be found.")
    expect_fault(post_share_group(sg, share_network_id="net", share_group_type_id="gt"), 400,
                 "The 'share_network_id' attribute must be a uuid.")
    missing_type = unknown_id()
    expect_fault(post_share_group(sg, share_group_type_id=missing_type), 400,
                 f"Invalid input received: The specified share group type {missing_type} does not exist.")
    missing_source = unknown_id()
    expect_fault(post_share_group(sg, **{SOURCE: missing_source}), 400,
                 f"Share group snapshot {missing_source} could not be found.")
    missing_share_type = unknown_id()
    expect_fault(post_share_group(sg, share_types=[missing_share_type], share_group_type_id=missing_type), 400,
                 f"Share type with id {missing_share_type} could not be found.")
    network = create_network(client, name="n")
    expect_fault(post_share_group(sg, share_network_id=network["id"], share_group_type_id=missing_type), 400,
                 "Invalid input received: When using a share types with the driver_handles_share_servers extra "
                 "spec as False, a share_network_id must not be provided.")
    expect_fault(post_share_group(sg, share_group_type_id=missing_type), 400,
                 f"Invalid input received: The specified share group type {missing_type} does not exist.")


def test_create_dhss_rules(client: Client) -> None:
    sg = at(client)
    with_servers = create_type(client, dhss=True)
    expect_fault(post_share_group(sg, share_types=[default_type_id(client), with_servers["id"]]), 400,
                 "Invalid input received: The specified share_types cannot have conflicting values for the "
                 "driver_handles_share_servers extra spec.")
    expect_fault(post_share_group(sg, share_types=[with_servers["id"]], share_network_id=unknown_id()), 400,
                 "Invalid input received: The specified share network does not exist.")
    expect_fault(post_share_group(sg, share_types=[with_servers["id"]]), 400,
                 "Invalid input received: When using a share type with the driver_handles_share_servers extra "
                 "spec as True, a share_network_id must be provided.")


def test_share_types_must_be_a_subset_of_the_group_types(client: Client) -> None:
    first, second = create_type(client), create_type(client)
    group_type = create_group_type(client, share_types=[first["id"]])
    sg = at(client)
    expect_fault(post_share_group(sg, share_types=[first["id"], second["id"]], share_group_type_id=group_type["id"]),
                 400, "Invalid input received: The specified share types must be a subset of the share types "
                      "supported by the share group type.")
    # the default share type against the default group type's, likewise
    expect_fault(post_share_group(sg, share_types=[second["id"]]), 400,
                 "Invalid input received: The specified share types must be a subset of the share types "
                 "supported by the share group type.")
    created = create_share_group(sg, share_types=[first["id"]], share_group_type_id=group_type["id"])
    assert created["share_types"] == [first["id"]]
    assert created["share_group_type_id"] == group_type["id"]


def test_private_group_type_needs_access(client: Client, member: Client) -> None:
    private = create_group_type(client, is_public=False)
    expect_fault(post_share_group(at(member), share_group_type_id=private["id"]), 400,
                 f"Invalid input received: The specified share group type {private['id']} does not exist.")
    grant = at(client).post(f"{TYPES}/{private['id']}/action", {"addProjectAccess": {"project": member.project}})
    assert grant.status_code == 202, grant.text
    assert create_share_group(at(member), share_group_type_id=private["id"])["status"] == "available"


def test_zone_by_name_or_id_and_share_type_zones(client: Client) -> None:
    sg = at(client)
    zone = client.get("/availability-zones").json()["availability_zones"][0]
    for asked in (zone["name"], zone["id"]):
        created = create_share_group(sg, availability_zone=asked)
        assert created["availability_zone"] == zone["name"]
    elsewhere = create_type(client, availability_zones="az1,az2")
    group_type = create_group_type(client, share_types=[elsewhere["id"]])
    expect_fault(post_share_group(sg, share_types=[elsewhere["id"]], share_group_type_id=group_type["id"],
                                  availability_zone=zone["name"]), 400,
                 "Invalid input received: Share group cannot be created since the following share types are not "
                 f"supported within the availability zone '{zone['name']}': ({elsewhere['name']} "
                 f"(ID: {elsewhere['id']}))")


def test_create_defaults_and_view(client: Client) -> None:
    resp = post_share_group(at(client), name="g", description="d")
    assert resp.status_code == 202, resp.text
    created = resp.json()["share_group"]
    assert set(created) == DETAIL_KEYS_234 | {"share_server_id"}
    default_group_type = at(client).get(f"{TYPES}/default").json()["share_group_type"]
    assert (created["status"], created["host"], created["share_group_type_id"], created["share_types"]) == (
        "creating", None, default_group_type["id"], [default_type_id(client)])
    done = at(client).wait(f"{SGS}/{created['id']}", "share_group")
    assert done["status"] == "available" and done["host"] == "lockstep@default#fake"
    assert done["availability_zone"] == "nova"
    assert done["consistent_snapshot_support"] == "pool"  # the fake backend cuts atomically
    assert done["links"][0]["href"].endswith(f"/v2/{client.project}/share-groups/{created['id']}")
    assert done["links"][1]["href"].endswith(f"/{client.project}/share-groups/{created['id']}")


# -- views by version ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "keys"), [("2.31", DETAIL_KEYS_231), ("2.33", DETAIL_KEYS_231),
                                               ("2.34", DETAIL_KEYS_234), ("2.55", DETAIL_KEYS_234)])
def test_views_by_version(client: Client, member: Client, version: str, keys: set[str]) -> None:
    group = create_share_group(at(client))
    for who, admin in ((client, True), (member, False)):
        viewer = at(who, version, experimental=True)
        expected = keys | ({"share_server_id"} if admin else set())
        shown = viewer.get(f"{SGS}/{group['id']}").json()["share_group"]
        assert set(shown) == expected
        listed = [g for g in viewer.get(f"{SGS}/detail").json()["share_groups"] if g["id"] == group["id"]]
        assert set(listed[0]) == expected
        updated = viewer.put(f"{SGS}/{group['id']}", {"share_group": {"name": "n"}}).json()["share_group"]
        assert set(updated) == expected
        summary = viewer.get(SGS).json()["share_groups"]
        assert all(set(item) == SUMMARY_KEYS for item in summary)


# -- lists: filters, sorting, paging ---------------------------------------------------------------------
def test_list_filters(client: Client) -> None:
    sg = at(client)
    group_type = create_group_type(client)
    tag = unique("f")
    first = create_share_group(sg, name=f"{tag}-alpha", description="red one")
    second = create_share_group(sg, name=f"{tag}-beta", description="blue one", share_group_type_id=group_type["id"])
    reset(client, f"{SGS}/{second['id']}", "error")

    def ids(viewer: Client, **params: str) -> list[str]:
        resp = viewer.get(f"{SGS}/detail", params=params)
        assert resp.status_code == 200, resp.text
        return [g["id"] for g in resp.json()["share_groups"]]

    assert ids(sg, name=f"{tag}-alpha") == [first["id"]]
    assert ids(sg, status="error") == [second["id"]]
    assert ids(sg, share_group_type_id=group_type["id"]) == [second["id"]]
    assert ids(sg, group_type_id=group_type["id"]) == [second["id"]]
    assert ids(sg, description="blue one") == [second["id"]]
    assert ids(sg, host="lockstep@default#fake", status="available") == [first["id"]]
    assert ids(sg, **{"name~": tag}) == [second["id"], first["id"]]  # newest first
    assert ids(sg, **{"name~": tag.upper(), "description~": "RED"}) == [first["id"]]
    # before 2.36 the inexact filters are ignored
    assert set(ids(at(client, "2.35", experimental=True), **{"name~": "no-such-name"})) == {first["id"], second["id"]}
    expect_fault(sg.get(SGS, params={"size": "1"}), 400,
                 "Invalid input received: Share groups cannot be filtered using 'size' key.")


def test_list_sorting(client: Client) -> None:
    sg = at(client)
    made = [create_share_group(sg, name=name) for name in ("b", "c", "a")]
    listed = [g["id"] for g in sg.get(SGS).json()["share_groups"]]
    assert listed == [g["id"] for g in reversed(made)]  # created_at desc by default
    by_name = [g["name"] for g in sg.get(SGS, params={"sort_key": "name", "sort_dir": "ASC"}).json()["share_groups"]]
    assert by_name == ["a", "b", "c"]
    expect_fault(sg.get(SGS, params={"sort_key": "size"}), 400,
                 "Invalid input received: Wrong sorting key provided - 'size'.")
    expect_fault(sg.get(SGS, params={"sort_key": "size", "sort_dir": "up"}), 400,
                 "Invalid input received: Wrong sorting data provided: sort key is 'size' and sort direction is "
                 "'up'.")


def test_list_scope_and_all_tenants(client: Client, member: Client, server: InProcessServer) -> None:
    mine = create_share_group(at(member))
    other = create_share_group(at(server.client()))
    assert [g["id"] for g in at(member).get(SGS).json()["share_groups"]] == [mine["id"]]
    assert [g["id"] for g in at(member).get(SGS, params={"all_tenants": "1"}).json()["share_groups"]] == [mine["id"]]
    everyone = {g["id"] for g in at(client).get(SGS, params={"all_tenants": "true"}).json()["share_groups"]}
    assert {mine["id"], other["id"]} <= everyone
    expect_fault(at(member).get(f"{SGS}/{other['id']}"), 404, not_found(other["id"]))


@pytest.mark.parametrize("path", [SGS, f"{SGS}/detail"])
def test_paging_follows_next_links(client: Client, path: str) -> None:
    sg = at(client)
    made = {create_share_group(sg)["id"] for _ in range(5)}
    first = sg.get(path, params={"limit": "2"})
    links = first.json()["share_groups_links"]
    assert links[0]["rel"] == "next" and f"/{path.strip('/')}?limit=2&marker=" in links[0]["href"]
    assert {g["id"] for g in follow(sg, first, "share_groups", "share_groups_links")} == made
    assert "share_groups_links" not in sg.get(path).json()
    assert [g["id"] for g in sg.get(path, params={"offset": "4"}).json()["share_groups"]] == [
        g["id"] for g in sg.get(path).json()["share_groups"]][4:]


# -- update ----------------------------------------------------------------------------------------------
def test_update(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg, name="old")
    resp = sg.put(f"{SGS}/{group['id']}", {"share_group": {"name": "new", "description": "d"}})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["share_group"]["name"], resp.json()["share_group"]["description"]) == ("new", "d")
    expect_fault(sg.put(f"{SGS}/{group['id']}", {"share_group": {"share_types": []}}), 400,
                 "The fields {'share_types'} are invalid or not allowed to be updated.")
    expect_fault(sg.put(f"{SGS}/{group['id']}", {"name": "x"}), 400, "'share_group' is missing from the request body.")
    missing = unknown_id()
    expect_fault(sg.put(f"{SGS}/{missing}", {"share_group": {"name": "x"}}), 404, not_found(missing))
    reset(client, f"{SGS}/{group['id']}", "error")  # any status
    assert sg.put(f"{SGS}/{group['id']}", {"share_group": {"name": "again"}}).status_code == 200


# -- delete ----------------------------------------------------------------------------------------------
def test_delete(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    resp = sg.delete(f"{SGS}/{group['id']}")
    assert resp.status_code == 202 and resp.content == b""
    sg.wait_gone(f"{SGS}/{group['id']}")
    expect_fault(sg.delete(f"{SGS}/{group['id']}"), 404, not_found(group["id"]))


@pytest.mark.parametrize("status", ["creating", "deleting", "error_deleting", "server_migrating"])
def test_delete_needs_available_or_error(client: Client, status: str) -> None:
    group = create_share_group(at(client))
    reset(client, f"{SGS}/{group['id']}", status)
    expect_fault(at(client).delete(f"{SGS}/{group['id']}"), 409,
                 "Invalid share group: Share group status must be one of ('available', 'error')")


def test_delete_refused_with_snapshots_then_with_shares(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    share = sg.create_share(share_group_id=group["id"])
    snapshot = create_group_snapshot(sg, group["id"])
    expect_fault(sg.delete(f"{SGS}/{group['id']}"), 409, "Invalid share group: Cannot delete a share group with "
                                                         "snapshots")
    assert sg.delete(f"{SNAPS}/{snapshot['id']}").status_code == 202
    sg.wait_gone(f"{SNAPS}/{snapshot['id']}")
    expect_fault(sg.delete(f"{SGS}/{group['id']}"), 409, "Invalid share group: Cannot delete a share group with "
                                                         "shares")
    assert sg.delete(f"/shares/{share['id']}", params={"share_group_id": group["id"]}).status_code == 202
    sg.wait_gone(f"/shares/{share['id']}")
    assert sg.delete(f"{SGS}/{group['id']}").status_code == 202
    sg.wait_gone(f"{SGS}/{group['id']}")


# -- admin actions ---------------------------------------------------------------------------------------
def test_reset_status(client: Client, member: Client) -> None:
    group = create_share_group(at(client))
    action = f"{SGS}/{group['id']}/action"
    for status in ("error", "server_migrating", "available"):
        reset(client, f"{SGS}/{group['id']}", status)
        assert status_of(client, group["id"]) == status
    expect_fault(at(client).post(action, {"reset_status": {"status": "bogus"}}), 400,
                 "Invalid state. Valid states: creating, available, deleting, error, error_deleting, migrating, "
                 "migrating_to, server_migrating.")
    expect_fault(at(client).post(action, {"reset_status": {}}), 400, "Must specify 'status'")
    expect_fault(at(client).post(action, {"os-reset_status": {"status": "error"}}), 400,
                 "There is no such action: os-reset_status")
    expect_fault(at(client).post(f"{SGS}/{unknown_id()}/action", {"reset_status": {"status": "error"}}), 404,
                 GENERIC_404)
    policy_denied(at(member).post(action, {"reset_status": {"status": "error"}}), "share_group:reset_status")
    policy_denied(at(member).post(action, {"force_delete": None}), "share_group:force_delete")
    assert status_of(client, group["id"]) == "available"


def test_force_delete_refused_while_shares_remain_and_destroys_nothing(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    share = sg.create_share(share_group_id=group["id"])
    snapshot = create_group_snapshot(sg, group["id"])
    action = f"{SGS}/{group['id']}/action"
    expect_fault(sg.post(action, {"force_delete": None}), 400, f"Share {share['id']} has 1 share instances.")
    # nothing was destroyed: the group, its share and its snapshot are all still there
    assert status_of(client, group["id"]) == "available"
    assert sg.get(f"/shares/{share['id']}").json()["share"]["status"] == "available"
    assert sg.get(f"{SNAPS}/{snapshot['id']}").json()["share_group_snapshot"]["members"][0]["share_id"] == share["id"]


def test_force_delete_without_shares_takes_its_snapshots(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    snapshot = create_group_snapshot(sg, group["id"])  # of an empty group: no members
    reset(client, f"{SGS}/{group['id']}", "deleting")  # any status
    assert sg.post(f"{SGS}/{group['id']}/action", {"force_delete": None}).status_code == 202
    expect_fault(sg.get(f"{SGS}/{group['id']}"), 404, not_found(group["id"]))
    expect_fault(sg.get(f"{SNAPS}/{snapshot['id']}"), 404, f"Share group snapshot {snapshot['id']} not found.")
    expect_fault(sg.post(f"{SGS}/{group['id']}/action", {"force_delete": None}), 404, GENERIC_404)


def test_group_from_snapshot_inherits_and_makes_one_share_per_member(client: Client) -> None:
    sg = at(client)
    group_type = create_group_type(client)
    source = create_share_group(sg, share_group_type_id=group_type["id"])
    shares = [sg.create_share(size=size, share_group_id=source["id"], name=f"s{size}") for size in (1, 2)]
    snapshot = create_group_snapshot(sg, source["id"])
    resp = post_share_group(sg, name="restored", **{SOURCE: snapshot["id"]})
    assert resp.status_code == 202, resp.text
    created = resp.json()["share_group"]
    assert created["host"] == source["host"]  # set at once, not scheduled
    assert created[SOURCE] == snapshot["id"]
    restored = sg.wait(f"{SGS}/{created['id']}", "share_group")
    assert restored["status"] == "available"
    for key in ("share_types", "share_network_id", "availability_zone", "consistent_snapshot_support", "host",
                "share_group_type_id"):
        assert restored[key] == source[key], key
    clones = group_shares(sg, restored["id"])
    members = {m["id"]: m for m in snapshot["members"]}
    assert sorted(c["size"] for c in clones) == [1, 2]
    assert {c["source_share_group_snapshot_member_id"] for c in clones} == set(members)
    for clone in clones:
        member = members[clone["source_share_group_snapshot_member_id"]]
        assert clone["size"] == member["size"] and clone["status"] == "available"
        assert clone["share_group_id"] == restored["id"] and clone["name"] is None
    assert {s["id"] for s in shares} == {m["share_id"] for m in members.values()}


def test_group_from_snapshot_with_a_named_type_must_support_its_share_types(client: Client) -> None:
    sg = at(client)
    other = create_type(client)
    narrow = create_group_type(client, share_types=[other["id"]])
    source = create_share_group(sg)
    snapshot = create_group_snapshot(sg, source["id"])
    expect_fault(post_share_group(sg, share_group_type_id=narrow["id"], **{SOURCE: snapshot["id"]}), 400,
                 "Invalid input received: The specified share types must be a subset of the share types supported "
                 "by the share group type.")
    reset(client, f"{SNAPS}/{snapshot['id']}", "error")
    expect_fault(post_share_group(sg, **{SOURCE: snapshot["id"]}), 409,
                 "Invalid share group snapshot: Share group snapshot status must be available.")


# -- servers without a default type -------------------------------------------------------------------
@pytest.fixture(scope="module", params=DATABASES)
def bare(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """No default share type and no default share group type configured."""
    tmp = tmp_path_factory.mktemp(f"bare-{request.param}")
    with configured_server(tmp, request.param, LOCKSTEP_DEFAULT_SHARE_TYPE="",
                           LOCKSTEP_DEFAULT_SHARE_GROUP_TYPE="") as srv:
        yield srv


def test_without_defaults(bare: InProcessServer) -> None:
    admin = at(bare.client())
    expect_fault(admin.get(f"{TYPES}/default"), 404, "Default share group type not found.")
    # the missing default share type wins over every later check
    expect_fault(post_share_group(admin, share_network_id="net", availability_zone="atlantis",
                                  share_group_type_id="gt"), 400,
                 "Must specify at least one share type as a default share type has not been configured.")
    share_type = create_type(admin)
    expect_fault(post_share_group(admin, share_types=[share_type["id"]]), 400,
                 "Must specify a share group type as a default share group type has not been configured.")
    group_type = create_group_type(admin, share_types=[share_type["id"]])
    assert group_type["is_default"] is False
    group = create_share_group(admin, share_types=[share_type["id"]], share_group_type_id=group_type["id"])
    assert group["status"] == "available"
    # a consistency group then has no group type to stand in for it
    cg = admin.with_(version="2.30", experimental=True).create_group(share_types=[share_type["id"]])
    assert admin.get(f"{SGS}/{cg['id']}").json()["share_group"]["share_group_type_id"] is None
    # a group from a snapshot inherits its source group's type (Lockstep's extension)
    snapshot = create_group_snapshot(admin, group["id"])
    restored = create_share_group(admin, **{SOURCE: snapshot["id"]})
    assert restored["share_group_type_id"] == group_type["id"]
