"""/scheduler-stats/pools[/detail] (admin only)."""

from __future__ import annotations

import pytest

from tests.api.helpers import create_type, expect_fault, policy_denied
from tests.support import Client

CAPABILITY_KEYS = {
    "pool_name",
    "total_capacity_gb",
    "free_capacity_gb",
    "reserved_percentage",
    "qos",
    "share_backend_name",
    "storage_protocol",
    "vendor_name",
    "driver_version",
    "timestamp",
    "driver_handles_share_servers",
    "snapshot_support",
    "create_share_from_snapshot_support",
    "revert_to_snapshot_support",
    "consistency_group_support",
    "consistent_snapshot_support",
    "dedupe",
    "compression",
    "replication_type",
    "replication_domain",
}
POOL = {"name": "lockstep@default#fake", "host": "lockstep", "backend": "default", "pool": "fake"}


@pytest.mark.parametrize("version", ["2.0", "2.23", "2.30"])
def test_pools_index(client: Client, version: str) -> None:
    resp = client.with_(version=version).get("/scheduler-stats/pools")
    assert resp.status_code == 200
    assert resp.json() == {"pools": [POOL]}


def test_pools_detail(client: Client) -> None:
    pools = client.get("/scheduler-stats/pools/detail").json()["pools"]
    assert len(pools) == 1
    pool = pools[0]
    assert {k: pool[k] for k in POOL} == POOL
    assert set(pool) == set(POOL) | {"capabilities"}
    caps = pool["capabilities"]
    assert CAPABILITY_KEYS <= set(caps), CAPABILITY_KEYS - set(caps)
    assert caps["consistency_group_support"] == "pool"
    assert caps["pool_name"] == "fake" and caps["share_backend_name"] == "default"
    assert caps["driver_handles_share_servers"] is False
    assert caps["snapshot_support"] is True
    assert caps["total_capacity_gb"] >= caps["free_capacity_gb"]
    assert "links" not in pool


def test_members_are_denied(member: Client) -> None:
    policy_denied(member.get("/scheduler-stats/pools"), "scheduler_stats:pools:index")
    policy_denied(member.get("/scheduler-stats/pools/detail"), "scheduler_stats:pools:detail")
    policy_denied(member.get("/scheduler-stats/pools", params={"host": "x"}), "scheduler_stats:pools:index")


def test_filters_are_start_anchored_regexes(client: Client) -> None:
    def names(**params: str) -> list[str]:
        resp = client.get("/scheduler-stats/pools", params=params)
        assert resp.status_code == 200, resp.text
        return [p["name"] for p in resp.json()["pools"]]

    assert names(host="lock") == [POOL["name"]]
    assert names(host="lock.*p$") == [POOL["name"]]
    assert names(host="step") == []
    assert names(backend="def", pool="fa") == [POOL["name"]]
    assert names(pool="other") == []
    assert names(name="lockstep@default#fake") == [POOL["name"]]
    assert names(capacity="1") == []  # any other key: empty list
    assert names(host="lock", foo="bar") == []


def test_share_type_filter_from_2_23(client: Client) -> None:
    fits = create_type(client, snapshot_support=True)
    needs_servers = create_type(client, dhss=True)
    for ref in (fits["name"], fits["id"], "default"):
        assert len(client.get("/scheduler-stats/pools", params={"share_type": ref}).json()["pools"]) == 1
    assert client.get("/scheduler-stats/pools", params={"share_type": needs_servers["id"]}).json() == {
        "pools": []
    }
    assert len(client.get("/scheduler-stats/pools/detail", params={"share_type": ""}).json()["pools"]) == 1
    expect_fault(
        client.get("/scheduler-stats/pools", params={"share_type": "no-such"}),
        400,
        "Share type no-such not found.",
    )
    old = client.with_(version="2.22").get("/scheduler-stats/pools", params={"share_type": fits["name"]})
    assert old.json() == {"pools": []}
