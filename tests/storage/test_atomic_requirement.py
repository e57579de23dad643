"""Operators can require atomic cuts: groups then never land where cuts would be sequential."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.adapters.drivers import loopfs
from tests.support import Client, LiveServer, fault, live_server


def atomic_type(client: Client, name: str) -> str:
    resp = client.post("/types", {"share_type": {"name": name, "extra_specs": {
        "driver_handles_share_servers": False, "lockstep:atomic_cgsnapshot": "True"}}})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["share_type"]["id"])


@pytest.fixture
def posix_server(tmp_path: Path) -> Iterator[LiveServer]:
    # Unlimited gigabytes: these tests are about what the pool can hold, which the quota would hide.
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_BACKEND="posix",
                     LOCKSTEP_QUOTA_GIGABYTES="-1", LOCKSTEP_QUOTA_PER_SHARE_GIGABYTES="-1") as srv:
        yield srv


def test_atomic_share_type_is_refused_where_no_backend_cuts_atomically(posix_server: LiveServer) -> None:
    client = posix_server.client()
    type_id = atomic_type(client, "atomic-only")
    resp = client.post("/consistency-groups", {"consistency_group": {"share_types": [type_id]}})
    assert resp.status_code == 400
    name, _, message = fault(resp)
    assert name == "badRequest"
    assert "requires atomic cgsnapshots" in message and "lockstep:atomic_cgsnapshot" in message
    assert client.get("/consistency-groups").json()["consistency_groups"] == []
    # Without the requirement the same backend serves groups, and says how it cuts.
    group = client.create_group()
    assert group["status"] == "available"
    client.create_share(consistency_group_id=group["id"])
    cut = client.create_cgsnapshot(group["id"])
    assert cut["lockstep:consistency"]["method"] == "sequential"
    assert cut["lockstep:consistency"]["spread_ms"] >= 0


def test_operator_can_require_atomic_cuts_for_every_group(tmp_path: Path) -> None:
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_BACKEND="posix",
                     LOCKSTEP_REQUIRE_ATOMIC_CGSNAPSHOTS="true") as server:
        resp = server.client().post("/consistency-groups", {"consistency_group": {}})
        assert resp.status_code == 400
        assert "requires atomic cgsnapshots" in fault(resp)[2]


@pytest.mark.root
def test_atomic_share_type_lands_on_btrfs(tmp_path: Path) -> None:
    ok, reason = loopfs.btrfs_available()
    if not ok:
        pytest.skip(reason)
    scratch = Path(tempfile.mkdtemp(prefix="lockstep-storage-", dir="/var/tmp"))
    root = scratch / "btrfs"
    loopfs.ensure_btrfs_image(scratch / "fs.img", root, 8 << 30)
    try:
        config = tmp_path / "lockstep.toml"
        config.write_text(f'[backend.default]\ndriver = "btrfs"\npath = "{root}"\n')
        with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_CONFIG=str(config),
                         LOCKSTEP_BACKEND="btrfs") as server:
            client = server.client()
            group = client.create_group(share_types=[atomic_type(client, "atomic-only")])
            assert group["status"] == "available"
            share_type = group["share_types"][0]
            client.create_share(consistency_group_id=group["id"], share_type=share_type)
            cut = client.create_cgsnapshot(group["id"])
            assert cut["lockstep:consistency"] == {"method": "atomic", "spread_ms": 0.0}
            server.kill()
    finally:
        loopfs.release(root)
        shutil.rmtree(scratch, ignore_errors=True)


def test_a_share_that_does_not_fit_is_refused_with_a_clear_error(posix_server: LiveServer) -> None:
    client = posix_server.client()
    resp = client.post("/shares", {"share": {"size": 10**7, "share_proto": "NFS"}})
    assert resp.status_code == 400
    message = fault(resp)[2]
    assert "needs 10000000 GiB" in message and "free capacity" in message
    assert client.get("/shares").json()["shares"] == []
