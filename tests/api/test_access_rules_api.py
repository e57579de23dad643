"""`/share-access-rules` (2.45+): list and its filters, show, metadata, the level update (2.88) and the
locks placed with a rule (2.82)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.access_helpers import deny, grant, granted, legacy_list, rule, rules_of
from tests.api.helpers import GENERIC_400, expect_fault, policy_denied
from tests.support import Client, in_process_server

UNKNOWN = "7d0e6b1c-2a3b-4c5d-8e9f-a0b1c2d3e4f5"
LOCKED = "Cannot deny access for share '{}' since it has been locked. Please remove the locks and retry the operation"
NOT_YOURS = "Unable to drop access rule restrictions that are not placed by you."


@pytest.fixture
def share(client: Client) -> dict[str, Any]:
    return client.create_share()


def at(client: Client, version: str) -> Client:
    return client.with_(version=version)


# List and filters ------------------------------------------------------------------------------------------
def test_list_needs_a_visible_share(client: Client) -> None:
    c = at(client, "2.45")
    expect_fault(c.get("/share-access-rules"), 400, "The field 'share_id' has to be specified.")
    expect_fault(c.get("/share-access-rules", params={"share_id": UNKNOWN}), 400, f"Share {UNKNOWN} not found.")
    expect_fault(c.get("/share-access-rules", params={"share_id": UNKNOWN, "metadata": "{nope"}), 400,
                 "Invalid input received: Wrong metadata filter provided: {nope.")


def test_metadata_filter(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.45")
    a = granted(c, share["id"], "user", "alice", metadata={"team": "red", "env": "prod"})
    b = granted(c, share["id"], "user", "bobby", metadata={"team": "red"})
    granted(c, share["id"], "user", "carol", metadata={"team": "blue"})
    assert [r["id"] for r in rules_of(c, share["id"], metadata="{'team': 'red'}")] == [a["id"], b["id"]]
    assert [r["id"] for r in rules_of(c, share["id"], metadata='{"team": "red", "env": "prod"}')] == [a["id"]]
    assert rules_of(c, share["id"], metadata="{'team': 'green'}") == []
    assert len(rules_of(c, share["id"], metadata="{}")) == 3


def test_field_filters(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.82")
    ip = granted(c, share["id"], "ip", "10.0.0.0/24", access_level="ro")
    user = granted(c, share["id"], "user", "alice")
    cephx = granted(c, share["id"], "cephx", "alice")
    assert [r["id"] for r in rules_of(c, share["id"], access_type="user")] == [user["id"]]
    assert [r["id"] for r in rules_of(c, share["id"], access_type="cephx", access_to="alice")] == [cephx["id"]]
    assert [r["id"] for r in rules_of(c, share["id"], access_level="ro")] == [ip["id"]]
    assert [r["id"] for r in rules_of(c, share["id"], access_level="rw")] == [user["id"], cephx["id"]]
    assert rules_of(c, share["id"], access_key="no-such-key") == []
    assert [r["id"] for r in rules_of(c, share["id"], id=user["id"])] == [user["id"]]
    assert len(rules_of(c, share["id"], state="error", something="else")) == 3  # not filters: ignored


@pytest.mark.parametrize(("params", "message"), [
    ({"access_type": "nfs"}, "Invalid or unsupported share access type: nfs."),
    ({"access_to": "10.0.0.0/24"},
     "Invalid input received: 'access_type' parameter must be provided when specifying 'access_to'.."),
    ({"access_type": "ip", "access_to": "10.0.0.1/24"}, "10.0.0.1/24 has host bits set"),
    ({"access_type": "user", "access_to": "ab"},
     'Invalid user or group name. Must be 4-255 characters and consist of alphanumeric characters and exclude '
     'special characters "/\\[]:;|=,+*?<>'),
    ({"access_type": "cephx", "access_to": "a.b"}, "Ceph IDs may not contain periods."),
    ({"access_level": "rx"}, "Invalid or unsupported share access level: rx."),
])
def test_filters_are_checked_from_2_82(client: Client, share: dict[str, Any], params: dict[str, str],
                                      message: str) -> None:
    granted(client, share["id"], "user", "someone")
    expect_fault(at(client, "2.82").get("/share-access-rules", params={"share_id": share["id"], **params}), 400,
                 message)
    # before 2.82 they are plain equality filters, unchecked
    assert rules_of(at(client, "2.81"), share["id"], **params) == []


def test_show(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.45")
    created = granted(c, share["id"], "cert", "host.example.com", metadata={"a": "1"})
    shown = rule(c, created["id"])
    assert shown["share_id"] == share["id"]
    assert (shown["access_type"], shown["access_to"], shown["metadata"]) == ("cert", "host.example.com", {"a": "1"})
    expect_fault(c.get(f"/share-access-rules/{UNKNOWN}"), 404, f"Share access rule {UNKNOWN} not found.")


# Metadata --------------------------------------------------------------------------------------------------
def test_metadata_upsert_and_delete(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.45")
    created = granted(c, share["id"], metadata={"a": "1", "b": "2"})
    base = f"/share-access-rules/{created['id']}/metadata"
    resp = c.put(base, {"metadata": {"b": "20", "c": "3"}})
    assert resp.status_code == 200
    assert resp.json() == {"metadata": {"b": "20", "c": "3"}}  # what was sent, not the whole set
    assert rule(c, created["id"])["metadata"] == {"a": "1", "b": "20", "c": "3"}
    assert c.put(base, {"metadata": {}}).json() == {"metadata": {}}
    resp = c.delete(f"{base}/a")
    assert resp.status_code == 200 and resp.content == b""
    assert rule(c, created["id"])["metadata"] == {"b": "20", "c": "3"}
    expect_fault(c.delete(f"{base}/a"), 404, "Share access rule metadata does not exist.")
    expect_fault(c.put(f"/share-access-rules/{UNKNOWN}/metadata", {"metadata": {"a": "b"}}), 404,
                 "Resource could not be found.")
    expect_fault(c.delete(f"/share-access-rules/{UNKNOWN}/metadata/a"), 404, "Resource could not be found.")
    # filters see the change
    assert [r["id"] for r in rules_of(c, share["id"], metadata="{'b': '20'}")] == [created["id"]]


@pytest.mark.parametrize(("body", "message"), [
    (None, GENERIC_400), ({}, GENERIC_400), ({"meta": {"a": "b"}}, GENERIC_400), ({"metadata": ["a"]}, GENERIC_400),
    ({"metadata": "a"}, GENERIC_400), ({"metadata": {"": "v"}}, "Invalid metadata."),
    ({"metadata": {"k": ""}}, "Invalid metadata."), ({"metadata": {"k" * 256: "v"}}, "Invalid metadata size."),
    ({"metadata": {"k": "v" * 1024}}, "Invalid metadata size."), ({"metadata": {"k": 5}}, "Malformed request body"),
])
def test_metadata_checks(client: Client, share: dict[str, Any], body: Any, message: str) -> None:
    c = at(client, "2.45")
    created = granted(c, share["id"], metadata={"a": "1"})
    expect_fault(c.put(f"/share-access-rules/{created['id']}/metadata", body), 400, message)
    assert rule(c, created["id"])["metadata"] == {"a": "1"}


def test_metadata_of_unknown_rule_is_404_before_its_checks(client: Client) -> None:
    expect_fault(at(client, "2.45").put(f"/share-access-rules/{UNKNOWN}/metadata", {"metadata": {"": ""}}), 404,
                 "Resource could not be found.")


# Level update (2.88) ------------------------------------------------------------------------------------------
def test_level_update(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.88")
    created = granted(c, share["id"], access_level="rw")
    path = f"/share-access-rules/{created['id']}"
    same = c.put(path, {"update_access": {"access_level": "rw"}})
    assert same.status_code == 200
    assert same.json()["access"]["state"] == "active" and same.json()["access"]["updated_at"] == rule(
        c, created["id"])["updated_at"]
    resp = c.put(path, {"update_access": {"access_level": "ro"}})
    assert resp.status_code == 200, resp.text
    answer = resp.json()["access"]
    assert answer["share_id"] == share["id"]
    assert (answer["access_level"], answer["state"]) == ("ro", "queued_to_update")
    after = rule(c, created["id"])
    assert (after["access_level"], after["state"]) == ("ro", "active")
    assert [r["access_level"] for r in rules_of(c, share["id"])] == ["ro"]


@pytest.mark.parametrize(("body", "message"), [
    (None, GENERIC_400), ({}, GENERIC_400), ({"update_access": "ro"}, GENERIC_400),
    ({"update_access": {}}, "Invalid input. Missing 'access_level' in update request."),
    ({"update_access": {"access_level": ""}}, "Invalid input. Missing 'access_level' in update request."),
    ({"update_access": {"access_level": "rx"}}, "Invalid or unsupported share access level: rx."),
])
def test_level_update_checks(client: Client, share: dict[str, Any], body: Any, message: str) -> None:
    c = at(client, "2.88")
    created = granted(c, share["id"])
    expect_fault(c.put(f"/share-access-rules/{created['id']}", body), 400, message)
    # the body is checked before the rule is looked up
    expect_fault(c.put(f"/share-access-rules/{UNKNOWN}", body), 400, message)
    assert rule(c, created["id"])["access_level"] == "rw"


def test_level_update_of_unknown_rule(client: Client) -> None:
    expect_fault(at(client, "2.88").put(f"/share-access-rules/{UNKNOWN}", {"update_access": {"access_level": "ro"}}),
                 404, f"Share access rule {UNKNOWN} not found.")


def test_level_update_needs_a_settled_share(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.88")
    created = granted(c, share["id"])
    client.post(f"/shares/{share['id']}/action", {"reset_status": {"status": "migrating"}})
    expect_fault(c.put(f"/share-access-rules/{created['id']}", {"update_access": {"access_level": "ro"}}), 400,
                 "Access rules cannot be updated while the share, any of its replicas or migration copies lacks a "
                 "valid host or is in an invalid state.")
    client.post(f"/shares/{share['id']}/action", {"reset_status": {"status": "error"}})
    assert c.put(f"/share-access-rules/{created['id']}", {"update_access": {"access_level": "ro"}}).status_code == 200


# Locks (2.82) ----------------------------------------------------------------------------------------------
def test_deletion_lock(client: Client, member: Client, share: dict[str, Any]) -> None:
    alice = at(member, "2.82")
    bobby = at(member.with_(user="bobby"), "2.82")
    created = granted(alice, share["id"], "user", "alice", lock_deletion=True, lock_reason="in use by CI")
    for who in (alice, bobby, at(client, "2.82")):
        expect_fault(deny(who, share["id"], created["id"]), 403, LOCKED.format(share["id"]))
    expect_fault(deny(bobby, share["id"], created["id"], unrestrict=True), 403, NOT_YOURS)
    # the share cannot be deleted while the rule's lock holds it
    resp = client.delete(f"/shares/{share['id']}")
    message = expect_fault(resp, 403)
    assert re.fullmatch(r"Resource lock/s \[[0-9a-f-]{36}\] prevent delete action\.", message), message
    force = expect_fault(client.post(f"/shares/{share['id']}/action", {"force_delete": None}), 400)
    assert force == message
    assert deny(alice, share["id"], created["id"], unrestrict=True).status_code == 202
    assert rules_of(alice, share["id"]) == []
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    client.wait_gone(f"/shares/{share['id']}")


def test_admins_lift_users_locks_but_users_not_admins(client: Client, member: Client,
                                                       share: dict[str, Any]) -> None:
    admin = at(client, "2.82")
    alice = at(member, "2.82")
    users = granted(alice, share["id"], "user", "alice", lock_deletion=True)
    admins = granted(admin, share["id"], "user", "admin", lock_deletion=True)
    expect_fault(deny(alice, share["id"], admins["id"], unrestrict=True), 403, NOT_YOURS)
    assert deny(admin, share["id"], users["id"], unrestrict=True).status_code == 202
    assert deny(admin, share["id"], admins["id"], unrestrict=True).status_code == 202
    assert rules_of(admin, share["id"]) == []


def test_unrestrict_on_an_unlocked_rule_is_a_plain_deny(client: Client, share: dict[str, Any]) -> None:
    created = granted(at(client, "2.82"), share["id"])
    assert deny(at(client, "2.82"), share["id"], created["id"], unrestrict=True).status_code == 202
    expect_fault(at(client, "2.82").post(f"/shares/{share['id']}/action",
                                         {"deny_access": {"access_id": UNKNOWN, "unrestrict": "sometimes"}}), 400,
                 "Invalid input received: 'unrestrict' must be a boolean.")


def test_visibility_lock(client: Client, member: Client, share: dict[str, Any]) -> None:
    alice = at(member, "2.82")
    bobby = at(member.with_(user="bobby"), "2.82")
    hidden = granted(alice, share["id"], "ip", "10.7.0.0/16", lock_visibility=True, lock_reason="private")
    plain = granted(alice, share["id"], "ip", "10.8.0.0/16")
    for who in (alice, at(client, "2.82")):
        assert rule(who, hidden["id"])["access_to"] == "10.7.0.0/16"
        assert [r["access_to"] for r in rules_of(who, share["id"])] == ["10.7.0.0/16", "10.8.0.0/16"]
        filtered = rules_of(who, share["id"], access_type="ip", access_to="10.7.0.0/16")
        assert [r["id"] for r in filtered] == [hidden["id"]]
    shown = rule(bobby, hidden["id"])
    assert (shown["access_to"], shown["access_key"]) == ("******", "******")
    items = rules_of(bobby, share["id"])
    assert [(r["access_to"], r["access_key"]) for r in items] == [("******", "******"), ("10.8.0.0/16", None)]
    assert [list(r) for r in items] == [list(items[1])] * 2  # the same keys for every item
    # filtering by what the lock hides leaves the rule out for those it is hidden from
    assert rules_of(bobby, share["id"], access_type="ip", access_to="10.7.0.0/16") == []
    assert [r["id"] for r in rules_of(bobby, share["id"], access_type="ip")] == [hidden["id"], plain["id"]]
    # at every version, without adding keys the version does not have
    old = legacy_list(at(member.with_(user="bobby"), "2.0"), share["id"]).json()["access_list"]
    assert [r["access_to"] for r in old] == ["******", "10.8.0.0/16"]
    assert "access_key" not in old[0]
    # the lock does not stop a deny
    assert deny(bobby, share["id"], hidden["id"]).status_code == 202


def test_lock_refused_by_policy_leaves_no_rule(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"resource_lock:create": "!"\n')
    with in_process_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}",
                           LOCKSTEP_POLICY_FILE=str(policy)) as server:
        admin = at(server.client(), "2.82")
        share = admin.create_share()
        message = expect_fault(grant(admin, share["id"], lock_deletion=True), 400)
        assert re.fullmatch(r"Failed to lock the deletion of the access rule [0-9a-f-]{36}\.", message), message
        message = expect_fault(grant(admin, share["id"], lock_visibility=True), 400)
        assert re.fullmatch(r"Failed to lock the visibility of the access rule [0-9a-f-]{36}\.", message), message
        assert rules_of(admin, share["id"]) == []
        assert granted(admin, share["id"])["state"] == "queued_to_apply"  # no lock asked: no lock needed


# Policy ----------------------------------------------------------------------------------------------------
def test_operator_policy_guards_each_access_call(tmp_path: Path) -> None:
    rules = ["share:allow_access", "share:deny_access", "share:access_get_all", "share:access_get",
             "share_access_rule:get", "share_access_rule:index", "share_access_rule:update",
             "share_access_metadata:update", "share_access_metadata:delete"]
    policy = tmp_path / "policy.yaml"
    policy.write_text("".join(f'"{name}": "rule:admin_api"\n' for name in rules))
    with in_process_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}",
                           LOCKSTEP_POLICY_FILE=str(policy)) as server:
        admin = at(server.client(), "2.88")
        share = admin.create_share()
        created = granted(admin, share["id"], metadata={"k": "v"})
        alice = admin.with_(user="alice")
        path = f"/share-access-rules/{created['id']}"
        policy_denied(grant(alice, share["id"], "user", "alice"), "share:allow_access")
        policy_denied(deny(alice, share["id"], created["id"]), "share:deny_access")
        policy_denied(legacy_list(at(alice, "2.44"), share["id"]), "share:access_get_all")
        policy_denied(alice.get("/share-access-rules", params={"share_id": share["id"]}), "share_access_rule:index")
        policy_denied(alice.get(path), "share_access_rule:get")
        policy_denied(alice.put(path, {"update_access": {"access_level": "ro"}}), "share_access_rule:update")
        policy_denied(alice.put(f"{path}/metadata", {"metadata": {"k": "x"}}), "share_access_metadata:update")
        policy_denied(alice.delete(f"{path}/metadata/k"), "share_access_metadata:delete")
        # unknown shares and rules are 404 before share:access_get_all / share:access_get (Manila's order)
        assert legacy_list(at(alice, "2.44"), UNKNOWN).status_code == 404
        assert rule(admin, created["id"])["metadata"] == {"k": "v"}


def test_access_get_guards_single_rule_calls(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"share:access_get": "rule:admin_api"\n')
    with in_process_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}",
                           LOCKSTEP_POLICY_FILE=str(policy)) as srv:
        admin = at(srv.client(), "2.88")
        share = admin.create_share()
        created = granted(admin, share["id"])
        alice = admin.with_(user="alice")
        policy_denied(alice.get(f"/share-access-rules/{created['id']}"), "share:access_get")
        policy_denied(deny(alice, share["id"], created["id"]), "share:access_get")
        assert len(rules_of(alice, share["id"])) == 1  # lists are share:access_get_all's
