"""An admin's reset_status never strands recorded work (issue 11, defect 2).

The reset of an object whose operation is still pending or running is refused with 409 naming the
operation; once the operation has settled the object truthfully, the reset goes through. Operations stay
queued here until a test settles them, so each reset meets its object mid-flight.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.helpers import expect_fault, reset, start_share
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server


@pytest.fixture(scope="module", params=DATABASES)
def queued(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with configured_server(tmp_path_factory.mktemp(f"reset-{request.param}"), request.param,
                           settle_after_requests=False) as srv:
        yield srv


def refused(client: Client, collection: str, item_id: str, noun: str, kind: str, status: str = "available") -> None:
    resp = client.post(f"/{collection}/{item_id}/action", {"reset_status": {"status": status}})
    message = expect_fault(resp, 409)
    assert re.fullmatch(
        rf"{noun} {item_id} cannot be reset while operation \d+ \({kind}\) is in flight: it will settle the status "
        rf"itself\. Wait for it to finish, or force-delete the {noun.lower()}\.", message), message


def status_of(client: Client, collection: str, key: str, item_id: str) -> str:
    resp = client.get(f"/{collection}/{item_id}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()[key]["status"])


def inventory(server: InProcessServer) -> Any:
    return server.drivers["lockstep@default"].inventory()


def test_a_creating_share_is_not_reset_and_settles_with_its_storage(queued: InProcessServer) -> None:
    client = queued.client()
    share = start_share(client)
    refused(client, "shares", share["id"], "Share", "create_share")
    assert status_of(client, "shares", "share", share["id"]) == "creating"
    settled = client.wait(f"/shares/{share['id']}", "share")
    assert settled["status"] == "available"
    assert share["id"] in inventory(queued).shares
    locations = client.with_(version="2.14").get(f"/shares/{share['id']}/export_locations").json()
    assert locations["export_locations"], "a created share has its export locations"
    reset(client, "shares", share["id"], "error")  # nothing in flight now: allowed
    assert status_of(client, "shares", "share", share["id"]) == "error"


def test_a_deleting_share_is_not_reset(queued: InProcessServer) -> None:
    client = queued.client()
    share = client.create_share()
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    refused(client, "shares", share["id"], "Share", "delete_share")
    client.wait_gone(f"/shares/{share['id']}")
    assert share["id"] not in inventory(queued).shares


def test_a_creating_snapshot_is_not_reset_and_gets_its_storage(queued: InProcessServer) -> None:
    client = queued.client()
    share = client.create_share()
    resp = client.post("/snapshots", {"snapshot": {"share_id": share["id"]}})
    snapshot_id = resp.json()["snapshot"]["id"]
    refused(client, "snapshots", snapshot_id, "Snapshot", "create_snapshot")
    assert client.wait(f"/snapshots/{snapshot_id}", "snapshot")["status"] == "available"
    assert snapshot_id in inventory(queued).snapshots


def test_a_creating_cgsnapshot_is_not_reset(queued: InProcessServer) -> None:
    client = queued.client()
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    resp = client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}})
    cgsnapshot_id = resp.json()["cgsnapshot"]["id"]
    refused(client, "cgsnapshots", cgsnapshot_id, "Share group snapshot", "create_cgsnapshot")
    assert client.wait(f"/cgsnapshots/{cgsnapshot_id}", "cgsnapshot")["status"] == "available"
    assert cgsnapshot_id in inventory(queued).cgsnapshots


def test_a_group_being_restored_and_its_shares_are_not_reset(queued: InProcessServer) -> None:
    client = queued.client()
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    resp = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cgsnapshot["id"]}})
    restored = resp.json()["consistency_group"]["id"]
    members = client.get("/shares/detail", params={"consistency_group_id": restored}).json()["shares"]
    assert [m["status"] for m in members] == ["creating"]
    refused(client, "consistency-groups", restored, "Share group", "create_group_from_cgsnapshot")
    refused(client, "shares", members[0]["id"], "Share", "create_group_from_cgsnapshot")
    assert client.wait(f"/consistency-groups/{restored}", "consistency_group")["status"] == "available"
    assert status_of(client, "shares", "share", members[0]["id"]) == "available"
    assert members[0]["id"] in inventory(queued).shares


def test_a_restore_whose_group_was_force_deleted_leaves_no_share_creating(queued: InProcessServer) -> None:
    client = queued.client()
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    resp = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cgsnapshot["id"]}})
    restored = resp.json()["consistency_group"]["id"]
    member = client.get("/shares/detail", params={"consistency_group_id": restored}).json()["shares"][0]
    forced = client.post(f"/consistency-groups/{restored}/action", {"force_delete": None})
    assert forced.status_code == 202, forced.text
    share = client.wait(f"/shares/{member['id']}", "share")
    assert share["status"] == "error"
    messages = client.with_(version="2.37").get("/messages", params={"resource_id": member["id"]}).json()
    assert [m["user_message"] for m in messages["messages"]] == [
        f"create: Share {member['id']} was to be created in share group {restored} from a share group snapshot, "
        "but the group was deleted before it was made; it is in status 'error'. Delete it (an administrator can "
        "force-delete it)."]
