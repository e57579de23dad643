"""Capacity as Manila models it (issue 11, point 1): counted from the records, reserved by the
transaction that writes the share, refused at once with a 400 when it does not fit.

Two pools of the fake backend, each in its own server on SQLite and on PostgreSQL:

- thick: 20 GiB, 10% reserved: 18 GiB can be provisioned, every size taken from the pool;
- thin: 10 GiB, max_over_subscription_ratio 2.0, nothing reserved: 20 GiB can be provisioned,
  a share no larger than the free space, clones (restores) cost no real space.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from lockstep import config
from lockstep.adapters.drivers.fake import FakeDriver
from lockstep.config import ConfigError
from lockstep.domain.pools import Overcommit
from tests.api.helpers import create_snapshot, expect_fault
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

THICK = """
reserved_percentage = 10
[backend.default]
driver = "fake"
capacity_gb = "20"
"""
THIN = """
reserved_percentage = 0
max_over_subscription_ratio = 2.0
[backend.default]
driver = "fake"
capacity_gb = "10"
provisioning = "thin"
"""


@pytest.fixture(scope="module", params=DATABASES)
def thick(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    tmp: Path = tmp_path_factory.mktemp(f"thick-{request.param}")
    # Requests are not followed by a settle: concurrent requests must not run the worker concurrently.
    with configured_server(tmp, request.param, THICK, settle_after_requests=False) as srv:
        yield srv


@pytest.fixture(scope="module", params=DATABASES)
def thin(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    tmp: Path = tmp_path_factory.mktemp(f"thin-{request.param}")
    with configured_server(tmp, request.param, THIN) as srv:
        yield srv


def post_share(client: Client, size: int, **fields: Any) -> httpx.Response:
    return client.post("/shares", {"share": {"size": size, "share_proto": "NFS", **fields}})


def capabilities(server: InProcessServer) -> dict[str, Any]:
    pools = server.client().get("/scheduler-stats/pools/detail").json()["pools"]
    assert len(pools) == 1
    return dict(pools[0]["capabilities"])


def report(server: InProcessServer) -> None:
    """What the worker's report thread does every 10 s."""
    worker = server.worker
    assert worker is not None
    worker.report_pools()


def delete_all(client: Client, ids: list[str], group_id: str | None = None) -> None:
    params = {"consistency_group_id": group_id} if group_id else {}
    for share_id in ids:
        resp = client.delete(f"/shares/{share_id}", params=params)
        assert resp.status_code == 202, resp.text
    for share_id in ids:
        client.wait_gone(f"/shares/{share_id}")


def delete_group(client: Client, group_id: str) -> None:
    delete_all(client, [s["id"] for s in client.get("/shares", params={"consistency_group_id": group_id}).json()[
        "shares"]], group_id)
    assert client.delete(f"/consistency-groups/{group_id}").status_code == 202
    client.wait_gone(f"/consistency-groups/{group_id}")


def statuses(client: Client) -> list[str]:
    return sorted(s["status"] for s in client.get("/shares/detail").json()["shares"])


# thick ----------------------------------------------------------------------------------------------------
def test_thick_pool_reports_manilas_fields(thick: InProcessServer) -> None:
    caps = capabilities(thick)
    assert caps["thin_provisioning"] is False
    assert caps["max_over_subscription_ratio"] == 1.0  # a thick pool is never oversubscribed
    assert caps["reserved_percentage"] == 10
    assert caps["total_capacity_gb"] == 20
    assert caps["provisioned_capacity_gb"] == caps["allocated_capacity_gb"] == 0
    assert caps["free_capacity_gb"] == 20


def test_concurrent_creates_take_exactly_what_fits(thick: InProcessServer) -> None:
    client = thick.client()
    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(lambda _: post_share(client, 1), range(20)))
    accepted = [r.json()["share"]["id"] for r in replies if r.status_code == 200]
    refused = [r for r in replies if r.status_code != 200]
    assert len(accepted) == 18, [r.text for r in refused]
    assert len(refused) == 2
    for resp in refused:
        text = expect_fault(resp, 400)
        assert "needs 1 GiB" in text and "lockstep@default#fake" in text and "smaller share" in text
    assert statuses(client) == ["creating"] * 18  # refused ones left no record
    for share_id in accepted:
        assert client.wait(f"/shares/{share_id}", "share")["status"] == "available"
    caps = capabilities(thick)
    assert caps["provisioned_capacity_gb"] == caps["allocated_capacity_gb"] == 18
    assert caps["free_capacity_gb"] == 2
    report(thick)  # the filesystem's figure and the records' agree after the report too
    assert capabilities(thick)["free_capacity_gb"] == 2
    expect_fault(post_share(client, 1), 400)
    delete_all(client, accepted)
    report(thick)
    caps = capabilities(thick)
    assert caps["provisioned_capacity_gb"] == 0 and caps["free_capacity_gb"] == 20


def test_too_big_a_share_is_refused_at_once(thick: InProcessServer) -> None:
    client = thick.client()
    text = expect_fault(post_share(client, 19), 400)
    assert text.startswith("Invalid input received: the share needs 19 GiB and the largest free capacity of a "
                           "matching pool is 18 GiB"), text
    assert client.get("/shares").json()["shares"] == []
    share = client.with_(version="2.30").create_share(18)
    assert share["status"] == "available" and share["host"] == "lockstep@default#fake"
    delete_all(client, [share["id"]])


def test_free_is_never_negative(thick: InProcessServer) -> None:
    client = thick.client()
    share = client.create_share(10)
    forced = client.with_(version="2.64").post(f"/shares/{share['id']}/action",
                                               {"extend": {"new_size": 40, "force": True}})
    assert forced.status_code == 202, forced.text
    assert client.wait(f"/shares/{share['id']}", "share")["size"] == 40
    for _ in range(2):  # before and after the next report
        caps = capabilities(thick)
        assert caps["free_capacity_gb"] == 0
        assert caps["provisioned_capacity_gb"] == 40
        report(thick)
    text = expect_fault(post_share(client, 1), 400)
    assert "largest free capacity of a matching pool is 0 GiB" in text
    extend = client.with_(version="2.64").post(f"/shares/{share['id']}/action", {"extend": {"new_size": 41}})
    assert "needs 1 GiB more" in expect_fault(extend, 400)
    delete_all(client, [share["id"]])
    report(thick)  # the filesystem's free figure catches up with the delete at the next report
    assert capabilities(thick)["free_capacity_gb"] == 20


def test_an_extend_holds_its_space_before_it_settles(thick: InProcessServer) -> None:
    client = thick.client()
    share = client.create_share(8)
    extend = client.post(f"/shares/{share['id']}/action", {"extend": {"new_size": 16}})
    assert extend.status_code == 202, extend.text
    assert client.get(f"/shares/{share['id']}").json()["share"]["status"] == "extending"  # not settled yet
    assert capabilities(thick)["provisioned_capacity_gb"] == 16
    assert "needs 3 GiB" in expect_fault(post_share(client, 3), 400)
    assert client.wait(f"/shares/{share['id']}", "share")["size"] == 16
    made = client.create_share(2)
    delete_all(client, [share["id"], made["id"]])


def test_a_share_from_a_snapshot_is_charged_its_copy(thick: InProcessServer) -> None:
    client = thick.client()
    source = client.create_share(8)
    snapshot = create_snapshot(client, source["id"])
    copy = client.create_share(8, snapshot_id=snapshot["id"])
    assert copy["status"] == "available" and copy["host"] == source["host"]
    text = expect_fault(post_share(client, 8, snapshot_id=snapshot["id"]), 400)
    assert "the share from the snapshot needs 8 GiB on lockstep@default#fake (real cost 8 GiB)" in text, text
    assert capabilities(thick)["provisioned_capacity_gb"] == 16
    delete_all(client, [copy["id"]])
    assert client.delete(f"/snapshots/{snapshot['id']}").status_code == 202
    client.wait_gone(f"/snapshots/{snapshot['id']}")
    delete_all(client, [source["id"]])


def test_a_restore_that_does_not_fit_is_refused_at_once(thick: InProcessServer) -> None:
    """A thick pool charges a restore its full size: the second restore of an 8 GiB group on an
    18 GiB pool is refused with a 400, not accepted and then failed in the worker."""
    client = thick.client()
    group = client.create_group()
    members = [client.create_share(2, consistency_group_id=group["id"]) for _ in range(4)]
    cut = client.create_cgsnapshot(group["id"])
    first = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cut["id"]}})
    assert first.status_code == 202, first.text
    restored = client.wait(f"/consistency-groups/{first.json()['consistency_group']['id']}", "consistency_group")
    assert restored["status"] == "available"
    assert capabilities(thick)["provisioned_capacity_gb"] == 16
    second = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cut["id"]}})
    text = expect_fault(second, 400)
    assert "need 8 GiB" in text and "real cost 8 GiB" in text, text
    assert len(client.get("/consistency-groups").json()["consistency_groups"]) == 2
    assert "error" not in statuses(client)
    delete_group(client, restored["id"])
    assert client.delete(f"/cgsnapshots/{cut['id']}").status_code == 202
    client.wait_gone(f"/cgsnapshots/{cut['id']}")
    delete_group(client, group["id"])
    assert members and capabilities(thick)["provisioned_capacity_gb"] == 0


# thin -----------------------------------------------------------------------------------------------------
def test_thin_pool_reports_manilas_fields(thin: InProcessServer) -> None:
    caps = capabilities(thin)
    assert caps["thin_provisioning"] is True
    assert caps["max_over_subscription_ratio"] == 2.0
    assert caps["reserved_percentage"] == 0
    assert caps["lockstep:copy_on_write_clones"] is True
    assert caps["provisioned_capacity_gb"] == 0 and caps["free_capacity_gb"] == 10


def test_thin_pool_provisions_up_to_its_ratio(thin: InProcessServer) -> None:
    client = thin.client()
    expect_fault(post_share(client, 11), 400)  # larger than the pool: it could never be filled
    made = [client.create_share(8)["id"], client.create_share(8)["id"]]
    text = expect_fault(post_share(client, 5), 400)
    assert "16 GiB provisioned of 20 GiB" in text and "max_over_subscription_ratio 2" in text, text
    made.append(client.create_share(4)["id"])
    caps = capabilities(thin)
    assert caps["provisioned_capacity_gb"] == caps["allocated_capacity_gb"] == 20
    assert caps["free_capacity_gb"] == 10  # nothing written: the filesystem is still free
    assert statuses(client) == ["available"] * 3
    delete_all(client, made)


def test_restores_again_and_again_cost_no_real_space(thin: InProcessServer) -> None:
    """A group of 4 x 2 GiB is restored, the restore deleted, five times; a share create is never
    refused, and the figures follow the records each time."""
    client = thin.client()
    group = client.create_group()
    for _ in range(4):
        client.create_share(2, consistency_group_id=group["id"])
    cut = client.create_cgsnapshot(group["id"])
    for _ in range(5):
        resp = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cut["id"]}})
        assert resp.status_code == 202, resp.text
        gid = resp.json()["consistency_group"]["id"]
        assert client.wait(f"/consistency-groups/{gid}", "consistency_group")["status"] == "available"
        assert capabilities(thin)["provisioned_capacity_gb"] == 16
        share = client.create_share(2)
        assert share["status"] == "available"
        assert capabilities(thin)["provisioned_capacity_gb"] == 18
        delete_all(client, [share["id"]])
        delete_group(client, gid)
        assert capabilities(thin)["provisioned_capacity_gb"] == 8
    assert "error" not in statuses(client)


# the report -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("db_kind", DATABASES)
def test_pools_are_reported_while_the_worker_is_busy(tmp_path: Path, db_kind: str) -> None:
    """The report has a thread of its own: a create that keeps the worker busy does not stop it."""
    slow = THICK + 'delay = "5"\n'
    with configured_server(tmp_path, db_kind, slow, settle_after_requests=False) as srv:
        worker = srv.worker
        assert worker is not None
        worker.report_interval, worker.threads = 0.2, 1  # one worker thread, kept busy by the create
        worker.start()
        try:
            client = srv.client()
            resp = post_share(client, 1)
            assert resp.status_code == 200, resp.text
            share_path = f"/shares/{resp.json()['share']['id']}"
            driver = srv.drivers["lockstep@default"]
            assert isinstance(driver, FakeDriver)
            began = time.monotonic() + 10.0
            while "create_share" not in driver.calls:  # not client.until: it would run the worker here
                assert time.monotonic() < began, "the worker did not begin the create"
                time.sleep(0.05)
            seen = {capabilities(srv)["timestamp"]}  # reported with second resolution
            deadline = time.monotonic() + 2.5
            while time.monotonic() < deadline:
                time.sleep(0.3)
                seen.add(capabilities(srv)["timestamp"])
            assert client.get(share_path).json()["share"]["status"] == "creating"  # still in the driver
            assert len(seen) >= 2, seen
        finally:
            worker.stop()


# settings -------------------------------------------------------------------------------------------------
def test_capacity_settings_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "capacity.toml"
    path.write_text("max_over_subscription_ratio = 4.5\nreserved_percentage = 2\n")
    env = {"LOCKSTEP_DATA_DIR": str(tmp_path)}
    assert config.load(env=env).overcommit == Overcommit(20.0, 5.0)  # the defaults
    assert config.load(path, env=env).overcommit == Overcommit(4.5, 2.0)
    from_env = config.load(path, env={**env, "LOCKSTEP_RESERVED_PERCENTAGE": "0"})
    assert from_env.overcommit == Overcommit(4.5, 0.0)


@pytest.mark.parametrize(("key", "value", "error"), [
    ("MAX_OVER_SUBSCRIPTION_RATIO", "0.5", "max_over_subscription_ratio must be between 1.0"),
    ("MAX_OVER_SUBSCRIPTION_RATIO", "many", "must be numbers"),
    ("RESERVED_PERCENTAGE", "100", "reserved_percentage must be at least 0 and below 100"),
    ("RESERVED_PERCENTAGE", "-1", "reserved_percentage must be at least 0 and below 100"),
])
def test_bad_capacity_settings_stop_start_up(tmp_path: Path, key: str, value: str, error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config.load(env={"LOCKSTEP_DATA_DIR": str(tmp_path), f"LOCKSTEP_{key}": value})
    assert error in str(raised.value)
