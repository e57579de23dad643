"""Keystone mode (decision 8): the real keystonemiddleware validates tokens against Keystone's API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.keystone_stub import Stub
from tests.support import LiveServer, live_server

pytest.importorskip("keystonemiddleware")


@pytest.fixture(scope="module")
def keystone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Stub]]:
    stub = Stub()
    stub.users["tok-alice"] = ("alice", "p1", ["member"])
    stub.users["tok-root"] = ("root", "p1", ["admin"])
    stub.users["tok-bob"] = ("bob", "p2", ["member"])
    tmp: Path = tmp_path_factory.mktemp("keystone")
    base = f"http://127.0.0.1:{stub.port}/v3"
    config = tmp / "lockstep.toml"
    config.write_text(
        'auth = "keystone"\n'
        "[backend.default]\n"
        'driver = "fake"\n'
        "[keystone_authtoken]\n"
        f'www_authenticate_uri = "{base}"\n'
        f'auth_url = "{base}"\n'
        'auth_type = "password"\n'
        'username = "lockstep"\n'
        'password = "secret"\n'
        'project_name = "service"\n'
        'user_domain_id = "default"\n'
        'project_domain_id = "default"\n'
    )
    with live_server(tmp / "data", f"sqlite:///{tmp / 'db.sqlite'}", LOCKSTEP_CONFIG=str(config),
                     LOCKSTEP_AUTH="keystone") as server:
        yield server, stub
    stub.server.shutdown()


def call(server: LiveServer, method: str, path: str, token: str | None, **kw: Any) -> httpx.Response:
    headers = {"X-OpenStack-Manila-API-Version": "2.30", "X-OpenStack-Manila-API-Experimental": "True"}
    if token:
        headers["X-Auth-Token"] = token
    return httpx.request(method, f"{server.url}/v2{path}", headers=headers, timeout=30, **kw)


def test_valid_member_token_reaches_its_project(keystone_server: tuple[LiveServer, Stub]) -> None:
    server, _ = keystone_server
    resp = call(server, "GET", "/p1/consistency-groups", "tok-alice")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"consistency_groups": []}


def test_roles_come_from_the_token(keystone_server: tuple[LiveServer, Stub]) -> None:
    server, _ = keystone_server
    member = call(server, "GET", "/p1/scheduler-stats/pools", "tok-alice")
    admin = call(server, "GET", "/p1/scheduler-stats/pools", "tok-root")
    assert member.status_code == 403
    assert admin.status_code == 200 and admin.json()["pools"]


def test_project_comes_from_the_token(keystone_server: tuple[LiveServer, Stub]) -> None:
    server, _ = keystone_server
    created = call(server, "POST", "/p2/consistency-groups", "tok-bob", json={"consistency_group": {"name": "b"}})
    assert created.status_code == 202
    assert created.json()["consistency_group"]["project_id"] == "p2"
    group_id = created.json()["consistency_group"]["id"]
    # Another project's member cannot see it (decision 1) ...
    assert call(server, "GET", f"/p1/consistency-groups/{group_id}", "tok-alice").status_code == 404
    # ... nor reach the project through the URL.
    assert call(server, "GET", "/p2/consistency-groups", "tok-alice").status_code == 400


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_invalid_token_is_401(keystone_server: tuple[LiveServer, Stub], token: str | None) -> None:
    server, _ = keystone_server
    resp = call(server, "GET", "/p1/consistency-groups", token)
    assert resp.status_code == 401
    assert "unauthorized" in resp.json()


@pytest.mark.parametrize("path", ["", "/", "/p1", "/p1/"])
def test_versions_documents_need_no_token(keystone_server: tuple[LiveServer, Stub], path: str) -> None:
    """Decision 11: keystoneauth discovers the microversion before it has a token."""
    server, _ = keystone_server
    resp = call(server, "GET", path, None)
    assert resp.status_code == 200, resp.text
    assert resp.json()["versions"][0]["version"] == "2.99"


def test_healthcheck_needs_no_token_and_its_detail_an_admin_token(keystone_server: tuple[LiveServer, Stub]) -> None:
    """Issue 13: /healthcheck answers anyone (as oslo.middleware's); the detailed view needs an admin's token."""
    server, _ = keystone_server
    assert httpx.get(f"{server.url}/healthcheck", timeout=30).text == "OK"
    detailed = f"{server.url}/healthcheck/detailed"
    assert httpx.get(detailed, timeout=30).status_code == 401
    assert httpx.get(detailed, headers={"X-Auth-Token": "not-a-token"}, timeout=30).status_code == 401
    assert httpx.get(detailed, headers={"X-Auth-Token": "tok-alice"}, timeout=30).status_code == 403
    admin = httpx.get(detailed, headers={"X-Auth-Token": "tok-root"}, timeout=30)
    assert admin.status_code == 200 and admin.json()["status"] == "ok"


def test_tokens_and_the_service_password_stay_out_of_the_log(keystone_server: tuple[LiveServer, Stub]) -> None:
    server, _ = keystone_server
    assert call(server, "GET", "/p1/consistency-groups", "tok-alice").status_code == 200
    log = "\n".join(p.read_text(errors="replace") for p in sorted(server.data_dir.glob("*.log")))
    assert "lockstep.access" in log  # the requests were logged ...
    assert "tok-alice" not in log and "tok-root" not in log  # ... without their tokens
    assert 'password = "secret"' not in log and "password=secret" not in log
