"""Decision 6: kill the service mid-operation, start it again, and every resource ends final."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import LiveServer, live_server, migrated_database

FINAL = ("available", "error")


def _config(tmp: Path, delay: float) -> Path:
    path = tmp / "lockstep.toml"
    path.write_text(
        "[backend.default]\n"
        'driver = "fake"\n'
        f'delay = "{delay}"\n'
        f'state_file = "{tmp / "fake-state.json"}"\n'
    )
    return path


def _wait_claimed(server: LiveServer, what: str) -> None:
    """Wait until a worker has the operation (the driver is sleeping inside it)."""
    log = server.data_dir / "fake-calls.log"
    deadline = time.time() + 10
    while time.time() < deadline:
        if log.exists() and what in log.read_text(errors="replace"):
            return
        time.sleep(0.02)
    raise AssertionError(f"no worker started {what}")


@pytest.fixture(params=["sqlite", "postgresql"])
def crashable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    with migrated_database(request.param, tmp_path) as url:
        config = _config(tmp_path, delay=1.0)
        with open(config, "a") as fh:
            fh.write(f'call_log = "{tmp_path / "data" / "fake-calls.log"}"\n')
        with live_server(tmp_path / "data", url, LOCKSTEP_CONFIG=str(config)) as server:
            yield server


def _restart(server: LiveServer) -> None:
    server.kill(signal.SIGKILL)
    server.start()


def test_cgsnapshot_survives_a_kill_mid_cut(crashable: LiveServer) -> None:
    client = crashable.client()
    group = client.create_group(name="db")
    for _ in range(2):
        client.create_share(consistency_group_id=group["id"])
    resp = client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": group["id"]}})
    assert resp.status_code == 202
    cgsnapshot_id = resp.json()["cgsnapshot"]["id"]
    _wait_claimed(crashable, f"create_cgsnapshot {cgsnapshot_id}")
    _restart(crashable)
    done = client.wait(f"/cgsnapshots/{cgsnapshot_id}", "cgsnapshot", FINAL, timeout=60)
    assert done["status"] == "available"
    members = client.get(f"/cgsnapshots/{cgsnapshot_id}/members").json()["cgsnapshot_members"]
    assert len(members) == 2


def test_restore_survives_a_kill(crashable: LiveServer) -> None:
    client = crashable.client()
    group = client.create_group()
    client.create_share(consistency_group_id=group["id"])
    cgsnapshot = client.create_cgsnapshot(group["id"])
    resp = client.post("/consistency-groups", {"consistency_group": {"source_cgsnapshot_id": cgsnapshot["id"]}})
    assert resp.status_code == 202
    new_id = resp.json()["consistency_group"]["id"]
    _wait_claimed(crashable, f"create_group_from_cgsnapshot {new_id}")
    _restart(crashable)
    restored = client.wait(f"/consistency-groups/{new_id}", "consistency_group", FINAL, timeout=60)
    assert restored["status"] == "available"
    shares = client.get("/shares/detail", params={"consistency_group_id": new_id}).json()["shares"]
    assert [s["status"] for s in shares] == ["available"]


def test_work_accepted_but_not_started_is_done_after_restart(crashable: LiveServer) -> None:
    """Kill right after the 202s: the recorded operations are still there for the next process."""
    client = crashable.client()
    group_resp = client.post("/consistency-groups", {"consistency_group": {}})
    share_resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    crashable.kill(signal.SIGKILL)
    crashable.start()
    group = client.wait(f"/consistency-groups/{group_resp.json()['consistency_group']['id']}",
                        "consistency_group", FINAL, timeout=60)
    share = client.wait(f"/shares/{share_resp.json()['share']['id']}", "share", FINAL, timeout=60)
    assert (group["status"], share["status"]) == ("available", "available")


def test_delete_survives_a_kill(crashable: LiveServer) -> None:
    client = crashable.client()
    share = client.create_share()
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    _wait_claimed(crashable, f"delete_share {share['id']}")
    _restart(crashable)
    assert client.wait(f"/shares/{share['id']}", "share", ("deleted",), timeout=60) == {"status": "deleted"}
