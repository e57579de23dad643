"""/services (admin): Lockstep's worker as manila-share per backend and manila-scheduler per host, up or down
from its heartbeat; enable/disable, which takes a backend out of placement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.adapters.drivers.fake import FakeDriver
from lockstep.service.worker import Worker
from tests.api.helpers import DATE, expect_fault, policy_denied
from tests.conftest import DATABASES
from tests.support import Client, InProcessServer, in_process_server, migrated_database

SHARE_HOST = "lockstep@default"
EXPECTED = [("manila-share", SHARE_HOST), ("manila-scheduler", "lockstep")]


@dataclass
class Site:
    server: InProcessServer
    database_url: str

    def age_heartbeats(self, seconds: float) -> None:
        """What a worker that stopped reporting (killed, hung, partitioned) leaves behind."""
        engine = make_engine(self.database_url)
        try:
            with engine.begin() as conn:
                then = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=seconds)
                conn.execute(text("UPDATE services SET updated_at = :then"), {"then": then})
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=DATABASES)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp(f"services-{request.param}")
    with migrated_database(request.param, tmp) as url, in_process_server(tmp / "data", url) as srv:
        yield Site(srv, url)


@pytest.fixture
def admin(site: Site) -> Client:
    return site.server.client(version="2.83")


def services(client: Client, **params: str) -> list[dict[str, Any]]:
    resp = client.get("/services", params=params)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["services"])


def change(client: Client, action: str, **body: Any) -> Any:
    return client.put(f"/services/{action}", body)


# -- listing -------------------------------------------------------------------------------------------
def test_lists_the_workers_share_and_scheduler_services(admin: Client) -> None:
    found = services(admin)
    assert [(s["binary"], s["host"]) for s in found] == EXPECTED
    for service in found:
        assert set(service) == {"id", "binary", "host", "zone", "status", "state", "updated_at", "disabled_reason"}
        assert isinstance(service["id"], int)
        assert (service["zone"], service["status"], service["state"]) == ("nova", "enabled", "up")
        assert DATE.match(service["updated_at"]) and service["disabled_reason"] is None


@pytest.mark.parametrize(("version", "path", "extra"), [
    ("2.0", "/os-services", set()), ("2.6", "/os-services", set()), ("2.7", "/services", set()),
    ("2.82", "/services", set()), ("2.83", "/services", {"disabled_reason"}),
    ("2.86", "/services", {"disabled_reason", "ensuring"}),
])
def test_paths_and_keys_by_version(site: Site, version: str, path: str, extra: set[str]) -> None:
    client = site.server.client(version=version)
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    for service in resp.json()["services"]:
        assert set(service) == {"id", "binary", "host", "zone", "status", "state", "updated_at"} | extra
    other = "/services" if path == "/os-services" else "/os-services"
    expect_fault(client.get(other), 404)


def test_admin_only(site: Site) -> None:
    member = site.server.client(user="alice", version="2.7")
    policy_denied(member.get("/services"), "service:index")
    policy_denied(change(member, "disable", host=SHARE_HOST, binary="manila-share"), "service:update")


@pytest.mark.parametrize(("params", "expected"), [
    ({"binary": "manila-share"}, EXPECTED[:1]),
    ({"topic": "manila-scheduler"}, EXPECTED[1:]),
    ({"host": "lockstep"}, EXPECTED[1:]),
    ({"zone": "nova", "state": "up", "status": "enabled"}, EXPECTED),
    ({"zone": "elsewhere"}, []),
    ({"state": "down"}, []),
    ({"status": "disabled"}, []),
    ({"status": "sideways"}, []),  # as Manila: not a 400, just nothing
    ({"binary": "manila-share", "topic": "manila-scheduler"}, []),
])
def test_filters(admin: Client, params: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert [(s["binary"], s["host"]) for s in services(admin, **params)] == expected


def test_ensuring_filter_from_2_93(site: Site) -> None:
    newer = site.server.client(version="2.93")
    assert services(newer, ensuring="false") == services(newer)
    assert services(newer, ensuring="true") == []  # Lockstep never runs an ensure-shares pass
    assert services(newer, ensuring="maybe") == []
    older = site.server.client(version="2.92")
    assert len(services(older, ensuring="true")) == 2  # not a filter yet


# -- heartbeats -----------------------------------------------------------------------------------------
def test_a_silent_worker_is_down(site: Site, admin: Client) -> None:
    try:
        site.age_heartbeats(61)
        assert {s["state"] for s in services(admin)} == {"down"}
        assert [s["binary"] for s in services(admin, state="down")] == ["manila-share", "manila-scheduler"]
    finally:
        site.age_heartbeats(0)
    assert {s["state"] for s in services(admin)} == {"up"}


# -- enable and disable -----------------------------------------------------------------------------------
def test_disabling_a_backend_takes_it_out_of_placement(site: Site, admin: Client) -> None:
    disabled = change(admin, "disable", host=SHARE_HOST, binary="manila-share", disabled_reason=" maintenance ")
    assert disabled.status_code == 200, disabled.text
    assert disabled.json() == {"host": SHARE_HOST, "binary": "manila-share", "status": "disabled",
                               "disabled_reason": "maintenance"}
    try:
        listed = services(admin, binary="manila-share")[0]
        assert (listed["status"], listed["disabled_reason"], listed["state"]) == ("disabled", "maintenance", "up")
        assert services(admin, status="disabled") == [listed]
        assert admin.get("/scheduler-stats/pools").json()["pools"] == []
        share = admin.create_share()
        assert (share["status"], share["host"]) == ("error", "")
        message = admin.with_(version="2.37").get("/messages", params={"resource_id": share["id"]}).json()
        assert message["messages"][0]["user_message"].startswith(
            f"allocate host: No storage could be allocated for share {share['id']}: no backend is up and enabled "
            "to take new shares.")
    finally:
        enabled = change(admin, "enable", host=SHARE_HOST, binary="manila-share")
    assert enabled.json() == {"host": SHARE_HOST, "binary": "manila-share", "status": "enabled",
                              "disabled_reason": None}
    assert services(admin, binary="manila-share")[0]["status"] == "enabled"
    assert admin.create_share()["status"] == "available"


def test_enable_disable_before_2_83(site: Site) -> None:
    legacy = site.server.client(version="2.6")
    resp = legacy.put("/os-services/disable", {"host": SHARE_HOST, "binary": "manila-share"})
    try:
        assert resp.json() == {"host": SHARE_HOST, "binary": "manila-share", "status": "disabled"}
        expect_fault(site.server.client(version="2.82").put(
            "/services/disable", {"host": SHARE_HOST, "binary": "manila-share", "disabled_reason": "why"}), 400,
            "'disabled_reason' option is not supported by this microversion. Use 2.83 or greater microversion to "
            "be able to set 'disabled_reason'.")
    finally:
        resp = legacy.put("/os-services/enable", {"host": SHARE_HOST, "binary": "manila-share"})
    assert resp.json() == {"host": SHARE_HOST, "binary": "manila-share", "status": "enabled"}


def test_enable_disable_refusals(admin: Client) -> None:
    expect_fault(change(admin, "disable", host="elsewhere@x", binary="manila-share"), 404,
                 "HostBinaryNotFound: Could not find binary manila-share on host elsewhere@x.")
    expect_fault(change(admin, "disable", binary="manila-share"), 400)
    expect_fault(change(admin, "pause", host=SHARE_HOST, binary="manila-share"), 404)
    expect_fault(change(admin, "disable", host=SHARE_HOST, binary="manila-share", disabled_reason="x" * 256), 400,
                 "Disabled reason contains invalid characters or is too long")
    expect_fault(change(admin, "disable", host="lockstep", binary="manila-scheduler"), 400,
                 "Invalid input received: Lockstep places work in every worker, so its manila-scheduler cannot be "
                 "disabled on its own; disable the manila-share services of the backends that should take no new "
                 "work instead.")
    assert {s["status"] for s in services(admin)} == {"enabled"}


# -- last: another host stays in the table --------------------------------------------------------------
def test_a_second_host_and_a_clean_stop(site: Site, admin: Client) -> None:
    """Another host's worker (its own zone) joins the list; a worker that stops cleanly says `stopped`."""
    engine = make_engine(site.database_url)
    try:
        worker = Worker(SqlAlchemyDatabase(engine), {"second@fast": FakeDriver()}, availability_zone="zone-b")
        worker.report_pools()
        # keep this test's backend out of the other tests' placements (nothing runs its operations)
        assert change(admin, "disable", host="second@fast", binary="manila-share").status_code == 200
        found = {(s["binary"], s["host"]): s for s in services(admin, zone="zone-b")}
        assert set(found) == {("manila-share", "second@fast"), ("manila-scheduler", "second")}
        assert {s["state"] for s in found.values()} == {"up"}
        worker.stop()
        assert {s["state"] for s in services(admin, zone="zone-b")} == {"stopped"}
        assert [s["host"] for s in services(admin, state="up")] == [SHARE_HOST, "lockstep"]
    finally:
        engine.dispose()
