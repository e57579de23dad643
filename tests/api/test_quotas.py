"""/quota-sets and /limits: the views by version, updates and their validation, and enforcement on create."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lockstep import config
from lockstep.config import ConfigError
from tests.api.helpers import create_network, create_snapshot, create_type, expect_fault, policy_denied, unique
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

BASE_KEYS = {"shares", "gigabytes", "snapshots", "snapshot_gigabytes"}
GROUP_KEYS = {"share_groups", "share_group_snapshots"}
REPLICA_KEYS = {"share_replicas", "replica_gigabytes"}
DEFAULTS = {"shares": 50, "gigabytes": 1000, "snapshots": 50, "snapshot_gigabytes": 1000, "share_networks": 10,
            "share_groups": 50, "share_group_snapshots": 50, "share_replicas": 100, "replica_gigabytes": 1000,
            "per_share_gigabytes": -1}
SHARE_GIGABYTES = "Requested share exceeds allowed project/user or share type gigabytes quota."


def shares_exceeded(allowed: int) -> str:
    return (f"ShareLimitExceeded: Maximum number of shares allowed ({allowed}) either per project/user or share "
            "type quota is exceeded.")


def over_quota(resp: httpx.Response, message: str) -> None:
    expect_fault(resp, 413, message)
    assert resp.json()["overLimit"]["retryAfter"] == "0"
    assert resp.headers["Retry-After"] == "0"


def set_quota(admin: Client, project: str, query: str = "", **limits: Any) -> dict[str, Any]:
    resp = admin.with_(version="2.62").put(f"/quota-sets/{project}{query}", {"quota_set": limits})
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["quota_set"])


def detail(client: Client, query: str = "") -> dict[str, Any]:
    resp = client.with_(version="2.62").get(f"/quota-sets/{client.project}/detail{query}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["quota_set"])


def post_share(client: Client, size: int = 1, **fields: Any) -> httpx.Response:
    return client.post("/shares", {"share": {"size": size, "share_proto": "NFS", **fields}})


def delete_share(client: Client, share_id: str) -> None:
    assert client.delete(f"/shares/{share_id}").status_code == 202
    client.wait_gone(f"/shares/{share_id}")


# -- views ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "extra"), [
    ("2.7", set()), ("2.39", set()), ("2.40", GROUP_KEYS), ("2.53", GROUP_KEYS | REPLICA_KEYS),
    ("2.62", GROUP_KEYS | REPLICA_KEYS | {"per_share_gigabytes"}),
])
def test_show_and_defaults_keys_by_version(client: Client, version: str, extra: set[str]) -> None:
    at = client.with_(version=version)
    for path in (f"/quota-sets/{client.project}", f"/quota-sets/{client.project}/defaults"):
        body = at.get(path).json()["quota_set"]
        assert set(body) == {"id"} | BASE_KEYS | {"share_networks"} | extra
        assert body["id"] == client.project
        assert {k: v for k, v in body.items() if k != "id"} == {k: DEFAULTS[k] for k in set(body) - {"id"}}


def test_legacy_paths_up_to_2_6(client: Client) -> None:
    legacy = client.with_(version="2.6")
    body = legacy.get(f"/os-quota-sets/{client.project}").json()["quota_set"]
    assert set(body) == {"id", "share_networks"} | BASE_KEYS
    assert legacy.get(f"/os-quota-sets/{client.project}/defaults").status_code == 200
    expect_fault(legacy.get(f"/quota-sets/{client.project}"), 404)
    expect_fault(client.with_(version="2.7").get(f"/os-quota-sets/{client.project}"), 404)
    updated = legacy.put(f"/os-quota-sets/{client.project}", {"quota_set": {"shares": 7}})
    assert updated.status_code == 200 and updated.json()["quota_set"]["shares"] == 7
    assert legacy.delete(f"/os-quota-sets/{client.project}").status_code == 202
    assert legacy.get(f"/os-quota-sets/{client.project}").json()["quota_set"]["shares"] == 50


def test_detail_from_2_25_shows_use(client: Client) -> None:
    expect_fault(client.with_(version="2.24").get(f"/quota-sets/{client.project}/detail"), 404)
    client.create_share(size=3)
    body = detail(client)
    assert body["id"] == client.project
    assert body["shares"] == {"in_use": 1, "limit": 50, "reserved": 0}
    assert body["gigabytes"] == {"in_use": 3, "limit": 1000, "reserved": 0}
    assert body["share_replicas"] == {"in_use": 0, "limit": 100, "reserved": 0}
    assert body["per_share_gigabytes"] == {"in_use": 0, "limit": -1, "reserved": 0}


def test_update_answers_the_set_without_id_and_delete_resets(client: Client) -> None:
    body = set_quota(client, client.project, shares=7, per_share_gigabytes=5, share_groups=3, share_replicas=4)
    assert "id" not in body
    assert (body["shares"], body["per_share_gigabytes"], body["share_groups"], body["share_replicas"]) == (7, 5, 3, 4)
    assert body["gigabytes"] == 1000
    shown = client.with_(version="2.62").get(f"/quota-sets/{client.project}").json()["quota_set"]
    assert {k: shown[k] for k in body} == body
    assert client.delete(f"/quota-sets/{client.project}").status_code == 202
    shown = client.with_(version="2.62").get(f"/quota-sets/{client.project}").json()["quota_set"]
    assert {k: v for k, v in shown.items() if k != "id"} == DEFAULTS


# -- policy --------------------------------------------------------------------------------------------
def test_members_read_their_own_project_only_and_admins_write(client: Client, member: Client) -> None:
    assert member.get(f"/quota-sets/{member.project}").status_code == 200
    assert member.get(f"/quota-sets/{member.project}/defaults").status_code == 200
    other = unique("project")
    expect_fault(member.get(f"/quota-sets/{other}"), 403, "Access was denied to this resource.")
    assert client.get(f"/quota-sets/{other}").json()["quota_set"]["id"] == other  # an admin sees any project
    policy_denied(member.put(f"/quota-sets/{member.project}", {"quota_set": {"shares": 1}}), "quota_set:update")
    policy_denied(member.delete(f"/quota-sets/{member.project}"), "quota_set:delete")


# -- validation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "body", "message"), [
    ("2.7", {"quota_set": {}}, "Must supply at least one quota field to update."),
    ("2.7", {"quota_set": {"nonsense": 1}}, "Must supply at least one quota field to update."),
    ("2.7", {"quota_set": {"shares": 1, "foo": 1, "bar": 2}}, "Bad key(s) foo,bar in quota_set."),
    ("2.7", {"quota_set": {"shares": "many"}}, "Quota 'many' for shares should be integer."),
    ("2.7", {"quota_set": {"shares": True}}, "Quota 'True' for shares should be integer."),
    ("2.7", {"quota_set": {"shares": -2}}, "Quota limit must be -1 or greater."),
    ("2.39", {"quota_set": {"share_groups": 1}},
     "'share_groups' key is not supported by this microversion. Use 2.40 or greater microversion to be able to "
     "use 'share_groups' quotas."),
    ("2.52", {"quota_set": {"replica_gigabytes": 1}},
     "'replica_gigabytes' key is not supported by this microversion. Use 2.53 or greater microversion to be able "
     "to use 'replica_gigabytes' quotas."),
    ("2.61", {"quota_set": {"per_share_gigabytes": 1}},
     "'per_share_gigabytes' key is not supported by this microversion. Use 2.62 or greater microversion to be "
     "able to use 'per_share_gigabytes' quotas."),
])
def test_update_refusals(client: Client, version: str, body: dict[str, Any], message: str) -> None:
    expect_fault(client.with_(version=version).put(f"/quota-sets/{client.project}", body), 400, message)


def test_share_type_and_user_arguments(client: Client) -> None:
    path = f"/quota-sets/{client.project}"
    share_type = create_type(client)
    old = client.with_(version="2.38")
    for resp in (old.get(path, params={"share_type": share_type["name"]}),
                 old.put(path, {"quota_set": {"shares": 1}}, params={"share_type": share_type["name"]})):
        expect_fault(resp, 400, "'share_type' key is not supported by this microversion. Use 2.39 or greater "
                                "microversion to be able to use 'share_type' quotas.")
    new = client.with_(version="2.40")
    expect_fault(new.get(path, params={"share_type": share_type["id"], "user_id": "u"}), 400,
                 "'user_id' and 'share_type' values are mutually exclusive")
    expect_fault(new.get(path, params={"share_type": "nope"}), 404, "Share type with name or id 'nope' not found.")
    expect_fault(new.put(path, {"quota_set": {"share_networks": 1}}, params={"share_type": share_type["name"]}),
                 400, "'share_networks' quota cannot be set for share type. It can be set only for project or user.")
    expect_fault(new.put(path, {"quota_set": {"share_groups": 1}}, params={"share_type": share_type["name"]}),
                 400, "Share type quotas cannot constrain share groups and share group snapshots.")
    # a share type's set has neither networks nor groups
    body = new.get(path, params={"share_type": share_type["name"]}).json()["quota_set"]
    assert set(body) == {"id"} | BASE_KEYS


def test_a_limit_cannot_go_below_what_is_used_unless_forced(client: Client) -> None:
    for _ in range(2):
        client.create_share(size=2)
    path = f"/quota-sets/{client.project}"
    expect_fault(client.put(path, {"quota_set": {"shares": 1}}), 400,
                 "Quota value 1 for shares is smaller than already used and reserved 2.")
    expect_fault(client.put(path, {"quota_set": {"gigabytes": 3}}), 400,
                 "Quota value 3 for gigabytes is smaller than already used and reserved 4.")
    forced = client.put(path, {"quota_set": {"shares": 1, "force": True}})
    assert forced.status_code == 200 and forced.json()["quota_set"]["shares"] == 1
    over_quota(post_share(client), shares_exceeded(1))


def test_a_users_limit_stays_within_the_projects(client: Client) -> None:
    set_quota(client, client.project, shares=5)
    path = f"/quota-sets/{client.project}?user_id=alice"
    expect_fault(client.put(path, {"quota_set": {"shares": 6}}), 400, "Quota limit must be less than 5.")
    expect_fault(client.put(path, {"quota_set": {"shares": -1}}), 400, "Quota limit must be greater than 0.")
    assert client.put(path, {"quota_set": {"shares": 3}}).status_code == 200
    # the project's limit cannot go below what its users were given
    expect_fault(client.put(f"/quota-sets/{client.project}", {"quota_set": {"shares": 2}}), 400,
                 "Quota limit must be greater than 3.")


# -- enforcement ---------------------------------------------------------------------------------------
def test_share_count_and_gigabytes_are_enforced_and_freed_on_delete(client: Client) -> None:
    set_quota(client, client.project, shares=2, gigabytes=5)
    first = client.create_share(size=2)
    client.create_share(size=2)
    over_quota(post_share(client), shares_exceeded(2))
    delete_share(client, first["id"])
    over_quota(post_share(client, size=4), f"ShareSizeExceedsAvailableQuota: {SHARE_GIGABYTES}")
    assert client.create_share(size=3)["status"] == "available"  # 2 + 3 = 5: exactly the limit
    assert detail(client)["gigabytes"]["in_use"] == 5


def test_a_share_in_error_still_counts(client: Client) -> None:
    set_quota(client, client.project, shares=1)
    # a type no pool serves: the share goes to error after placement, and still exists
    nowhere = create_type(client, share_backend_name="nowhere")
    failed = client.create_share(share_type=nowhere["id"])
    assert failed["status"] == "error"
    over_quota(post_share(client), shares_exceeded(1))
    delete_share(client, failed["id"])
    assert client.create_share()["status"] == "available"


def test_per_share_gigabytes(client: Client) -> None:
    set_quota(client, client.project, per_share_gigabytes=4)
    share = client.create_share(size=4)
    over_quota(post_share(client, size=5),
               "ShareSizeExceedsLimit: Requested share size 5 is larger than maximum allowed limit 4.")
    over_quota(client.post(f"/shares/{share['id']}/action", {"extend": {"new_size": 5}}),
               "ShareSizeExceedsLimit: Requested share size 5 is larger than maximum allowed limit 4.")


def test_extend_is_charged_and_refused_with_403(client: Client) -> None:
    share = client.create_share(size=2)
    set_quota(client, client.project, gigabytes=3)
    expect_fault(client.post(f"/shares/{share['id']}/action", {"extend": {"new_size": 4}}), 403, SHARE_GIGABYTES)
    assert client.post(f"/shares/{share['id']}/action", {"extend": {"new_size": 3}}).status_code == 202
    assert client.wait(f"/shares/{share['id']}", "share")["size"] == 3
    assert detail(client)["gigabytes"] == {"in_use": 3, "limit": 3, "reserved": 0}


def test_snapshots_are_enforced_and_freed_on_delete(client: Client) -> None:
    share = client.create_share(size=2)
    set_quota(client, client.project, snapshots=1)
    snapshot = create_snapshot(client, share["id"])
    over_quota(client.post("/snapshots", {"snapshot": {"share_id": share["id"]}}),
               "SnapshotLimitExceeded: Maximum number of snapshots allowed (1) either per project/user or share "
               "type quota is exceeded.")
    assert client.delete(f"/snapshots/{snapshot['id']}").status_code == 202
    client.wait_gone(f"/snapshots/{snapshot['id']}")
    set_quota(client, client.project, snapshots=5, snapshot_gigabytes=3)
    create_snapshot(client, share["id"])
    over_quota(client.post("/snapshots", {"snapshot": {"share_id": share["id"]}}),
               "SnapshotSizeExceedsAvailableQuota: Requested snapshot exceeds allowed project/user or share type "
               "gigabytes quota.")
    assert detail(client)["snapshot_gigabytes"]["in_use"] == 2


def test_share_networks_are_enforced(client: Client) -> None:
    set_quota(client, client.project, share_networks=1)
    network = create_network(client)
    over_quota(client.post("/share-networks", {"share_network": {"name": "two"}}),
               "ShareNetworksLimitExceeded: Maximum number of share-networks allowed (1) exceeded.")
    assert client.delete(f"/share-networks/{network['id']}").status_code == 202
    create_network(client)


def test_groups_and_group_snapshots_are_enforced(client: Client) -> None:
    set_quota(client, client.project, share_groups=1, share_group_snapshots=1)
    group = client.create_group()
    over_quota(client.post("/consistency-groups", {"consistency_group": {}}),
               "ShareGroupsLimitExceeded: Maximum number of allowed share-groups is exceeded.")
    client.create_share(consistency_group_id=group["id"])
    client.create_cgsnapshot(group["id"])
    over_quota(client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}}),
               "ShareGroupSnapshotsLimitExceeded: Maximum number of allowed share-group-snapshots is exceeded.")
    used = detail(client)
    assert (used["share_groups"]["in_use"], used["share_group_snapshots"]["in_use"]) == (1, 1)


def test_a_group_from_a_snapshot_is_charged_for_its_shares(client: Client) -> None:
    group = client.create_group()
    for _ in range(2):
        client.create_share(size=2, consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    set_quota(client, client.project, shares=3)
    over_quota(client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cgsnapshot["id"]}}),
               shares_exceeded(3))
    set_quota(client, client.project, shares=10, gigabytes=7)
    over_quota(client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cgsnapshot["id"]}}),
               f"ShareSizeExceedsAvailableQuota: {SHARE_GIGABYTES}")
    set_quota(client, client.project, gigabytes=8)
    clone = client.create_group(source_cgsnapshot_id=cgsnapshot["id"])
    assert clone["status"] == "available"
    assert detail(client)["shares"]["in_use"] == 4


def test_a_users_own_limit(client: Client) -> None:
    alice = client.with_(user="alice")
    set_quota(client, client.project, "?user_id=alice", shares=1)
    alice.create_share()
    over_quota(post_share(alice), shares_exceeded(1))
    client.create_share()  # another user of the project is not bound by alice's limit
    shown = client.get(f"/quota-sets/{client.project}/detail", params={"user_id": "alice"}).json()["quota_set"]
    assert shown["shares"] == {"in_use": 1, "limit": 1, "reserved": 0}
    assert detail(client)["shares"]["in_use"] == 2
    assert client.delete(f"/quota-sets/{client.project}", params={"user_id": "alice"}).status_code == 202
    alice.create_share()


def test_a_share_types_own_limit(client: Client) -> None:
    gold, silver = create_type(client), create_type(client)
    at = client.with_(version="2.39")
    assert at.put(f"/quota-sets/{client.project}", {"quota_set": {"shares": 1}},
                  params={"share_type": gold["name"]}).status_code == 200
    client.create_share(share_type=gold["id"])
    over_quota(post_share(client, share_type=gold["name"]), shares_exceeded(1))
    client.create_share(share_type=silver["id"])
    body = at.get(f"/quota-sets/{client.project}/detail", params={"share_type": gold["id"]}).json()["quota_set"]
    assert body["shares"] == {"in_use": 1, "limit": 1, "reserved": 0}
    assert body["gigabytes"]["limit"] == 1000  # not set for the type: the project's


def test_concurrent_creates_never_overshoot(server: InProcessServer) -> None:
    client = server.client()
    set_quota(client, client.project, shares=3)
    results: list[int] = []
    lock = threading.Lock()

    def create() -> None:
        status = post_share(client.with_()).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * 3 + [413] * 5
    assert detail(client)["shares"]["in_use"] == 3


# -- reserved gigabytes while an extend runs (a held worker) -----------------------------------------------
@pytest.fixture(scope="module", params=DATABASES)
def held(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with configured_server(tmp_path_factory.mktemp(f"quota-held-{request.param}"), request.param,
                           settle_after_requests=False) as srv:
        yield srv


def test_an_extend_in_progress_reserves_its_growth(held: InProcessServer) -> None:
    client = held.client()
    share = client.create_share(size=2)
    set_quota(client, client.project, gigabytes=5)
    assert client.post(f"/shares/{share['id']}/action", {"extend": {"new_size": 4}}).status_code == 202
    assert detail(client)["gigabytes"] == {"in_use": 2, "limit": 5, "reserved": 2}
    over_quota(post_share(client, size=2), f"ShareSizeExceedsAvailableQuota: {SHARE_GIGABYTES}")
    assert client.wait(f"/shares/{share['id']}", "share")["size"] == 4
    assert detail(client)["gigabytes"] == {"in_use": 4, "limit": 5, "reserved": 0}


# -- /limits ---------------------------------------------------------------------------------------------
BASE_LIMITS = {"maxTotalShareGigabytes", "totalShareGigabytesUsed", "maxTotalSnapshotGigabytes",
               "totalSnapshotGigabytesUsed", "maxTotalShares", "totalSharesUsed", "maxTotalShareSnapshots",
               "totalShareSnapshotsUsed", "maxTotalShareNetworks", "totalShareNetworksUsed"}
REPLICA_LIMITS = {"maxTotalShareReplicas", "totalShareReplicasUsed", "maxTotalReplicaGigabytes",
                  "totalReplicaGigabytesUsed"}
GROUP_LIMITS = {"maxTotalShareGroups", "totalShareGroupsUsed", "maxTotalShareGroupSnapshots",
                "totalShareGroupSnapshotsUsed"}


@pytest.mark.parametrize(("version", "keys"), [
    ("2.0", BASE_LIMITS), ("2.52", BASE_LIMITS), ("2.53", BASE_LIMITS | REPLICA_LIMITS),
    ("2.58", BASE_LIMITS | REPLICA_LIMITS | GROUP_LIMITS), ("2.99", BASE_LIMITS | REPLICA_LIMITS | GROUP_LIMITS),
])
def test_limits_keys_by_version(member: Client, version: str, keys: set[str]) -> None:
    body = member.with_(version=version).get("/limits").json()["limits"]
    assert body["rate"] == []
    assert set(body["absolute"]) == keys


def test_limits_move_with_usage_and_quotas(client: Client, member: Client) -> None:
    def absolute() -> dict[str, int]:
        return dict(member.with_(version="2.58").get("/limits").json()["limits"]["absolute"])

    before = absolute()
    assert (before["maxTotalShares"], before["totalSharesUsed"], before["totalShareGigabytesUsed"]) == (50, 0, 0)
    share = member.create_share(size=3)
    create_snapshot(member, share["id"])
    create_network(member)
    group = member.create_group()
    client.create_cgsnapshot(group["id"])
    set_quota(client, member.project, shares=9, share_groups=4)
    after = absolute()
    assert (after["maxTotalShares"], after["totalSharesUsed"], after["totalShareGigabytesUsed"]) == (9, 1, 3)
    assert (after["totalShareSnapshotsUsed"], after["totalSnapshotGigabytesUsed"]) == (1, 3)
    assert after["totalShareNetworksUsed"] == 1
    assert (after["maxTotalShareGroups"], after["totalShareGroupsUsed"], after["totalShareGroupSnapshotsUsed"]) \
        == (4, 1, 1)
    assert after["totalShareReplicasUsed"] == 0  # replicas are not served; the limit is never consumed


def test_defaults_come_from_the_configuration(tmp_path_factory: pytest.TempPathFactory) -> None:
    toml = "[quota]\nshares = 3\nper_share_gigabytes = 10\n"
    with configured_server(tmp_path_factory.mktemp("quota-config"), "sqlite", toml,
                           LOCKSTEP_QUOTA_GIGABYTES="20") as srv:
        client = srv.client(version="2.62")
        body = client.get(f"/quota-sets/{client.project}/defaults").json()["quota_set"]
        assert (body["shares"], body["gigabytes"], body["per_share_gigabytes"]) == (3, 20, 10)
        over_quota(post_share(client, size=11),
                   "ShareSizeExceedsLimit: Requested share size 11 is larger than maximum allowed limit 10.")


@pytest.mark.parametrize(("env", "toml", "error"), [
    ({"LOCKSTEP_QUOTA_SHARES": "many"}, "", "quota shares must be an integer, got 'many'"),
    ({"LOCKSTEP_QUOTA_GIGABYTES": "-2"}, "", "quota gigabytes must be -1 (unlimited) or between 0 and 2147483647"),
    ({}, "[quota]\nvolumes = 3\n", "[quota] has unknown resources ['volumes']"),
])
def test_bad_quota_defaults_stop_start_up(tmp_path: Path, env: dict[str, str], toml: str, error: str) -> None:
    path = tmp_path / "lockstep.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as raised:
        config.load(path, env={"LOCKSTEP_DATA_DIR": str(tmp_path), **env})
    assert error in str(raised.value)
