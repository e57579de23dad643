"""Logs of a live `lockstep serve`: every line of a request carries its X-Openstack-Request-Id, the worker's
lines carry the operation id and the request that asked for it, one access line per request, JSON on
request, and no credential anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support import LiveServer, database, live_server

PASSWORD = "sekrit-pw-8731"  # PostgreSQL trusts local connections here, so any password connects


def failing_fake(tmp: Path) -> str:
    config = tmp / "lockstep.toml"
    config.write_text('[backend.default]\ndriver = "fake"\nfail = "create_share"\n')
    return str(config)


def with_password(url: str) -> str:
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


def log_lines(server: LiveServer) -> list[str]:
    return [line for p in sorted(server.data_dir.glob("*.log")) for line in p.read_text().splitlines()]


def test_request_and_operation_ids_in_text_logs(tmp_path: Path) -> None:
    with database("postgresql", tmp_path) as url, live_server(
            tmp_path / "data", with_password(url), LOCKSTEP_CONFIG=failing_fake(tmp_path)) as server:
        client = server.client()
        created = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
        assert created.status_code == 200
        request_id = created.headers["x-openstack-request-id"]
        share = client.wait(f"/shares/{created.json()['share']['id']}", "share")
        assert share["status"] == "error"
        missing = client.get("/shares/no-such-share")
        assert missing.status_code == 404
        lines = log_lines(server)

        access = [line for line in lines if " lockstep.access " in line]
        mine = [line for line in access if request_id in line]
        assert len(mine) == 1, access  # one access line per request
        assert re.search(r"POST /v2/\{project_id\}/shares 200 [0-9.]+ms$", mine[0]), mine[0]
        assert any(missing.headers["x-openstack-request-id"] in line
                   and "GET /v2/{project_id}/shares/{id} 404" in line for line in access), access
        # The worker's line about the failed operation names the operation and the request that asked.
        failure = [line for line in lines if "create_share failed" in line]
        assert failure, "\n".join(lines[-40:])
        assert request_id in failure[0] and re.search(r"\[req-[0-9a-f-]+ op-\d+\]", failure[0]), failure[0]
        # Every access line carries a request id, never the "-" placeholder of lines outside a request.
        assert all(re.search(r" lockstep\.access \[req-[0-9a-f-]{36} -\] ", line) for line in access), access
        text = "\n".join(lines)
        assert PASSWORD not in text
        assert f"admin:{client.project}" not in text  # the noauth token


def test_json_log_format(tmp_path: Path) -> None:
    with database("sqlite", tmp_path) as url, live_server(
            tmp_path / "data", url, LOCKSTEP_LOG_FORMAT="json", LOCKSTEP_CONFIG=failing_fake(tmp_path)) as server:
        client = server.client()
        created = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
        request_id = created.headers["x-openstack-request-id"]
        client.wait(f"/shares/{created.json()['share']['id']}", "share")
        entries = [json.loads(line) for line in log_lines(server) if line.startswith("{")]
        assert entries
        assert all({"time", "level", "logger", "message", "request_id", "operation_id"} <= set(e) for e in entries)
        access = [e for e in entries if e["logger"] == "lockstep.access" and e["request_id"] == request_id]
        assert len(access) == 1
        assert access[0]["route"] == "/v2/{project_id}/shares" and access[0]["status"] == 200
        assert access[0]["method"] == "POST" and access[0]["duration_ms"] > 0
        failure = [e for e in entries if "create_share failed" in e["message"]]
        assert failure and failure[0]["request_id"] == request_id and failure[0]["operation_id"].startswith("op-")
        # Only the start-up banner (stdout) is not JSON.
        others = [line for line in log_lines(server) if not line.startswith("{")]
        assert all(line.startswith("lockstep: ") for line in others), others


def test_secrets_are_scrubbed_from_messages() -> None:
    from lockstep.observability.logs import scrub

    assert scrub("postgresql://lockstep:hunter2@db/lockstep") == "postgresql://lockstep:***@db/lockstep"
    assert "tok123" not in scrub("headers {'X-Auth-Token': 'tok123', 'Accept': 'json'}")
    assert "pw9" not in scrub("connect password=pw9 host=db")
