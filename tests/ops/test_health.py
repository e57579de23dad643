"""`/healthcheck`: 200 while the database answers at the current schema, 503 with the reason when it does not.

The outages are real: a PostgreSQL database of the test's own that stops accepting connections (its
server keeps running for everyone else), and a schema version that is not this code's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, text

from tests.support import PG_ADMIN_URL, Client, InProcessServer, database, in_process_server, postgres_database


def test_healthy_deployment_answers_ok_without_a_token(server: InProcessServer) -> None:
    resp = server.http.get("/healthcheck")
    assert resp.status_code == 200, resp.text
    assert resp.text == "OK"
    assert resp.headers["content-type"].startswith("text/plain")
    as_json = server.http.get("/healthcheck", headers={"Accept": "application/json"})
    assert as_json.json() == {"status": "ok", "reasons": []}
    head = server.http.head("/healthcheck")
    assert head.status_code == 200 and head.content == b""


def test_detailed_view_is_for_admins(server: InProcessServer, client: Client, member: Client) -> None:
    assert server.http.get("/healthcheck/detailed").status_code == 401
    denied = server.http.get("/healthcheck/detailed", headers={"X-Auth-Token": f"alice:{member.project}"})
    assert denied.status_code == 403
    assert denied.json()["forbidden"]["code"] == 403
    client.create_share()
    resp = server.http.get("/healthcheck/detailed", headers={"X-Auth-Token": f"admin:{client.project}"})
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["status"] == "ok"
    pool = next(p for p in report["pools"] if p["name"] == "lockstep@default#fake")
    assert pool["report_age_seconds"] >= 0 and pool["total_capacity_gb"] > 0
    assert pool["provisioned_capacity_gb"] >= 1
    workers = {(w["host"], w["binary"]): w for w in report["workers"]}
    assert workers[("lockstep@default", "manila-share")]["state"] == "up"
    assert workers[("lockstep@default", "manila-share")]["heartbeat_age_seconds"] >= 0
    assert report["nfs_server"]["managed_by_lockstep"] is False


def test_writes_are_refused_on_the_operator_paths(server: InProcessServer) -> None:
    assert server.http.post("/healthcheck").status_code == 405


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_old_schema_is_503_with_what_to_do(tmp_path: Path, db_kind: str) -> None:
    with database(db_kind, tmp_path) as url, in_process_server(tmp_path / "data", url) as srv, \
            _engine(url) as engine:
        assert srv.http.get("/healthcheck").status_code == 200
        with engine.begin() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        try:
            resp = srv.http.get("/healthcheck")
            assert resp.status_code == 503
            assert "schema is not current" in resp.text and "lockstep db upgrade" in resp.text
        finally:
            with engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        assert srv.http.get("/healthcheck").status_code == 200


def test_database_that_stops_accepting_connections_is_503_then_200_again(tmp_path: Path) -> None:
    with postgres_database() as url, in_process_server(tmp_path / "data", url) as srv:
        name = url.rsplit("/", 1)[1]
        assert srv.http.get("/healthcheck").status_code == 200
        _accept_connections(name, False)
        try:
            resp = srv.http.get("/healthcheck", headers={"Accept": "application/json"})
            assert resp.status_code == 503
            body = resp.json()
            assert body["status"] == "unavailable"
            assert body["reasons"] and "database unreachable" in body["reasons"][0]
            assert "postgres@" not in resp.text  # the public answer names no connection details
            metrics = srv.http.get("/metrics")
            assert metrics.status_code == 200
            up = _sample(metrics.text, "lockstep_database_up")
            assert up == 0.0
        finally:
            _accept_connections(name, True)
        assert srv.http.get("/healthcheck").status_code == 200
        assert _sample(srv.http.get("/metrics").text, "lockstep_database_up") == 1.0


def _accept_connections(database: str, allowed: bool) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,))


def _sample(exposition: str, name: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name:
                return float(sample.value)
    raise AssertionError(f"{name} is not in the exposition")


@contextlib.contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
