"""Shares: create (and its validation order), update, delete, actions, asynchronous settlement."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import (
    DATE,
    GENERIC_404,
    RESET_STATES,
    create_network,
    create_snapshot,
    create_type,
    expect_fault,
    reset,
    start_share,
)
from tests.support import Client

UNKNOWN = "3f0e2a55-1a7b-4c5e-9a8e-0b6e2f1d9c77"
PROTOCOLS = "It is either disabled or unsupported. Available protocols: ['NFS', 'CIFS']."


def _create(client: Client, **fields: Any) -> Any:
    body = {"size": 1, "share_proto": "NFS", **fields}
    return client.post("/shares", {"share": {k: v for k, v in body.items() if v is not ...}})


# create -------------------------------------------------------------------------------------------
def test_create_answers_creating_then_settles_available(client: Client) -> None:
    resp = _create(client, name="first", description="about", metadata={"a": "b"})
    assert resp.status_code == 200
    share = resp.json()["share"]
    assert share["status"] == "creating"
    assert share["host"] == "lockstep@default#fake"  # placed (its capacity reserved) by the creating transaction
    assert share["availability_zone"] is None
    assert (share["name"], share["description"], share["metadata"]) == ("first", "about", {"a": "b"})
    assert (share["size"], share["share_proto"], share["is_public"]) == (1, "NFS", False)
    assert share["project_id"] == client.project and share["user_id"] == "admin"
    assert share["snapshot_id"] is None and share["share_network_id"] is None
    assert DATE.match(share["created_at"])
    assert share["links"] == [
        {"rel": "self", "href": f"{client.base}/v2/{client.project}/shares/{share['id']}"},
        {"rel": "bookmark", "href": f"{client.base}/{client.project}/shares/{share['id']}"},
    ]
    settled = client.wait(f"/shares/{share['id']}", "share")
    assert settled["status"] == "available"
    assert settled["host"] == share["host"]
    assert settled["availability_zone"] == "nova"


def test_create_at_2_8_has_empty_export_locations_while_creating(client: Client) -> None:
    share = client.with_(version="2.8").post("/shares", {"share": {"size": 1, "share_proto": "NFS"}}).json()
    assert share["share"]["export_locations"] == []
    assert share["share"]["export_location"] is None


def test_create_by_type_name_id_and_volume_type(client: Client) -> None:
    st = create_type(client, snapshot_support=False)
    by_name = start_share(client, share_type=st["name"])
    by_id = start_share(client, share_type=st["id"])
    by_volume = start_share(client, volume_type=st["name"])
    for share in (by_name, by_id, by_volume):
        assert share["share_type"] == st["id"]
        assert share["share_type_name"] == st["name"]
        assert share["volume_type"] == st["name"]
        assert share["snapshot_support"] is False
    default = start_share(client)
    assert default["share_type_name"] == "default" and default["snapshot_support"] is True
    assert default["create_share_from_snapshot_support"] is True
    assert default["revert_to_snapshot_support"] is False


def test_create_by_private_type_id_needs_access(client: Client, member: Client) -> None:
    st = create_type(client, public=False)
    expect_fault(_create(member, share_type=st["id"]), 404, "Share type not found.")
    assert _create(member, share_type=st["name"]).status_code == 200  # by name: no visibility filter
    client.post(f"/types/{st['id']}/action", {"addProjectAccess": {"project": member.project}})
    assert _create(member, share_type=st["id"]).status_code == 200


def test_create_messages(client: Client) -> None:
    expect_fault(_create(client, availability_zone="mars"), 404, "Availability zone mars could not be found.")
    assert _create(client, availability_zone="nova").json()["share"]["availability_zone"] == "nova"
    expect_fault(
        _create(client, snapshot_id=UNKNOWN),
        404,
        f"ShareSnapshotNotFound: Snapshot {UNKNOWN} could not be found.",
    )
    expect_fault(
        _create(client, share_network_id=UNKNOWN), 404, f"Share network {UNKNOWN} could not be found."
    )
    for both in (
        {"share_type": "default", "volume_type": "default"},
        {"share_type": None, "volume_type": None},
    ):
        expect_fault(_create(client, **both), 400, "Cannot specify both share_type and volume_type")
    expect_fault(_create(client, share_type="no-such-type"), 404, "Share type not found.")
    expect_fault(_create(client, share_type=UNKNOWN), 404, "Share type not found.")
    dhss = create_type(client, dhss=True)
    expect_fault(
        _create(client, share_type=dhss["name"]),
        400,
        "Share network must be set when the driver_handles_share_servers is true.",
    )
    net = create_network(client)
    assert _create(client, share_type=dhss["name"], share_network_id=net["id"]).status_code == 200
    for size in (0, -1, "abc", "", "1.5", None, [1], True):
        expect_fault(
            _create(client, size=size),
            400,
            f"Invalid input received: Share size '{size}' must be an integer and greater than 0.",
        )
    for proto in ("FOO", "glusterfs", ""):
        expect_fault(
            _create(client, share_proto=proto),
            400,
            f"Invalid input received: Invalid share protocol provided: {proto}. {PROTOCOLS}",
        )
    bad: object
    for bad in ("maybe", "2", 3, []):
        expect_fault(_create(client, is_public=bad), 400)


def test_create_accepts_lenient_values(client: Client) -> None:
    share = _create(client, size="2", share_proto="nfs", is_public="yes").json()["share"]
    assert (share["size"], share["share_proto"], share["is_public"]) == (2, "NFS", True)
    share = _create(client, size=3.9, share_proto="cifs", display_name="dn", display_description="dd").json()
    assert (share["share"]["size"], share["share"]["share_proto"]) == (3, "CIFS")
    assert (share["share"]["name"], share["share"]["description"]) == ("dn", "dd")
    ignored = _create(client, name="", description="", unknown="x").json()["share"]
    assert (ignored["name"], ignored["description"]) == (None, None)
    # consistency_group_id is dropped silently below 2.4
    old = _create(client.with_(version="2.3"), consistency_group_id=UNKNOWN)
    assert old.status_code == 200


def test_create_validation_order(client: Client) -> None:
    """Spec §1.3: AZ → snapshot → network → type → DHSS → metadata → size → protocol → is_public."""
    dhss = create_type(client, dhss=True)
    steps: list[tuple[dict[str, Any], int, str]] = [
        ({"availability_zone": "mars"}, 404, "Availability zone mars could not be found."),
        ({"snapshot_id": UNKNOWN}, 404, f"ShareSnapshotNotFound: Snapshot {UNKNOWN} could not be found."),
        ({"share_network_id": UNKNOWN}, 404, f"Share network {UNKNOWN} could not be found."),
        ({"share_type": "no-such-type"}, 404, "Share type not found."),
        (
            {"share_type": dhss["name"]},
            400,
            "Share network must be set when the driver_handles_share_servers is true.",
        ),
        ({"metadata": {"": "v"}}, 400, "Metadata property key is blank."),
        ({"size": 0}, 400, "Invalid input received: Share size '0' must be an integer and greater than 0."),
        (
            {"share_proto": "FOO"},
            400,
            f"Invalid input received: Invalid share protocol provided: FOO. {PROTOCOLS}",
        ),
        ({"is_public": "maybe"}, 400, ""),
    ]
    for index, (_, status, message) in enumerate(steps):
        fields: dict[str, Any] = {}
        for later, _s, _m in steps[index:]:
            fields.update(later)
        if index <= 3:  # steps 3 and 4 both name a type: the earlier step's must win
            fields["share_type"] = "no-such-type"
        resp = _create(client, **fields)
        text = expect_fault(resp, status)
        if message:
            assert text == message, (index, text)


def test_create_metadata_validation(client: Client) -> None:
    cases = [
        ({"": "v"}, "Metadata property key is blank."),
        ({"k" * 256: "v"}, "Metadata property key is greater than 255 characters."),
        ({"k": ""}, "Metadata property value is blank."),
        ({"k": "v" * 1024}, "Metadata property value is greater than 1023 characters."),
    ]
    for metadata, message in cases:
        expect_fault(_create(client, metadata=metadata), 400, message)
    share = _create(client, metadata={"k" * 255: "v" * 1023, "flag": True}).json()["share"]
    assert share["metadata"] == {"k" * 255: "v" * 1023, "flag": "True"}


# from a snapshot ---------------------------------------------------------------------------------------
def test_create_from_snapshot(client: Client) -> None:
    parent = client.create_share(size=2, metadata={"x": "y"})
    snap = create_snapshot(client, parent["id"])
    child = start_share(client, size=None, snapshot_id=snap["id"])
    assert child["snapshot_id"] == snap["id"]
    assert child["size"] == 2
    assert child["share_type"] == parent["share_type"]
    settled = client.wait(f"/shares/{child['id']}", "share")
    assert settled["status"] == "available"
    bigger = client.create_share(size=3, snapshot_id=snap["id"], share_type="default")
    assert bigger["size"] == 3
    expect_fault(
        _create(client, size=1, snapshot_id=snap["id"]),
        400,
        "Invalid input received: Share size '1' must be equal or greater than snapshot size.",
    )
    other_type = create_type(client)
    text = expect_fault(_create(client, size=2, snapshot_id=snap["id"], share_type=other_type["id"]), 400)
    assert text.startswith(
        "Invalid input received: Invalid share type specified: the requested share type "
        "must match the type of the source share."
    ), text
    net = create_network(client)
    expect_fault(
        _create(client, size=2, snapshot_id=snap["id"], share_network_id=net["id"]),
        400,
        "Share network ID should be the same as snapshot's parent share's or empty",
    )
    client.post(f"/snapshots/{snap['id']}/action", {"reset_status": {"status": "error"}})
    expect_fault(
        _create(client, size=2, snapshot_id=snap["id"]),
        400,
        "Invalid share snapshot: status must be 'available'.",
    )


def test_create_from_snapshot_needs_capability_from_2_24(client: Client) -> None:
    st = create_type(client, snapshot_support=True, create_share_from_snapshot_support=False)
    parent = client.create_share(share_type=st["id"])
    assert parent["create_share_from_snapshot_support"] is False
    snap = create_snapshot(client, parent["id"])
    expect_fault(
        _create(client, snapshot_id=snap["id"]),
        400,
        f"A new share may not be created from snapshot '{snap['id']}', because the snapshot's parent "
        "share does not have that capability.",
    )
    assert _create(client.with_(version="2.23"), snapshot_id=snap["id"]).status_code == 200


# update -----------------------------------------------------------------------------------------------------
def test_update_applies_display_fields_only(client: Client) -> None:
    share = client.create_share(name="orig", description="orig-d")
    resp = client.put(f"/shares/{share['id']}", {"share": {"name": "ignored", "description": "ignored"}})
    assert resp.status_code == 200
    assert (resp.json()["share"]["name"], resp.json()["share"]["description"]) == ("orig", "orig-d")
    resp = client.put(
        f"/shares/{share['id']}",
        {"share": {"display_name": "new", "display_description": "nd", "is_public": "true", "size": 50}},
    )
    body = resp.json()["share"]
    assert (body["name"], body["description"], body["is_public"], body["size"]) == ("new", "nd", True, 1)
    shown = client.get(f"/shares/{share['id']}").json()["share"]
    assert (shown["name"], shown["description"], shown["is_public"]) == ("new", "nd", True)
    expect_fault(client.put(f"/shares/{share['id']}", {"share": {"is_public": "maybe"}}), 400)
    expect_fault(client.put(f"/shares/{UNKNOWN}", {"share": {"display_name": "x"}}), 404, GENERIC_404)
    expect_fault(
        client.put(f"/shares/{share['id']}", {"shar": {}}),
        422,
        "Unable to process the contained instructions",
    )


def test_update_in_any_status(client: Client) -> None:
    share = client.create_share()
    reset(client, "shares", share["id"], "error_deleting")
    resp = client.put(f"/shares/{share['id']}", {"share": {"display_name": "still"}})
    assert resp.status_code == 200 and resp.json()["share"]["name"] == "still"


# delete -----------------------------------------------------------------------------------------------------
def test_delete_settles_gone(client: Client) -> None:
    share = client.create_share()
    resp = client.delete(f"/shares/{share['id']}")
    assert resp.status_code == 202 and resp.content == b""
    after = client.get(f"/shares/{share['id']}")
    assert after.status_code == 404 or after.json()["share"]["status"] == "deleting"
    client.wait(f"/shares/{share['id']}", "share", ("deleted",))
    assert client.get("/shares").json() == {"shares": []}
    expect_fault(client.delete(f"/shares/{share['id']}"), 404, GENERIC_404)


@pytest.mark.parametrize("status", ["creating", "deleting", "error_deleting", "migrating", "migrating_to"])
def test_delete_refused_by_status(client: Client, status: str) -> None:
    share = client.create_share()
    reset(client, "shares", share["id"], status)
    expect_fault(
        client.delete(f"/shares/{share['id']}"),
        403,
        "Invalid share: Share status must be one of ('available', 'error', 'inactive').",
    )
    assert client.get(f"/shares/{share['id']}").json()["share"]["status"] == status


def test_delete_from_error(client: Client) -> None:
    share = client.create_share()
    reset(client, "shares", share["id"], "error")
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    client.wait(f"/shares/{share['id']}", "share", ("deleted",))


def test_delete_refused_with_dependent_snapshots(client: Client) -> None:
    share = client.create_share()
    snaps = [create_snapshot(client, share["id"]) for _ in range(2)]
    expect_fault(
        client.delete(f"/shares/{share['id']}"), 403, "Invalid share: Share still has 2 dependent snapshots."
    )
    expect_fault(
        client.post(f"/shares/{share['id']}/action", {"force_delete": None}),
        400,
        "Invalid share: Share still has 2 dependent snapshots.",
    )
    for snap in snaps:
        client.delete(f"/snapshots/{snap['id']}")
        client.wait(f"/snapshots/{snap['id']}", "snapshot", ("deleted",))
    assert client.delete(f"/shares/{share['id']}").status_code == 202


# actions ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "version,key,other",
    [
        ("2.0", "os-reset_status", "reset_status"),
        ("2.6", "os-reset_status", "reset_status"),
        ("2.7", "reset_status", "os-reset_status"),
        ("2.30", "reset_status", "os-reset_status"),
    ],
)
def test_reset_status_names_by_version(client: Client, version: str, key: str, other: str) -> None:
    share = client.create_share()
    c = client.with_(version=version)
    path = f"/shares/{share['id']}/action"
    expect_fault(c.post(path, {other: {"status": "error"}}), 404, GENERIC_404)
    resp = c.post(path, {key: {"status": "error"}})
    assert resp.status_code == 202 and resp.content == b""
    assert client.get(f"/shares/{share['id']}").json()["share"]["status"] == "error"


def test_reset_status_messages(client: Client) -> None:
    share = client.create_share()
    path = f"/shares/{share['id']}/action"
    for body in ({}, {"state": "error"}, None):
        expect_fault(client.post(path, {"reset_status": body}), 400, "Must specify 'status'")
    for bad in ("bogus", "extending", "inactive", ""):
        expect_fault(
            client.post(path, {"reset_status": {"status": bad}}),
            400,
            f"Invalid state. Valid states: {', '.join(RESET_STATES)}.",
        )
    expect_fault(
        client.post(f"/shares/{UNKNOWN}/action", {"reset_status": {"status": "error"}}), 404, GENERIC_404
    )
    for status in RESET_STATES:
        assert client.post(path, {"reset_status": {"status": status}}).status_code == 202
        assert client.get(f"/shares/{share['id']}").json()["share"]["status"] == status


@pytest.mark.parametrize(
    "version,key,other",
    [("2.6", "os-force_delete", "force_delete"), ("2.7", "force_delete", "os-force_delete")],
)
def test_force_delete_from_any_status(client: Client, version: str, key: str, other: str) -> None:
    share = client.create_share()
    reset(client, "shares", share["id"], "migrating")
    c = client.with_(version=version)
    expect_fault(c.post(f"/shares/{share['id']}/action", {other: None}), 404, GENERIC_404)
    resp = c.post(f"/shares/{share['id']}/action", {key: {}})
    assert resp.status_code == 202 and resp.content == b""
    client.wait(f"/shares/{share['id']}", "share", ("deleted",))
    expect_fault(c.post(f"/shares/{share['id']}/action", {key: None}), 404, GENERIC_404)


@pytest.mark.parametrize(
    "version,key,other", [("2.6", "os-extend", "extend"), ("2.7", "extend", "os-extend")]
)
def test_extend(client: Client, version: str, key: str, other: str) -> None:
    share = client.create_share(size=2)
    sid = share["id"]
    c = client.with_(version=version)
    path = f"/shares/{sid}/action"
    expect_fault(c.post(path, {other: {"new_size": 3}}), 404, GENERIC_404)
    for bad in ({}, {"new_size": "x"}, {"new_size": None}, {"new_size": [3]}, {"size": 3}, "3"):
        expect_fault(c.post(path, {key: bad}), 400, "New share size must be specified as an integer.")
    for small in (2, 1):
        expect_fault(
            c.post(path, {key: {"new_size": small}}),
            400,
            "Invalid input received: New size for extend must be greater than current size. "
            f"(current: 2, extended: {small})..",
        )
    expect_fault(c.post(f"/shares/{UNKNOWN}/action", {key: {"new_size": 3}}), 404, GENERIC_404)
    resp = c.post(path, {key: {"new_size": "4"}})
    assert resp.status_code == 202 and resp.content == b""
    status = client.get(f"/shares/{sid}").json()["share"]["status"]
    assert status in ("extending", "available")
    settled = client.wait(f"/shares/{sid}", "share", ("available", "extending_error"))
    assert (settled["status"], settled["size"]) == ("available", 4)
    reset(client, "shares", sid, "error")
    expect_fault(
        c.post(path, {key: {"new_size": 5}}),
        400,
        f"Invalid share: Share {sid} status must be 'available' to extend, but current status is: error..",
    )


@pytest.mark.parametrize(
    "version,key,other", [("2.6", "os-shrink", "shrink"), ("2.7", "shrink", "os-shrink")]
)
def test_shrink(client: Client, version: str, key: str, other: str) -> None:
    share = client.create_share(size=3)
    sid = share["id"]
    c = client.with_(version=version)
    path = f"/shares/{sid}/action"
    expect_fault(c.post(path, {other: {"new_size": 1}}), 404, GENERIC_404)
    expect_fault(
        c.post(path, {key: {"new_size": "x"}}), 400, "New share size must be specified as an integer."
    )
    for bad in (3, 4, 0, -1):
        expect_fault(
            c.post(path, {key: {"new_size": bad}}),
            400,
            "Invalid input received: New size for shrink must be less than current size and greater "
            f"than 0 (current: 3, new: {bad}).",
        )
    resp = c.post(path, {key: {"new_size": 2}})
    assert resp.status_code == 202
    settled = client.wait(
        f"/shares/{sid}", "share", ("available", "shrinking_error", "shrinking_possible_data_loss_error")
    )
    assert (settled["status"], settled["size"]) == ("available", 2)
    reset(client, "shares", sid, "error")
    expect_fault(
        c.post(path, {key: {"new_size": 1}}),
        400,
        f"Invalid share: Share {sid} status must in (available, shrinking_possible_data_loss_error) to "
        "shrink, but current status is: error..",
    )


def test_unknown_action(client: Client) -> None:
    share = client.create_share()
    for key in ("x", "os-migrate", "resize"):
        expect_fault(
            client.post(f"/shares/{share['id']}/action", {key: {}}), 400, f"There is no such action: {key}"
        )
    expect_fault(client.post(f"/shares/{UNKNOWN}/action", {"x": {}}), 400, "There is no such action: x")
