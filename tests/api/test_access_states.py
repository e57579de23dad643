"""Access rule states and the share's `access_rules_status` as the worker settles them: queued states seen
before the worker runs, one update_access per share with the whole rule set, a rule the backend refuses
going to `error` without holding up the others, a failed backend, and runs repeated after a crash.

Each fixture here is an in-process server with its own database and fake-backend options.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from lockstep.adapters.drivers.fake import FakeDriver
from lockstep.service.storage import AccessResult, AccessRuleSpec, ShareSpec
from tests.api.access_helpers import deny, grant, granted, rule, rules_of, rules_status
from tests.api.helpers import expect_fault, reset
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

REFUSED = "10.9.9.9"
RULES_IN_ERROR = ("Access rules cannot be added while the share or any of its replicas or migration copies has "
                  "its access_rules_status set to error. Deny any rules in error state and try again.")
CANNOT_APPLY = ("New access rules cannot be applied while the share or any of its replicas or migration copies "
                "lacks a valid host or is in an invalid state.")


def fake_backend(**options: str) -> str:
    lines = ["[backend.default]", 'driver = "fake"'] + [f'{k} = "{v}"' for k, v in options.items()]
    return "\n".join(lines) + "\n"


def _server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str, toml: str, *,
            settle_after_requests: bool = True, **env: str) -> Iterator[InProcessServer]:
    tmp = tmp_path_factory.mktemp(f"{name}-{request.param}")
    with configured_server(tmp, request.param, toml, settle_after_requests=settle_after_requests, **env) as srv:
        yield srv


@pytest.fixture(scope="module", params=DATABASES)
def held(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Its worker runs only when a test waits or settles, so queued states can be seen."""
    yield from _server(request, tmp_path_factory, "held", fake_backend(fail_access=REFUSED),
                       settle_after_requests=False)


@pytest.fixture(scope="module", params=DATABASES)
def refusing(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Its backend refuses rules for one target (the others apply)."""
    yield from _server(request, tmp_path_factory, "refusing", fake_backend(fail_access=REFUSED))


@pytest.fixture(scope="module", params=DATABASES)
def broken(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Its backend's update_access fails as a whole; the worker gives up after one attempt."""
    yield from _server(request, tmp_path_factory, "broken", fake_backend(fail="update_access"),
                       LOCKSTEP_MAX_ATTEMPTS="1")


def fake(server: InProcessServer) -> FakeDriver:
    driver = server.drivers["lockstep@default"]
    assert isinstance(driver, FakeDriver)
    return driver


def at(client: Client, version: str) -> Client:
    return client.with_(version=version)


def settled_share(server: InProcessServer, client: Client) -> dict[str, Any]:
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    assert resp.status_code == 200, resp.text
    return client.wait(f"/shares/{resp.json()['share']['id']}", "share")


def state(client: Client, access_id: str) -> str:
    return str(rule(at(client, "2.45"), access_id)["state"])


# Queued states -------------------------------------------------------------------------------------------
def test_a_grant_is_queued_until_the_worker_applies_it(held: InProcessServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    client = held.client()
    share = settled_share(held, client)
    created = granted(at(client, "2.45"), share["id"])
    assert state(client, created["id"]) == "queued_to_apply"
    assert rules_status(at(client, "2.28"), share["id"]) == "syncing"
    for version in ("2.10", "2.27"):
        assert rules_status(at(client, version), share["id"]) == "out_of_sync"
    assert rules_status(at(client, "2.9"), share["id"]) is None
    [old] = rules_of(at(client, "2.27"), share["id"])
    assert old["state"] == "new"
    seen: list[str] = []
    real = fake(held).update_access

    def looking(share_spec: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        seen.append(state(client, created["id"]))
        return dict(real(share_spec, rules))

    monkeypatch.setattr(fake(held), "update_access", looking)
    held.settle()
    assert seen == ["applying"]
    assert state(client, created["id"]) == "active"
    assert rules_status(at(client, "2.27"), share["id"]) == "active"
    assert rules_of(at(client, "2.27"), share["id"])[0]["state"] == "active"


def test_one_update_access_per_share_with_the_whole_set(held: InProcessServer) -> None:
    client = held.client()
    share = settled_share(held, client)
    first = granted(client, share["id"], "user", "first")
    held.settle()
    calls = len([c for c in fake(held).calls if c == "update_access"])
    more = [granted(client, share["id"], "user", f"user{n}") for n in range(3)]
    assert deny(client, share["id"], first["id"]).status_code == 202
    assert state(client, first["id"]) == "queued_to_deny"
    held.settle()
    assert len([c for c in fake(held).calls if c == "update_access"]) == calls + 1
    # the backend was told the whole set: the three new rules, not the denied one
    assert fake(held).access[share["id"]] == {r["id"]: "rw" for r in more}
    assert [r["id"] for r in rules_of(at(client, "2.45"), share["id"])] == [r["id"] for r in more]
    assert held.settle() == 0  # nothing left to do


def test_a_rule_being_denied_still_counts_as_a_duplicate(held: InProcessServer) -> None:
    client = held.client()
    share = settled_share(held, client)
    created = granted(client, share["id"], "ip", "10.0.0.1")
    held.settle()
    assert deny(client, share["id"], created["id"]).status_code == 202
    assert deny(client, share["id"], created["id"]).status_code == 202  # again: still the same deny
    expect_fault(grant(client, share["id"], "ip", "10.0.0.1/32"), 400, "Share access ip:10.0.0.1/32 exists.")
    held.settle()
    assert granted(client, share["id"], "ip", "10.0.0.1/32")["state"] == "queued_to_apply"


def test_deny_of_a_rule_not_applied_yet(held: InProcessServer) -> None:
    client = held.client()
    share = settled_share(held, client)
    created = granted(client, share["id"], "user", "fleeting")
    assert deny(client, share["id"], created["id"]).status_code == 202
    held.settle()
    assert rules_of(client, share["id"]) == []
    assert rules_status(at(client, "2.28"), share["id"]) == "active"


def test_level_update_is_queued_then_applied(held: InProcessServer) -> None:
    client = at(held.client(), "2.88")
    share = settled_share(held, client)
    created = granted(client, share["id"])
    held.settle()
    resp = client.put(f"/share-access-rules/{created['id']}", {"update_access": {"access_level": "ro"}})
    assert resp.json()["access"]["state"] == "queued_to_update"
    assert (state(client, created["id"]), rules_status(client, share["id"])) == ("queued_to_update", "syncing")
    held.settle()
    assert state(client, created["id"]) == "active"
    assert fake(held).access[share["id"]] == {created["id"]: "ro"}
    # a rule being denied keeps its level
    assert deny(client, share["id"], created["id"]).status_code == 202
    expect_fault(client.put(f"/share-access-rules/{created['id']}", {"update_access": {"access_level": "rw"}}), 400,
                 f"Access rule {created['id']} is being denied; its level cannot change.")
    held.settle()


def test_changes_made_while_the_backend_works_are_not_lost(held: InProcessServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A revoke or a level change that lands while the driver applies a rule wins over that run's result."""
    client = at(held.client(), "2.88")
    share = settled_share(held, client)
    revoked = granted(client, share["id"], "user", "revoked")
    changed = granted(client, share["id"], "user", "changed")
    real = fake(held).update_access
    second_run: list[tuple[str, str]] = []

    def meanwhile(share_spec: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        result = dict(real(share_spec, rules))
        if len(rules) == 2:
            assert deny(client, share["id"], revoked["id"]).status_code == 202
            resp = client.put(f"/share-access-rules/{changed['id']}", {"update_access": {"access_level": "ro"}})
            assert resp.status_code == 200
        else:
            second_run.append((state(client, revoked["id"]), state(client, changed["id"])))
        return result

    monkeypatch.setattr(fake(held), "update_access", meanwhile)
    # the run that started first, then the one the changes asked for; the first one's results did not
    # overwrite the changes
    assert held.settle() == 2
    assert second_run == [("denying", "updating")]
    assert [(r["id"], r["access_level"], r["state"]) for r in rules_of(client, share["id"])] == [
        (changed["id"], "ro", "active")]
    assert fake(held).access[share["id"]] == {changed["id"]: "ro"}


def test_a_run_repeated_after_a_crash_finishes_the_rules(held: InProcessServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    client = held.client()
    share = settled_share(held, client)
    created = granted(client, share["id"], "user", "patient")
    real = fake(held).update_access
    calls: list[int] = []

    def crashing(share_spec: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        result = dict(real(share_spec, rules))
        calls.append(len(rules))
        if len(calls) == 1:
            raise RuntimeError("worker died after the backend applied the rules")
        return result

    monkeypatch.setattr(fake(held), "update_access", crashing)
    held.settle()
    assert state(client, created["id"]) == "applying"  # taken, not recorded
    client.until(lambda: state(client, created["id"]) == "active", lambda: "the retried run never finished")
    assert calls == [1, 1]
    assert fake(held).access[share["id"]] == {created["id"]: "rw"}


def test_no_rules_while_the_share_is_being_created_or_resized(held: InProcessServer) -> None:
    client = held.client()
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    share = resp.json()["share"]
    expect_fault(grant(client, share["id"]), 400, CANNOT_APPLY)
    held.settle()
    created = granted(client, share["id"])
    held.settle()
    for action in ({"extend": {"new_size": 2}}, {"shrink": {"new_size": 1}}):
        assert client.post(f"/shares/{share['id']}/action", action).status_code == 202
        expect_fault(grant(client, share["id"], "user", "newcomer"), 400, CANNOT_APPLY)
        expect_fault(deny(client, share["id"], created["id"]), 400,
                     "Access rules cannot be denied while the share, any of its replicas or migration copies lacks "
                     "a valid host or is in an invalid state.")
        held.settle()
    assert state(client, created["id"]) == "active"


# A rule the backend refuses ---------------------------------------------------------------------------------
def test_a_refused_rule_goes_to_error_without_blocking_the_others(refusing: InProcessServer) -> None:
    client = at(refusing.client(), "2.45")
    share = settled_share(refusing, client)
    good = granted(client, share["id"], "ip", "10.1.0.0/16")
    bad = granted(client, share["id"], "ip", REFUSED)
    after = granted(client, share["id"], "ip", "10.2.0.0/16")
    assert [(r["id"], r["state"]) for r in rules_of(client, share["id"])] == [
        (good["id"], "active"), (bad["id"], "error"), (after["id"], "active")]
    # the backend enforces the rules that applied, and not the refused one
    assert fake(refusing).access[share["id"]] == {good["id"]: "rw", after["id"]: "rw"}
    for version, shown in (("2.10", "error"), ("2.27", "error"), ("2.28", "error"), ("2.99", "error")):
        assert rules_status(at(client, version), share["id"]) == shown
    # below 2.28 each rule shows the share's aggregate; no rule can be added there
    assert {r["state"] for r in rules_of(at(client, "2.27"), share["id"])} == {"error"}
    expect_fault(grant(at(client, "2.27"), share["id"], "user", "newcomer"), 400, RULES_IN_ERROR)
    expect_fault(grant(at(client, "2.0"), share["id"], "user", "newcomer"), 400, RULES_IN_ERROR)
    # from 2.28 rules are added while another is in error, and the error stays
    newcomer = granted(at(client, "2.28"), share["id"], "user", "newcomer")
    assert newcomer["state"] == "queued_to_apply"
    assert state(client, newcomer["id"]) == "active"
    assert state(client, bad["id"]) == "error"
    # a rule in error is cleared by denying it
    assert deny(client, share["id"], bad["id"]).status_code == 202
    assert [r["state"] for r in rules_of(client, share["id"])] == ["active"] * 3
    assert rules_status(at(client, "2.28"), share["id"]) == "active"
    assert rules_status(at(client, "2.27"), share["id"]) == "active"


def test_updating_a_rule_in_error_tries_it_again(refusing: InProcessServer) -> None:
    client = at(refusing.client(), "2.88")
    share = settled_share(refusing, client)
    bad = granted(client, share["id"], "ip", REFUSED)
    assert state(client, bad["id"]) == "error"
    assert client.put(f"/share-access-rules/{bad['id']}", {"update_access": {"access_level": "ro"}}).status_code == 200
    assert state(client, bad["id"]) == "error"  # refused again
    assert (rule(client, bad["id"])["access_level"]) == "ro"


def test_a_share_with_rules_in_error_can_be_deleted(refusing: InProcessServer) -> None:
    client = refusing.client()
    share = settled_share(refusing, client)
    granted(client, share["id"], "ip", REFUSED)
    granted(client, share["id"], "ip", "10.3.0.0/16")
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    client.wait_gone(f"/shares/{share['id']}")
    assert share["id"] not in fake(refusing).access


# A failed backend --------------------------------------------------------------------------------------
def test_a_failed_backend_fails_every_rule_it_was_given(broken: InProcessServer) -> None:
    client = at(broken.client(), "2.45")
    share = settled_share(broken, client)
    first = granted(client, share["id"], "user", "first")
    assert state(client, first["id"]) == "error"
    second = granted(client, share["id"], "user", "second")
    assert state(client, second["id"]) == "error"
    assert rules_status(client, share["id"]) == "error"
    # revoking asks the backend again; while it fails the rule stays, in error (it may still be enforced)
    assert deny(client, share["id"], first["id"]).status_code == 202
    assert state(client, first["id"]) == "error"
    # the share can still go, and takes its rules with it
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    client.wait_gone(f"/shares/{share['id']}")


def test_the_worker_giving_up_leaves_no_rule_pending(broken: InProcessServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    client = at(broken.client(), "2.45")
    share = settled_share(broken, client)

    def unexpected(share_spec: ShareSpec, rules: Sequence[AccessRuleSpec]) -> Mapping[str, AccessResult]:
        raise RuntimeError("not a DriverError: the worker retries, then gives up")

    monkeypatch.setattr(fake(broken), "update_access", unexpected)
    created = granted(client, share["id"], "user", "doomed")
    assert state(client, created["id"]) == "error"


def test_reset_status_leaves_rules_alone(refusing: InProcessServer) -> None:
    client = at(refusing.client(), "2.45")
    share = settled_share(refusing, client)
    created = granted(client, share["id"], "user", "steady")
    reset(client, "shares", share["id"], "error")
    reset(client, "shares", share["id"], "available")
    assert state(client, created["id"]) == "active"
    assert rules_status(client, share["id"]) == "active"
