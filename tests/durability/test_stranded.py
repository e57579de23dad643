"""Nothing stays transitional for ever: a record in an in-progress status that no operation will settle (an
admin's reset to `creating` or `deleting`, work lost before this release) goes to its failure status at the
worker's next sweep, and its project is told why (issue 11, done-point 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.helpers import reset
from tests.support import Client, live_server, migrated_database


def snapshot_status(client: Client, snapshot_id: str) -> str:
    return str(client.get(f"/snapshots/{snapshot_id}").json()["snapshot"]["status"])


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_record_no_operation_will_settle_goes_to_its_failure_status(db: str, tmp_path: Path) -> None:
    config = tmp_path / "lockstep.toml"
    # Every driver call takes 1.5 s, so sweeps run while work is in flight.
    config.write_text('reclaim_interval = 0.3\n[backend.default]\ndriver = "fake"\ndelay = "1.5"\n')
    with migrated_database(db, tmp_path) as url, live_server(tmp_path / "data", url,
                                                             LOCKSTEP_CONFIG=str(config)) as server:
        client = server.client()
        share = client.create_share()  # each of its driver calls outlasts several sweeps
        snapshot = client.post("/snapshots", {"snapshot": {"share_id": share["id"]}}).json()["snapshot"]
        client.wait(f"/snapshots/{snapshot['id']}", "snapshot")
        assert share["status"] == snapshot_status(client, snapshot["id"]) == "available"
        reset(client, "shares", share["id"], "creating")
        reset(client, "snapshots", snapshot["id"], "deleting")
        assert client.wait(f"/shares/{share['id']}", "share", ("error",), timeout=20)["status"] == "error"
        assert client.wait(f"/snapshots/{snapshot['id']}", "snapshot", ("error_deleting",),
                           timeout=20)["status"] == "error_deleting"
        messages = client.with_(version="2.37").get("/messages", params={"resource_id": share["id"]}).json()
        assert [m["user_message"] for m in messages["messages"]] == [
            f"create: Share {share['id']} was left in status 'creating' with no work recorded to finish it (lost, or "
            "an administrator set that status); it is in status 'error'. Delete it and create it again; if that "
            "fails too, ask an administrator, who can find the backend's error in the worker's log."]
