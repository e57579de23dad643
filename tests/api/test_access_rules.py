"""Access rules through the share actions: grant, revoke and the legacy list, in both spellings, with
Manila's checks, messages, order of checks, views per version, and project scoping."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.access_helpers import deny, grant, granted, legacy_list, rule, rules_of, rules_status
from tests.api.helpers import GENERIC_404, expect_fault, reset
from tests.support import Client, Server

UNKNOWN = "0c4b7f3e-1d2a-4b5c-8d9e-0f1a2b3c4d5e"
CANNOT_APPLY = ("New access rules cannot be applied while the share or any of its replicas or migration copies "
                "lacks a valid host or is in an invalid state.")
CANNOT_DENY = ("Access rules cannot be denied while the share, any of its replicas or migration copies lacks a "
               "valid host or is in an invalid state.")
BAD_USER = ('Invalid user or group name. Must be 4-255 characters and consist of alphanumeric characters and '
            'exclude special characters "/\\[]:;|=,+*?<>')
DOTS_USER = "Invalid user or group name,cannot consist solely of periods or spaces."
BAD_CN = "Invalid CN (common name). Must be 1-64 chars long."
TYPES_3 = "Only 'ip', 'user' or 'cert' access types are supported."
TYPES_4 = "Only 'ip', 'user', 'cert' or 'cephx' access types are supported."


@pytest.fixture
def share(client: Client) -> dict[str, Any]:
    return client.create_share()


def at(client: Client, version: str) -> Client:
    return client.with_(version=version)


def since(version: str, minimum: str) -> bool:
    return tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))


# The round trip ------------------------------------------------------------------------------------------
def test_grant_settles_to_active_and_deny_removes_it(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.45")
    created = granted(c, share["id"], access_level="ro")
    assert created["share_id"] == share["id"]
    assert (created["access_type"], created["access_to"], created["access_level"]) == ("ip", "10.0.0.0/24", "ro")
    assert created["state"] == "queued_to_apply"  # the answer is written before the worker runs
    assert created["metadata"] == {} and created["access_key"] is None
    shown = rule(c, created["id"])
    assert shown["state"] == "active"
    assert shown["created_at"] == created["created_at"]
    assert rules_status(c, share["id"]) == "active"
    [listed] = rules_of(c, share["id"])
    assert listed["id"] == created["id"] and listed["state"] == "active"
    resp = deny(c, share["id"], created["id"])
    assert resp.status_code == 202 and resp.content == b""
    expect_fault(c.get(f"/share-access-rules/{created['id']}"), 404, f"Share access rule {created['id']} not found.")
    assert rules_of(c, share["id"]) == []


def test_absent_level_is_rw(client: Client, share: dict[str, Any]) -> None:
    assert granted(client, share["id"])["access_level"] == "rw"
    assert granted(client, share["id"], "user", "alice", access_level=None)["access_level"] == "rw"


def test_rules_of_every_type(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.45")
    for access_type, access_to in [("ip", "10.1.0.0/16"), ("ip", "192.168.1.7"), ("user", "bob.smith"),
                                   ("cert", "client.example.com"), ("cephx", "alice"), ("ip", "2001:db8::/64")]:
        granted(c, share["id"], access_type, access_to)
    listed = rules_of(c, share["id"])
    assert [(r["access_type"], r["access_to"]) for r in listed] == [
        ("ip", "10.1.0.0/16"), ("ip", "192.168.1.7"), ("user", "bob.smith"), ("cert", "client.example.com"),
        ("cephx", "alice"), ("ip", "2001:db8::/64")]
    assert {r["state"] for r in listed} == {"active"}
    assert {r["access_key"] for r in listed} == {None}  # no backend here makes cephx keys


# Spellings and versions ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "name"), [("2.0", "os-allow_access"), ("2.6", "os-allow_access"),
                                                ("2.7", "allow_access"), ("2.99", "allow_access")])
def test_grant_in_its_spelling(client: Client, share: dict[str, Any], version: str, name: str) -> None:
    c = at(client, version)
    other = "allow_access" if name.startswith("os-") else "os-allow_access"
    body = {"access_type": "user", "access_to": "someone"}
    expect_fault(c.post(f"/shares/{share['id']}/action", {other: body}), 404, GENERIC_404)
    resp = c.post(f"/shares/{share['id']}/action", {name: body})
    assert resp.status_code == 200, resp.text
    access_id = resp.json()["access"]["id"]
    deny_other = "deny_access" if name.startswith("os-") else "os-deny_access"
    deny_name = "os-deny_access" if name.startswith("os-") else "deny_access"
    expect_fault(c.post(f"/shares/{share['id']}/action", {deny_other: {"access_id": access_id}}), 404, GENERIC_404)
    assert c.post(f"/shares/{share['id']}/action", {deny_name: {"access_id": access_id}}).status_code == 202
    assert rules_of(client, share["id"]) == []


@pytest.mark.parametrize(("version", "name", "served"), [
    ("2.0", "os-access_list", True), ("2.6", "os-access_list", True), ("2.7", "os-access_list", False),
    ("2.6", "access_list", False), ("2.7", "access_list", True), ("2.44", "access_list", True),
    ("2.45", "access_list", False), ("2.99", "access_list", False), ("2.45", "os-access_list", False),
])
def test_legacy_list_in_its_range(client: Client, share: dict[str, Any], version: str, name: str,
                                  served: bool) -> None:
    created = granted(client, share["id"])
    resp = at(client, version).post(f"/shares/{share['id']}/action", {name: None})
    if not served:
        expect_fault(resp, 404, GENERIC_404)
        return
    assert resp.status_code == 200, resp.text
    assert [item["id"] for item in resp.json()["access_list"]] == [created["id"]]


def test_unknown_action_name_is_400(client: Client, share: dict[str, Any]) -> None:
    expect_fault(client.post(f"/shares/{share['id']}/action", {"allow_acces": {}}), 400,
                 "There is no such action: allow_acces")


def test_rules_api_starts_at_2_45(client: Client, share: dict[str, Any]) -> None:
    created = granted(client, share["id"])
    c = at(client, "2.44")
    expect_fault(c.get("/share-access-rules", params={"share_id": share["id"]}), 404, GENERIC_404)
    expect_fault(c.get(f"/share-access-rules/{created['id']}"), 404, GENERIC_404)
    expect_fault(c.put(f"/share-access-rules/{created['id']}/metadata", {"metadata": {"a": "b"}}), 404, GENERIC_404)
    expect_fault(c.delete(f"/share-access-rules/{created['id']}/metadata/a"), 404, GENERIC_404)
    expect_fault(at(client, "2.87").put(f"/share-access-rules/{created['id']}",
                                        {"update_access": {"access_level": "ro"}}), 404, GENERIC_404)


# Views by version ------------------------------------------------------------------------------------------
BASE = ["id", "access_level", "access_to", "access_type", "state"]
VIEW_KEYS = [
    ("2.0", BASE), ("2.20", BASE), ("2.21", [*BASE, "access_key"]), ("2.32", [*BASE, "access_key"]),
    ("2.33", [*BASE, "access_key", "created_at", "updated_at"]),
    ("2.44", [*BASE, "access_key", "created_at", "updated_at"]),
    ("2.45", [*BASE, "access_key", "created_at", "updated_at", "metadata"]),
    ("2.99", [*BASE, "access_key", "created_at", "updated_at", "metadata"]),
]


@pytest.mark.parametrize(("version", "keys"), VIEW_KEYS)
def test_keys_by_version(client: Client, share: dict[str, Any], version: str, keys: list[str]) -> None:
    c = at(client, version)
    created = granted(c, share["id"], "user", "someone", metadata={"k": "v"})
    assert list(created) == [keys[0], "share_id", *keys[1:]]
    granted(c, share["id"], "ip", "10.2.0.0/16")
    granted(c, share["id"], "cert", "a.example.com")
    items = rules_of(c, share["id"])
    # python-manilaclient builds one namedtuple from the first item's keys: every item has the same, in order
    assert [list(item) for item in items] == [keys] * 3
    if since(version, "2.45"):
        assert rule(c, created["id"])["metadata"] == {"k": "v"}
        assert list(rule(c, created["id"])) == [keys[0], "share_id", *keys[1:]]


def test_metadata_is_dropped_below_2_45(client: Client, share: dict[str, Any]) -> None:
    # below 2.45 the key is ignored, whatever it holds
    created = granted(at(client, "2.44"), share["id"], metadata={"": "not checked"})
    assert rule(at(client, "2.45"), created["id"])["metadata"] == {}


def test_states_before_2_28_are_the_shares(client: Client, share: dict[str, Any]) -> None:
    created = granted(at(client, "2.27"), share["id"])
    assert created["state"] == "new"  # the share is syncing until the worker runs
    [item] = rules_of(at(client, "2.27"), share["id"])
    assert item["state"] == "active"
    assert rules_of(at(client, "2.28"), share["id"])[0]["state"] == "active"
    assert granted(at(client, "2.28"), share["id"], "user", "someone")["state"] == "queued_to_apply"


@pytest.mark.parametrize(("version", "present"), [("2.9", False), ("2.10", True), ("2.27", True),
                                                  ("2.28", True), ("2.99", True)])
def test_share_shows_access_rules_status_from_2_10(client: Client, share: dict[str, Any], version: str,
                                                   present: bool) -> None:
    granted(client, share["id"])
    body = at(client, version).get(f"/shares/{share['id']}").json()["share"]
    assert ("access_rules_status" in body) is present
    if present:
        assert body["access_rules_status"] == "active"
    details = at(client, version).get("/shares/detail").json()["shares"]
    assert [("access_rules_status" in s) for s in details] == [present] * len(details)


# Grant checks, their messages and their order -----------------------------------------------------------------
GRANT_CASES = [
    # ip: a strict IPv4 network before 2.38, IPv4 or IPv6 from 2.38
    ("2.37", {"access_type": "ip", "access_to": "10.0.0.1/24"}, "10.0.0.1/24 has host bits set"),
    ("2.37", {"access_type": "ip", "access_to": "::1"}, "Expected 4 octets in '::1'"),
    ("2.37", {"access_type": "ip", "access_to": "foo"}, "Expected 4 octets in 'foo'"),
    ("2.37", {"access_type": "ip", "access_to": "10.0.0.0/33"}, "'33' is not a valid netmask"),
    ("2.38", {"access_type": "ip", "access_to": "foo"}, "'foo' does not appear to be an IPv4 or IPv6 network"),
    ("2.38", {"access_type": "ip", "access_to": "2001:db8::1/64"}, "2001:db8::1/64 has host bits set"),
    ("2.7", {"access_type": "ip", "access_to": ""}, "Address cannot be empty"),
    # user
    ("2.7", {"access_type": "user", "access_to": "abc"}, BAD_USER),
    ("2.7", {"access_type": "user", "access_to": "bad/name"}, BAD_USER),
    ("2.7", {"access_type": "user", "access_to": "u" * 256}, BAD_USER),
    ("2.7", {"access_type": "user", "access_to": "...."}, DOTS_USER),
    ("2.7", {"access_type": "user", "access_to": "    "}, DOTS_USER),
    # cert
    ("2.7", {"access_type": "cert", "access_to": ""}, BAD_CN),
    ("2.7", {"access_type": "cert", "access_to": "   "}, BAD_CN),
    ("2.7", {"access_type": "cert", "access_to": "c" * 65}, BAD_CN),
    # cephx from 2.13
    ("2.12", {"access_type": "cephx", "access_to": "alice"}, TYPES_3),
    ("2.13", {"access_type": "cephx", "access_to": ""}, "Ceph IDs may not be empty."),
    ("2.13", {"access_type": "cephx", "access_to": "al\u00efce"},
     "Ceph IDs must consist of ASCII printable characters."),
    ("2.13", {"access_type": "cephx", "access_to": "client.alice"}, "Ceph IDs may not contain periods."),
    ("2.13", {"access_type": "cephx", "access_to": "x" * 256},
     "Invalid input received: 'access_to' is longer than 255 characters."),
    # other types
    ("2.0", {"access_type": "nfs", "access_to": "x"}, TYPES_3),
    ("2.12", {"access_type": "nfs", "access_to": "x"}, TYPES_3),
    ("2.13", {"access_type": "nfs", "access_to": "x"}, TYPES_4),
    ("2.13", {"access_type": None, "access_to": "x"}, TYPES_4),
    # levels
    ("2.7", {"access_type": "ip", "access_to": "10.0.0.0/8", "access_level": "rx"},
     "Invalid access rule: Invalid share access level: rx."),
    ("2.7", {"access_type": "ip", "access_to": "10.0.0.0/8", "access_level": ""},
     "Invalid access rule: Invalid share access level: ."),
    # metadata from 2.45
    ("2.45", {"access_type": "ip", "access_to": "10.0.0.0/8", "metadata": {"": "v"}},
     "Metadata property key is blank."),
    ("2.45", {"access_type": "ip", "access_to": "10.0.0.0/8", "metadata": {"k" * 256: "v"}},
     "Metadata property key is greater than 255 characters."),
    ("2.45", {"access_type": "ip", "access_to": "10.0.0.0/8", "metadata": {"k": ""}},
     "Metadata property value is blank."),
    ("2.45", {"access_type": "ip", "access_to": "10.0.0.0/8", "metadata": {"k": "v" * 1024}},
     "Metadata property value is greater than 1023 characters."),
    ("2.45", {"access_type": "ip", "access_to": "10.0.0.0/8", "metadata": ["k"]},
     "Invalid input received: 'metadata' must be an object."),
    # fields missing or of the wrong type (Manila answered 500): 400 naming the field
    ("2.7", {"access_to": "10.0.0.0/8"}, "Invalid input received: 'access_type' must be given."),
    ("2.7", {"access_type": "ip"}, "Invalid input received: 'access_to' must be given."),
    ("2.7", {}, "Invalid input received: 'access_type' must be given."),
    ("2.7", {"access_type": "ip", "access_to": 10}, "Invalid input received: 'access_to' must be a string."),
    # locks (2.82)
    ("2.82", {"access_type": "ip", "access_to": "10.0.0.0/8", "lock_reason": "why"},
     "Lock reason can only be specified when locking the visibility or the deletion of an access rule."),
    ("2.82", {"access_type": "ip", "access_to": "10.0.0.0/8", "lock_deletion": "perhaps"},
     "Invalid input received: 'lock_deletion' must be a boolean."),
    ("2.82", {"access_type": "ip", "access_to": "10.0.0.0/8", "lock_visibility": True, "lock_reason": 5},
     "Invalid input received: 'lock_reason' must be a string."),
    ("2.82", {"access_type": "ip", "access_to": "10.0.0.0/8", "lock_deletion": True, "lock_reason": "r" * 1024},
     "Invalid input received: 'lock_reason' is longer than 1023 characters."),
    # several things wrong: the first check in Manila's order wins
    ("2.82", {"access_type": "nfs", "access_to": "x", "lock_reason": "why"},
     "Lock reason can only be specified when locking the visibility or the deletion of an access rule."),
    ("2.45", {"access_type": "nfs", "access_to": "x", "access_level": "rx", "metadata": {"": ""}}, TYPES_4),
    ("2.45", {"access_type": "ip", "access_to": "10.0.0.0/8", "access_level": "rx", "metadata": {"": ""}},
     "Invalid access rule: Invalid share access level: rx."),
    ("2.45", {"access_level": "rx"}, "Invalid input received: 'access_type' must be given."),
]


@pytest.mark.parametrize(("version", "body", "message"), GRANT_CASES)
def test_grant_checks(client: Client, share: dict[str, Any], version: str, body: dict[str, Any],
                      message: str) -> None:
    c = at(client, version)
    name = "allow_access" if since(version, "2.7") else "os-allow_access"
    expect_fault(c.post(f"/shares/{share['id']}/action", {name: body}), 400, message)
    assert rules_of(client, share["id"]) == []


@pytest.mark.parametrize(("version", "access_type", "access_to"), [
    ("2.38", "ip", "::1"), ("2.38", "ip", "::/0"), ("2.38", "ip", "2001:db8::/32"), ("2.0", "ip", "0.0.0.0/0"),
    ("2.0", "user", "abcd"), ("2.0", "user", "u" * 255), ("2.0", "user", "first.last"),
    ("2.0", "cert", "c" * 64), ("2.0", "cert", "  padded  "), ("2.13", "cephx", "alice-1"),
])
def test_valid_targets(client: Client, share: dict[str, Any], version: str, access_type: str,
                       access_to: str) -> None:
    created = granted(at(client, version), share["id"], access_type, access_to)
    assert created["access_to"] == access_to  # stored as given


def test_body_must_be_an_object(client: Client, share: dict[str, Any]) -> None:
    expect_fault(client.post(f"/shares/{share['id']}/action", {"allow_access": None}), 400,
                 "Invalid input received: 'allow_access' must be an object.")
    expect_fault(at(client, "2.6").post(f"/shares/{share['id']}/action", {"os-deny_access": "x"}), 400,
                 "Invalid input received: 'os-deny_access' must be an object.")


def test_locks_are_ignored_below_2_82(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.81")
    created = granted(c, share["id"], lock_reason="ignored", lock_deletion="not even a boolean")
    assert deny(c, share["id"], created["id"]).status_code == 202
    assert rules_of(c, share["id"]) == []


@pytest.mark.parametrize(("first", "second", "access_type"), [
    ("10.0.0.1", "10.0.0.1/32", "ip"), ("10.0.0.1/32", "10.0.0.1", "ip"), ("10.0.0.0/24", "10.0.0.0/24", "ip"),
    ("2001:db8::1", "2001:db8::1/128", "ip"), ("alice", "alice", "user"), ("a.example.com", "a.example.com", "cert"),
    ("alice", "alice", "cephx"),
])
def test_duplicates(client: Client, share: dict[str, Any], first: str, second: str, access_type: str) -> None:
    c = at(client, "2.45")
    granted(c, share["id"], access_type, first)
    expect_fault(grant(c, share["id"], access_type, second), 400, f"Share access {access_type}:{second} exists.")
    # the same target under another type, or another network, is another rule
    if access_type == "ip":
        granted(c, share["id"], "ip", "10.9.0.0/16")
    else:
        granted(c, share["id"], "user" if access_type != "user" else "cephx", first)
    assert len(rules_of(c, share["id"])) == 2


def test_duplicate_is_checked_before_the_share_state(client: Client, share: dict[str, Any]) -> None:
    granted(client, share["id"])
    reset(client, "shares", share["id"], "migrating")
    expect_fault(grant(client, share["id"]), 400, "Share access ip:10.0.0.0/24 exists.")
    expect_fault(grant(client, share["id"], "user", "newcomer"), 400, CANNOT_APPLY)


# Share states ---------------------------------------------------------------------------------------------
# (extending and shrinking, which reset_status cannot set, are in test_access_states.py)
@pytest.mark.parametrize("status", ["creating", "deleting", "migrating", "migrating_to"])
def test_no_rule_changes_while_the_share_is_busy(client: Client, share: dict[str, Any], status: str) -> None:
    created = granted(client, share["id"])
    reset(client, "shares", share["id"], status)
    for version in ("2.7", "2.73", "2.74", "2.99"):
        c = at(client, version)
        expect_fault(grant(c, share["id"], "user", "newcomer"), 400, CANNOT_APPLY)
        expect_fault(deny(c, share["id"], created["id"]), 400, CANNOT_DENY)
    reset(client, "shares", share["id"], "available")
    assert deny(client, share["id"], created["id"]).status_code == 202


def test_share_in_error_accepts_rule_changes_from_2_74(client: Client, share: dict[str, Any]) -> None:
    created = granted(client, share["id"])
    reset(client, "shares", share["id"], "error")
    expect_fault(grant(at(client, "2.73"), share["id"], "user", "newcomer"), 400, CANNOT_APPLY)
    expect_fault(deny(at(client, "2.73"), share["id"], created["id"]), 400, CANNOT_DENY)
    other = granted(at(client, "2.74"), share["id"], "user", "newcomer")
    assert rule(at(client, "2.74"), other["id"])["state"] == "active"
    assert deny(at(client, "2.74"), share["id"], created["id"]).status_code == 202
    assert [r["id"] for r in rules_of(at(client, "2.74"), share["id"])] == [other["id"]]


def test_error_deleting_is_not_busy(client: Client, share: dict[str, Any]) -> None:
    # Manila refuses only transitional statuses (and, before 2.74, error)
    reset(client, "shares", share["id"], "error_deleting")
    assert granted(at(client, "2.73"), share["id"])["state"] == "queued_to_apply"


def test_deleting_a_share_takes_its_rules(client: Client, share: dict[str, Any]) -> None:
    c = at(client, "2.45")
    created = [granted(c, share["id"], "user", f"user{n}") for n in range(3)]
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    client.wait_gone(f"/shares/{share['id']}")
    for item in created:
        expect_fault(c.get(f"/share-access-rules/{item['id']}"), 404, f"Share access rule {item['id']} not found.")
    expect_fault(c.get("/share-access-rules", params={"share_id": share["id"]}), 400,
                 f"Share {share['id']} not found.")


# Revoke ---------------------------------------------------------------------------------------------------
def test_deny_errors(client: Client, share: dict[str, Any]) -> None:
    created = granted(client, share["id"])
    other_share = client.create_share()
    expect_fault(deny(client, share["id"], UNKNOWN), 404, "Resource could not be found.")
    expect_fault(deny(client, other_share["id"], created["id"]), 404, "Resource could not be found.")
    expect_fault(deny(client, UNKNOWN, created["id"]), 404, GENERIC_404)
    expect_fault(client.post(f"/shares/{share['id']}/action", {"deny_access": {}}), 400,
                 "Invalid input received: 'access_id' must be given.")
    expect_fault(client.post(f"/shares/{share['id']}/action", {"deny_access": {"access_id": 7}}), 400,
                 "Invalid input received: 'access_id' must be a string.")
    # a missing id is a 400 even for an unknown share (Manila read it first)
    expect_fault(client.post(f"/shares/{UNKNOWN}/action", {"deny_access": {}}), 400,
                 "Invalid input received: 'access_id' must be given.")
    assert deny(client, share["id"], created["id"]).status_code == 202
    expect_fault(deny(client, share["id"], created["id"]), 404, "Resource could not be found.")


def test_unknown_share(client: Client) -> None:
    expect_fault(grant(client, UNKNOWN), 404, GENERIC_404)
    # the share is looked up before the body's values are checked
    expect_fault(grant(client, UNKNOWN, "nfs", "x", access_level="bad"), 404, GENERIC_404)
    expect_fault(legacy_list(client, UNKNOWN), 404, GENERIC_404)
    expect_fault(legacy_list(at(client, "2.0"), UNKNOWN), 404, GENERIC_404)


# Projects (decision 1) ------------------------------------------------------------------------------------
@pytest.mark.parametrize("public", [False, True])
def test_another_projects_rules_are_not_found(server: Server, client: Client, public: bool) -> None:
    share = client.create_share(is_public=public)
    created = granted(at(client, "2.45"), share["id"], metadata={"k": "v"})
    for stranger in (server.client(user="mallory"), server.client(user="admin2")):
        s = at(stranger, "2.88")
        expect_fault(grant(s, share["id"], "user", "mallory"), 404, GENERIC_404)
        expect_fault(deny(s, share["id"], created["id"]), 404, GENERIC_404)
        expect_fault(legacy_list(at(stranger, "2.44"), share["id"]), 404, GENERIC_404)
        expect_fault(s.get("/share-access-rules", params={"share_id": share["id"]}), 400,
                     f"Share {share['id']} not found.")
        expect_fault(s.get(f"/share-access-rules/{created['id']}"), 404,
                     f"Share access rule {created['id']} not found.")
        expect_fault(s.put(f"/share-access-rules/{created['id']}", {"update_access": {"access_level": "ro"}}), 404,
                     f"Share access rule {created['id']} not found.")
        expect_fault(s.put(f"/share-access-rules/{created['id']}/metadata", {"metadata": {"k": "x"}}), 404,
                     "Resource could not be found.")
        expect_fault(s.delete(f"/share-access-rules/{created['id']}/metadata/k"), 404, "Resource could not be found.")
    after = rule(at(client, "2.45"), created["id"])
    assert (after["access_level"], after["metadata"], after["state"]) == ("rw", {"k": "v"}, "active")


def test_members_of_the_project_manage_its_rules(client: Client, member: Client) -> None:
    share = client.create_share()
    m = at(member, "2.45")
    created = granted(m, share["id"], "user", "alice")
    assert [r["id"] for r in rules_of(m, share["id"])] == [created["id"]]
    assert rule(at(client, "2.45"), created["id"])["state"] == "active"
    assert deny(m, share["id"], created["id"]).status_code == 202


def test_pools_say_rules_are_not_enforced(client: Client) -> None:
    pools = client.get("/scheduler-stats/pools/detail").json()["pools"]
    assert pools and all(p["capabilities"]["lockstep:access_enforced"] is False for p in pools)
