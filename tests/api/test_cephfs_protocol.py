"""The CEPHFS protocol through the API (in-process, SQLite and PostgreSQL): accepted only when enabled
(Manila's `enabled_share_protocols`), placed only on a pool whose `storage_protocol` serves it (and an NFS
share never on a CephFS-only pool), and `cephx` rules checked as Manila checks them (4xx before any work).

Two backends report: `default` (the fake driver, NFS_CIFS) and `ceph` (the fake driver reporting CEPHFS, standing
for a cephfs backend: the placement decision is the scheduler's, not the driver's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, in_process_server, migrated_database

CEPH_POOL = "lockstep@ceph#fake"
NFS_POOL = "lockstep@default#fake"


@pytest.fixture(scope="module", params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    tmp: Path = tmp_path_factory.mktemp(f"cephfs-{request.param}")
    config = tmp / "lockstep.toml"
    config.write_text('[backend.default]\ndriver = "fake"\n\n'
                      '[backend.ceph]\ndriver = "fake"\nstorage_protocol = "CEPHFS"\n')
    with migrated_database(request.param, tmp) as url, in_process_server(
            tmp / "data", url, LOCKSTEP_CONFIG=str(config),
            LOCKSTEP_ENABLED_SHARE_PROTOCOLS="nfs,CIFS,cephfs") as srv:
        yield srv


def _create(client: Client, proto: str) -> tuple[int, dict[str, object]]:
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": proto}})
    return resp.status_code, resp.json()


def test_a_cephfs_share_goes_to_the_pool_that_serves_cephfs_and_an_nfs_share_never_does(client: Client) -> None:
    pools = {p["name"]: p["capabilities"]["storage_protocol"]
             for p in client.get("/scheduler-stats/pools/detail").json()["pools"]}
    assert pools[CEPH_POOL] == "CEPHFS" and pools[NFS_POOL] == "NFS_CIFS", pools
    # Alternating, so that room alone (the pool with most room first) would put some on the wrong pool.
    for proto in ("cephfs", "NFS", "CEPHFS", "CIFS", "CephFS", "nfs"):
        code, body = _create(client, proto)
        assert code == 200, body
        share = body["share"]
        assert isinstance(share, dict), share
        assert share["share_proto"] == proto.upper()
        assert share["host"] == (CEPH_POOL if proto.upper() == "CEPHFS" else NFS_POOL), share


def test_cephfs_is_refused_where_it_is_not_enabled(tmp_path: Path) -> None:
    with migrated_database("sqlite", tmp_path) as url, in_process_server(tmp_path / "data", url) as srv:
        resp = srv.client().post("/shares", {"share": {"size": 1, "share_proto": "CEPHFS"}})
    assert resp.status_code == 400
    assert resp.json()["badRequest"]["message"] == (
        "Invalid input received: Invalid share protocol provided: CEPHFS. It is either disabled or unsupported. "
        "Available protocols: ['NFS', 'CIFS'].")


def test_an_unknown_protocol_lists_the_enabled_ones(client: Client) -> None:
    code, body = _create(client, "GLUSTERFS")
    assert code == 400
    assert body == {"badRequest": {"code": 400, "message": (
        "Invalid input received: Invalid share protocol provided: GLUSTERFS. It is either disabled or "
        "unsupported. Available protocols: ['NFS', 'CIFS', 'CEPHFS'].")}}


@pytest.mark.parametrize(("access_to", "message"), [
    ("", "Ceph IDs may not be empty."),
    ("alice.bob", "Ceph IDs may not contain periods."),
    ("caf\u00e9", "Ceph IDs must consist of ASCII printable characters."),
])
def test_bad_cephx_ids_are_refused(client: Client, access_to: str, message: str) -> None:
    code, body = _create(client, "CEPHFS")
    assert code == 200, body
    share = body["share"]
    assert isinstance(share, dict)
    resp = client.post(f"/shares/{share['id']}/action",
                       {"allow_access": {"access_type": "cephx", "access_to": access_to, "access_level": "rw"}})
    assert resp.status_code == 400, resp.text
    assert resp.json()["badRequest"]["message"] == message


def test_cephx_rules_exist_from_2_13_and_become_active_with_a_key(client: Client) -> None:
    code, body = _create(client, "CEPHFS")
    assert code == 200, body
    share = body["share"]
    assert isinstance(share, dict)
    rule = {"allow_access": {"access_type": "cephx", "access_to": "tenant1", "access_level": "rw"}}
    old = client.with_(version="2.12").post(f"/shares/{share['id']}/action", rule)
    assert old.status_code == 400
    assert old.json()["badRequest"]["message"] == "Only 'ip', 'user' or 'cert' access types are supported."
    resp = client.post(f"/shares/{share['id']}/action", rule)
    assert resp.status_code == 200, resp.text
    assert resp.json()["access"]["access_type"] == "cephx"
