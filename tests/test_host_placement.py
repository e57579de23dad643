"""Placement across share hosts: only hosts whose heartbeat is fresh get new shares; their work waits.

In-process on SQLite and PostgreSQL: the server's own worker is host `lockstep`, and a second `Worker`
on the same database is host `beta`. The live version (processes killed, `/services` polled) is
tests/cluster/test_hosts.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from lockstep import config
from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.adapters.drivers.fake import FakeDriver
from lockstep.service.worker import Worker
from tests.support import InProcessServer, in_process_server, migrated_database


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[InProcessServer, Worker, Engine]]:
    with migrated_database(request.param, tmp_path) as url, in_process_server(tmp_path / "data", url) as server:
        engine = make_engine(url)
        try:
            beta = Worker(SqlAlchemyDatabase(engine), {"beta@default": FakeDriver()}, availability_zone="nova")
            beta.report_pools()
            yield server, beta, engine
        finally:
            engine.dispose()


def _silence(engine: Engine, host: str) -> None:
    """What a host that stopped reporting (killed, hung, partitioned) leaves behind."""
    then = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(text("UPDATE services SET updated_at = :then WHERE host LIKE :host"),
                     {"then": then, "host": f"{host}%"})


def test_only_hosts_that_are_up_get_new_shares_and_work_waits_for_its_host(
        site: tuple[InProcessServer, Worker, Engine]) -> None:
    server, beta, engine = site
    server.settle_after_requests = False  # the operations stay recorded until a worker of their host runs
    client = server.client()
    _silence(engine, "lockstep")
    placed = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}}).json()["share"]
    assert placed["host"] == "beta@default#fake"
    assert server.settle() == 0  # the down host's worker has nothing: the share is beta's
    assert beta.run_once() == 1
    assert client.get(f"/shares/{placed['id']}").json()["share"]["status"] == "available"

    assert server.worker is not None
    server.worker.report_pools()  # lockstep is back; now beta goes silent, with its share placed
    _silence(engine, "beta")
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    assert resp.json()["share"]["host"] == "lockstep@default#fake"
    delete = client.delete(f"/shares/{placed['id']}")  # work on beta's share: it waits for beta
    assert delete.status_code == 202
    assert server.settle() == 1  # the new share only
    assert client.get(f"/shares/{resp.json()['share']['id']}").json()["share"]["status"] == "available"
    assert client.get(f"/shares/{placed['id']}").json()["share"]["status"] == "deleting"
    assert beta.run_once() == 1
    assert client.get(f"/shares/{placed['id']}").status_code == 404


def test_with_every_host_down_a_share_waits_unplaced_until_one_returns(
        site: tuple[InProcessServer, Worker, Engine]) -> None:
    server, beta, engine = site
    server.settle_after_requests = False
    client = server.client()
    _silence(engine, "")
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
    assert resp.status_code == 200, resp.text
    share = resp.json()["share"]
    assert share["host"] in (None, "")
    beta.report_pools()  # beta returns; the server's own worker stays silent
    assert beta.run_once() == 1  # unplaced work: any worker places it, on a host that is up
    done = client.get(f"/shares/{share['id']}").json()["share"]
    assert (done["status"], done["host"]) == ("available", "beta@default#fake")


def test_a_backend_host_makes_one_backend_owned_by_every_host_that_configures_it(tmp_path: Path) -> None:
    """Manila's backend_host: a backend on storage no single machine owns is `<backend_host>@<name>` on
    every host, so every such host's worker runs and takes over its operations."""
    path = tmp_path / "lockstep.toml"
    path.write_text('[backend.shared]\ndriver = "fake"\nbackend_host = "cluster"\n[backend.local]\ndriver = "fake"\n')
    for host in ("alpha", "beta"):
        settings = config.load(path, env={"LOCKSTEP_HOST": host})
        assert [settings.backend_host(b.name) for b in settings.backends] == ["cluster@shared", f"{host}@local"]
        assert settings.backends[0].options == {}  # not a driver option
    path.write_text('[backend.shared]\ndriver = "fake"\nbackend_host = "a@b"\n')
    with pytest.raises(config.ConfigError, match="backend_host must be a plain host name"):
        config.load(path, env={})


def test_a_shared_backend_stays_up_while_one_of_its_hosts_still_serves_it(
        site: tuple[InProcessServer, Worker, Engine]) -> None:
    server, _, engine = site
    admin = server.client(version="2.83")

    def state() -> str:
        found = admin.get("/services", params={"host": "cluster@shared", "binary": "manila-share"}).json()
        return str(found["services"][0]["state"])

    alpha, beta = (Worker(SqlAlchemyDatabase(engine), {"cluster@shared": FakeDriver()}, availability_zone="nova")
                   for _ in range(2))
    alpha.report_pools()
    beta.report_pools()
    alpha.stop()  # beta's heartbeat is the later one: the backend is still served
    assert state() == "up"
    beta.stop()
    assert state() == "stopped"
