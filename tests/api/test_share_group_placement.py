"""Placement of share groups by their type's consistent_snapshot_support, against what the pools report.

The server has three fake backends: `atomic` cuts every member at once (it reports "pool"), `plain`
copies members one after the other (it reports nothing, and has the most free space), and `wide`
cuts atomically across its pools (it reports "host").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.group_helpers import SGS, at, create_group_snapshot, create_group_type, create_share_group
from tests.api.helpers import expect_fault
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

BACKENDS = """
backends = ["atomic", "plain", "wide"]

[backend.atomic]
driver = "fake"
capacity_gb = "1000"

[backend.plain]
driver = "fake"
atomic = "false"
capacity_gb = "5000"

[backend.wide]
driver = "fake"
group_support = "host"
capacity_gb = "500"
"""


@pytest.fixture(scope="module", params=DATABASES)
def three(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    tmp = tmp_path_factory.mktemp(f"placement-{request.param}")
    with configured_server(tmp, request.param, BACKENDS) as srv:
        yield srv


@pytest.fixture
def admin(three: InProcessServer) -> Client:
    return three.client()


def test_pools_report_consistent_snapshot_support(admin: Client) -> None:
    pools = admin.get("/scheduler-stats/pools/detail").json()["pools"]
    reported = {p["backend"]: (p["capabilities"]["consistency_group_support"],
                               p["capabilities"]["consistent_snapshot_support"]) for p in pools}
    assert reported == {"atomic": ("pool", "pool"), "plain": ("pool", None), "wide": ("host", "host")}


@pytest.mark.parametrize(("spec", "backend"), [("pool", "atomic"), ("host", "wide")])
def test_a_group_lands_only_where_the_backend_reports_its_types_value(admin: Client, spec: str,
                                                                      backend: str) -> None:
    group_type = create_group_type(admin, group_specs={"consistent_snapshot_support": spec})
    for _ in range(3):
        group = create_share_group(at(admin), share_group_type_id=group_type["id"])
        assert group["status"] == "available"
        assert group["host"] == f"lockstep@{backend}#fake"
        assert group["consistent_snapshot_support"] == spec
        share = at(admin).create_share(share_group_id=group["id"])
        assert share["host"] == group["host"]
        snapshot = create_group_snapshot(at(admin), group["id"])
        assert snapshot["lockstep:consistency"]["method"] == "atomic"


def test_without_the_spec_any_group_capable_backend_will_do(admin: Client) -> None:
    """The default type sets no spec, as consistency groups never did: the most free space wins."""
    group = create_share_group(at(admin))
    assert group["host"] == "lockstep@plain#fake"
    assert group["consistent_snapshot_support"] is None
    at(admin).create_share(share_group_id=group["id"])
    snapshot = create_group_snapshot(at(admin), group["id"])
    assert snapshot["lockstep:consistency"]["method"] == "sequential"
    # the CG API places the same way, and its groups say what their backend guarantees too
    cg = admin.create_group()
    assert cg["host"] == "lockstep@plain#fake"
    assert at(admin).get(f"{SGS}/{cg['id']}").json()["share_group"]["consistent_snapshot_support"] is None


def test_a_value_no_backend_reports_is_refused_at_once(admin: Client) -> None:
    group_type = create_group_type(admin, group_specs={"consistent_snapshot_support": "cluster"})
    resp = at(admin).post(SGS, {"share_group": {"share_group_type_id": group_type["id"]}})
    expect_fault(resp, 400, "Invalid input received: the share group type asks for consistent_snapshot_support "
                            "'cluster', and no backend that reports it serves these share types. Use a share group "
                            "type without that group spec, or one whose value a backend reports "
                            "(scheduler-stats/pools/detail).")
    assert at(admin).get(SGS).json()["share_groups"] == []


def test_a_group_from_a_snapshot_stays_on_its_source_backend(admin: Client) -> None:
    group_type = create_group_type(admin, group_specs={"consistent_snapshot_support": "pool"})
    source = create_share_group(at(admin), share_group_type_id=group_type["id"])
    at(admin).create_share(share_group_id=source["id"])
    snapshot = create_group_snapshot(at(admin), source["id"])
    restored = create_share_group(at(admin), source_share_group_snapshot_id=snapshot["id"])
    assert (restored["host"], restored["consistent_snapshot_support"]) == ("lockstep@atomic#fake", "pool")
