"""Shares in share groups (2.31+): create rules, view keys by version, the filter, delete rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.group_helpers import SGS, at, create_group_snapshot, create_share_group, group_shares
from tests.api.helpers import create_network, create_type, default_type_id, expect_fault, unknown_id
from tests.support import Client

CG_KEYS = {"consistency_group_id", "source_cgsnapshot_member_id"}
SG_KEYS = {"share_group_id", "source_share_group_snapshot_member_id"}


def post_share(client: Client, **fields: Any) -> httpx.Response:
    return client.post("/shares", {"share": {"size": 1, "share_proto": "NFS", **fields}})


def test_share_joins_the_group_on_its_pool_and_zone(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    resp = post_share(sg, share_group_id=group["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["share"]["share_group_id"] == group["id"]
    assert resp.json()["share"]["availability_zone"] == group["availability_zone"]
    share = sg.wait(f"/shares/{resp.json()['share']['id']}", "share")
    assert share["status"] == "available" and share["host"] == group["host"]
    assert (share["share_group_id"], share["source_share_group_snapshot_member_id"]) == (group["id"], None)
    # naming the group's zone is allowed
    assert post_share(sg, share_group_id=group["id"], availability_zone=group["availability_zone"]).status_code == 200


def test_share_group_id_needs_no_experimental_header(client: Client) -> None:
    group = create_share_group(at(client))
    resp = post_share(at(client, "2.31"), share_group_id=group["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["share"]["share_group_id"] == group["id"]


@pytest.mark.parametrize("version", ["2.4", "2.30"])
def test_share_group_id_is_dropped_below_2_31(client: Client, version: str) -> None:
    group = create_share_group(at(client))
    resp = post_share(client.with_(version=version), share_group_id=group["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["share"]["consistency_group_id"] is None
    # and consistency_group_id is not read from 2.31
    resp = post_share(at(client), consistency_group_id=group["id"])
    assert resp.status_code == 200, resp.text
    assert resp.json()["share"]["share_group_id"] is None


def test_unknown_group_is_404_before_anything_else(client: Client) -> None:
    missing = unknown_id()
    expect_fault(post_share(at(client), share_group_id=missing, snapshot_id=unknown_id(), share_type="nope"), 404,
                 f"Share group {missing} could not be found.")


def test_foreign_group_is_404(client: Client, server: Any) -> None:
    other = create_share_group(at(server.client()))
    expect_fault(post_share(at(client.with_(user="alice")), share_group_id=other["id"]), 404,
                 f"Share group {other['id']} could not be found.")


@pytest.mark.parametrize("status", ["error", "creating", "deleting"])
def test_group_must_be_available(client: Client, status: str) -> None:
    group = create_share_group(at(client))
    assert at(client).post(f"{SGS}/{group['id']}/action", {"reset_status": {"status": status}}).status_code == 202
    expect_fault(post_share(at(client), share_group_id=group["id"]), 400,
                 f"Share group status must be available, got {status}.")


def test_share_type_and_network_must_be_the_groups(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    other = create_type(client)
    expect_fault(post_share(sg, share_group_id=group["id"], share_type=other["id"]), 400,
                 f"The specified share type ({other['id']}) is not supported by the specified share group "
                 f"({group['id']}).")
    network = create_network(client, name="n")
    expect_fault(post_share(sg, share_group_id=group["id"], share_network_id=network["id"]), 400,
                 f"The specified share network ({network['id']}) is not supported by the specified share group "
                 f"({group['id']}).")
    assert post_share(sg, share_group_id=group["id"], share_type=default_type_id(client)).status_code == 200


@pytest.mark.parametrize(("version", "experimental", "present", "absent"), [
    ("2.4", False, CG_KEYS, SG_KEYS), ("2.30", True, CG_KEYS, SG_KEYS), ("2.31", False, SG_KEYS, CG_KEYS),
    ("2.55", False, SG_KEYS, CG_KEYS), ("2.99", False, SG_KEYS, CG_KEYS),
])
def test_share_view_keys_by_version(client: Client, version: str, experimental: bool, present: set[str],
                                    absent: set[str]) -> None:
    group = create_share_group(at(client))
    share = at(client).create_share(share_group_id=group["id"])
    viewer = client.with_(version=version, experimental=experimental)
    shown = viewer.get(f"/shares/{share['id']}").json()["share"]
    listed = viewer.get("/shares/detail").json()["shares"][0]
    updated = viewer.put(f"/shares/{share['id']}", {"share": {"display_name": "n"}}).json()["share"]
    for view in (shown, listed, updated):
        assert present <= set(view) and not absent & set(view)
        group_key = "share_group_id" if "share_group_id" in present else "consistency_group_id"
        assert view[group_key] == group["id"]


def test_list_filter_by_share_group(client: Client, member: Client) -> None:
    sg = at(client)
    group, other = create_share_group(sg), create_share_group(sg)
    inside = sg.create_share(share_group_id=group["id"])
    sg.create_share(share_group_id=other["id"])
    sg.create_share()
    for who in (sg, at(member), at(member, "2.31")):
        for path in ("/shares", "/shares/detail"):
            found = who.get(path, params={"share_group_id": group["id"]}).json()["shares"]
            assert [s["id"] for s in found] == [inside["id"]]
    assert sg.get("/shares", params={"share_group_id": unknown_id()}).json()["shares"] == []


@pytest.mark.parametrize("version", ["2.31", "2.55"])
def test_delete_needs_the_share_group_id(client: Client, version: str) -> None:
    group = create_share_group(at(client))
    share = at(client).create_share(share_group_id=group["id"])
    viewer = client.with_(version=version, experimental=False)
    expect_fault(viewer.delete(f"/shares/{share['id']}"), 400,
                 "Must provide 'share_group_id' as a request parameter when deleting a share in a share group.")
    expect_fault(viewer.delete(f"/shares/{share['id']}", params={"share_group_id": unknown_id()}), 400,
                 "The specified 'share_group_id' does not match the share group id of the share.")
    # the old parameter does not name it any more
    expect_fault(viewer.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]}), 400,
                 "Must provide 'share_group_id' as a request parameter when deleting a share in a share group.")
    resp = viewer.delete(f"/shares/{share['id']}", params={"share_group_id": group["id"]})
    assert resp.status_code == 202, resp.text
    at(client).wait_gone(f"/shares/{share['id']}")


def test_delete_at_2_30_needs_the_consistency_group_id(client: Client) -> None:
    group = create_share_group(at(client))
    share = at(client).create_share(share_group_id=group["id"])
    old = client.with_(version="2.30")
    expect_fault(old.delete(f"/shares/{share['id']}", params={"share_group_id": group["id"]}), 400,
                 "Must provide 'consistency_group_id' as a request parameter when deleting a share in a "
                 "consistency group.")
    assert old.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]}).status_code == 202


def test_delete_refused_while_a_group_snapshot_member_needs_it(client: Client) -> None:
    sg = at(client)
    group = create_share_group(sg)
    share = sg.create_share(share_group_id=group["id"])
    snapshot = create_group_snapshot(sg, group["id"])
    params = {"share_group_id": group["id"]}
    expect_fault(sg.delete(f"/shares/{share['id']}", params=params), 403,
                 "Invalid share: Share still has 1 dependent share group snapshot members..")
    expect_fault(client.with_(version="2.30").delete(f"/shares/{share['id']}",
                                                     params={"consistency_group_id": group["id"]}), 403,
                 "Invalid share: Share still has 1 dependent cgsnapshot members.")
    expect_fault(sg.post(f"/shares/{share['id']}/action", {"force_delete": None}), 400,
                 "Invalid share: Share still has 1 dependent share group snapshot members..")
    assert sg.delete(f"/share-group-snapshots/{snapshot['id']}").status_code == 202
    sg.wait_gone(f"/share-group-snapshots/{snapshot['id']}")
    assert sg.delete(f"/shares/{share['id']}", params=params).status_code == 202
    sg.wait_gone(f"/shares/{share['id']}")
    assert group_shares(sg, group["id"]) == []
