"""Scale-out: API processes without workers, several worker processes sharing one database."""

from __future__ import annotations

import collections
import concurrent.futures
from pathlib import Path

import pytest

from tests.support import live_server, migrated_database, share_held_by_a_worker


@pytest.mark.parametrize("db", ["postgresql", "sqlite"])
def test_two_workers_never_run_an_operation_twice(db: str, tmp_path: Path) -> None:
    call_log = tmp_path / "calls.log"
    config = tmp_path / "lockstep.toml"
    config.write_text(f'[backend.default]\ndriver = "fake"\ndelay = "0.05"\ncall_log = "{call_log}"\n')
    with migrated_database(db, tmp_path) as url, live_server(tmp_path / "data", url, LOCKSTEP_CONFIG=str(config),
                                                     LOCKSTEP_WORKER="false") as server:
        workers = [server.start_worker(), server.start_worker()]
        client = server.client()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            shares = list(pool.map(
                lambda _: client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}}).json()["share"],
                range(40)))
        for share in shares:
            assert client.wait(f"/shares/{share['id']}", "share", timeout=60)["status"] == "available"
        calls = collections.Counter(
            line.split()[1] for line in call_log.read_text().splitlines() if line.startswith("create_share "))
        assert set(calls) == {s["id"] for s in shares}
        assert max(calls.values()) == 1, [k for k, v in calls.items() if v > 1]
        assert all(w.poll() is None for w in workers), server.log_text()


@pytest.mark.parametrize("db", ["postgresql", "sqlite"])
def test_racing_deletes_only_one_wins(db: str, tmp_path: Path) -> None:
    with migrated_database(db, tmp_path) as url, live_server(tmp_path / "data", url) as server:
        client = server.client()
        for _ in range(5):
            path = f"/shares/{client.create_share()['id']}"
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                codes = sorted(pool.map(lambda _, p=path: client.delete(p).status_code, range(4)))
            assert codes.count(202) == 1, codes
            assert all(code in (202, 403, 404) for code in codes), codes


def test_worker_that_dies_is_replaced_after_its_lease(tmp_path: Path) -> None:
    """A worker killed mid-operation: another worker takes the operation once the lease runs out."""
    with share_held_by_a_worker(tmp_path) as (server, client, share, first):
        first.kill()
        first.wait()
        server.start_worker()
        assert client.wait(f"/shares/{share['id']}", "share", timeout=60)["status"] == "available"
