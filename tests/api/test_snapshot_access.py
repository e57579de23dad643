"""Snapshot access rules (2.32, `mount_snapshot_support`), as Manila serves them, and the same for a
cgsnapshot member (Lockstep's extension under `/share-group-snapshots/{id}/members/{member_id}`).

The default backend has no NFS server here, so rules are records only (they become `active` as share rules
do with `nfs = "off"`); tests/nfs/test_snapshot_exports.py proves what a client sees through Ganesha.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import create_snapshot, create_type, expect_fault, unknown_id
from tests.support import Client

MOUNTABLE: dict[str, Any] = {"snapshot_support": True, "mount_snapshot_support": True}


def mountable_share(client: Client, **fields: Any) -> dict[str, Any]:
    admin = client.with_(user="admin")
    share_type = create_type(admin, **MOUNTABLE)
    return client.create_share(share_type=share_type["id"], **fields)


def allow(client: Client, snapshot_id: str, access_to: str = "10.0.0.0/24", access_type: str = "ip",
          **fields: Any) -> httpx.Response:
    body = {"access_type": access_type, "access_to": access_to, **fields}
    return client.post(f"/snapshots/{snapshot_id}/action", {"allow_access": body})


def deny(client: Client, snapshot_id: str, access_id: Any) -> httpx.Response:
    return client.post(f"/snapshots/{snapshot_id}/action", {"deny_access": {"access_id": access_id}})


def access_list(client: Client, snapshot_id: str) -> list[dict[str, Any]]:
    resp = client.get(f"/snapshots/{snapshot_id}/access-list")
    assert resp.status_code == 200, resp.text
    return list(resp.json()["snapshot_access_list"])


@pytest.fixture
def c32(client: Client) -> Client:
    return client.with_(version="2.32")


@pytest.fixture
def snapshot(c32: Client) -> dict[str, Any]:
    share = mountable_share(c32)
    return create_snapshot(c32, share["id"])


# allow / list / deny -----------------------------------------------------------------------------
def test_a_rule_is_granted_applied_listed_and_denied(c32: Client, snapshot: dict[str, Any]) -> None:
    resp = allow(c32, snapshot["id"], "10.0.0.7")
    assert resp.status_code == 202, resp.text
    granted = resp.json()["snapshot_access"]
    assert set(granted) == {"id", "access_type", "access_to", "state"}
    assert (granted["access_type"], granted["access_to"], granted["state"]) == ("ip", "10.0.0.7", "queued_to_apply")
    c32.until(lambda: access_list(c32, snapshot["id"])[0]["state"] == "active", lambda: "the rule never applied")
    assert access_list(c32, snapshot["id"]) == [{**granted, "state": "active"}]

    assert deny(c32, snapshot["id"], granted["id"]).status_code == 202
    c32.until(lambda: access_list(c32, snapshot["id"]) == [], lambda: "the rule was never removed")
    expect_fault(deny(c32, snapshot["id"], granted["id"]), 404, "Resource could not be found.")


def test_the_share_view_says_whether_its_snapshots_are_mountable(c32: Client) -> None:
    share = mountable_share(c32)
    assert c32.get(f"/shares/{share['id']}").json()["share"]["mount_snapshot_support"] is True
    plain = c32.create_share()
    assert c32.get(f"/shares/{plain['id']}").json()["share"]["mount_snapshot_support"] is False


def test_a_share_without_mount_snapshot_support_refuses_snapshot_rules(c32: Client) -> None:
    share = c32.create_share(share_type=create_type(c32, snapshot_support=True)["id"])
    snap = create_snapshot(c32, share["id"])
    why = (f"Cannot control access to the snapshot {snap['id']} since the parent share {share['id']} does not "
           "support mounting its snapshots.")
    expect_fault(allow(c32, snap["id"]), 400, why)
    expect_fault(deny(c32, snap["id"], unknown_id()), 400, why)
    expect_fault(c32.get(f"/snapshots/{snap['id']}/access-list"), 400, why)


def test_duplicates_and_bad_bodies_answer_400(c32: Client, snapshot: dict[str, Any]) -> None:
    assert allow(c32, snapshot["id"], "10.0.0.0/24").status_code == 202
    expect_fault(allow(c32, snapshot["id"], "10.0.0.0/24"), 400, "Share snapshot access ip:10.0.0.0/24 exists.")
    path = f"/snapshots/{snapshot['id']}/action"
    expect_fault(c32.post(path, {"allow_access": None}), 400, "Access data not found in request body.")
    expect_fault(c32.post(path, {"allow_access": {"access_to": "10.0.0.1"}}), 400,
                 "Required parameter access_type not found.")
    expect_fault(c32.post(path, {"allow_access": {"access_type": "ip", "access_to": ""}}), 400,
                 "Required parameter access_to is empty.")
    expect_fault(c32.post(path, {"allow_access": {"access_type": "ip", "access_to": 7}}), 400,
                 "Parameter access_to must be a string.")
    expect_fault(allow(c32, snapshot["id"], "alice", access_type="cephx"), 400,
                 "Only 'ip', 'user' or 'cert' access types are supported.")
    expect_fault(allow(c32, snapshot["id"], "10.0.0.300"), 400)
    expect_fault(c32.post(path, {"deny_access": {}}), 400, "Required parameter access_id not found.")


def test_ipv6_from_2_38(c32: Client, snapshot: dict[str, Any]) -> None:
    expect_fault(allow(c32, snapshot["id"], "fd00::/64"), 400)
    assert allow(c32.with_(version="2.38"), snapshot["id"], "fd00::/64").status_code == 202


def test_a_rule_of_another_snapshot_is_not_denied_here(c32: Client, snapshot: dict[str, Any]) -> None:
    other = create_snapshot(c32, mountable_share(c32)["id"])
    theirs = allow(c32, other["id"]).json()["snapshot_access"]
    expect_fault(deny(c32, snapshot["id"], theirs["id"]), 400,
                 "Access rule provided is not associated with given snapshot.")


def test_a_snapshot_that_is_not_available_takes_no_rule(client: Client, c32: Client,
                                                         snapshot: dict[str, Any]) -> None:
    rule = allow(c32, snapshot["id"]).json()["snapshot_access"]
    assert client.post(f"/snapshots/{snapshot['id']}/action",
                       {"reset_status": {"status": "error"}}).status_code == 202
    expect_fault(allow(c32, snapshot["id"], "10.0.1.0/24"), 400,
                 "Invalid share snapshot instance: New access rules cannot be applied while the snapshot or any of "
                 "its replicas or migration copies lacks a valid host or is not in available state..")
    expect_fault(deny(c32, snapshot["id"], rule["id"]), 400,
                 "Invalid share snapshot instance: Access rules cannot be denied while the snapshot or any of its "
                 "replicas or migration copies lacks a valid host or is not in available state..")


def test_unknown_foreign_and_earlier_versions(server: Any, c32: Client, snapshot: dict[str, Any]) -> None:
    missing = unknown_id()
    expect_fault(allow(c32, missing), 404, f"Snapshot {missing} could not be found.")
    expect_fault(allow(c32, missing, "alice", access_type="cephx"), 400,  # the body is checked first
                 "Only 'ip', 'user' or 'cert' access types are supported.")
    expect_fault(c32.get(f"/snapshots/{missing}/access-list"), 404, f"Snapshot {missing} could not be found.")
    stranger = server.client(user="bob", version="2.32")
    expect_fault(allow(stranger, snapshot["id"]), 404, f"Snapshot {snapshot['id']} could not be found.")
    expect_fault(stranger.get(f"/snapshots/{snapshot['id']}/access-list"), 404)
    expect_fault(c32.with_(version="2.31").get(f"/snapshots/{snapshot['id']}/access-list"), 404)
    expect_fault(allow(c32.with_(version="2.31"), snapshot["id"]), 404, "The resource could not be found.")


def test_a_project_member_may_grant_and_list(snapshot: dict[str, Any], c32: Client) -> None:
    """Manila's defaults for share_snapshot:allow_access / deny_access / access_list: the project's members."""
    member = c32.with_(user="alice")
    resp = allow(member, snapshot["id"], "10.9.0.1")
    assert resp.status_code == 202, resp.text
    assert [r["access_to"] for r in access_list(member, snapshot["id"])] == ["10.9.0.1"]
    assert deny(member, snapshot["id"], resp.json()["snapshot_access"]["id"]).status_code == 202


def test_the_rules_go_with_the_snapshot(c32: Client, snapshot: dict[str, Any]) -> None:
    allow(c32, snapshot["id"])
    assert c32.delete(f"/snapshots/{snapshot['id']}").status_code == 202
    c32.wait_gone(f"/snapshots/{snapshot['id']}")
    expect_fault(c32.get(f"/snapshots/{snapshot['id']}/access-list"), 404)


# cgsnapshot members ------------------------------------------------------------------------------
def _member_of_a_cut(client: Client, mountable: bool = True) -> tuple[str, str, dict[str, Any]]:
    """(cgsnapshot id, member id, share) of a one-share consistency group's cgsnapshot."""
    admin = client.with_(version="2.30")
    specs: dict[str, Any] = MOUNTABLE if mountable else {"snapshot_support": True}
    share_type = create_type(admin, **specs)
    group = admin.create_group(share_types=[share_type["id"]])
    share = admin.create_share(share_type=share_type["id"], consistency_group_id=group["id"])
    cut = admin.create_cgsnapshot(group["id"])
    members = admin.get(f"/cgsnapshots/{cut['id']}/members").json()["cgsnapshot_members"]
    return cut["id"], members[0]["id"], share


def test_a_cgsnapshot_member_takes_read_only_rules(c32: Client) -> None:
    cut, member, _ = _member_of_a_cut(c32)
    base = f"/share-group-snapshots/{cut}/members/{member}"
    resp = c32.post(f"{base}/action", {"allow_access": {"access_type": "ip", "access_to": "10.1.2.3"}})
    assert resp.status_code == 202, resp.text
    rule = resp.json()["snapshot_access"]
    c32.until(lambda: c32.get(f"{base}/access-list").json()["snapshot_access_list"][0]["state"] == "active",
              lambda: "the member's rule never applied")
    expect_fault(c32.post(f"{base}/action", {"allow_access": {"access_type": "ip", "access_to": "10.1.2.3"}}), 400,
                 "Share snapshot access ip:10.1.2.3 exists.")
    # Without an NFS server there is nowhere to mount it from: no export locations.
    assert c32.get(f"{base}/export-locations").json() == {"share_snapshot_export_locations": []}
    assert c32.post(f"{base}/action", {"deny_access": {"access_id": rule["id"]}}).status_code == 202
    c32.until(lambda: c32.get(f"{base}/access-list").json()["snapshot_access_list"] == [],
              lambda: "the member's rule was never removed")


def test_member_lookups_answer_404_and_need_the_share_type(server: Any, c32: Client) -> None:
    cut, member, share = _member_of_a_cut(c32)
    missing = unknown_id()
    expect_fault(c32.get(f"/share-group-snapshots/{missing}/members/{member}/access-list"), 404,
                 f"Share group snapshot {missing} not found.")
    expect_fault(c32.get(f"/share-group-snapshots/{cut}/members/{missing}/access-list"), 404,
                 f"Share group snapshot member {missing} not found.")
    stranger = server.client(user="bob", version="2.32")
    expect_fault(stranger.get(f"/share-group-snapshots/{cut}/members/{member}/access-list"), 404)
    expect_fault(c32.with_(experimental=False).get(f"/share-group-snapshots/{cut}/members/{member}/access-list"),
                 404)
    plain_cut, plain_member, plain_share = _member_of_a_cut(c32, mountable=False)
    expect_fault(c32.get(f"/share-group-snapshots/{plain_cut}/members/{plain_member}/access-list"), 400,
                 f"Cannot control access to the snapshot {plain_member} since the parent share {plain_share['id']} "
                 "does not support mounting its snapshots.")
    # Another cut's member is not found under this cut.
    expect_fault(c32.get(f"/share-group-snapshots/{cut}/members/{plain_member}/access-list"), 404)


def test_member_rules_go_with_the_cgsnapshot(c32: Client) -> None:
    cut, member, _ = _member_of_a_cut(c32)
    base = f"/share-group-snapshots/{cut}/members/{member}"
    assert c32.post(f"{base}/action", {"allow_access": {"access_type": "ip", "access_to": "10.1.2.3"}}
                    ).status_code == 202
    assert c32.with_(version="2.30").delete(f"/cgsnapshots/{cut}").status_code == 202
    c32.with_(version="2.30").wait_gone(f"/cgsnapshots/{cut}")
    expect_fault(c32.get(f"{base}/access-list"), 404)
