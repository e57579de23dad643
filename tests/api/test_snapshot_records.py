"""Snapshot export locations (2.32) and snapshot metadata (2.73); `mount_snapshot_support` on shares (2.32)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.helpers import DATE, expect_fault, unknown_id
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

MOUNTABLE = '[backend.default]\ndriver = "fake"\nsnapshot_exports = "true"\n'


@pytest.fixture(scope="module", params=DATABASES)
def mountable(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A backend whose snapshots have export locations (the fake backend's `snapshot_exports`)."""
    with configured_server(tmp_path_factory.mktemp(f"mountable-{request.param}"), request.param, MOUNTABLE) as srv:
        yield srv


def snapshot_of_new_share(client: Client, **fields: Any) -> dict[str, Any]:
    share = client.create_share()
    resp = client.post("/snapshots", {"snapshot": {"share_id": share["id"], **fields}})
    assert resp.status_code == 202, resp.text
    return client.wait(f"/snapshots/{resp.json()['snapshot']['id']}", "snapshot")


# export locations ------------------------------------------------------------------------------------
def test_export_locations_from_the_driver(mountable: InProcessServer) -> None:
    admin = mountable.client(version="2.32")
    snap = snapshot_of_new_share(admin)
    path = f"/snapshots/{snap['id']}/export-locations"
    listed = sorted(admin.get(path).json()["share_snapshot_export_locations"], key=lambda e: e["is_admin_only"])
    assert [e["path"] for e in listed] == [f"fake:/snapshots/{snap['id']}", f"fake-admin:/snapshots/{snap['id']}"]
    first = listed[0]
    assert set(first) == {"id", "path", "links", "share_snapshot_instance_id", "is_admin_only"}
    assert (first["share_snapshot_instance_id"], first["is_admin_only"], listed[1]["is_admin_only"]) == \
        (snap["id"], False, True)
    assert first["links"][0] == {"rel": "self", "href": f"{mountable.url}/v2/{admin.project}/"
                                 f"share_snapshot_export_locations/{first['id']}"}
    shown = admin.get(f"{path}/{first['id']}").json()["share_snapshot_export_location"]
    assert set(shown) == set(first) | {"created_at", "updated_at"}
    assert DATE.match(shown["created_at"])
    # Members see neither the admin-only location nor the admin keys.
    member = admin.with_(user="alice")
    (only,) = member.get(path).json()["share_snapshot_export_locations"]
    assert set(only) == {"id", "path", "links"} and only["id"] == first["id"]
    expect_fault(member.get(f"{path}/{listed[1]['id']}"), 404, "NotFound: Resource could not be found.")
    assert member.get(f"{path}/{first['id']}").status_code == 200


def test_export_locations_errors(mountable: InProcessServer) -> None:
    admin = mountable.client(version="2.32")
    snap = snapshot_of_new_share(admin)
    other_snap = snapshot_of_new_share(admin)
    path = f"/snapshots/{snap['id']}/export-locations"
    missing = unknown_id()
    expect_fault(admin.get(f"/snapshots/{missing}/export-locations"), 404, f"Snapshot '{missing}' not found.")
    expect_fault(admin.get(f"{path}/{missing}"), 404, "NotFound: Resource could not be found.")
    # A location is found only under its own snapshot.
    theirs = admin.get(f"/snapshots/{other_snap['id']}/export-locations").json()["share_snapshot_export_locations"]
    expect_fault(admin.get(f"{path}/{theirs[0]['id']}"), 404, "NotFound: Resource could not be found.")
    expect_fault(admin.with_(version="2.31").get(path), 404, "The resource could not be found.")
    stranger = mountable.client(user="bob", version="2.32")
    expect_fault(stranger.get(path), 404, f"Snapshot '{snap['id']}' not found.")


def test_no_export_locations_without_a_front_end(client: Client) -> None:
    """The default backends have no front end for snapshots: the list is empty."""
    snap = snapshot_of_new_share(client)
    resp = client.with_(version="2.32").get(f"/snapshots/{snap['id']}/export-locations")
    assert resp.status_code == 200 and resp.json() == {"share_snapshot_export_locations": []}


def test_export_locations_go_with_the_snapshot(mountable: InProcessServer) -> None:
    admin = mountable.client(version="2.32")
    snap = snapshot_of_new_share(admin)
    assert admin.delete(f"/snapshots/{snap['id']}").status_code == 202
    admin.wait_gone(f"/snapshots/{snap['id']}")
    expect_fault(admin.get(f"/snapshots/{snap['id']}/export-locations"), 404, f"Snapshot '{snap['id']}' not found.")


@pytest.mark.parametrize("version,present", [("2.31", False), ("2.32", True), ("2.99", True)])
def test_mount_snapshot_support_on_shares(client: Client, version: str, present: bool) -> None:
    c = client.with_(version=version)
    share = c.create_share()
    shown = c.get(f"/shares/{share['id']}").json()["share"]
    assert ("mount_snapshot_support" in shown) is present
    if present:
        assert shown["mount_snapshot_support"] is False
        listed = c.get("/shares/detail").json()["shares"]
        assert [s["mount_snapshot_support"] for s in listed] == [False]


# metadata ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version,present", [("2.72", False), ("2.73", True)])
def test_metadata_in_the_snapshot_view(client: Client, version: str, present: bool) -> None:
    c = client.with_(version=version)
    snap = snapshot_of_new_share(c, metadata={"k": "v"})
    for body in (snap, c.get(f"/snapshots/{snap['id']}").json()["snapshot"],
                 c.get("/snapshots/detail").json()["snapshots"][0]):
        assert ("metadata" in body) is present
    stored = client.with_(version="2.73").get(f"/snapshots/{snap['id']}").json()["snapshot"]["metadata"]
    assert stored == ({"k": "v"} if present else {})  # ignored in a create body before 2.73


def test_create_checks_metadata_after_the_share(client: Client) -> None:
    c = client.with_(version="2.73")
    share = c.create_share()
    for metadata, message in (({"": "v"}, "Metadata property key is blank."),
                              ({"k": "v" * 1024}, "Metadata property value is greater than 1023 characters.")):
        expect_fault(c.post("/snapshots", {"snapshot": {"share_id": share["id"], "metadata": metadata}}), 400,
                     message)
    # The share's state is checked after the metadata, as Manila does.
    client.post(f"/shares/{share['id']}/action", {"reset_status": {"status": "error"}})
    expect_fault(c.post("/snapshots", {"snapshot": {"share_id": share["id"], "metadata": {"": "v"}}}), 400,
                 "Metadata property key is blank.")
    expect_fault(c.post("/snapshots", {"snapshot": {"share_id": share["id"], "metadata": {"k": "v"}}}), 400,
                 "Invalid share: Source share status must be available.")
    assert c.get("/snapshots").json() == {"snapshots": []}


def test_openstack_snapshot_create_body(client: Client) -> None:
    """OSC 10.5 at 2.73+ sends `force` and an empty `metadata` with every snapshot create."""
    c = client.with_(version="2.98")
    share = c.create_share()
    resp = c.post("/snapshots", {"snapshot": {"share_id": share["id"], "force": False, "name": "s",
                                              "description": None, "metadata": {}}})
    assert resp.status_code == 202, resp.text
    assert resp.json()["snapshot"]["metadata"] == {}


def test_metadata_round_trip(client: Client) -> None:
    c = client.with_(version="2.73")
    snap = snapshot_of_new_share(c, metadata={"a": "1", "b": "2"})
    base = f"/snapshots/{snap['id']}/metadata"
    assert c.get(base).json() == {"metadata": {"a": "1", "b": "2"}}
    resp = c.post(base, {"metadata": {"b": "20", "c": "3"}})
    assert resp.status_code == 200 and resp.json() == {"metadata": {"a": "1", "b": "20", "c": "3"}}
    resp = c.put(base, {"metadata": {"z": "26"}})
    assert resp.status_code == 200 and resp.json() == {"metadata": {"z": "26"}}
    assert c.get(f"{base}/z").json() == {"meta": {"z": "26"}}
    resp = c.post(f"{base}/y", {"metadata": {"y": True}})
    assert resp.status_code == 200 and resp.json() == {"metadata": {"y": "True"}}
    assert c.get(f"/snapshots/{snap['id']}").json()["snapshot"]["metadata"] == {"y": "True", "z": "26"}
    resp = c.delete(f"{base}/z")
    assert resp.status_code == 200 and resp.content == b""
    assert c.get(base).json() == {"metadata": {"y": "True"}}
    assert c.put(base, {"metadata": {}}).json() == {"metadata": {}}


def test_metadata_errors(server: InProcessServer, client: Client) -> None:
    c = client.with_(version="2.73")
    snap = snapshot_of_new_share(c)
    base = f"/snapshots/{snap['id']}/metadata"
    expect_fault(c.get(f"{base}/nope"), 404, "MetadataItemNotFound: Metadata item is not found.")
    expect_fault(c.delete(f"{base}/nope"), 404, "MetadataItemNotFound: Metadata item is not found.")
    for body, message in (({"meta": {"a": "b"}}, "Malformed request body"),
                          ({"metadata": ["a"]}, "Malformed request body"),
                          ({"metadata": {"": "v"}}, "Metadata property key is blank."),
                          ({"metadata": {"k": ""}}, "Metadata property value is blank."),
                          ({"metadata": {"k" * 256: "v"}}, "Metadata property key is greater than 255 characters.")):
        expect_fault(c.post(base, body), 400, message)
        expect_fault(c.put(base, body), 400, message)
    expect_fault(c.post(f"{base}/a", {"metadata": {"b": "1"}}), 400, "Request body and URI mismatch")
    expect_fault(c.post(f"{base}/a", {"metadata": {"a": "1", "b": "1"}}), 400, "Request body contains too many items")
    expect_fault(client.with_(version="2.72").get(base), 404, "The resource could not be found.")
    missing = unknown_id()
    for resp in (c.get(f"/snapshots/{missing}/metadata"), c.post(f"/snapshots/{missing}/metadata",
                                                                  {"metadata": {"a": "b"}}),
                 c.delete(f"/snapshots/{missing}/metadata/a")):
        expect_fault(resp, 404, "Share_snapshot not found.")
    stranger = server.client(user="bob", version="2.73")
    for resp in (stranger.get(base), stranger.put(base, {"metadata": {}}), stranger.get(f"{base}/a")):
        expect_fault(resp, 404, "Share_snapshot not found.")


def test_metadata_list_filter_from_2_73(client: Client, member: Client) -> None:
    c = client.with_(version="2.73")
    a = snapshot_of_new_share(c, metadata={"env": "prod", "tier": "1"})
    b = snapshot_of_new_share(c, metadata={"env": "dev"})

    def ids(cl: Client, value: str) -> list[str]:
        return sorted(s["id"] for s in cl.get("/snapshots", params={"metadata": value}).json()["snapshots"])

    assert ids(c, "{'env': 'prod'}") == [a["id"]]
    assert ids(c, '{"env": "dev"}') == [b["id"]]
    assert ids(c, "{'env': 'prod', 'tier': '2'}") == []
    assert ids(member.with_(version="2.73"), "{'env': 'dev'}") == [b["id"]]
    expect_fault(c.get("/snapshots", params={"metadata": "env=prod"}), 400, "Invalid value for metadata filter.")
    # Before 2.73 the key is ignored.
    assert ids(client.with_(version="2.72"), "{'env': 'prod'}") == sorted([a["id"], b["id"]])
