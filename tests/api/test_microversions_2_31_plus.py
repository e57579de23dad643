"""Microversions 2.31-2.99 for what Lockstep serves (shares, share types, snapshots, export locations),
the versions documents, JSON faults for what it does not serve, and URLs without a project id (2.60).

Each change is checked at the version before it (absent / old behaviour) and at its version.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    GENERIC_404,
    create_snapshot,
    create_type,
    expect_fault,
    policy_denied,
    unique,
    unknown_id,
)
from tests.support import Client, Server

VERSION = "X-OpenStack-Manila-API-Version"


def at(client: Client, version: str) -> Client:
    return client.with_(version=version)


def ids(resp: httpx.Response, key: str = "shares") -> list[str]:
    assert resp.status_code == 200, resp.text
    return [item["id"] for item in resp.json()[key]]


def share_of(client: Client, version: str, share_id: str) -> dict[str, Any]:
    resp = at(client, version).get(f"/shares/{share_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["share"])


# versions ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("minor", range(0, 100))
def test_every_version_up_to_2_99_is_served(client: Client, minor: int) -> None:
    resp = at(client, f"2.{minor}").get("/shares")
    assert resp.status_code == 200, resp.text
    assert resp.headers[VERSION] == f"2.{minor}"


@pytest.mark.parametrize("path", ["/v2", "/v2/", "/v2/{project}", "/v2/{project}/"])
def test_versions_document_needs_no_token(server: Server, path: str) -> None:
    """keystoneauth (openstacksdk) discovers the microversion with these requests and no token."""
    resp = server.http.get(server.url + path.format(project=uuid.uuid4().hex))
    assert resp.status_code == 200, resp.text
    (v2,) = resp.json()["versions"]
    assert (v2["id"], v2["status"], v2["min_version"], v2["version"]) == ("v2.0", "CURRENT", "2.0", "2.99")
    assert {"rel": "self", "href": f"{server.url}/v2/"} in v2["links"]
    # with a token, the same document
    with_token = server.http.get(server.url + path.format(project="p"), headers={"X-Auth-Token": "admin:p"})
    assert with_token.json() == resp.json()


def test_noauth_token_handshake_needs_credentials_on_the_versions_document(server: Server) -> None:
    resp = server.http.get(f"{server.url}/v2/", headers={"X-Auth-User": "bob", "X-Auth-Key": "secret",
                                                         "X-Auth-Project-Id": "proj"})
    assert resp.status_code == 204
    assert resp.headers["X-Auth-Token"] == "bob:proj"
    # without a token, a resource request still gets Manila's noauth token answer
    resp = server.http.get(f"{server.url}/v2/proj/shares")
    assert resp.status_code == 204 and resp.headers["X-Auth-Token"] == "admin:admin"


# faults for what is not served ---------------------------------------------------------------------
UNSERVED = [
    ("GET", "/share-replicas"), ("GET", "/share-replicas/detail"), ("POST", "/share-replicas"),
    ("GET", "/share-servers"), ("POST", "/share-servers/manage"), ("GET", "/share-instances"),
    ("GET", "/share-instances/x/export_locations"), ("GET", "/snapshot-instances"),
    ("GET", "/share-backups"), ("POST", "/share-backups"), ("GET", "/share-transfers"),
    ("GET", "/qos-types"), ("GET", "/resource-locks"), ("POST", "/resource-locks"),
    ("POST", "/shares/manage"), ("POST", "/snapshots/manage"), ("POST", "/services/ensure-shares"),
    ("GET", "/quota-class-sets/default"), ("GET", "/os-quota-class-sets/default"),
    ("GET", "/shares/{share}/migration-progress"), ("GET", "/shares/{share}/export_locations/{el}/metadata"),
    ("GET", "/shares/{share}/instances"), ("PATCH", "/shares/{share}"), ("DELETE", "/shares"),
    ("GET", "/no-such-thing"), ("PUT", "/snapshots"),
]


def test_unserved_resources_answer_the_json_fault(client: Client) -> None:
    share = client.create_share()
    location = client.get(f"/shares/{share['id']}/export_locations").json()["export_locations"][0]
    for method, template in UNSERVED:
        path = template.format(share=share["id"], el=location["id"])
        for version in ("2.30", "2.99"):
            resp = at(client, version).http.request(method, path, json={})
            expect_fault(resp, 404, GENERIC_404)
            assert resp.headers[VERSION] == version


@pytest.mark.parametrize("path", ["/shares", "/shares/detail", "/types", "/nothing"])
def test_head_answers_the_json_fault(client: Client, server: Server, path: str) -> None:
    expect_fault(client.http.head(path), 404, GENERIC_404)
    expect_fault(server.http.head(f"{server.url}/v2/"), 404, GENERIC_404)


def test_unserved_share_actions_are_json_faults(client: Client) -> None:
    share = client.create_share()
    for action in ("migration_start", "revert", "unmanage", "reset_task_state_bogus"):
        expect_fault(at(client, "2.99").post(f"/shares/{share['id']}/action", {action: {}}), 400,
                     f"There is no such action: {action}")


# 2.60: URLs without the project id --------------------------------------------------------------------
def _bare(client: Client, version: str) -> httpx.Client:
    """The client's token and version, on /v2 without its project id."""
    headers = dict(client.http.headers)
    headers["X-OpenStack-Manila-API-Version"] = version
    return httpx.Client(base_url=client.base + "/v2", headers=headers, transport=client.transport, timeout=30)


def test_urls_without_project_id_from_2_60(client: Client) -> None:
    share = client.create_share(name=unique("bare"))
    with _bare(client, "2.59") as old, _bare(client, "2.60") as new:
        for path in ("/shares", f"/shares/{share['id']}", "/types", "/snapshots/detail", "/shares/detail"):
            expect_fault(old.get(path), 404, GENERIC_404)
            assert new.get(path).status_code == 200, path
        shown = new.get(f"/shares/{share['id']}").json()["share"]
        assert shown["links"] == [
            {"rel": "self", "href": f"{client.base}/v2/shares/{share['id']}"},
            {"rel": "bookmark", "href": f"{client.base}/shares/{share['id']}"},
        ]
        listed = new.get("/shares", params={"limit": "1"}).json()
        assert listed["shares_links"][0]["href"].startswith(f"{client.base}/v2/shares?")
        created = new.post("/shares", json={"share": {"size": 1, "share_proto": "NFS"}})
        assert created.status_code == 200, created.text
        assert created.json()["share"]["project_id"] == client.project
        assert new.post(f"/shares/{share['id']}/action", json={"extend": {"new_size": 2}}).status_code == 202
    # with the project id, links keep it at any version
    shown = at(client, "2.60").get(f"/shares/{share['id']}").json()["share"]
    assert shown["links"][0]["href"] == f"{client.base}/v2/{client.project}/shares/{share['id']}"


def test_another_projects_url_is_still_malformed(client: Client, server: Server) -> None:
    resp = server.http.get(f"{server.url}/v2/someone-else/shares",
                           headers={"X-Auth-Token": f"admin:{client.project}", VERSION: "2.60"})
    expect_fault(resp, 400, "Malformed request url")


# 2.35 / 2.36 / 2.42 / 2.97: share list filters ----------------------------------------------------------
def test_export_location_filters_from_2_35(client: Client, member: Client) -> None:
    first, second = client.create_share(), client.create_share()
    location = client.get(f"/shares/{first['id']}/export_locations").json()["export_locations"][0]
    for who in (client, member):
        everything = set(ids(at(who, "2.34").get("/shares", params={"export_location_id": location["id"]})))
        assert {first["id"], second["id"]} <= everything  # ignored before 2.35
        assert ids(at(who, "2.35").get("/shares", params={"export_location_id": location["id"]})) == [first["id"]]
        assert ids(at(who, "2.35").get("/shares/detail", params={"export_location_path": location["path"]})) == [
            first["id"]]
        assert ids(at(who, "2.35").get("/shares", params={"export_location_path": "nowhere:/x"})) == []


def test_inexact_name_and_description_filters_from_2_36(client: Client, member: Client) -> None:
    tag = uuid.uuid4().hex[:8]
    alpha = client.create_share(name=f"Alpha-{tag}", description=f"first 100% {tag}")
    beta = client.create_share(name=f"beta-{tag}", description=f"second {tag}")
    for who in (client, member):
        assert len(ids(at(who, "2.35").get("/shares", params={"name~": "alpha"}))) == 2  # ignored
        assert ids(at(who, "2.36").get("/shares", params={"name~": f"ALPHA-{tag}"})) == [alpha["id"]]
        assert sorted(ids(at(who, "2.36").get("/shares/detail", params={"name~": tag}))) == sorted(
            [alpha["id"], beta["id"]])
        assert ids(at(who, "2.36").get("/shares", params={"description~": "100%"})) == [alpha["id"]]
        assert ids(at(who, "2.36").get("/shares", params={"description~": "1_0"})) == []  # `_` is literal
        # an exact description filter arrives with 2.36 too; an exact name wins over name~
        assert len(ids(at(who, "2.35").get("/shares", params={"description": f"second {tag}"}))) == 2
        assert ids(at(who, "2.36").get("/shares", params={"description": f"second {tag}"})) == [beta["id"]]
        assert ids(at(who, "2.36").get("/shares", params={"name": f"beta-{tag}", "name~": "Alpha"})) == [
            beta["id"]]


def test_inexact_snapshot_filters_from_2_36(client: Client, member: Client) -> None:
    share = client.create_share()
    tag = uuid.uuid4().hex[:8]
    night = create_snapshot(client, share["id"], name=f"Nightly-{tag}", description=f"kept {tag}")
    create_snapshot(client, share["id"], name=f"weekly-{tag}")
    for who in (client, member):
        assert len(ids(at(who, "2.35").get("/snapshots", params={"name~": "nightly"}), "snapshots")) == 2
        assert ids(at(who, "2.36").get("/snapshots", params={"name~": "nightly"}), "snapshots") == [night["id"]]
        assert ids(at(who, "2.36").get("/snapshots/detail", params={"description~": "KEPT"}),
                   "snapshots") == [night["id"]]
        assert ids(at(who, "2.36").get("/snapshots", params={"description": f"kept {tag}"}),
                   "snapshots") == [night["id"]]


def test_share_list_count_from_2_42(client: Client) -> None:
    for _ in range(3):
        client.create_share()
    plain = at(client, "2.41").get("/shares", params={"with_count": "true", "limit": "1"}).json()
    assert "count" not in plain
    counted = at(client, "2.42").get("/shares", params={"with_count": "true", "limit": "1"}).json()
    assert counted["count"] == 3 and len(counted["shares"]) == 1
    assert "count" not in at(client, "2.42").get("/shares", params={"with_count": "false"}).json()
    assert at(client, "2.42").get("/shares/detail", params={"with_count": "1", "status": "error"}).json()[
        "count"] == 0
    expect_fault(at(client, "2.42").get("/shares", params={"with_count": "maybe"}), 400,
                 "Invalid value maybe for with_count. Expecting a boolean.")
    # Manila's detail list reads it at every version
    assert at(client, "2.41").get("/shares/detail", params={"with_count": "true"}).json()["count"] == 3


def test_snapshot_list_count_from_2_79(client: Client) -> None:
    share = client.create_share()
    for _ in range(2):
        create_snapshot(client, share["id"])
    assert "count" not in at(client, "2.78").get("/snapshots", params={"with_count": "true"}).json()
    counted = at(client, "2.79").get("/snapshots", params={"with_count": "true", "limit": "1"}).json()
    assert counted["count"] == 2 and len(counted["snapshots"]) == 1
    expect_fault(at(client, "2.79").get("/snapshots", params={"with_count": "x"}), 400,
                 "Invalid value x for with_count. Expecting a boolean.")


def test_availability_zone_filter_from_2_97(client: Client, member: Client) -> None:
    share = client.create_share()
    zone = client.get("/availability-zones").json()["availability_zones"][0]
    assert share["availability_zone"] == zone["name"]
    for who in (client, member):
        assert ids(at(who, "2.96").get("/shares", params={"availability_zone": "elsewhere"})) == [share["id"]]
        assert ids(at(who, "2.97").get("/shares", params={"availability_zone": "elsewhere"})) == []
        assert ids(at(who, "2.97").get("/shares", params={"availability_zone": zone["name"]})) == [share["id"]]
        assert ids(at(who, "2.97").get("/shares/detail", params={"availability_zone": zone["id"]})) == [share["id"]]


# share view keys -----------------------------------------------------------------------------------------
LATER_SHARE_KEYS = [
    ("2.54", {"progress"}),
    ("2.69", {"is_soft_deleted", "scheduled_to_be_deleted_at"}),
    ("2.80", {"source_backup_id"}),
    ("2.90", {"encryption_key_ref"}),
    ("2.99", {"snapshot_inherit_share_access_support"}),
]


@pytest.mark.parametrize(("version", "keys"), LATER_SHARE_KEYS)
def test_share_view_keys_arrive_at_their_version(client: Client, version: str, keys: set[str]) -> None:
    share = client.create_share()
    major, minor = version.split(".")
    before = share_of(client, f"{major}.{int(minor) - 1}", share["id"])
    after = share_of(client, version, share["id"])
    assert not keys & set(before)
    assert keys <= set(after)
    assert set(after) - set(before) == keys


def test_share_view_values_of_later_versions(client: Client) -> None:
    inheriting = create_type(client, snapshot_inherit_share_access_support="True")
    created = at(client, "2.99").post("/shares", {"share": {"size": 1, "share_proto": "NFS",
                                                            "share_type": inheriting["id"]}})
    assert created.status_code == 200, created.text
    body = created.json()["share"]
    assert body["status"] == "creating" and body["progress"] is None  # the reply before the worker ran
    shown = client.wait(f"/shares/{body['id']}", "share")
    view = share_of(client, "2.99", shown["id"])
    assert view["progress"] == "100%"
    assert view["is_soft_deleted"] is False and view["scheduled_to_be_deleted_at"] is None
    assert view["source_backup_id"] is None and view["encryption_key_ref"] is None
    assert view["snapshot_inherit_share_access_support"] is True
    plain = client.create_share()
    assert share_of(client, "2.99", plain["id"])["snapshot_inherit_share_access_support"] is False


# share types: 2.41 description, 2.43 filter, 2.46 is_default, 2.50 update, 2.99 inferred spec ---------
def test_share_type_description_from_2_41(client: Client) -> None:
    spec = {"driver_handles_share_servers": False}
    early = at(client, "2.40").post("/types", {"share_type": {"name": unique("d"), "description": "gold",
                                                               "extra_specs": spec}})
    expect_fault(early, 400, "'description' key is not supported by this microversion. Use 2.41 or greater "
                             "microversion to be able to use 'description' in share type.")
    made = at(client, "2.41").post("/types", {"share_type": {"name": unique("d"), "description": "gold",
                                                              "extra_specs": spec}})
    assert made.status_code == 200, made.text
    created = made.json()["share_type"]
    assert created["description"] == "gold"
    assert "description" not in at(client, "2.40").get(f"/types/{created['id']}").json()["share_type"]
    assert at(client, "2.41").get(f"/types/{created['id']}").json()["share_type"]["description"] == "gold"
    long = at(client, "2.41").post("/types", {"share_type": {"name": unique("d"), "description": "x" * 256,
                                                              "extra_specs": spec}})
    expect_fault(long, 400, "Type name or description is not valid.")
    expect_fault(at(client, "2.40").post("/types", {"share_type": {"name": "", "extra_specs": spec}}), 400,
                 "Type name is not valid.")


def test_share_type_list_filter_by_extra_specs_from_2_43(client: Client) -> None:
    tag = uuid.uuid4().hex[:8]
    silver = create_type(client, tier=tag, snapshot_support=True)
    create_type(client, tier=tag, snapshot_support=False)
    zoned = create_type(client, tier=f"{tag}z", availability_zones="nova,east")
    expect_fault(at(client, "2.42").get("/types", params={"extra_specs": f"{{'tier': '{tag}'}}"}), 400,
                 "Filter by 'extra_specs' is not supported by this microversion. Use 2.43 or greater "
                 "microversion to be able to use filter search by 'extra_specs.")

    def names(specs: str) -> set[str]:
        resp = at(client, "2.43").get("/types", params={"extra_specs": specs})
        assert resp.status_code == 200, resp.text
        return {t["id"] for t in resp.json()["share_types"]}

    assert len(names(f"{{'tier': '{tag}'}}")) == 2
    # every key must match (Manila compared only the first); booleans in any spelling
    assert names(f"{{'tier': '{tag}', 'snapshot_support': True}}") == {silver["id"]}
    assert names(f"{{'tier': '{tag}z', 'availability_zones': 'east'}}") == {zoned["id"]}
    assert names(f"{{'tier': '{tag}z', 'availability_zones': 'west'}}") == set()
    expect_fault(at(client, "2.43").get("/types", params={"extra_specs": "[1]"}), 400)


def test_share_type_is_default_from_2_46(client: Client, member: Client) -> None:
    other = create_type(client)
    for who in (client, member):
        assert "is_default" not in at(who, "2.45").get("/types/default").json()["share_type"]
        assert at(who, "2.46").get("/types/default").json()["share_type"]["is_default"] is True
        assert at(who, "2.46").get(f"/types/{other['id']}").json()["share_type"]["is_default"] is False
        listed = {t["name"]: t["is_default"] for t in at(who, "2.46").get("/types").json()["share_types"]}
        assert listed["default"] is True and listed[other["name"]] is False


def test_share_type_update_from_2_50(client: Client, member: Client) -> None:
    st = create_type(client, public=False)
    path = f"/types/{st['id']}"
    expect_fault(at(client, "2.49").put(path, {"share_type": {"name": "renamed"}}), 404, GENERIC_404)
    new_name = unique("renamed")
    resp = at(client, "2.50").put(path, {"share_type": {"name": new_name, "description": "better",
                                                        "share_type_access:is_public": True}})
    assert resp.status_code == 200, resp.text
    body = resp.json()["share_type"]
    assert (body["name"], body["description"], body["share_type_access:is_public"]) == (new_name, "better", True)
    assert at(client, "2.50").get(path).json()["share_type"]["name"] == new_name
    cleared = at(client, "2.50").put(path, {"volume_type": {"description": ""}}).json()["share_type"]
    assert cleared["description"] is None and cleared["name"] == new_name
    taken = create_type(client)
    expect_fault(at(client, "2.50").put(path, {"share_type": {"name": taken["name"]}}), 409,
                 f"Share Type {taken['name']} already exists.")
    for body_in, message in (
        ({"share_type": {"name": " "}}, "Share type name cannot be empty."),
        ({"share_type": {"name": "n" * 256}}, "Share type name cannot be greater than 255 characters in length."),
        ({"share_type": {"description": "d" * 256}},
         "Share type description cannot be greater than 255 characters in length."),
        ({"share_type": {"share_type_access:is_public": "perhaps"}},
         "share_type_access:is_public has a non-boolean value."),
        ({"share_type": {}}, "Specify share type name, description, share_type_access:is_public or a combination "
                             "thereof."),
    ):
        expect_fault(at(client, "2.50").put(path, body_in), 400, message)
    expect_fault(at(client, "2.50").put(f"/types/{unknown_id()}", {"share_type": {"name": unique()}}), 404)
    policy_denied(at(member, "2.50").put(path, {"share_type": {"name": unique()}}), "share_type:update")


def test_inferred_snapshot_inherit_spec_from_2_99(client: Client, member: Client) -> None:
    st = create_type(client)
    assert "snapshot_inherit_share_access_support" not in at(member, "2.98").get(
        f"/types/{st['id']}").json()["share_type"]["extra_specs"]
    seen = at(member, "2.99").get(f"/types/{st['id']}").json()["share_type"]["extra_specs"]
    assert seen["snapshot_inherit_share_access_support"] is False
    admin_view = at(client, "2.99").get(f"/types/{st['id']}").json()["share_type"]["extra_specs"]
    assert "snapshot_inherit_share_access_support" not in admin_view  # admins see what is set


def test_standard_optional_specs_are_checked_and_tenant_visible(client: Client, member: Client) -> None:
    for key, value in (("availability_zones", "a,,b"), ("provisioning:max_share_size", "0"),
                       ("provisioning:min_share_size", "x"), ("encryption_support", "disk"),
                       ("mount_point_name_support", "maybe"), ("snapshot_inherit_share_access_support", "2")):
        resp = client.post("/types", {"share_type": {
            "name": unique(), "extra_specs": {"driver_handles_share_servers": False, key: value}}})
        expect_fault(resp, 400, f"Invalid share type: Invalid extra_spec: {key}: {value}.")
    specs: dict[str, Any] = {"availability_zones": " nova , east ", "provisioning:max_share_size": "9"}
    st = create_type(client, **specs)
    assert st["extra_specs"]["availability_zones"] == "nova,east"
    expect_fault(client.post(f"/types/{st['id']}/extra_specs", {"extra_specs": {"provisioning:min_share_size": "-1"}}),
                 400, "Invalid extra_spec: provisioning:min_share_size: -1")
    seen = member.get(f"/types/{st['id']}").json()["share_type"]["extra_specs"]
    assert seen["availability_zones"] == "nova,east" and seen["provisioning:max_share_size"] == "9"


# share create: 2.48 zones, 2.61 sizes, 2.84 mount point names, 2.90 encryption ------------------------------
def test_type_availability_zones_checked_from_2_48(client: Client) -> None:
    elsewhere = create_type(client, availability_zones="east,west")
    here = create_type(client, availability_zones="west,nova")
    body = {"size": 1, "share_proto": "NFS", "share_type": elsewhere["name"]}
    assert at(client, "2.47").post("/shares", {"share": body}).status_code == 200  # not checked before 2.48
    expect_fault(at(client, "2.48").post("/shares", {"share": {**body, "availability_zone": "nova"}}), 400,
                 f"Share type {elsewhere['name']} is not supported within the availability zone chosen nova.")
    text = expect_fault(at(client, "2.48").post("/shares", {"share": body}), 400)
    assert "east, west" in text and "nova" in text
    ok = at(client, "2.48").post("/shares", {"share": {**body, "share_type": here["id"]}})
    assert ok.status_code == 200, ok.text


def test_type_availability_zones_apply_to_shares_from_snapshots(client: Client) -> None:
    st = create_type(client, snapshot_support=True, create_share_from_snapshot_support=True)
    share = client.create_share(share_type=st["id"])
    snap = create_snapshot(client, share["id"])
    client.post(f"/types/{st['id']}/extra_specs", {"extra_specs": {"availability_zones": "east"}})
    resp = at(client, "2.48").post("/shares", {"share": {"size": 1, "share_proto": "NFS", "snapshot_id": snap["id"],
                                                         "availability_zone": "nova"}})
    expect_fault(resp, 400, f"Share type {st['name']} (from source snapshot) is not supported within the "
                            "availability zone chosen nova.")


@pytest.mark.parametrize("version", ["2.30", "2.61"])
def test_provisioning_size_limits(client: Client, member: Client, version: str) -> None:
    """2.61's specs limit sizes whatever the request's version (as in Manila: the spec is the switch)."""
    limits: dict[str, Any] = {"provisioning:min_share_size": "2", "provisioning:max_share_size": "5",
                              "provisioning:max_share_extend_size": "8"}
    st = create_type(client, **limits)
    user = at(member, version)
    for size, message in (
        (1, f"Invalid input received: Specified share size of '1' is less than the minimum required size of '2' "
            f"for share type '{st['name']}'.."),
        (6, f"Invalid input received: Specified share size of '6' is greater than the maximum allowable size of "
            f"'5' for share type '{st['name']}'.."),
    ):
        expect_fault(user.post("/shares", {"share": {"size": size, "share_proto": "NFS", "share_type": st["id"]}}),
                     400, message)
    share = user.create_share(size=3, share_type=st["id"])
    action = f"/shares/{share['id']}/action"
    expect_fault(user.post(action, {"extend": {"new_size": 6}}), 400,
                 f"Invalid input received: Specified share size of '6' is greater than the maximum allowable "
                 f"size of '5' for share type '{st['name']}'..")
    expect_fault(user.post(action, {"shrink": {"new_size": 1}}), 400,
                 f"Invalid input received: Specified share size of '1' is less than the minimum required size "
                 f"of '2' for share type '{st['name']}'..")
    admin = at(client, version)
    expect_fault(admin.post(action, {"extend": {"new_size": 9}}), 400,
                 f"Invalid input received: Specified share size of '9' is greater than the maximum allowable "
                 f"extend size of '8' for share type '{st['name']}'..")
    assert admin.post(action, {"extend": {"new_size": 7}}).status_code == 202  # admins extend past the max
    assert user.wait(f"/shares/{share['id']}", "share")["size"] == 7


def test_mount_point_name_from_2_84(client: Client) -> None:
    plain = client.create_share()
    body = {"size": 1, "share_proto": "NFS", "mount_point_name": "data"}
    assert at(client, "2.83").post("/shares", {"share": body}).status_code == 200  # ignored before 2.84
    expect_fault(at(client, "2.84").post("/shares", {"share": body}), 400,
                 f"Invalid input received: Setting a mount point name is not supported by the share type used: "
                 f"{plain['share_type']}..")
    named = create_type(client, mount_point_name_support=True)
    expect_fault(at(client, "2.84").post("/shares", {"share": {**body, "share_type": named["id"]}}), 400,
                 "Invalid input received: mount_point_name cannot be honoured: Lockstep's backends name each "
                 "export after the share's id.")
    expect_fault(at(client, "2.84").post("/shares", {"share": {**body, "mount_point_name": 5}}), 400)
    assert ids(at(client, "2.84").get("/shares", params={"mount_point_name": "data"})) == []


def test_encryption_key_ref_from_2_90(client: Client) -> None:
    key = str(uuid.uuid4())
    body = {"size": 1, "share_proto": "NFS", "encryption_key_ref": key}
    assert at(client, "2.89").post("/shares", {"share": body}).status_code == 200  # ignored before 2.90
    default = client.get("/types/default").json()["share_type"]
    expect_fault(at(client, "2.90").post("/shares", {"share": body}), 400,
                 f"Share type {default['name']} extra-specs 'encryption_support' is missing valid value e.g. "
                 "share, share_server.")
    no_servers = create_type(client, encryption_support="share")
    expect_fault(at(client, "2.90").post("/shares", {"share": {**body, "share_type": no_servers["id"]}}), 400,
                 f"Share type {no_servers['name']} must set dhss=True for share encryption.")
    servers = create_type(client, dhss=True, encryption_support="share_server")
    network = client.post("/share-networks", {"share_network": {"name": unique()}}).json()["share_network"]
    with_servers = {**body, "share_type": servers["id"], "share_network_id": network["id"]}
    expect_fault(at(client, "2.90").post("/shares", {"share": {**with_servers, "encryption_key_ref": "nope"}}), 400,
                 "Invalid input received: Encryption key ref is not valid UUID.")
    text = expect_fault(at(client, "2.90").post("/shares", {"share": with_servers}), 400)
    assert "no Lockstep backend encrypts shares" in text
    assert ids(at(client, "2.90").get("/shares", params={"encryption_key_ref": key})) == []


# 2.64: extend with force ----------------------------------------------------------------------------------
def test_extend_force_needs_an_admin_from_2_64(client: Client, member: Client) -> None:
    share = member.create_share()
    action = f"/shares/{share['id']}/action"
    policy_denied(at(member, "2.64").post(action, {"extend": {"new_size": 2, "force": True}}), "share:force_extend")
    expect_fault(at(member, "2.64").post(action, {"extend": {"new_size": 2, "force": "often"}}), 400,
                 "Invalid boolean force : often")
    # before 2.64 `force` is not read at all
    assert at(member, "2.63").post(action, {"extend": {"new_size": 2, "force": True}}).status_code == 202
    assert member.wait(f"/shares/{share['id']}", "share")["size"] == 2
    assert at(member, "2.64").post(action, {"extend": {"new_size": 3, "force": False}}).status_code == 202
    member.wait(f"/shares/{share['id']}", "share")
    assert at(client, "2.64").post(action, {"extend": {"new_size": 4, "force": True}}).status_code == 202
    assert member.wait(f"/shares/{share['id']}", "share")["size"] == 4


# 2.65 / 2.67: scheduler hints (placement across pools: test_placement_and_recycle_bin.py) ---------------------
def test_scheduler_hints_are_read_from_2_65(client: Client, member: Client) -> None:
    anchor = member.create_share()
    hints = {"different_host": anchor["id"]}
    ignored = at(member, "2.64").post("/shares", {"share": {"size": 1, "share_proto": "NFS",
                                                            "scheduler_hints": hints}})
    assert member.wait(f"/shares/{ignored.json()['share']['id']}", "share")["status"] == "available"
    # one pool here, and it holds the anchor: nothing can take the new share
    away = at(member, "2.65").post("/shares", {"share": {"size": 1, "share_proto": "NFS", "scheduler_hints": hints}})
    assert away.status_code == 200, away.text
    assert member.wait(f"/shares/{away.json()['share']['id']}", "share")["status"] == "error"
    near = at(member, "2.65").post("/shares", {"share": {"size": 1, "share_proto": "NFS",
                                                         "scheduler_hints": {"same_host": anchor["id"]}}})
    near_share = member.wait(f"/shares/{near.json()['share']['id']}", "share")
    assert near_share["status"] == "available"
    # Manila records the relation in admin-only metadata, on both shares
    assert near_share["metadata"] == {"__affinity_same_host": anchor["id"]}
    assert member.get(f"/shares/{anchor['id']}").json()["share"]["metadata"]["__affinity_same_host"] == near_share["id"]
    assert member.delete(f"/shares/{near_share['id']}").status_code == 202
    member.wait_gone(f"/shares/{near_share['id']}")
    assert "__affinity_same_host" not in member.get(f"/shares/{anchor['id']}").json()["share"]["metadata"]


def test_scheduler_hints_are_checked(client: Client, member: Client) -> None:
    base = {"size": 1, "share_proto": "NFS"}
    user = at(member, "2.67")
    expect_fault(user.post("/shares", {"share": {**base, "scheduler_hints": {"same_host": "abc"}}}), 400,
                 "abc is not a valid uuid.")
    missing = unknown_id()
    expect_fault(user.post("/shares", {"share": {**base, "scheduler_hints": {"different_host": missing}}}), 404,
                 f"ShareNotFound: Share {missing} could not be found.")
    foreign = client.with_(project=uuid.uuid4().hex).create_share()
    expect_fault(user.post("/shares", {"share": {**base, "scheduler_hints": {"same_host": foreign["id"]}}}), 404)
    expect_fault(user.post("/shares", {"share": {**base, "scheduler_hints": "same_host"}}), 400)
    assert member.get("/shares").json()["shares"] == []  # nothing was created by the refusals


def test_only_host_from_2_67_for_admins(client: Client, member: Client) -> None:
    pool = client.get("/scheduler-stats/pools").json()["pools"][0]["name"]
    base = {"size": 1, "share_proto": "NFS"}

    def placed(who: Client, version: str, host: str) -> dict[str, Any]:
        resp = at(who, version).post("/shares", {"share": {**base, "scheduler_hints": {"only_host": host}}})
        assert resp.status_code == 200, resp.text
        return who.wait(f"/shares/{resp.json()['share']['id']}", "share")

    assert placed(client, "2.66", "nowhere@none#none")["status"] == "available"  # not read before 2.67
    assert placed(client, "2.67", "nowhere@none#none")["status"] == "error"
    assert placed(client, "2.67", pool)["host"] == pool
    assert placed(member, "2.67", "nowhere@none#none")["status"] == "available"  # only admins steer placement


# 2.68: admin-only metadata keys ------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["2.30", "2.68"])
def test_admin_only_metadata_keys(client: Client, member: Client, version: str) -> None:
    """Manila guards these keys at every version; 2.68 documented them."""
    share = member.create_share(metadata={"team": "a"})
    path = f"/shares/{share['id']}/metadata"
    user, admin = at(member, version), at(client, version)
    for resp in (user.post(path, {"metadata": {"__affinity_same_host": "x"}}),
                 user.put(path, {"metadata": {"__managed_at": "now"}}),
                 user.put(f"{path}/__affinity_different_host", {"meta": {"__affinity_different_host": "y"}})):
        expect_fault(resp, 403, "Cannot set or update admin only metadata.")
    assert admin.post(path, {"metadata": {"__affinity_same_host": "x"}}).status_code == 200
    # a user's replacement keeps the admin-only keys; deleting one needs the admin rule
    replaced = user.put(path, {"metadata": {"team": "b"}})
    assert replaced.json()["metadata"] == {"team": "b", "__affinity_same_host": "x"}
    policy_denied(user.delete(f"{path}/__affinity_same_host"), "share:update_admin_only_metadata")
    assert admin.delete(f"{path}/__affinity_same_host").status_code == 200
    assert user.get(path).json()["metadata"] == {"team": "b"}


# 2.69: the recycle bin (purging after the retention: test_placement_and_recycle_bin.py) ------------------------
def test_soft_delete_and_restore_from_2_69(client: Client, member: Client) -> None:
    share = member.create_share()
    action = f"/shares/{share['id']}/action"
    expect_fault(at(member, "2.68").post(action, {"soft_delete": None}), 404, GENERIC_404)
    assert at(member, "2.69").post(action, {"soft_delete": None}).status_code == 202
    binned = share_of(member, "2.69", share["id"])
    assert binned["is_soft_deleted"] is True and binned["status"] == "available"
    until = dt.datetime.fromisoformat(binned["scheduled_to_be_deleted_at"])
    assert dt.timedelta(days=6, hours=23) < until - dt.datetime.now(dt.UTC).replace(tzinfo=None) <= dt.timedelta(days=7)
    # out of the lists unless asked for (which 2.69 reads)
    assert share["id"] not in ids(at(member, "2.69").get("/shares"))
    assert share["id"] not in ids(at(member, "2.68").get("/shares", params={"is_soft_deleted": "true"}))
    assert ids(at(member, "2.69").get("/shares/detail", params={"is_soft_deleted": "true"})) == [share["id"]]
    expect_fault(at(member, "2.69").get("/shares", params={"is_soft_deleted": "sometimes"}), 400,
                 "Invalid value sometimes for is_soft_deleted. Expecting a boolean.")
    # nothing changes a share in the bin
    expect_fault(at(member, "2.69").put(f"/shares/{share['id']}", {"share": {"display_name": "x"}}), 403,
                 f"Share '{share['id']} cannot be updated, since it has been soft deleted.")
    expect_fault(at(member, "2.69").post(action, {"extend": {"new_size": 2}}), 403,
                 f"Cannot extend share '{share['id']}' since it has been soft deleted.")
    expect_fault(at(client, "2.69").post(action, {"reset_status": {"status": "error"}}), 403,
                 f"status cannot be reset for share '{share['id']}' since it has been soft deleted.")
    expect_fault(at(member, "2.69").post("/snapshots", {"snapshot": {"share_id": share["id"]}}), 403,
                 f"Snapshots cannot be created for share '{share['id']}' since it has been soft deleted.")
    expect_fault(at(member, "2.69").post(action, {"soft_delete": None}), 403,
                 "Invalid share: The share has been soft deleted already.")
    # restore: 202 out of the bin, 200 when it was not in it
    assert at(member, "2.69").post(action, {"restore": None}).status_code == 202
    restored = share_of(member, "2.69", share["id"])
    assert restored["is_soft_deleted"] is False and restored["scheduled_to_be_deleted_at"] is None
    assert share["id"] in ids(at(member, "2.69").get("/shares"))
    assert at(member, "2.69").post(action, {"restore": None}).status_code == 200
    missing = unknown_id()
    expect_fault(at(member, "2.69").post(f"/shares/{missing}/action", {"restore": None}), 404,
                 f"No share exists with ID {missing}.")


def test_soft_delete_refusals(client: Client, member: Client) -> None:
    share = member.create_share()
    action = f"/shares/{share['id']}/action"
    create_snapshot(member, share["id"])
    expect_fault(at(member, "2.69").post(action, {"soft_delete": None}), 403,
                 "Invalid share: Share still has 1 dependent snapshots.")
    other = client.with_(project=uuid.uuid4().hex, user="carol")
    expect_fault(at(other, "2.69").post(action, {"soft_delete": None}), 404, GENERIC_404)
    fresh = member.create_share()
    at(client, "2.69").post(f"/shares/{fresh['id']}/action", {"reset_status": {"status": "creating"}})
    expect_fault(at(member, "2.69").post(f"/shares/{fresh['id']}/action", {"soft_delete": None}), 403,
                 "Invalid share: Share status must be one of ('available', 'error', 'inactive').")


def test_a_share_in_the_bin_can_still_be_deleted(client: Client, member: Client) -> None:
    share = member.create_share()
    assert at(member, "2.69").post(f"/shares/{share['id']}/action", {"soft_delete": None}).status_code == 202
    assert member.delete(f"/shares/{share['id']}").status_code == 202
    member.wait_gone(f"/shares/{share['id']}")
