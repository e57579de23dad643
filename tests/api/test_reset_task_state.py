"""The `reset_task_state` share action: 2.22-2.95 experimental, GA from 2.96 (OSC's `share set` calls it)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import expect_fault, policy_denied, unknown_id
from tests.support import Client

STATES = ["migration_starting", "migration_in_progress", "migration_completing", "migration_success",
          "migration_error", "migration_cancelled", "migration_driver_in_progress", "migration_driver_phase1_done",
          "data_copying_starting", "data_copying_in_progress", "data_copying_completing", "data_copying_completed",
          "data_copying_cancelled", "data_copying_error", None]


def reset(client: Client, share_id: str, body: Any, key: str = "reset_task_state") -> httpx.Response:
    return client.post(f"/shares/{share_id}/action", {key: body})


def test_openstack_share_set_name(client: Client) -> None:
    """OSC 10.5 `share set <share> --name X` renames, then always resets the task state (to None)."""
    osc = client.with_(version="2.98", experimental=True)
    share = osc.create_share(name="before")
    assert osc.get(f"/shares/{share['id']}").status_code == 200
    resp = osc.put(f"/shares/{share['id']}", {"share": {"display_name": "after"}})
    assert resp.status_code == 200
    resp = reset(osc, share["id"], {"task_state": None})
    assert resp.status_code == 202 and resp.content == b""
    shown = osc.get(f"/shares/{share['id']}").json()["share"]
    assert (shown["name"], shown["task_state"]) == ("after", None)


def test_task_state_is_stored_and_shown(client: Client) -> None:
    c = client.with_(version="2.96", experimental=False)
    share = c.create_share()
    for state in ("migration_error", "data_copying_completed", None):
        assert reset(c, share["id"], {"task_state": state}).status_code == 202
        assert c.get(f"/shares/{share['id']}").json()["share"]["task_state"] == state
    assert reset(c, share["id"], {"task_state": "migration_success"}).status_code == 202
    listed = c.get("/shares/detail", params={"task_state": "migration_success"}).json()["shares"]
    assert [s["id"] for s in listed] == [share["id"]]
    # Every state Manila knows is accepted.
    for state in STATES:
        assert reset(c, share["id"], {"task_state": state}).status_code == 202, state


def test_validation(client: Client) -> None:
    c = client.with_(version="2.99")
    share = c.create_share()
    sid = share["id"]
    expect_fault(reset(c, sid, {"task_state": "bogus"}), 400,
                 f"Invalid input for field/attribute task_state. Value: bogus. 'bogus' is not one of {STATES!r}")
    expect_fault(reset(c, sid, {"task_state": 5}), 400,
                 f"Invalid input for field/attribute task_state. Value: 5. 5 is not one of {STATES!r}")
    expect_fault(reset(c, sid, {"os-task_state": "bogus", "task_state": None}), 400,
                 f"Invalid input for field/attribute os-task_state. Value: bogus. 'bogus' is not one of {STATES!r}")
    expect_fault(reset(c, sid, None), 400,
                 "Invalid input for field/attribute reset_task_state. Value: None. None is not of type 'object'")
    # The old spelling inside the body is checked but not used.
    expect_fault(reset(c, sid, {"os-task_state": "migration_error"}), 400, "Must specify 'task_state'")
    expect_fault(reset(c, sid, {}), 400, "Must specify 'task_state'")
    missing = unknown_id()
    expect_fault(reset(c, missing, {"task_state": None}), 404, f"Share {missing} could not be found.")
    # A bad value is refused before the share is looked up; a missing one after.
    expect_fault(reset(c, missing, {"task_state": "bogus"}), 400)
    expect_fault(reset(c, missing, {}), 404, f"Share {missing} could not be found.")
    assert c.get(f"/shares/{sid}").json()["share"]["task_state"] is None


def test_admins_only(client: Client, member: Client) -> None:
    share = client.create_share()
    policy_denied(reset(member.with_(version="2.99"), share["id"], {"task_state": None}), "share:reset_task_state")


@pytest.mark.parametrize("version,experimental,served", [
    ("2.21", True, False), ("2.22", False, False), ("2.22", True, True), ("2.95", False, False),
    ("2.95", True, True), ("2.96", False, True), ("2.99", True, True),
])
def test_versions(client: Client, version: str, experimental: bool, served: bool) -> None:
    share = client.create_share()
    resp = reset(client.with_(version=version, experimental=experimental), share["id"], {"task_state": None})
    if served:
        assert resp.status_code == 202
    else:
        expect_fault(resp, 404, "The resource could not be found.")


def test_no_os_spelling(client: Client) -> None:
    """Manila never had `os-reset_task_state` (the action came with 2.22, after the rename of 2.7)."""
    share = client.create_share()
    for version in ("2.6", "2.99"):
        expect_fault(reset(client.with_(version=version), share["id"], {"task_state": None}, "os-reset_task_state"),
                     400, "There is no such action: os-reset_task_state")
