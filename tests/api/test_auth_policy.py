"""Policy (admin-only actions), project scoping (decision 1) and `all_tenants` (decision 2)."""

from __future__ import annotations

import pytest

from tests.api.helpers import (
    GENERIC_404,
    create_network,
    create_snapshot,
    create_type,
    expect_fault,
    policy_denied,
    unique,
)
from tests.support import Client, Server

UNKNOWN = "5a1b5fb4-9f9e-4a3f-9bd4-6fd5f1f5f5f5"


@pytest.fixture
def stranger(server: Server) -> Client:
    """A non-admin user of another project."""
    return server.client(user="mallory")


def test_member_is_denied_admin_only_actions(client: Client, member: Client) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    private = create_type(client, public=False)
    checks = [
        (
            member.post(
                "/types",
                {"share_type": {"name": unique(), "extra_specs": {"driver_handles_share_servers": False}}},
            ),
            "share_type:create",
        ),
        (member.delete(f"/types/{private['id']}"), "share_type:delete"),
        (member.delete(f"/types/{UNKNOWN}"), "share_type:delete"),
        (member.get(f"/types/{private['id']}/extra_specs"), "share_types_extra_spec:index"),
        (
            member.get(f"/types/{private['id']}/extra_specs/driver_handles_share_servers"),
            "share_types_extra_spec:show",
        ),
        (
            member.post(f"/types/{private['id']}/extra_specs", {"extra_specs": {"a": "b"}}),
            "share_types_extra_spec:create",
        ),
        (member.put(f"/types/{private['id']}/extra_specs/a", {"a": "b"}), "share_types_extra_spec:update"),
        (member.delete(f"/types/{private['id']}/extra_specs/a"), "share_types_extra_spec:delete"),
        (member.get(f"/types/{private['id']}/share_type_access"), "share_type:list_project_access"),
        (member.get(f"/types/{private['id']}/os-share-type-access"), "share_type:list_project_access"),
        (
            member.post(f"/types/{private['id']}/action", {"addProjectAccess": {"project": member.project}}),
            "share_type:add_project_access",
        ),
        (
            member.post(
                f"/types/{private['id']}/action", {"removeProjectAccess": {"project": member.project}}
            ),
            "share_type:remove_project_access",
        ),
        (
            member.post(f"/shares/{share['id']}/action", {"reset_status": {"status": "error"}}),
            "share:reset_status",
        ),
        (
            member.post(f"/shares/{UNKNOWN}/action", {"reset_status": {"status": "error"}}),
            "share:reset_status",
        ),
        (member.post(f"/shares/{share['id']}/action", {"reset_status": {}}), "share:reset_status"),
        (member.post(f"/shares/{share['id']}/action", {"force_delete": None}), "share:force_delete"),
        (
            member.with_(version="2.6").post(f"/shares/{share['id']}/action", {"os-force_delete": None}),
            "share:force_delete",
        ),
        (
            member.post(f"/snapshots/{snap['id']}/action", {"reset_status": {"status": "error"}}),
            "share_snapshot:reset_status",
        ),
        (
            member.post(f"/snapshots/{snap['id']}/action", {"force_delete": None}),
            "share_snapshot:force_delete",
        ),
        (member.get("/scheduler-stats/pools"), "scheduler_stats:pools:index"),
        (member.get("/scheduler-stats/pools/detail"), "scheduler_stats:pools:detail"),
        (member.get("/shares", params={"share_server_id": UNKNOWN}), "share:list_by_share_server_id"),
        (member.get("/shares/detail", params={"share_server_id": UNKNOWN}), "share:list_by_share_server_id"),
        (member.get("/share-networks", params={"all_tenants": "1"}), "share_network:get_all_share_networks"),
        (
            member.get("/share-networks/detail", params={"project_id": "other"}),
            "share_network:get_all_share_networks",
        ),
    ]
    # policy is checked before the body
    checks += [
        (member.post("/types", {}), "share_type:create"),
        (member.post("/types", {"share_type": {"name": ""}}), "share_type:create"),
        (member.post(f"/types/{private['id']}/extra_specs", {"bad": 1}), "share_types_extra_spec:create"),
        (member.put(f"/types/{private['id']}/extra_specs/a", {}), "share_types_extra_spec:update"),
        (member.put(f"/types/{private['id']}/extra_specs/a", {"b": "c"}), "share_types_extra_spec:update"),
        (member.post(f"/types/{private['id']}/action", {"addProjectAccess": {"project": "bad"}}),
         "share_type:add_project_access"),
    ]
    for resp, rule in checks:
        policy_denied(resp, rule)
    # nothing changed
    assert client.get(f"/shares/{share['id']}").json()["share"]["status"] == "available"
    assert client.get(f"/snapshots/{snap['id']}").json()["snapshot"]["status"] == "available"
    assert client.get(f"/types/{private['id']}").status_code == 200


def test_member_may_do_ordinary_things(client: Client, member: Client) -> None:
    share = member.create_share(name="mine")
    assert share["user_id"] == "alice"
    assert "share_server_id" not in share
    assert member.get("/types").status_code == 200
    assert member.get("/types/default").status_code == 200
    assert member.get("/share-networks", params={"project_id": member.project}).status_code == 200
    resp = member.post(f"/shares/{share['id']}/action", {"extend": {"new_size": 2}})
    assert resp.status_code == 202
    assert member.wait(f"/shares/{share['id']}", "share")["size"] == 2
    snap = create_snapshot(member, share["id"])
    assert member.delete(f"/snapshots/{snap['id']}").status_code == 202
    member.wait(f"/snapshots/{snap['id']}", "snapshot", ("deleted",))
    assert member.delete(f"/shares/{share['id']}").status_code == 202
    member.wait(f"/shares/{share['id']}", "share", ("deleted",))
    # the admin of the project sees the member's work
    assert client.get(f"/shares/{share['id']}").status_code == 404


def test_other_projects_resources_answer_404(client: Client, stranger: Client) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    net = create_network(client, name="private-net")
    sid, snid, nid = share["id"], snap["id"], net["id"]
    not_found = [
        stranger.get(f"/shares/{sid}"),
        stranger.put(f"/shares/{sid}", {"share": {"display_name": "x"}}),
        stranger.delete(f"/shares/{sid}"),
        stranger.post(f"/shares/{sid}/action", {"extend": {"new_size": 5}}),
        stranger.post(f"/shares/{sid}/action", {"shrink": {"new_size": 1}}),
        stranger.get(f"/snapshots/{snid}"),
        stranger.put(f"/snapshots/{snid}", {"snapshot": {"display_name": "x"}}),
        stranger.delete(f"/snapshots/{snid}"),
    ]
    for resp in not_found:
        expect_fault(resp, 404, GENERIC_404)
    expect_fault(stranger.get(f"/share-networks/{nid}"), 404, f"Share network {nid} could not be found.")
    expect_fault(
        stranger.put(f"/share-networks/{nid}", {"share_network": {"name": "x"}}),
        404,
        f"Share network {nid} could not be found.",
    )
    expect_fault(stranger.delete(f"/share-networks/{nid}"), 404, f"Share network {nid} could not be found.")
    expect_fault(stranger.get(f"/shares/{sid}/metadata"), 404, "share does not exist")
    expect_fault(
        stranger.post(f"/shares/{sid}/metadata", {"metadata": {"a": "b"}}), 404, "share does not exist"
    )
    expect_fault(stranger.delete(f"/shares/{sid}/metadata/a"), 404, "share does not exist")
    expect_fault(stranger.get(f"/shares/{sid}/export_locations"), 404, f"Share '{sid}' not found.")
    expect_fault(
        stranger.post("/snapshots", {"snapshot": {"share_id": sid}}),
        404,
        "NotFound: Resource could not be found.",
    )
    expect_fault(
        stranger.post("/shares", {"share": {"size": 1, "share_proto": "NFS", "snapshot_id": snid}}),
        404,
        f"ShareSnapshotNotFound: Snapshot {snid} could not be found.",
    )
    expect_fault(
        stranger.post("/shares", {"share": {"size": 1, "share_proto": "NFS", "share_network_id": nid}}),
        404,
        f"Share network {nid} could not be found.",
    )
    assert stranger.get("/shares").json() == {"shares": []}
    assert stranger.get("/snapshots").json() == {"snapshots": []}
    assert stranger.get("/share-networks").json() == {"share_networks": []}
    # nothing happened to them
    assert client.get(f"/shares/{sid}").json()["share"]["status"] == "available"
    assert client.get(f"/shares/{sid}").json()["share"]["size"] == 1
    assert client.get(f"/snapshots/{snid}").json()["snapshot"]["status"] == "available"
    assert client.get(f"/share-networks/{nid}").json()["share_network"]["name"] == "private-net"


def test_admins_reach_other_projects_by_id(client: Client, server: Server) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    net = create_network(client)
    admin = server.client()  # an admin in another project
    assert admin.get(f"/shares/{share['id']}").status_code == 200
    assert admin.get(f"/snapshots/{snap['id']}").status_code == 200
    assert admin.get(f"/share-networks/{net['id']}").status_code == 200
    resp = admin.put(f"/shares/{share['id']}", {"share": {"display_name": "renamed-by-admin"}})
    assert resp.status_code == 200
    assert client.get(f"/shares/{share['id']}").json()["share"]["name"] == "renamed-by-admin"


def test_public_share_of_another_project_is_readable(client: Client, stranger: Client) -> None:
    share = client.create_share(is_public=True)
    resp = stranger.get(f"/shares/{share['id']}")
    assert resp.status_code == 200
    assert resp.json()["share"]["id"] == share["id"]
    listed = stranger.get("/shares", params={"is_public": "true"}).json()["shares"]
    assert share["id"] in [s["id"] for s in listed]
    assert share["id"] not in [s["id"] for s in stranger.get("/shares").json()["shares"]]
    expect_fault(stranger.put(f"/shares/{share['id']}", {"share": {"display_name": "x"}}), 404, GENERIC_404)
    expect_fault(stranger.delete(f"/shares/{share['id']}"), 404, GENERIC_404)


@pytest.mark.parametrize("value", ["1", "true", "True", "yes", "on"])
def test_all_tenants_true_lists_every_project_for_admins(server: Server, client: Client, value: str) -> None:
    name = unique("at")
    mine = client.create_share(name=name)
    other = server.client()
    theirs = other.create_share(name=name)
    snap_name = unique("sn")
    my_snap = create_snapshot(client, mine["id"], name=snap_name)
    their_snap = create_snapshot(other, theirs["id"], name=snap_name)
    net_name = unique("net")
    my_net = create_network(client, name=net_name)
    their_net = create_network(other, name=net_name)
    for path in ("/shares", "/shares/detail"):
        found = client.get(path, params={"all_tenants": value, "name": name}).json()["shares"]
        assert sorted(s["id"] for s in found) == sorted([mine["id"], theirs["id"]])
    for path in ("/snapshots", "/snapshots/detail"):
        found = client.get(path, params={"all_tenants": value, "name": snap_name}).json()["snapshots"]
        assert sorted(s["id"] for s in found) == sorted([my_snap["id"], their_snap["id"]])
    found = client.get("/share-networks", params={"all_tenants": value, "name": net_name}).json()
    assert sorted(n["id"] for n in found["share_networks"]) == sorted([my_net["id"], their_net["id"]])


@pytest.mark.parametrize("value", ["0", "false", "False", "no", "off"])
def test_all_tenants_false_lists_own_project(server: Server, client: Client, value: str) -> None:
    name = unique("af")
    mine = client.create_share(name=name)
    other = server.client()
    other.create_share(name=name)
    net_name = unique("net")
    my_net = create_network(client, name=net_name)
    create_network(other, name=net_name)
    found = client.get("/shares/detail", params={"all_tenants": value, "name": name}).json()["shares"]
    assert [s["id"] for s in found] == [mine["id"]]
    found = client.get("/snapshots", params={"all_tenants": value}).json()["snapshots"]
    assert found == []
    nets = client.get("/share-networks", params={"all_tenants": value, "name": net_name}).json()
    assert [n["id"] for n in nets["share_networks"]] == [my_net["id"]]


def test_all_tenants_has_no_effect_for_members(server: Server, client: Client, member: Client) -> None:
    name = unique("am")
    mine = member.create_share(name=name)
    server.client().create_share(name=name)
    for value in ("1", "true"):
        found = member.get("/shares", params={"all_tenants": value, "name": name}).json()["shares"]
        assert [s["id"] for s in found] == [mine["id"]]
        assert member.get("/snapshots", params={"all_tenants": value}).json() == {"snapshots": []}


def test_admin_project_id_filter(server: Server, client: Client) -> None:
    other = server.client()
    theirs = other.create_share()
    found = client.get("/shares", params={"project_id": other.project}).json()["shares"]
    assert [s["id"] for s in found] == [theirs["id"]]
    net = create_network(other)
    nets = client.get("/share-networks", params={"project_id": other.project}).json()["share_networks"]
    assert [n["id"] for n in nets] == [net["id"]]
