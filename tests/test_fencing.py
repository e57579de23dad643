"""Fencing at the worker: an owner whose lease was taken over writes nothing, and storage keeps one copy.

Two `Worker`s on one database and one posix backend directory (so both can serve it, as two workers of
one share host, or any two workers of a shared backend): the first claims a cgsnapshot, its lease runs
out, the second takes the operation over. Whichever of them reaches the driver first or last, the
record is settled once, by the current owner, the operation row goes with that settle, and the storage
holds exactly one cut and no half-made copy. The same with live processes stopped by SIGSTOP is
tests/cluster/test_hosts.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.adapters.drivers.posix import PosixDriver
from lockstep.domain.operations import Operation
from lockstep.service.storage import CGSnapshotResult, CGSnapshotSpec, DriverError
from lockstep.service.worker import Worker
from tests.support import Client, InProcessServer, in_process_server, migrated_database

LEASE = 0.3


@dataclass
class Setup:
    server: InProcessServer
    client: Client
    url: str
    root: Path
    group_id: str


@pytest.fixture(params=["sqlite", "postgresql"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    root = tmp_path / "storage"
    config = tmp_path / "lockstep.toml"
    config.write_text(f'[backend.default]\ndriver = "posix"\npath = "{root}"\n')
    with migrated_database(request.param, tmp_path) as url, in_process_server(
            tmp_path / "data", url, settle_after_requests=False, LOCKSTEP_CONFIG=str(config),
            LOCKSTEP_BACKEND="posix") as server:
        client = server.client()
        group = client.create_group(name="db")
        for name in ("tables", "logs"):
            share = client.create_share(consistency_group_id=group["id"], name=name)
            (root / "shares" / share["id"] / "data").write_text(name * 1000)
        yield Setup(server, client, url, root, group["id"])


def _worker(setup: Setup) -> Worker:
    return Worker(SqlAlchemyDatabase(make_engine(setup.url)), setup.server.drivers, availability_zone="nova",
                  lease_seconds=LEASE)


def _taken_over(setup: Setup) -> tuple[str, Worker, Operation, Worker, Operation]:
    """A cgsnapshot claimed by `old`, whose lease then ran out, and claimed again by `new`."""
    resp = setup.client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": setup.group_id}})
    assert resp.status_code == 202, resp.text
    cgsnapshot_id = resp.json()["cgsnapshot"]["id"]
    old, new = _worker(setup), _worker(setup)
    [mine] = old.claim(1)
    time.sleep(LEASE * 1.5)
    [theirs] = new.claim(1)
    assert (theirs.id, theirs.taken_over, theirs.epoch) == (mine.id, True, mine.epoch + 1)
    return cgsnapshot_id, old, mine, new, theirs


def _status(setup: Setup, cgsnapshot_id: str) -> str:
    return str(setup.client.get(f"/cgsnapshots/{cgsnapshot_id}").json()["cgsnapshot"]["status"])


def _operations(setup: Setup) -> int:
    engine = make_engine(setup.url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM operations")).scalar_one())
    finally:
        engine.dispose()


def _one_cut_on_storage(setup: Setup, cgsnapshot_id: str) -> None:
    inventory = PosixDriver({"path": str(setup.root)}).inventory()
    assert inventory.cgsnapshots == frozenset({cgsnapshot_id})
    assert inventory.leftovers == frozenset()
    assert sorted(p.name for p in (setup.root / "cgsnapshots").iterdir()) == [cgsnapshot_id]
    assert len([p for p in (setup.root / "cgsnapshots" / cgsnapshot_id).iterdir() if p.is_dir()]) == 2


def test_the_old_owner_finishing_first_writes_nothing(setup: Setup) -> None:
    """The old owner's driver call completes while the new owner's has not begun: without the fence it
    would settle the record and delete the operation the new owner is running."""
    cgsnapshot_id, old, mine, new, theirs = _taken_over(setup)
    assert old.run(mine) == "lost_lease"
    assert _status(setup, cgsnapshot_id) == "creating"  # the storage work happened; the settle did not
    assert _operations(setup) == 1
    assert new.run(theirs) == "succeeded"  # its redo finds the cut made and settles once
    assert _status(setup, cgsnapshot_id) == "available"
    assert _operations(setup) == 0
    _one_cut_on_storage(setup, cgsnapshot_id)


def test_the_old_owner_resuming_late_writes_nothing(setup: Setup) -> None:
    cgsnapshot_id, old, mine, new, theirs = _taken_over(setup)
    assert new.run(theirs) == "succeeded"
    members = setup.client.get(f"/cgsnapshots/{cgsnapshot_id}/members").json()["cgsnapshot_members"]
    assert old.run(mine) == "lost_lease"
    assert _status(setup, cgsnapshot_id) == "available"
    assert setup.client.get(f"/cgsnapshots/{cgsnapshot_id}/members").json()["cgsnapshot_members"] == members
    assert _operations(setup) == 0
    _one_cut_on_storage(setup, cgsnapshot_id)


class FencingPosix(PosixDriver):
    """A posix backend that stands for shared storage whose clients must be fenced: it records each fence,
    and refuses while `reachable` is False (the dead owner's storage clients cannot be cut off yet)."""

    def __init__(self, path: Path) -> None:
        super().__init__({"path": str(path)})
        self.fenced: list[str] = []
        self.reachable = False

    def fence(self, previous_owner: str) -> None:
        if not self.reachable:
            raise DriverError(f"cannot reach the cluster to fence {previous_owner}")
        self.fenced.append(previous_owner)

    def create_cgsnapshot(self, cgsnapshot: CGSnapshotSpec) -> CGSnapshotResult:
        assert self.fenced, "a taken-over cut ran before its previous owner was fenced"
        return super().create_cgsnapshot(cgsnapshot)


def test_a_taken_over_operation_runs_only_after_its_previous_owner_is_fenced(setup: Setup) -> None:
    """Fencing fails: the operation is released, not run, and still names the unfenced owner, so the next
    claim (by any worker) is a takeover that fences first; once fencing works, it runs once."""
    resp = setup.client.post("/cgsnapshots", {"cgsnapshot": {"consistency_group_id": setup.group_id}})
    assert resp.status_code == 202, resp.text
    cgsnapshot_id = resp.json()["cgsnapshot"]["id"]
    (backend,) = setup.server.drivers
    shared = FencingPosix(setup.root)
    db = SqlAlchemyDatabase(make_engine(setup.url))
    dead = Worker(db, {backend: shared}, availability_zone="nova", lease_seconds=LEASE)
    dead.owner = "another-machine:4242:0badcafe/1"  # a process elsewhere, whose lease will run out
    [mine] = dead.claim(1)
    time.sleep(LEASE * 1.5)
    taker = Worker(db, {backend: shared}, availability_zone="nova", lease_seconds=LEASE)
    [first] = taker.claim(1)
    assert (first.taken_over, first.previous_owner) == (True, dead.owner)
    assert taker.run(first) == "retried"
    assert _status(setup, cgsnapshot_id) == "creating"
    assert not (setup.root / "cgsnapshots" / cgsnapshot_id).exists()
    engine = make_engine(setup.url)
    try:
        with engine.begin() as conn:
            row = conn.execute(text("SELECT state, owner, last_error FROM operations")).one()
            assert (row[0], row[1]) == ("pending", dead.owner) and "could not fence" in row[2], row
            conn.execute(text("UPDATE operations SET not_before = 0"))  # due now rather than after the backoff
    finally:
        engine.dispose()

    shared.reachable = True
    [second] = taker.claim(1)
    assert (second.id, second.taken_over, second.previous_owner) == (mine.id, True, dead.owner)
    assert taker.run(second) == "succeeded"
    assert shared.fenced == [dead.owner]
    assert _status(setup, cgsnapshot_id) == "available"
    assert _operations(setup) == 0
    _one_cut_on_storage(setup, cgsnapshot_id)
    assert dead.run(mine) == "lost_lease"  # and should it wake up after all, the database refuses it too
