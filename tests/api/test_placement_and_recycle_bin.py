"""What needs its own server: scheduler hints across two pools (2.65), extend capacity and `force`
(2.64), and the recycle bin emptied by the worker once a share's time there is up (2.69)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.helpers import expect_fault
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

POOLS = ("lockstep@a#fake", "lockstep@b#fake")
CONFIG = """
backends = ["a", "b"]
soft_delete_retention = 0
recycle_bin_interval = 0
[backend.a]
driver = "fake"
capacity_gb = "100"
[backend.b]
driver = "fake"
capacity_gb = "100"
"""


@pytest.fixture(scope="module", params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    tmp: Path = tmp_path_factory.mktemp(f"placement-{request.param}")
    with configured_server(tmp, request.param, CONFIG) as srv:
        yield srv


def create(client: Client, version: str, **fields: Any) -> dict[str, Any]:
    resp = client.with_(version=version).post("/shares", {"share": {"size": 1, "share_proto": "NFS", **fields}})
    assert resp.status_code == 200, resp.text
    return client.wait(f"/shares/{resp.json()['share']['id']}", "share")


def test_two_pools_report(client: Client) -> None:
    assert sorted(p["name"] for p in client.get("/scheduler-stats/pools").json()["pools"]) == list(POOLS)


def test_same_host_and_different_host(client: Client) -> None:
    first = create(client, "2.65")
    apart = create(client, "2.65", scheduler_hints={"different_host": first["id"]})
    assert apart["status"] == "available"
    assert {first["host"], apart["host"]} == set(POOLS)
    for anchor in (first, apart):
        together = create(client, "2.65", scheduler_hints={"same_host": anchor["id"]})
        assert together["host"] == anchor["host"]
    # on the pool of one and away from the other: one pool qualifies
    both = create(client, "2.65", scheduler_hints={"same_host": apart["id"], "different_host": first["id"]})
    assert both["host"] == apart["host"]
    # with shares on both pools, "different from both" finds none; "same as both" too
    ids = f"{first['id']},{apart['id']}"
    assert create(client, "2.65", scheduler_hints={"different_host": ids})["status"] == "error"
    assert create(client, "2.65", scheduler_hints={"same_host": ids})["status"] == "error"


def test_only_host_places_on_the_named_pool(client: Client) -> None:
    for pool in POOLS:
        assert create(client, "2.67", scheduler_hints={"only_host": pool})["host"] == pool


def test_extend_beyond_the_pools_free_space_needs_force(client: Client, member: Client) -> None:
    share = create(client, "2.67", size=10, scheduler_hints={"only_host": POOLS[1]})
    action = f"/shares/{share['id']}/action"
    text = expect_fault(member.with_(version="2.64").post(action, {"extend": {"new_size": 500}}), 400)
    assert POOLS[1] in text and "GiB" in text
    expect_fault(member.with_(version="2.63").post(action, {"extend": {"new_size": 500, "force": True}}), 400)
    forced = client.with_(version="2.64").post(action, {"extend": {"new_size": 500, "force": True}})
    assert forced.status_code == 202, forced.text
    # the fake backend accepts what an admin forces (a real one may refuse: extending_error)
    assert client.wait(f"/shares/{share['id']}", "share")["size"] == 500


def test_the_worker_deletes_what_stays_in_the_recycle_bin(client: Client) -> None:
    """soft_delete_retention = 0 here: the next pass of the worker deletes the share."""
    share = create(client, "2.69")
    resp = client.with_(version="2.69").post(f"/shares/{share['id']}/action", {"soft_delete": None})
    assert resp.status_code == 202
    client.wait_gone(f"/shares/{share['id']}")
    assert share["id"] not in [s["id"] for s in client.with_(version="2.69").get(
        "/shares", params={"is_soft_deleted": "true"}).json()["shares"]]
