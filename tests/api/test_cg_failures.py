"""State machines under driver failures, placement, the missing default type, intermediate states.

Each fixture here is an in-process server with its own database and fake-backend options.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.helpers import create_type, expect_fault, post_group, reset
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, configured_server

FAILING_OPS = "create_cgsnapshot,create_group_from_cgsnapshot,delete_group,delete_cgsnapshot"


def fake_backend(**options: str) -> str:
    lines = ["[backend.default]", 'driver = "fake"'] + [f'{k} = "{v}"' for k, v in options.items()]
    return "\n".join(lines) + "\n"


def _server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str,
            toml: str, *, settle_after_requests: bool = True, **env: str) -> Iterator[InProcessServer]:
    tmp = tmp_path_factory.mktemp(f"{name}-{request.param}")
    with configured_server(tmp, request.param, toml, settle_after_requests=settle_after_requests, **env) as srv:
        yield srv


@pytest.fixture(scope="module", params=DATABASES)
def failing(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    yield from _server(request, tmp_path_factory, "failing", fake_backend(fail=FAILING_OPS))


@pytest.fixture(scope="module", params=DATABASES)
def failing_create(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    yield from _server(request, tmp_path_factory, "failing-create", fake_backend(fail="create_group"))


@pytest.fixture(scope="module", params=DATABASES)
def no_groups(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Its only backend reports no consistency_group_support, and no default share type is configured."""
    yield from _server(request, tmp_path_factory, "no-groups", fake_backend(group_support="none"),
                       LOCKSTEP_DEFAULT_SHARE_TYPE="")


@pytest.fixture(scope="module", params=DATABASES)
def held(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Its worker runs only when a test waits or settles: what a slow backend shows, without the sleeps."""
    yield from _server(request, tmp_path_factory, "held", fake_backend(), settle_after_requests=False)


def group_shares(client: Client, group_id: str) -> list[dict[str, Any]]:
    return list(client.get("/shares/detail", params={"consistency_group_id": group_id}).json()["shares"])


def status(client: Client, path: str, key: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    return str(resp.json()[key]["status"])


# -- driver failures ---------------------------------------------------------------------------------------
def test_cgsnapshot_driver_failure_leaves_it_in_error(failing: InProcessServer) -> None:
    client = failing.client()
    group = client.create_group()
    shares = [client.create_share(consistency_group_id=group["id"]) for _ in range(2)]
    cgsnapshot = client.create_cgsnapshot(group["id"])
    assert cgsnapshot["status"] == "error"
    assert cgsnapshot["lockstep:consistency"] is None
    members = client.get(f"/cgsnapshots/{cgsnapshot['id']}/members").json()["cgsnapshot_members"]
    assert sorted(m["share_id"] for m in members) == sorted(s["id"] for s in shares)
    # the group and its shares are untouched
    assert status(client, f"/consistency-groups/{group['id']}", "consistency_group") == "available"
    assert {s["status"] for s in group_shares(client, group["id"])} == {"available"}
    # deleting fails in the driver too: back to error, still there
    assert client.delete(f"/cgsnapshots/{cgsnapshot['id']}").status_code == 202
    assert client.wait(f"/cgsnapshots/{cgsnapshot['id']}", "cgsnapshot", ("error",))["status"] == "error"
    assert len(client.get(f"/cgsnapshots/{cgsnapshot['id']}/members").json()["cgsnapshot_members"]) == 2
    # force_delete removes the record whatever the driver says
    assert client.post(f"/cgsnapshots/{cgsnapshot['id']}/action", {"force_delete": None}).status_code == 202
    expect_fault(client.get(f"/cgsnapshots/{cgsnapshot['id']}"), 404,
                 f"Consistency group snapshot {cgsnapshot['id']} not found.")


def test_cgsnapshot_delete_failure_from_available(failing: InProcessServer) -> None:
    client = failing.client()
    group = client.create_group()
    cgsnapshot = client.create_cgsnapshot(group["id"])
    reset(client, "cgsnapshots", cgsnapshot["id"], "available")
    assert client.delete(f"/cgsnapshots/{cgsnapshot['id']}").status_code == 202
    assert client.wait(f"/cgsnapshots/{cgsnapshot['id']}", "cgsnapshot", ("error",))["status"] == "error"


def test_group_delete_driver_failure_leaves_it_in_error(failing: InProcessServer) -> None:
    client = failing.client()
    group = client.create_group()
    assert group["status"] == "available"
    assert client.delete(f"/consistency-groups/{group['id']}").status_code == 202
    failed = client.wait(f"/consistency-groups/{group['id']}", "consistency_group", ("error",))
    assert failed["host"] == group["host"]
    assert client.post(f"/consistency-groups/{group['id']}/action", {"force_delete": None}).status_code == 202
    expect_fault(client.get(f"/consistency-groups/{group['id']}"), 404,
                 f"Consistency group {group['id']} not found.")


def test_group_from_cgsnapshot_failure_fails_its_shares(failing: InProcessServer) -> None:
    client = failing.client()
    source = client.create_group()
    for size in (1, 2):
        client.create_share(size=size, consistency_group_id=source["id"])
    cgsnapshot = client.create_cgsnapshot(source["id"])
    assert cgsnapshot["status"] == "error"
    reset(client, "cgsnapshots", cgsnapshot["id"], "available")  # as if it had worked
    group = client.create_group(source_cgsnapshot_id=cgsnapshot["id"])
    assert group["status"] == "error"
    clones = group_shares(client, group["id"])
    assert len(clones) == 2
    assert {c["status"] for c in clones} == {"error"}
    assert all(c["source_cgsnapshot_member_id"] for c in clones)
    # the source is untouched
    assert {s["status"] for s in group_shares(client, source["id"])} == {"available"}
    # failed clones can be deleted (naming their group), then the group
    for clone in clones:
        resp = client.delete(f"/shares/{clone['id']}", params={"consistency_group_id": group["id"]})
        assert resp.status_code == 202, resp.text
        client.wait_gone(f"/shares/{clone['id']}")


def test_group_create_driver_failure(failing_create: InProcessServer) -> None:
    client = failing_create.client()
    group = client.create_group()
    assert group["status"] == "error"
    assert group["host"] == "lockstep@default#fake"
    expect_fault(client.post("/shares", {"share": {"size": 1, "share_proto": "NFS",
                                                   "consistency_group_id": group["id"]}}),
                 400, "Consistency group status must be available, goterror.")
    expect_fault(client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}}), 409,
                 "Invalid ConsistencyGroup: Consistency group status must be available")
    assert client.delete(f"/consistency-groups/{group['id']}").status_code == 202
    client.wait_gone(f"/consistency-groups/{group['id']}")


# -- placement ---------------------------------------------------------------------------------------------
def test_group_needs_a_backend_with_group_support(no_groups: InProcessServer) -> None:
    client = no_groups.client()
    share_type = create_type(client)
    group = client.create_group(share_types=[share_type["id"]])
    assert (group["status"], group["host"]) == ("error", None)
    # never placed: deleted at once
    assert client.delete(f"/consistency-groups/{group['id']}").status_code == 202
    expect_fault(client.get(f"/consistency-groups/{group['id']}"), 404,
                 f"Consistency group {group['id']} not found.")
    pools = client.get("/scheduler-stats/pools/detail").json()["pools"]
    assert [p["capabilities"]["consistency_group_support"] for p in pools] == [False]
    # plain shares still work there
    assert client.create_share(share_type=share_type["id"])["status"] == "available"


@pytest.mark.parametrize("fields", [{}, {"share_types": []}, {"share_types": None}, {"name": "x"}])
def test_create_without_types_and_without_default_type(no_groups: InProcessServer, fields: dict[str, Any]) -> None:
    client = no_groups.client()
    expect_fault(post_group(client, **fields), 400,
                 "Must specify at least one share type as a default share type has not been configured.")


# -- intermediate states (a held worker) -------------------------------------------------------------------
def test_busy_group_refuses_cgsnapshots_and_shares(held: InProcessServer) -> None:
    client = held.client()
    resp = post_group(client)
    assert resp.status_code == 202
    group_id = resp.json()["consistency_group"]["id"]
    expect_fault(client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group_id}}), 409,
                 "Invalid ConsistencyGroup: Consistency group status must be available")
    expect_fault(client.post("/shares", {"share": {"size": 1, "share_proto": "NFS",
                                                   "consistency_group_id": group_id}}),
                 400, "Consistency group status must be available, gotcreating.")
    assert client.wait(f"/consistency-groups/{group_id}", "consistency_group")["status"] == "available"


def test_creating_share_blocks_cgsnapshot(held: InProcessServer) -> None:
    client = held.client()
    group = client.create_group()
    share = {"size": 1, "share_proto": "NFS", "consistency_group_id": group["id"]}
    resp = client.post("/shares", {"share": share})
    share_id = resp.json()["share"]["id"]
    expect_fault(client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}}), 409,
                 f"Invalid ConsistencyGroup: Share {share_id} in consistency group must have status of "
                 "available in order to create a CG snapshot")
    client.wait(f"/shares/{share_id}", "share")


def test_clones_become_available_together_with_their_group(held: InProcessServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    client = held.client()
    source = client.create_group()
    for _ in range(3):
        client.create_share(consistency_group_id=source["id"])
    cgsnapshot = client.create_cgsnapshot(source["id"])
    resp = post_group(client, source_cgsnapshot_id=cgsnapshot["id"])
    assert resp.status_code == 202
    group_id = resp.json()["consistency_group"]["id"]
    seen: list[tuple[str, frozenset[str]]] = []

    def look() -> None:
        # shares first: the group and its clones are settled in one transaction, so a group still
        # creating after this read means the shares read were still creating too
        share_statuses = frozenset(s["status"] for s in group_shares(client, group_id))
        seen.append((status(client, f"/consistency-groups/{group_id}", "consistency_group"), share_statuses))

    # look before the worker runs, on both sides of the driver's work, and after the records settle
    driver = held.drivers["lockstep@default"]
    clone = driver.create_group_from_cgsnapshot

    def looking(*args: Any, **kwargs: Any) -> Any:
        look()
        try:
            return clone(*args, **kwargs)
        finally:
            look()

    monkeypatch.setattr(driver, "create_group_from_cgsnapshot", looking)
    look()
    held.settle()
    look()
    assert len(seen) == 4
    assert seen[0] == ("creating", frozenset({"creating"}))
    # the shares are never available while the group is still creating, and all are when it is
    for group_status, share_statuses in seen:
        if group_status == "creating":
            assert share_statuses == {"creating"}
    final = status(client, f"/consistency-groups/{group_id}", "consistency_group")
    assert final == "available"
    shares = group_shares(client, group_id)
    assert len(shares) == 3 and {s["status"] for s in shares} == {"available"}
