"""/messages (2.37): every asynchronous failure leaves a user message saying what failed and why; the
messages' view, filters, paging, scoping and deletion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.service.storage import DriverError
from lockstep.service.worker import Worker
from tests.api.helpers import DATE, REQUEST_ID, create_type, expect_fault, reset, unknown_id
from tests.api.test_cg_failures import fake_backend
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server, in_process_server, migrated_database

MESSAGE_KEYS = {"id", "project_id", "action_id", "detail_id", "message_level", "created_at", "expires_at",
                "request_id", "links", "resource_type", "resource_id", "user_message"}
DRIVER_FAILURES = ("delete_share,extend_share,shrink_share,create_snapshot,delete_snapshot,create_share_from_snapshot,"
                   "create_cgsnapshot,create_group_from_cgsnapshot,delete_group")


@pytest.fixture(scope="module", params=DATABASES)
def failing(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Shares and groups can be created; most other driver operations fail."""
    with configured_server(tmp_path_factory.mktemp(f"msg-failing-{request.param}"), request.param,
                           fake_backend(fail=DRIVER_FAILURES)) as srv:
        yield srv


@pytest.fixture(scope="module", params=DATABASES)
def brittle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Share creation fails in the driver, and the worker gives up on an operation after one unexpected error."""
    with configured_server(tmp_path_factory.mktemp(f"msg-brittle-{request.param}"), request.param,
                           fake_backend(fail="create_share"), LOCKSTEP_MAX_ATTEMPTS="1") as srv:
        yield srv


def messages_of(client: Client, resource_id: str, **params: str) -> list[dict[str, Any]]:
    resp = client.with_(version="2.37").get("/messages", params={"resource_id": resource_id, **params})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["messages"])


def only_message(client: Client, resource_id: str) -> dict[str, Any]:
    found = messages_of(client, resource_id)
    assert len(found) == 1, found
    return found[0]


def unplaceable_share(client: Client) -> tuple[dict[str, Any], str]:
    """A share no pool can take (its type names a backend that does not exist): it goes to error at placement.
    Returns the share and the id of the request that created it."""
    nowhere = create_type(client, share_backend_name="nowhere")
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS", "share_type": nowhere["id"]}})
    assert resp.status_code == 200, resp.text
    share = client.wait(f"/shares/{resp.json()['share']['id']}", "share")
    assert share["status"] == "error"
    return share, resp.headers["x-compute-request-id"]


# -- the view and the placement failure ---------------------------------------------------------------------
def test_a_share_that_could_not_be_placed_says_why(client: Client, member: Client) -> None:
    share, request_id = unplaceable_share(client)
    message = only_message(member, share["id"])
    assert set(message) == MESSAGE_KEYS
    assert message["user_message"] == (
        f"allocate host: No storage could be allocated for share {share['id']}: no pool matches the share type's "
        "extra specs. It is in status 'error'. Create it again with a different size or share type, or ask an "
        "administrator to add capacity or a backend that suits the type.")
    assert (message["action_id"], message["detail_id"], message["message_level"]) == ("001", "002", "ERROR")
    assert (message["resource_type"], message["project_id"]) == ("SHARE", client.project)
    assert message["request_id"] == request_id and REQUEST_ID.match(request_id)
    assert DATE.match(message["created_at"]) and DATE.match(message["expires_at"])
    created, expires = (dt.datetime.fromisoformat(message[k]) for k in ("created_at", "expires_at"))
    assert expires - created == dt.timedelta(days=30)
    assert message["links"][0]["href"].endswith(f"/v2/{client.project}/messages/{message['id']}")
    shown = member.with_(version="2.37").get(f"/messages/{message['id']}")
    assert shown.status_code == 200 and shown.json() == {"message": message}


def test_a_group_that_could_not_be_placed_says_why(client: Client) -> None:
    nowhere = create_type(client, share_backend_name="nowhere")
    group = client.create_group(share_types=[nowhere["id"]])
    assert group["status"] == "error"
    message = only_message(client, group["id"])
    assert message["resource_type"] == "SHARE_GROUP"
    assert message["user_message"] == (
        f"allocate host: No storage could be allocated for share group {group['id']}: no backend with "
        "consistency_group_support serves these share types. It is in status 'error'. Create it again with other "
        "share types, or ask an administrator to add a backend that supports share groups of these types.")


# -- show, delete, scoping, versions ---------------------------------------------------------------------
def test_delete_and_scoping(server: InProcessServer, client: Client, member: Client) -> None:
    share, _ = unplaceable_share(client)
    message_id = only_message(member, share["id"])["id"]
    stranger = server.client(user="bob")  # a member of another project
    assert messages_of(stranger, share["id"]) == []
    missing = f"Message {message_id} could not be found."
    expect_fault(stranger.with_(version="2.37").get(f"/messages/{message_id}"), 404, missing)
    expect_fault(stranger.with_(version="2.37").delete(f"/messages/{message_id}"), 404, missing)
    assert len(messages_of(server.client(), share["id"])) == 1  # an admin of any project sees it (as in Manila)
    deleted = member.with_(version="2.37").delete(f"/messages/{message_id}")
    assert deleted.status_code == 204 and deleted.content == b""
    expect_fault(member.with_(version="2.37").get(f"/messages/{message_id}"), 404, missing)
    assert messages_of(member, share["id"]) == []


def test_messages_need_2_37(member: Client) -> None:
    expect_fault(member.with_(version="2.36").get("/messages"), 404)
    expect_fault(member.with_(version="2.36").get(f"/messages/{unknown_id()}"), 404)


# -- filters, sorting, paging -----------------------------------------------------------------------------
def test_filters_sort_and_paging(server: InProcessServer, client: Client) -> None:
    member = server.client(user="alice")  # a project of its own: exactly these messages
    nowhere = create_type(client, share_backend_name="nowhere")
    shares = []
    for _ in range(3):
        resp = member.post("/shares", {"share": {"size": 1, "share_proto": "NFS", "share_type": nowhere["id"]}})
        shares.append((resp.json()["share"]["id"], resp.headers["x-compute-request-id"]))
    group = member.create_group(share_types=[nowhere["id"]])
    at = member.with_(version="2.37")

    def ids(**params: str) -> list[str]:
        resp = at.get("/messages", params=params)
        assert resp.status_code == 200, resp.text
        return [m["resource_id"] for m in resp.json()["messages"]]

    share_ids = [s[0] for s in shares]
    assert ids() == [group["id"], *reversed(share_ids)]  # newest first
    assert ids(sort_dir="asc") == [*share_ids, group["id"]]
    assert ids(sort_key="resource_type", sort_dir="asc")[-1] == group["id"]
    assert ids(resource_type="SHARE_GROUP") == [group["id"]]
    assert ids(request_id=shares[1][1]) == [share_ids[1]]
    assert ids(action_id="001", detail_id="002", message_level="ERROR") == [group["id"], *reversed(share_ids)]
    assert ids(action_id="002") == []
    assert ids(resource_id=share_ids[0]) == [share_ids[0]]
    assert ids(limit="2", offset="1", sort_dir="asc") == share_ids[1:]
    first = at.get("/messages", params={"limit": "2", "sort_dir": "asc"}).json()
    assert [m["resource_id"] for m in first["messages"]] == share_ids[:2]
    nxt = first["messages_links"][0]
    assert nxt["rel"] == "next" and f"marker={first['messages'][-1]['id']}" in nxt["href"]
    rest = member.http.get(nxt["href"], headers={"X-OpenStack-Manila-API-Version": "2.37"}).json()
    assert [m["resource_id"] for m in rest["messages"]] == [share_ids[2], group["id"]]
    expect_fault(at.get("/messages", params={"sort_key": "user"}), 400,
                 "Invalid input received: Invalid sort key user.")


def test_time_filters_from_2_52(server: InProcessServer, client: Client) -> None:
    member = server.client(user="carol")
    nowhere = create_type(client, share_backend_name="nowhere")
    for _ in range(2):
        member.post("/shares", {"share": {"size": 1, "share_proto": "NFS", "share_type": nowhere["id"]}})
    found = member.with_(version="2.52").get("/messages", params={"sort_dir": "asc"}).json()["messages"]
    first, second = (dt.datetime.fromisoformat(m["created_at"]) for m in found)
    at = member.with_(version="2.52")

    def ids(**params: str) -> list[str]:
        return [m["id"] for m in at.get("/messages", params={"sort_dir": "asc", **params}).json()["messages"]]

    assert ids(created_since=second.isoformat()) == [found[1]["id"]]  # inclusive
    assert ids(created_before=first.isoformat()) == [found[0]["id"]]  # inclusive
    assert ids(created_since=(second + dt.timedelta(microseconds=1)).isoformat()) == []
    assert ids(created_since=first.isoformat() + "+00:00", created_before=second.isoformat() + "Z") == \
        [m["id"] for m in found]
    expect_fault(at.get("/messages", params={"created_since": "yesterday"}), 400,
                 "Invalid value specified for the query key: created_since")
    # before 2.52 the time filters are not filters
    older = member.with_(version="2.51").get("/messages", params={"created_since": "yesterday"})
    assert len(older.json()["messages"]) == 2


# -- driver failures ----------------------------------------------------------------------------------------
def test_driver_failures_on_shares(failing: InProcessServer) -> None:
    client = failing.client()
    share = client.create_share(size=2)
    sid = share["id"]
    assert client.post(f"/shares/{sid}/action", {"extend": {"new_size": 3}}).status_code == 202
    assert client.wait(f"/shares/{sid}", "share", ("extending_error",))["size"] == 2
    extend = only_message(client, sid)
    assert (extend["action_id"], extend["detail_id"]) == ("008", "015")
    assert extend["user_message"] == (
        f"extend: The storage backend failed to extend share {sid} from 2 GiB to 3 GiB; it is in status "
        "'extending_error'. It keeps its former size. An administrator must reset its status to 'available' "
        "before it can be extended again.")
    reset(client, "shares", sid, "available")
    assert client.post(f"/shares/{sid}/action", {"shrink": {"new_size": 1}}).status_code == 202
    client.wait(f"/shares/{sid}", "share", ("shrinking_possible_data_loss_error",))
    shrink = messages_of(client, sid, action_id="009")
    assert [m["detail_id"] for m in shrink] == ["018"]
    assert shrink[0]["user_message"].startswith(
        f"shrink: The storage backend failed to shrink share {sid} from 2 GiB to 1 GiB; it is in status "
        "'shrinking_possible_data_loss_error'. It keeps its former size;")
    reset(client, "shares", sid, "available")
    assert client.delete(f"/shares/{sid}").status_code == 202
    client.wait(f"/shares/{sid}", "share", ("error_deleting",))
    delete = messages_of(client, sid, action_id="007")
    assert delete[0]["user_message"] == (
        f"delete: The storage backend failed to delete share {sid}; it is in status 'error_deleting'. It still "
        "exists on the backend. An administrator can reset its status to 'error' and delete it again, or "
        "force-delete it.")


def test_driver_failures_on_snapshots(failing: InProcessServer) -> None:
    client = failing.client()
    share = client.create_share()
    resp = client.post("/snapshots", {"snapshot": {"share_id": share["id"]}})
    snapshot = client.wait(f"/snapshots/{resp.json()['snapshot']['id']}", "snapshot")
    assert snapshot["status"] == "error"
    create = only_message(client, snapshot["id"])
    assert (create["resource_type"], create["action_id"], create["detail_id"]) == ("SHARE_SNAPSHOT", "002", "001")
    assert create["request_id"] == resp.headers["x-compute-request-id"]
    assert create["user_message"] == (
        f"create: The storage backend failed to create snapshot {snapshot['id']}; it is in status 'error'. Delete "
        "it and create it again; if that fails too, ask an administrator, who can find the backend's error in "
        "the worker's log.")
    reset(client, "snapshots", snapshot["id"], "available")
    clone = client.create_share(snapshot_id=snapshot["id"])
    assert clone["status"] == "error"
    from_snapshot = only_message(client, clone["id"])
    assert from_snapshot["detail_id"] == "017"
    assert from_snapshot["user_message"].startswith(
        f"create: The storage backend failed to create share {clone['id']} from snapshot {snapshot['id']}; it is "
        "in status 'error'.")
    assert client.delete(f"/snapshots/{snapshot['id']}").status_code == 202
    client.wait(f"/snapshots/{snapshot['id']}", "snapshot", ("error_deleting",))
    assert [m["action_id"] for m in messages_of(client, snapshot["id"], sort_dir="asc")] == ["002", "007"]


def test_driver_failures_on_groups(failing: InProcessServer) -> None:
    client = failing.client()
    group = client.create_group()
    for _ in range(2):
        client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    assert cgsnapshot["status"] == "error"
    cut = only_message(client, cgsnapshot["id"])
    assert cut["resource_type"] == "SHARE_GROUP_SNAPSHOT"
    assert cut["user_message"].startswith(
        f"create: The storage backend failed to take share group snapshot {cgsnapshot['id']}; it is in status "
        "'error'.")
    reset(client, "cgsnapshots", cgsnapshot["id"], "available")
    resp = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cgsnapshot["id"]}})
    clone = client.wait(f"/consistency-groups/{resp.json()['consistency_group']['id']}", "consistency_group")
    assert clone["status"] == "error"
    assert only_message(client, clone["id"])["user_message"] == (
        f"create: The storage backend failed to create share group {clone['id']}; it is in status 'error'. Its "
        "new shares are in status 'error' too: delete them (naming the group), then the group, and create it "
        "again.")
    shares = client.get("/shares/detail", params={"consistency_group_id": clone["id"]}).json()["shares"]
    assert len(shares) == 2
    for share in shares:
        message = only_message(client, share["id"])
        assert message["request_id"] == resp.headers["x-compute-request-id"]
        assert message["user_message"] == (
            f"create: Share {share['id']} was to be created in share group {clone['id']} from share group snapshot "
            f"{cgsnapshot['id']}, and the group's creation failed; it is in status 'error'. Delete it (naming its "
            "group) and create the group again.")
    empty = client.create_group()
    assert client.delete(f"/consistency-groups/{empty['id']}").status_code == 202
    client.wait(f"/consistency-groups/{empty['id']}", "consistency_group", ("error",))
    assert only_message(client, empty["id"])["action_id"] == "007"


def test_a_failed_create_names_its_request(brittle: InProcessServer) -> None:
    client = brittle.client()
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    share = client.wait(f"/shares/{resp.json()['share']['id']}", "share")
    assert share["status"] == "error"
    message = only_message(client, share["id"])
    assert message["request_id"] == resp.headers["x-compute-request-id"]
    assert (message["action_id"], message["detail_id"]) == ("002", "001")
    assert "fake driver configured to fail" not in message["user_message"]  # the driver's words stay in the log


def test_an_abandoned_operation_says_so(brittle: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = brittle.client()
    group = client.create_group()
    driver = brittle.drivers["lockstep@default"]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("not a driver error")

    monkeypatch.setattr(driver, "create_cgsnapshot", broken)
    cgsnapshot = client.create_cgsnapshot(group["id"])
    assert cgsnapshot["status"] == "error"
    assert only_message(client, cgsnapshot["id"])["user_message"] == (
        f"create: Lockstep could not take share group snapshot {cgsnapshot['id']}: the operation was abandoned "
        "after 1 failed attempt; the share group snapshot is in status 'error'. Ask an administrator, who can "
        "find the errors in the worker's log.")


def test_group_create_and_cgsnapshot_delete_failures(server: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = server.client()
    driver = server.drivers["lockstep@default"]

    def refuses(*args: Any, **kwargs: Any) -> None:
        raise DriverError("the backend said no")

    with monkeypatch.context() as patch:
        patch.setattr(driver, "create_group", refuses)
        group = client.create_group()
    assert group["status"] == "error"
    assert only_message(client, group["id"])["user_message"] == (
        f"create: The storage backend failed to create share group {group['id']}; it is in status 'error'. Delete "
        "it and create it again; if that fails too, ask an administrator, who can find the backend's error in the "
        "worker's log.")
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cut = client.create_cgsnapshot(group["id"])
    monkeypatch.setattr(driver, "delete_cgsnapshot", refuses)
    assert client.delete(f"/cgsnapshots/{cut['id']}").status_code == 202
    assert client.wait(f"/cgsnapshots/{cut['id']}", "cgsnapshot", ("error",))["status"] == "error"
    assert only_message(client, cut["id"])["user_message"] == (
        f"delete: The storage backend failed to delete share group snapshot {cut['id']}; it is in status 'error'. "
        "Delete it again; if that fails too, an administrator can force-delete it.")


# -- access rules ---------------------------------------------------------------------------------------------
REFUSED = "10.9.9.9"


@pytest.fixture(scope="module", params=DATABASES)
def refusing(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """The backend refuses rules for one address; its update_access fails as a whole for another share's rules
    when told to (monkeypatched per test)."""
    with configured_server(tmp_path_factory.mktemp(f"msg-access-{request.param}"), request.param,
                           fake_backend(fail_access=REFUSED), LOCKSTEP_MAX_ATTEMPTS="1") as srv:
        yield srv


@pytest.fixture(scope="module", params=DATABASES)
def access_down(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with configured_server(tmp_path_factory.mktemp(f"msg-access-down-{request.param}"), request.param,
                           fake_backend(fail="update_access")) as srv:
        yield srv


def grant(client: Client, share_id: str, access_type: str, access_to: str) -> dict[str, Any]:
    resp = client.with_(version="2.45").post(f"/shares/{share_id}/action", {
        "allow_access": {"access_type": access_type, "access_to": access_to, "access_level": "rw"}})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["access"])


def test_a_refused_access_rule_says_why(refusing: InProcessServer) -> None:
    client = refusing.client()
    share = client.create_share()
    grant(client, share["id"], "ip", "10.1.0.0/16")
    resp = client.with_(version="2.45").post(f"/shares/{share['id']}/action", {
        "allow_access": {"access_type": "ip", "access_to": REFUSED, "access_level": "rw"}})
    bad = resp.json()["access"]
    message = only_message(client, share["id"])
    assert (message["resource_type"], message["action_id"], message["detail_id"]) == ("SHARE", "010", "001")
    assert message["request_id"] == resp.headers["x-compute-request-id"]
    assert message["user_message"] == (
        f"update access rules: The storage backend refused access rule {bad['id']} (ip {REFUSED}) of share "
        f"{share['id']}; it is in state 'error' and not enforced. Check the access type and target, then deny "
        "the rule and allow it again; if it is refused again, ask an administrator, who can find the backend's "
        "reason in the worker's log.")


def test_an_access_update_the_backend_failed_says_why(access_down: InProcessServer) -> None:
    client = access_down.client()
    share = client.create_share()
    rule = grant(client, share["id"], "user", "alice")
    assert only_message(client, share["id"])["user_message"] == (
        f"update access rules: The storage backend failed to update the access rules of share {share['id']}; "
        f"access rules {rule['id']} (user alice) are in state 'error'. Deny them and allow them again; if that "
        "fails too, ask an administrator, who can find the cause in the worker's log.")


def test_an_abandoned_access_update_says_so(refusing: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = refusing.client()
    share = client.create_share()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("not a driver error")

    monkeypatch.setattr(refusing.drivers["lockstep@default"], "update_access", broken)
    rule = grant(client, share["id"], "user", "bobby")
    assert only_message(client, share["id"])["user_message"].startswith(
        f"update access rules: Lockstep gave up updating the access rules of share {share['id']}; access rules "
        f"{rule['id']} (user bobby) are in state 'error'.")


# -- expiry ---------------------------------------------------------------------------------------------------
def test_expired_messages_are_removed_by_the_worker(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("msg-expiry")
    with migrated_database("sqlite", tmp) as url, in_process_server(tmp / "data", url, LOCKSTEP_MESSAGE_TTL="0") as srv:
        client = srv.client()
        share, _ = unplaceable_share(client)
        message = only_message(client, share["id"])
        assert message["expires_at"] == message["created_at"]  # shown until the worker's next round (as Manila)
        engine = make_engine(url)
        try:
            Worker(SqlAlchemyDatabase(engine), {}, availability_zone="nova").report_pools()
        finally:
            engine.dispose()
        assert messages_of(client, share["id"]) == []
