"""Shares in consistency groups (spec §6): create rules, views, filters, delete rules, clones."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import (
    create_network,
    create_type,
    default_type_id,
    expect_fault,
    post_group,
    reset,
    unknown_id,
)
from tests.support import Client

CG_SHARE_KEYS = {"consistency_group_id", "source_cgsnapshot_member_id"}


def post_share(client: Client, **fields: Any) -> Any:
    return client.post("/shares", {"share": {"size": 1, "share_proto": "NFS", **fields}})


def group_shares(client: Client, group_id: str) -> list[dict[str, Any]]:
    resp = client.get("/shares/detail", params={"consistency_group_id": group_id})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["shares"])


# -- create a share in a group -------------------------------------------------------------------------
def test_share_joins_group_on_its_pool(client: Client) -> None:
    group = client.create_group()
    resp = post_share(client, consistency_group_id=group["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["share"]["consistency_group_id"] == group["id"]
    share = client.wait(f"/shares/{resp.json()['share']['id']}", "share")
    assert share["status"] == "available"
    assert share["host"] == group["host"]
    assert (share["consistency_group_id"], share["source_cgsnapshot_member_id"]) == (group["id"], None)


def test_share_group_honoured_at_2_4_without_experimental_header(client: Client) -> None:
    group = client.create_group()
    plain = client.with_(version="2.4", experimental=False)
    resp = post_share(plain, consistency_group_id=group["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["share"]["consistency_group_id"] == group["id"]


@pytest.mark.parametrize("version", ["2.0", "2.3"])
def test_share_group_silently_dropped_below_2_4(client: Client, version: str) -> None:
    group = client.create_group()
    resp = post_share(client.with_(version=version), consistency_group_id=group["id"])
    assert resp.status_code == 200, resp.text
    share = resp.json()["share"]
    assert not CG_SHARE_KEYS & set(share)
    shown = client.get(f"/shares/{share['id']}").json()["share"]
    assert shown["consistency_group_id"] is None


def test_share_type_must_be_one_of_the_groups(client: Client) -> None:
    first, second, third = create_type(client), create_type(client), create_type(client)
    group = client.create_group(share_types=[first["id"], second["id"]])
    assert post_share(client, consistency_group_id=group["id"], share_type=second["id"]).status_code == 200
    assert post_share(client, consistency_group_id=group["id"], share_type=first["name"]).status_code == 200
    expect_fault(post_share(client, consistency_group_id=group["id"], share_type=third["id"]), 400,
                 f"The specified share type ({third['id']}) is not supported by the specified consistency "
                 f"group ({group['id']}).")
    # the default type is the effective type when none is named
    expect_fault(post_share(client, consistency_group_id=group["id"]), 400,
                 f"The specified share type ({default_type_id(client)}) is not supported by the specified "
                 f"consistency group ({group['id']}).")


def test_share_network_must_match_the_groups(client: Client) -> None:
    group = client.create_group()
    network = create_network(client, name="net")
    expect_fault(post_share(client, consistency_group_id=group["id"], share_network_id=network["id"]), 400,
                 f"The specified share network ({network['id']}) is not supported by the specified "
                 f"consistency group ({group['id']}).")


@pytest.mark.parametrize("status", ["error", "creating", "deleting"])
def test_share_needs_available_group(client: Client, status: str) -> None:
    group = client.create_group()
    reset(client, "consistency-groups", group["id"], status)
    expect_fault(post_share(client, consistency_group_id=group["id"]), 400,
                 f"Consistency group status must be available, got{status}.")


def test_share_unknown_group(client: Client) -> None:
    missing = unknown_id()
    expect_fault(post_share(client, consistency_group_id=missing), 400,
                 f"ConsistencyGroup {missing} could not be found.")


def test_dhss_share_in_group_needs_no_network_check(client: Client) -> None:
    """The 'share network required' check is skipped with consistency_group_id; the CG rules apply instead."""
    with_servers = create_type(client, dhss=True)
    group = client.create_group()
    expect_fault(post_share(client, consistency_group_id=group["id"], share_type=with_servers["id"]), 400,
                 f"The specified share type ({with_servers['id']}) is not supported by the specified "
                 f"consistency group ({group['id']}).")


# -- share views and filters ---------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "experimental", "present"), [
    ("2.3", True, False), ("2.0", False, False), ("2.4", False, True), ("2.4", True, True),
    ("2.30", False, True),
])
def test_share_view_keys_by_version(client: Client, version: str, experimental: bool, present: bool) -> None:
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    at = client.with_(version=version, experimental=experimental)
    shown = at.get(f"/shares/{share['id']}").json()["share"]
    listed = at.get("/shares/detail").json()["shares"]
    updated = at.put(f"/shares/{share['id']}", {"share": {"display_name": "n"}}).json()["share"]
    for view in (shown, listed[0], updated):
        assert (CG_SHARE_KEYS <= set(view)) is present
        assert not (CG_SHARE_KEYS & set(view)) or present
        if present:
            assert view["consistency_group_id"] == group["id"]
    summary = at.get("/shares").json()["shares"]
    assert set(summary[0]) == {"id", "name", "links"}


def test_share_list_filter_by_group(client: Client, member: Client) -> None:
    group = client.create_group()
    other = client.create_group()
    inside = client.create_share(consistency_group_id=group["id"])
    client.create_share(consistency_group_id=other["id"])
    client.create_share()
    for who in (client, member, member.with_(version="2.4", experimental=False)):
        for path in ("/shares", "/shares/detail"):
            found = who.get(path, params={"consistency_group_id": group["id"]}).json()["shares"]
            assert [s["id"] for s in found] == [inside["id"]]
    assert client.get("/shares", params={"consistency_group_id": unknown_id()}).json()["shares"] == []
    assert client.get("/shares", params={"cgsnapshot_id": unknown_id()}).json()["shares"] == []


# -- deleting shares of a group ------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["2.0", "2.30"])
def test_share_delete_needs_the_group_id(client: Client, version: str) -> None:
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    at = client.with_(version=version)
    expect_fault(at.delete(f"/shares/{share['id']}"), 400,
                 "Must provide 'consistency_group_id' as a request parameter when deleting a share in a "
                 "consistency group.")
    expect_fault(at.delete(f"/shares/{share['id']}", params={"consistency_group_id": unknown_id()}), 400,
                 "The specified 'consistency_group_id' does not match the consistency group id of the share.")
    assert client.get(f"/shares/{share['id']}").json()["share"]["status"] == "available"
    resp = at.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]})
    assert resp.status_code == 202, resp.text
    client.wait_gone(f"/shares/{share['id']}")


def test_share_outside_group_ignores_the_parameter(client: Client) -> None:
    share = client.create_share()
    assert client.delete(f"/shares/{share['id']}").status_code == 202


def test_cgsnapshot_member_blocks_share_delete_and_force_delete(client: Client) -> None:
    group = client.create_group()
    share = client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    expect_fault(client.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]}), 403,
                 "Invalid share: Share still has 1 dependent cgsnapshot members.")
    client.create_cgsnapshot(group["id"])
    expect_fault(client.post(f"/shares/{share['id']}/action", {"force_delete": None}), 400,
                 "Invalid share: Share still has 2 dependent cgsnapshot members.")
    assert client.get(f"/shares/{share['id']}").json()["share"]["status"] == "available"
    assert client.delete(f"/cgsnapshots/{cgsnapshot['id']}").status_code == 202
    client.wait_gone(f"/cgsnapshots/{cgsnapshot['id']}")
    expect_fault(client.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]}), 403,
                 "Invalid share: Share still has 1 dependent cgsnapshot members.")


def test_share_type_used_by_a_group_cannot_be_deleted(client: Client) -> None:
    share_type = create_type(client)
    group = client.create_group(share_types=[share_type["id"]])
    expect_fault(client.delete(f"/types/{share_type['id']}"), 400, "Target share type is still in use.")
    assert client.delete(f"/consistency-groups/{group['id']}").status_code == 202
    client.wait_gone(f"/consistency-groups/{group['id']}")
    assert client.delete(f"/types/{share_type['id']}").status_code == 202


def test_share_network_used_by_groups_cannot_be_deleted(client: Client) -> None:
    with_servers = create_type(client, dhss=True)
    network = create_network(client, name="net")
    groups = [post_group(client, share_types=[with_servers["id"]], share_network_id=network["id"])
              for _ in range(2)]
    assert [g.status_code for g in groups] == [202, 202]
    expect_fault(client.delete(f"/share-networks/{network['id']}"), 409,
                 f"Can not delete share network {network['id']}, it has 2 consistency group(s).")
    for resp in groups:
        group_id = resp.json()["consistency_group"]["id"]
        client.wait(f"/consistency-groups/{group_id}", "consistency_group")
        assert client.delete(f"/consistency-groups/{group_id}").status_code == 202
        client.wait_gone(f"/consistency-groups/{group_id}")
    assert client.delete(f"/share-networks/{network['id']}").status_code == 202


# -- a group created from a cgsnapshot -------------------------------------------------------------------
def test_group_from_cgsnapshot_clones_every_member(client: Client) -> None:
    first, second = create_type(client), create_type(client)
    source = client.create_group(share_types=[first["id"], second["id"]])
    a = client.create_share(size=2, consistency_group_id=source["id"], share_type=first["id"])
    b = client.create_share(size=3, proto="CIFS", consistency_group_id=source["id"], share_type=second["id"])
    cgsnapshot = client.create_cgsnapshot(source["id"])
    members = client.get(f"/cgsnapshots/{cgsnapshot['id']}/members").json()["cgsnapshot_members"]

    resp = post_group(client, source_cgsnapshot_id=cgsnapshot["id"], name="restored")
    assert resp.status_code == 202, resp.text
    created = resp.json()["consistency_group"]
    assert created["status"] == "creating"
    assert created["host"] == source["host"]  # copied from the source group, not scheduled
    assert created["source_cgsnapshot_id"] == cgsnapshot["id"]
    assert created["share_types"] == source["share_types"]
    assert created["share_network_id"] is None
    clones_at_once = group_shares(client, created["id"])
    assert len(clones_at_once) == 2  # the shares exist as soon as the request is answered

    group = client.wait(f"/consistency-groups/{created['id']}", "consistency_group")
    assert group["status"] == "available"
    clones = group_shares(client, group["id"])
    assert {c["status"] for c in clones} == {"available"}
    by_member = {c["source_cgsnapshot_member_id"]: c for c in clones}
    assert set(by_member) == {m["id"] for m in members}
    originals = {a["id"]: a, b["id"]: b}
    for m in members:
        clone = by_member[m["id"]]
        original = originals[m["share_id"]]
        assert (clone["size"], clone["share_proto"], clone["share_type"]) == (
            m["size"], m["share_protocol"], m["share_type_id"])
        assert (clone["size"], clone["share_proto"], clone["share_type"]) == (
            original["size"], original["share_proto"], original["share_type"])
        assert clone["host"] == original["host"]
        assert clone["consistency_group_id"] == group["id"]
        assert (clone["name"], clone["description"]) == (None, None)
        assert clone["share_network_id"] is None
        assert clone["id"] not in originals
    # the clones behave like any group share
    again = client.create_cgsnapshot(group["id"])
    assert again["status"] == "available"
    assert len(client.get(f"/cgsnapshots/{again['id']}/members").json()["cgsnapshot_members"]) == 2


def test_group_from_cgsnapshot_of_empty_group(client: Client) -> None:
    source = client.create_group()
    cgsnapshot = client.create_cgsnapshot(source["id"])
    group = client.create_group(source_cgsnapshot_id=cgsnapshot["id"])
    assert group["status"] == "available"
    assert group_shares(client, group["id"]) == []
    assert group["share_types"] == source["share_types"]


def test_group_from_cgsnapshot_by_member_of_same_project(client: Client, member: Client) -> None:
    source = client.create_group()
    client.create_share(consistency_group_id=source["id"])
    cgsnapshot = client.create_cgsnapshot(source["id"])
    group = member.create_group(source_cgsnapshot_id=cgsnapshot["id"])
    assert group["status"] == "available"
    assert "share_server_id" not in group
    clones = group_shares(member, group["id"])
    assert len(clones) == 1 and clones[0]["status"] == "available"


def test_clone_ignores_parent_group_status(client: Client) -> None:
    """The parent group's status is not checked when cloning (only the cgsnapshot's)."""
    source = client.create_group()
    client.create_share(consistency_group_id=source["id"])
    cgsnapshot = client.create_cgsnapshot(source["id"])
    reset(client, "consistency-groups", source["id"], "error")
    group = client.create_group(source_cgsnapshot_id=cgsnapshot["id"])
    assert group["status"] == "available"
