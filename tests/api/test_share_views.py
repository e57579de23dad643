"""The share view per microversion, and export locations (in the body < 2.9, own resource >= 2.9)."""

from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import DATE, GENERIC_404, expect_fault
from tests.support import Client

BASE = {
    "id",
    "size",
    "availability_zone",
    "created_at",
    "status",
    "name",
    "description",
    "project_id",
    "snapshot_id",
    "share_network_id",
    "share_proto",
    "metadata",
    "share_type",
    "volume_type",
    "is_public",
    "host",
    "links",
}
ADDED = [
    ((2, 0), {"export_location", "export_locations"}),
    ((2, 2), {"snapshot_support"}),
    ((2, 4), {"consistency_group_id", "source_cgsnapshot_member_id"}),
    ((2, 5), {"task_state"}),
    ((2, 6), {"share_type_name"}),
    ((2, 10), {"access_rules_status"}),
    ((2, 11), {"replication_type", "has_replicas"}),
    ((2, 16), {"user_id"}),
    ((2, 24), {"create_share_from_snapshot_support"}),
    ((2, 27), {"revert_to_snapshot_support"}),
]
VERSIONS = [
    "2.0",
    "2.1",
    "2.2",
    "2.3",
    "2.4",
    "2.5",
    "2.6",
    "2.8",
    "2.9",
    "2.10",
    "2.11",
    "2.15",
    "2.16",
    "2.23",
    "2.24",
    "2.26",
    "2.27",
    "2.28",
    "2.30",
]
UNKNOWN = "9b2c4f0e-6a8d-4d3e-8f1a-2c5b7e9d0f13"


def expected_keys(version: str, admin: bool) -> set[str]:
    major, minor = (int(p) for p in version.split("."))
    keys = set(BASE)
    for since, added in ADDED:
        if (major, minor) >= since:
            keys |= added
    if (major, minor) >= (2, 9):
        keys -= {"export_location", "export_locations"}
    if admin:
        keys.add("share_server_id")
    return keys


@pytest.mark.parametrize("version", VERSIONS)
def test_detail_keys_per_version(client: Client, member: Client, version: str) -> None:
    share = client.create_share()
    for who, admin in ((client, True), (member, False)):
        c = who.with_(version=version)
        shown = c.get(f"/shares/{share['id']}").json()["share"]
        assert set(shown) == expected_keys(version, admin), version
        listed = c.get("/shares/detail").json()["shares"]
        assert set(listed[0]) == expected_keys(version, admin)
        assert set(c.get("/shares").json()["shares"][0]) == {"id", "name", "links"}
        updated = c.put(f"/shares/{share['id']}", {"share": {"display_name": "v"}}).json()["share"]
        assert set(updated) == expected_keys(version, admin)
    created = client.with_(version=version).post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    assert set(created.json()["share"]) == expected_keys(version, True)


def test_values_of_versioned_keys(client: Client, member: Client) -> None:
    share = client.create_share()
    types = client.get("/types/default").json()["share_type"]
    old = client.with_(version="2.5").get(f"/shares/{share['id']}").json()["share"]
    assert old["share_type"] == "default" and old["volume_type"] == "default"
    assert old["snapshot_support"] is True
    assert old["consistency_group_id"] is None and old["source_cgsnapshot_member_id"] is None
    assert old["task_state"] is None
    new = client.with_(version="2.6").get(f"/shares/{share['id']}").json()["share"]
    assert new["share_type"] == types["id"] and new["share_type_name"] == "default"
    assert new["volume_type"] == "default"
    latest = client.get(f"/shares/{share['id']}").json()["share"]
    assert latest["access_rules_status"] == "active"
    assert latest["replication_type"] is None and latest["has_replicas"] is False
    assert latest["user_id"] == "admin"
    assert latest["create_share_from_snapshot_support"] is True
    assert latest["revert_to_snapshot_support"] is False
    assert latest["share_server_id"] is None
    assert member.get(f"/shares/{share['id']}").json()["share"]["user_id"] == "admin"


def test_export_locations_in_body_below_2_9(client: Client) -> None:
    share = client.create_share()
    for version in ("2.0", "2.8"):
        body = client.with_(version=version).get(f"/shares/{share['id']}").json()["share"]
        assert isinstance(body["export_locations"], list) and body["export_locations"]
        assert all(isinstance(p, str) for p in body["export_locations"])
        assert body["export_location"] == body["export_locations"][0]
    paths = [
        e["path"] for e in client.get(f"/shares/{share['id']}/export_locations").json()["export_locations"]
    ]
    assert (
        client.with_(version="2.8").get(f"/shares/{share['id']}").json()["share"]["export_locations"] == paths
    )


def test_export_locations_resource(client: Client, member: Client) -> None:
    share = client.create_share()
    sid = share["id"]
    resp = client.with_(version="2.9").get(f"/shares/{sid}/export_locations")
    assert resp.status_code == 200
    items = resp.json()["export_locations"]
    assert items and set(items[0]) == {"id", "path", "share_instance_id", "is_admin_only"}
    assert items[0]["is_admin_only"] is False
    at_14 = client.with_(version="2.14").get(f"/shares/{sid}/export_locations").json()["export_locations"]
    assert set(at_14[0]) == {"id", "path", "preferred", "share_instance_id", "is_admin_only"}
    assert isinstance(at_14[0]["preferred"], bool)
    as_member = member.get(f"/shares/{sid}/export_locations").json()["export_locations"]
    assert [set(e) for e in as_member] == [{"id", "path", "preferred"}]
    el = items[0]["id"]
    assert uuid.UUID(el)
    shown = client.get(f"/shares/{sid}/export_locations/{el}").json()["export_location"]
    assert set(shown) == {
        "id",
        "path",
        "preferred",
        "share_instance_id",
        "is_admin_only",
        "created_at",
        "updated_at",
    }
    assert shown["path"] == items[0]["path"] and DATE.match(shown["created_at"])
    member_view = member.get(f"/shares/{sid}/export_locations/{el}").json()["export_location"]
    assert set(member_view) == {"id", "path", "preferred", "created_at", "updated_at"}
    assert "links" not in shown


def test_export_locations_errors(client: Client) -> None:
    share = client.create_share()
    sid = share["id"]
    for path in (f"/shares/{sid}/export_locations", f"/shares/{sid}/export_locations/{UNKNOWN}"):
        expect_fault(client.with_(version="2.8").get(path), 404, GENERIC_404)
    expect_fault(
        client.get(f"/shares/{sid}/export_locations/{UNKNOWN}"),
        404,
        f"Export location '{UNKNOWN}' not found.",
    )
    expect_fault(client.get(f"/shares/{UNKNOWN}/export_locations"), 404, f"Share '{UNKNOWN}' not found.")
    expect_fault(
        client.get(f"/shares/{UNKNOWN}/export_locations/{UNKNOWN}"), 404, f"Share '{UNKNOWN}' not found."
    )


def test_export_locations_empty_while_creating(client: Client) -> None:
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    sid = resp.json()["share"]["id"]
    listed = client.get(f"/shares/{sid}/export_locations")
    assert listed.status_code == 200
    settled = client.wait(f"/shares/{sid}", "share")
    assert settled["status"] == "available"
    assert client.get(f"/shares/{sid}/export_locations").json()["export_locations"]
