"""The fuzzing tier: schemathesis, driven by the served /openapi.json, against a live `lockstep serve` on
SQLite and on PostgreSQL.

Every operation gets `LOCKSTEP_FUZZ_EXAMPLES` generated requests (default 5, derandomized so that CI runs
the same cases; raise it, or set `LOCKSTEP_FUZZ_RANDOM=1`, to explore further). Path ids are the seeded
resources' real ids half of the time, so that the generated bodies reach the use cases; requests
are valid by the schema or not (negative mode); a third of them are a member's rather than an
admin's; the microversion is one of the bounds of the operation's scopes. The properties:

- no request is answered 5xx;
- every 4xx is a Manila JSON fault body (`{"<faultName>": {"code": <status>, "message": "..."}}`);
- no state is corrupted: afterwards every record settles out of its transitional status, every list
  answers 200, and the server logged no traceback.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.support import Client, LiveServer, database, live_server

EXAMPLES = int(os.environ.get("LOCKSTEP_FUZZ_EXAMPLES", "5"))
RANDOM = os.environ.get("LOCKSTEP_FUZZ_RANDOM") == "1"
LATEST = "2.99"
SETTLE_SECONDS = 60.0
# An admin's reset to a transitional status strands the record by design (nothing is queued to settle
# it; issue 11 point 2 is about resets): the fuzzer resets to `error` instead, so that the final check
# (no record left transitional) stays a real property.
TRANSITIONAL = re.compile(r"ing$|^manage_starting$")
# Lists to read back afterwards, and the key of their items.
SETTLED_LISTS = {"/shares/detail": "shares", "/snapshots/detail": "snapshots",
                 "/share-groups/detail": "share_groups", "/share-group-snapshots/detail": "share_group_snapshots",
                 "/share-networks/detail": "share_networks"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with database(request.param, tmp) as url, live_server(tmp / "data", url) as srv:
        yield srv


def seed(admin: Client) -> dict[str, list[str]]:
    """One resource of each kind the paths name, so that generated requests can reach them."""
    new = admin.with_(version="2.55")
    share = admin.create_share()
    snapshot = admin.post("/snapshots", {"snapshot": {"share_id": share["id"]}}).json()["snapshot"]
    network = admin.post("/share-networks", {"share_network": {"name": "fuzz"}}).json()["share_network"]
    service = admin.post("/security-services", {"security_service": {"type": "ldap"}}).json()["security_service"]
    group = admin.create_group()
    cgsnapshot = admin.create_cgsnapshot(group["id"])
    share_group = new.post("/share-groups", {"share_group": {}}).json()["share_group"]
    group_type = new.get("/share-group-types/default").json()["share_group_type"]
    share_type = admin.get("/types/default").json()["share_type"]
    rule = admin.post(f"/shares/{share['id']}/action", {"allow_access": {
        "access_type": "ip", "access_to": "10.0.0.1", "access_level": "rw"}}).json()["access"]
    return {"shares": [share["id"]], "snapshots": [snapshot["id"]], "share-networks": [network["id"]],
            "security-services": [service["id"]], "consistency-groups": [group["id"]],
            "cgsnapshots": [cgsnapshot["id"]], "share-groups": [share_group["id"]],
            "share-group-snapshots": [cgsnapshot["id"]], "share-group-types": [group_type["id"]],
            "types": [share_type["id"]], "share-access-rules": [rule["id"]], "quota-sets": [admin.project],
            "os-quota-sets": [admin.project]}


def versions_of(operation: dict[str, Any]) -> list[str]:
    bounds = {LATEST}
    for scope in operation["x-lockstep-versions"]:
        bounds.add(scope["min"])
        if scope["max"]:
            bounds.add(scope["max"])
    return sorted(bounds)


def fault_problem(resp: Any) -> str | None:
    """What is wrong with a 4xx reply's body, or None when it is a Manila fault body."""
    content_type = header(resp, "content-type")
    if not content_type.startswith("application/json"):
        return f"content-type {content_type!r}"
    try:
        body = json.loads(resp.content)
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict) or len(body) != 1:
        return f"not one fault: {body!r}"
    inner = next(iter(body.values()))
    if not isinstance(inner, dict) or inner.get("code") != resp.status_code or not isinstance(inner.get("message"),
                                                                                                str):
        return f"fault without code {resp.status_code} and message: {body!r}"
    return None


def header(resp: Any, name: str) -> str:
    """A header of schemathesis's response (its headers map names to lists of values)."""
    for key, values in resp.headers.items():
        if key.lower() == name:
            return str(values[0] if isinstance(values, list) else values)
    return ""


def tame_resets(body: Any) -> None:
    if isinstance(body, dict):
        for key in ("reset_status", "os-reset_status"):
            args = body.get(key)
            if isinstance(args, dict) and isinstance(args.get("status"), str) and TRANSITIONAL.search(args["status"]):
                args["status"] = "error"


def test_fuzz_the_served_api(live: LiveServer) -> None:
    admin = live.client(version="2.30")
    real = seed(admin)
    doc = httpx.get(f"{live.url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    problems: list[str] = []
    ran = 0
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        raw = operation.definition.raw
        # Valid requests (by the schema) and invalid ones (wrong types, missing fields), by an admin or a member.
        cases = st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE))


        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                  print_blob=False)
        @given(case=cases, version=st.sampled_from(versions_of(raw)), use_real=st.booleans(),
               user=st.sampled_from(["admin", "admin", "alice"]), as_generated=st.integers(0, 5))
        def run(case: Any, version: str, use_real: bool, user: str, as_generated: int) -> None:
            nonlocal ran
            ran += 1
            case.path_parameters["project_id"] = admin.project
            collection = case.operation.path.split("/")[3]  # /v2/{project_id}/<collection>/...
            if use_real and "id" in case.path_parameters and real.get(collection):
                case.path_parameters["id"] = real[collection][0]
            tame_resets(case.body)
            headers = {"X-Auth-Token": f"{user}:{admin.project}", "X-OpenStack-Manila-API-Version": version,
                       "X-OpenStack-Manila-API-Experimental": "True"}
            if as_generated:
                # Negative cases often leave the token out (an unauthenticated request: noauth's 204
                # handshake); most of them get it, so that their bad bodies and queries reach the routes.
                case.headers = {**(case.headers or {}), **headers}
            try:
                resp = case.call(base_url=live.url, headers=headers, timeout=30)
            except Exception as exc:  # noqa: BLE001 - a dropped connection is a finding, not a test error
                problems.append(f"{case.method} {case.formatted_path} @{version}: {exc!r}")
                return
            statuses[resp.status_code] += 1
            if resp.status_code >= 500:
                problems.append(f"{resp.status_code} for {case.method} {case.formatted_path} @{version} "
                                f"body={case.body!r} query={case.query!r}")
            elif resp.status_code >= 400 and (problem := fault_problem(resp)) is not None:
                problems.append(f"{resp.status_code} for {case.method} {case.formatted_path}: {problem}")

        run()
    assert ran >= len(doc["paths"]) * 2  # every operation was exercised
    print(f"fuzzed {ran} requests: {dict(sorted(statuses.items()))}")
    # Generated requests reach the use cases, not only the parsers: a good share of them succeed.
    assert sum(n for status, n in statuses.items() if status < 300) >= ran // 10, statuses
    assert problems == [], "\n".join(problems[:30])
    settled(live, admin)


def settled(live: LiveServer, admin: Client) -> None:
    """No record stays transitional, every list answers, and nothing crashed in the server."""
    latest = admin.with_(version=LATEST)
    deadline = time.time() + SETTLE_SECONDS
    while True:
        stuck = []
        for path, key in SETTLED_LISTS.items():
            resp = latest.get(path, params={"all_tenants": "1"})
            assert resp.status_code == 200, (path, resp.text)
            stuck += [(key, item["id"], item["status"]) for item in resp.json()[key]
                      if TRANSITIONAL.search(str(item.get("status", "")))]
        if not stuck:
            break
        assert time.time() < deadline, f"still transitional after {SETTLE_SECONDS:g} s: {stuck}"
        time.sleep(0.2)
    # A new project is served as before (the fuzzed project's quotas may have been set to anything, and
    # the default type renamed or deleted: an admin may).
    fresh = live.client(version=LATEST)
    share_type = fresh.post("/types", {"share_type": {"name": f"after-{fresh.project}", "extra_specs": {
        "driver_handles_share_servers": False}}})
    assert share_type.status_code == 200, share_type.text
    share = fresh.create_share(share_type=share_type.json()["share_type"]["id"])
    assert share["status"] == "available", share
    doc = httpx.get(f"{live.url}/openapi.json").json()
    for path, item in doc["paths"].items():
        if "get" in item and path.count("{") == 1:  # the collections (only {project_id} in the path)
            version = max((s["max"] or LATEST for s in item["get"]["x-lockstep-versions"]),
                          key=lambda v: tuple(int(p) for p in v.split(".")))
            params = {"share_id": share["id"]} if path.endswith("/share-access-rules") else {}
            resp = fresh.with_(version=version).get(path.removeprefix("/v2/{project_id}"), params=params)
            # The default types are not lists: the fuzzer may have deleted or renamed them.
            assert resp.status_code == 200 or (path.endswith("/default") and resp.status_code == 404), (
                path, version, resp.text)
    assert "Traceback" not in live.log_text(), live.log_text()
