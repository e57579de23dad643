"""Today's clients against a live server, as a new user would drive them (issue 9).

- python-openstackclient with python-manilaclient's plugin (`openstack share ...`),
- the `manila` CLI of python-manilaclient 5.7.1 (the last release that has it),
- openstacksdk (`conn.shared_file_system`), which discovers its microversion on its own,

pinned in requirements-clients.txt and requirements-manila-cli.txt and installed once per cache
(client_venvs.py). The server is `lockstep serve` in noauth mode on the fake backend; the clients
reach it the way docs/clients.md tells a user to. Every client call runs with `--debug` (the sdk with
its HTTP logging), and the requests it sent are parsed from that output: they are in the message of a
failing assertion, and with `LOCKSTEP_RECORD_CLIENTS=<file>` every call's requests are appended to
that file (docs/clients.md was written from such a recording). After each flow the test reads the
server's state over plain HTTP: a client that only logged a failure (`openstack ... --wait` does)
does not pass.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.client_venvs import client_venv
from tests.support import LiveServer, live_server

HERE = Path(__file__).parent
MODERN_REQUIREMENTS = HERE / "requirements-clients.txt"
MANILA_CLI_REQUIREMENTS = HERE / "requirements-manila-cli.txt"
SDK_FLOWS = HERE / "sdk_flows.py"
RECORD = os.environ.get("LOCKSTEP_RECORD_CLIENTS")
CLIENT_TIMEOUT = 120  # seconds for one client command; each --wait settles in well under that

# The first test of the module installs the clients (about a minute from a cold cache); every client
# call and the install have their own timeouts, so nothing here waits forever.
pytestmark = pytest.mark.timeout(1500)

# what a client sent --------------------------------------------------------------------------------------
def requests_sent(debug_output: str) -> list[str]:
    """`METHOD path [version] body -> status` for each `REQ: curl ...` line keystoneauth logged."""
    sent: list[str] = []
    for line in debug_output.splitlines():
        if line.startswith("REQ: curl"):
            try:
                words = shlex.split(line[len("REQ: "):])
            except ValueError:
                words = line[len("REQ: "):].split()
            method = words[words.index("-X") + 1] if "-X" in words else "GET"
            url = next((w for w in words if w.startswith("http")), "?")
            headers = {}
            body = ""
            for i, word in enumerate(words[:-1]):
                if word == "-H":
                    key, _, value = words[i + 1].partition(": ")
                    headers[key.lower()] = value
                elif word == "-d":
                    body = " " + words[i + 1]
            version = headers.get("x-openstack-manila-api-version", "no version")
            if "x-openstack-manila-api-experimental" in headers:
                version += ", experimental"
            if "x-auth-token" not in headers:
                version += ", no token"
            entry = f"{method} {re.sub(r'^https?://[^/]+', '', url)} [{version}]{body}"
            if sent and sent[-1] == entry:  # the manila CLI logs each request twice
                continue
            sent.append(entry)
        elif line.startswith("RESP: [") and sent:
            sent[-1] += f" -> {line[len('RESP: ['):].split(']')[0]}"
    return sent


@dataclass
class Call:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    requests: list[str] = field(default_factory=list)

    def explain(self) -> str:
        noise = ("REQ:", "RESP", "http://", "Starting new", "GET call", "POST call", "PUT call", "DELETE call")
        errors = [line for line in self.stderr.splitlines()
                  if line.strip() and not line.startswith(noise) and not line.startswith("DEBUG (")]
        return (f"{shlex.join(self.argv[-12:])} exited {self.returncode}\nrequests:\n  " + "\n  ".join(self.requests)
                + "\nstdout:\n" + self.stdout[-2000:] + "\nstderr (without the HTTP lines):\n"
                + "\n".join(errors[-25:]))


@dataclass
class Clients:
    server: LiveServer
    modern: Path
    manila_cli: Path
    home: Path

    def run(self, argv: list[str], what: str) -> Call:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "LOCKSTEP_", "PYTHON"))}
        env["HOME"] = str(self.home)  # no clouds.yaml or client cache of the user's
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=CLIENT_TIMEOUT, env=env)
        call = Call(argv, proc.returncode, proc.stdout, proc.stderr, requests_sent(proc.stderr))
        if RECORD:
            test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
            with open(RECORD, "a") as fh:
                fh.write(f"\n### {test}\n`{what}` (exit {call.returncode})\n\n")
                fh.writelines(f"    {line}\n" for line in call.requests)
        return call

    def openstack(self, project: str, *args: str, output: bool = True, check: bool = True) -> Any:
        """`openstack share ...` (OSC 10.5 with python-manilaclient 6.3); JSON output parsed."""
        argv = [str(self.modern / "bin" / "openstack"), "--os-auth-type", "admin_token",
                "--os-token", f"admin:{project}", "--os-endpoint", f"{self.server.url}/v2/{project}", "--debug",
                *args, *(["-f", "json"] if output else [])]
        call = self.run(argv, "openstack " + shlex.join(args))
        if check:
            assert call.returncode == 0, call.explain()
        return json.loads(call.stdout) if output and call.returncode == 0 else call

    def manila(self, project: str, *args: str) -> dict[str, str]:
        """The `manila` CLI of python-manilaclient 5.7.1; its property table as a dict."""
        argv = [str(self.manila_cli / "bin" / "manila"), "--os-token", f"admin:{project}",
                "--bypass-url", f"{self.server.url}/v2/{project}", "--debug", *args]
        call = self.run(argv, "manila " + shlex.join(args))
        assert call.returncode == 0, call.explain()
        return table(call.stdout)

    def manila_rows(self, project: str, *args: str) -> list[dict[str, str]]:
        argv = [str(self.manila_cli / "bin" / "manila"), "--os-token", f"admin:{project}",
                "--bypass-url", f"{self.server.url}/v2/{project}", "--debug", *args]
        call = self.run(argv, "manila " + shlex.join(args))
        assert call.returncode == 0, call.explain()
        return rows(call.stdout)

    def sdk(self, flow: str, project: str, argument: str = "") -> tuple[dict[str, Any], Call]:
        """One flow of sdk_flows.py, run by the client venv's Python: its JSON result and the call."""
        argv = [str(self.modern / "bin" / "python"), str(SDK_FLOWS), flow, self.server.url, project, argument]
        call = self.run(argv, f"sdk_flows.py {flow}")
        assert call.returncode == 0, call.explain()
        result: dict[str, Any] = json.loads(call.stdout.strip().splitlines()[-1])
        return result, call

    def http(self, project: str, version: str, experimental: bool = False) -> httpx.Client:
        """Plain HTTP as the admin of `project`, to read what the server holds after a client's flow."""
        headers = {"X-Auth-Token": f"admin:{project}", "X-OpenStack-Manila-API-Version": version}
        if experimental:
            headers["X-OpenStack-Manila-API-Experimental"] = "True"
        return httpx.Client(base_url=f"{self.server.url}/v2/{project}", headers=headers, timeout=30)


def table(output: str) -> dict[str, str]:
    """A `| Property | Value |` table (continuation lines of a wrapped value are joined)."""
    values: dict[str, str] = {}
    last = ""
    for line in output.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("Property", "Field"):
            continue
        if cells[0]:
            last = cells[0]
            values[last] = cells[1]
        elif last:
            values[last] += cells[1]
    return values


def rows(output: str) -> list[dict[str, str]]:
    """A list table: one dict per row, keyed by the header."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    if not lines:
        return []
    header = [c.strip() for c in lines[0].strip().strip("|").split("|")]
    return [dict(zip(header, [c.strip() for c in line.strip().strip("|").split("|")], strict=False))
            for line in lines[1:]]


@pytest.fixture(scope="module")
def clients(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    modern = client_venv("clients", MODERN_REQUIREMENTS, request.config)
    manila_cli = client_venv("manila-cli", MANILA_CLI_REQUIREMENTS, request.config)
    tmp: Path = tmp_path_factory.mktemp("modern-clients")
    config = tmp / "lockstep.toml"
    # A second backend whose share creation fails in the driver, for a share that goes to error
    # asynchronously (the message-list test); the default type is pinned to the healthy one.
    config.write_text('[backend.default]\ndriver = "fake"\n[backend.faulty]\ndriver = "fake"\nfail = "create_share"\n')
    (tmp / "home").mkdir()
    with live_server(tmp / "data", f"sqlite:///{tmp / 'db.sqlite'}", LOCKSTEP_CONFIG=str(config)) as server:
        clients = Clients(server, modern, manila_cli, tmp / "home")
        with clients.http("admin", "2.30") as http:
            resp = http.post(f"/types/{default_type_id(http)}/extra_specs",
                             json={"extra_specs": {"share_backend_name": "default"}})
            assert resp.status_code == 200, resp.text
            resp = http.post("/types", json={"share_type": {"name": "faulty", "extra_specs": {
                "driver_handles_share_servers": False, "share_backend_name": "faulty"}}})
            assert resp.status_code == 200, resp.text
        yield clients


def until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Poll the server (over HTTP) until `check()`; the live worker settles within milliseconds."""
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.1)


def make_share(http: httpx.Client, name: str, share_type: str = "default", status: str = "available") -> str:
    """A share made over HTTP, for a flow that is about something else (a client's --wait costs seconds)."""
    resp = http.post("/shares", json={"share": {"name": name, "size": 1, "share_proto": "NFS",
                                                "share_type": share_type}})
    assert resp.status_code == 200, resp.text
    share_id = str(resp.json()["share"]["id"])
    until(lambda: http.get(f"/shares/{share_id}").json()["share"]["status"] == status, f"share {name} {status}")
    return share_id


def default_type_id(http: httpx.Client) -> str:
    resp = http.get("/types/default")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["share_type"]["id"])


# what works before issue 9 (and must keep working) --------------------------------------------------------
def test_openstack_share_lifecycle(clients: Clients) -> None:
    project = "osc-shares"
    created = clients.openstack(project, "share", "create", "NFS", "1", "--name", "plain", "--wait")
    shown = clients.openstack(project, "share", "show", "plain")
    assert shown["id"] == created["id"] and shown["status"] == "available"
    assert "plain" in [s["Name"] for s in clients.openstack(project, "share", "list")]
    http = clients.http(project, "2.30")
    assert http.get(f"/shares/{created['id']}").json()["share"]["status"] == "available"
    clients.openstack(project, "share", "delete", "plain", "--wait", output=False)
    assert http.get(f"/shares/{created['id']}").status_code == 404


def test_manila_cli_share_and_snapshot_lifecycle(clients: Clients) -> None:
    project = "cli-shares"
    share = clients.manila(project, "create", "NFS", "1", "--name", "cli-plain", "--wait")
    http = clients.http(project, "2.30")
    assert http.get(f"/shares/{share['id']}").json()["share"]["status"] == "available"
    assert [r["Name"] for r in clients.manila_rows(project, "list")] == ["cli-plain"]
    snapshot = clients.manila(project, "snapshot-create", "cli-plain", "--name", "cli-plain-snap", "--wait")
    assert http.get(f"/snapshots/{snapshot['id']}").json()["snapshot"]["status"] == "available"
    clone = clients.manila(project, "create", "NFS", "1", "--name", "cli-clone", "--snapshot-id", snapshot["id"],
                           "--wait")
    assert http.get(f"/shares/{clone['id']}").json()["share"]["snapshot_id"] == snapshot["id"]


def test_sdk_share_lifecycle(clients: Clients) -> None:
    result, _ = clients.sdk("shares", "sdk-shares")
    assert result["share"] in result["listed"]
    assert clients.http("sdk-shares", "2.30").get(f"/shares/{result['share']}").status_code == 404


# share groups ---------------------------------------------------------------------------------------------
def check_group_flow(http: httpx.Client, group_type: str, group: str, shares: list[str], snapshot: str,
                     restored: str) -> None:
    """What the server holds after type -> group -> two shares -> group snapshot -> group from it."""
    assert http.get(f"/share-group-types/{group_type}").json()["share_group_type"]["share_types"] == [
        default_type_id(http)]
    held = http.get(f"/share-groups/{group}").json()["share_group"]
    assert (held["status"], held["share_group_type_id"]) == ("available", group_type)
    for share in shares:
        assert http.get(f"/shares/{share}").json()["share"]["share_group_id"] == group
    snap = http.get(f"/share-group-snapshots/{snapshot}").json()["share_group_snapshot"]
    assert snap["status"] == "available" and snap["share_group_id"] == group
    assert sorted(m["share_id"] for m in snap["members"]) == sorted(shares)
    copy = http.get(f"/share-groups/{restored}").json()["share_group"]
    assert (copy["status"], copy["source_share_group_snapshot_id"]) == ("available", snapshot)
    copies = http.get("/shares/detail", params={"share_group_id": restored}).json()["shares"]
    assert len(copies) == 2 and {c["status"] for c in copies} == {"available"}
    member_ids = {m["id"] for m in snap["members"]}
    assert {c["source_share_group_snapshot_member_id"] for c in copies} == member_ids
    # one store (issue 9, point 2): the same group and snapshot through the consistency-group API at 2.30
    old = http.get(f"/consistency-groups/{group}",
                   headers={"X-OpenStack-Manila-API-Version": "2.30", "X-OpenStack-Manila-API-Experimental": "True"})
    assert old.status_code == 200 and old.json()["consistency_group"]["id"] == group, old.text


def test_openstack_share_group_flow(clients: Clients) -> None:
    p = "osc-groups"
    group_type = clients.openstack(p, "share", "group", "type", "create", "quarterly-type", "default")
    group = clients.openstack(p, "share", "group", "create", "--share-group-type", "quarterly-type",
                              "--name", "quarterly", "--wait")
    shares = [clients.openstack(p, "share", "create", "NFS", "1", "--name", name, "--share-group", "quarterly",
                                "--wait")["id"] for name in ("q3-a", "q3-b")]
    snapshot = clients.openstack(p, "share", "group", "snapshot", "create", "quarterly", "--name", "eoq", "--wait")
    restored = clients.openstack(p, "share", "group", "create", "--source-share-group-snapshot", "eoq",
                                 "--name", "restored", "--wait")
    assert {"quarterly", "restored"} <= {g["Name"] for g in clients.openstack(p, "share", "group", "list")}
    in_restored = clients.openstack(p, "share", "list", "--share-group", "restored")
    assert len(in_restored) == 2
    check_group_flow(clients.http(p, "2.55"), group_type["id"], group["id"], shares, snapshot["id"], restored["id"])


def test_manila_cli_share_group_flow(clients: Clients) -> None:
    p = "cli-groups"
    group_type = clients.manila(p, "share-group-type-create", "cli-quarterly-type", "default")
    group = clients.manila(p, "share-group-create", "--share-group-type", "cli-quarterly-type",
                           "--name", "cli-quarterly", "--wait")
    shares = [clients.manila(p, "create", "NFS", "1", "--name", name, "--share-group", "cli-quarterly",
                             "--wait")["id"] for name in ("cli-q3-a", "cli-q3-b")]
    snapshot = clients.manila(p, "share-group-snapshot-create", "cli-quarterly", "--name", "cli-eoq", "--wait")
    members = clients.manila_rows(p, "share-group-snapshot-list-members", "cli-eoq")
    assert sorted(m["Share ID"] for m in members) == sorted(shares)
    restored = clients.manila(p, "share-group-create", "--source-share-group-snapshot", "cli-eoq",
                              "--name", "cli-restored", "--wait")
    check_group_flow(clients.http(p, "2.55"), group_type["ID"], group["id"], shares, snapshot["id"], restored["id"])


def test_sdk_share_group_flow(clients: Clients) -> None:
    """The sdk has no share-group-type API and creates shares without a microversion (so Manila drops their
    `share_group_id`), and sends `share_group_snapshot_id`, which Manila refuses, for a group from a group
    snapshot; the test makes the type and the two member shares over HTTP and uses the sdk for the rest."""
    p = "sdk-groups"
    http = clients.http(p, "2.55")
    resp = http.post("/share-group-types", json={"share_group_type": {"name": "sdk-type", "share_types": ["default"]}})
    assert resp.status_code == 200, resp.text
    group_type = resp.json()["share_group_type"]["id"]
    created, call = clients.sdk("share_group_create", p, group_type)
    group = created["group"]
    assert any(r.startswith("POST /v2/sdk-groups/share-groups [2.55]") for r in call.requests), call.explain()
    shares = []
    for name in ("sdk-a", "sdk-b"):
        resp = http.post("/shares", json={"share": {"name": name, "size": 1, "share_proto": "NFS",
                                                    "share_group_id": group}})
        assert resp.status_code == 200, resp.text
        shares.append(resp.json()["share"]["id"])
    until(lambda: all(http.get(f"/shares/{s}").json()["share"]["status"] == "available" for s in shares),
          "member shares available")
    result, call = clients.sdk("share_group_snapshot", p, group)
    assert group in result["listed"], call.explain()
    assert result["snapshot"] in result["listed_snapshots"]
    assert sorted(m["share_id"] for m in result["snapshot_members"]["share_group_snapshot_members"]) == sorted(shares)
    snap = http.get(f"/share-group-snapshots/{result['snapshot']}").json()["share_group_snapshot"]
    assert snap["status"] == "available" and sorted(m["share_id"] for m in snap["members"]) == sorted(shares)


# access rules ---------------------------------------------------------------------------------------------
def test_openstack_access_flow(clients: Clients) -> None:
    p = "osc-access"
    share = make_share(clients.http(p, "2.30"), "exports")
    http = clients.http(p, "2.45")
    rule = clients.openstack(p, "share", "access", "create", "exports", "ip", "10.0.0.0/24", "--access-level", "ro",
                             "--wait")
    held = http.get(f"/share-access-rules/{rule['id']}").json()["access"]
    assert (held["state"], held["access_to"], held["access_level"]) == ("active", "10.0.0.0/24", "ro")
    listed = clients.openstack(p, "share", "access", "list", "exports")
    assert [(r["ID"], r["State"]) for r in listed] == [(rule["id"], "active")]
    clients.openstack(p, "share", "access", "delete", "exports", rule["id"], "--wait", output=False)
    assert http.get("/share-access-rules", params={"share_id": share}).json()["access_list"] == []
    assert http.get(f"/share-access-rules/{rule['id']}").status_code == 404


def test_manila_cli_access_flow(clients: Clients) -> None:
    p = "cli-access"
    share = make_share(clients.http(p, "2.30"), "cli-exports")
    http = clients.http(p, "2.45")
    rule = clients.manila(p, "access-allow", "cli-exports", "ip", "10.0.0.1", "--access-level", "ro", "--wait")
    assert http.get(f"/share-access-rules/{rule['id']}").json()["access"]["state"] == "active"
    listed = clients.manila_rows(p, "access-list", "cli-exports")
    assert [(r["id"], r["access_to"], r["state"]) for r in listed] == [(rule["id"], "10.0.0.1", "active")]
    clients.manila(p, "access-deny", "cli-exports", rule["id"])  # 5.7.1 has no --wait for deny
    until(lambda: http.get("/share-access-rules", params={"share_id": share}).json()["access_list"] == [],
          "the rule gone")
    assert clients.manila_rows(p, "access-list", "cli-exports") == []


def test_sdk_access_flow(clients: Clients) -> None:
    p = "sdk-access"
    result, call = clients.sdk("access_rules", p)
    assert result["listed"] == [[result["rule"], "10.0.0.0/24", "rw", "active"]], call.explain()
    assert result["after_delete"] == []
    http = clients.http(p, "2.45")
    assert http.get(f"/share-access-rules/{result['rule']}").status_code == 404


# what the clients call next -------------------------------------------------------------------------------
def test_openstack_snapshot_create_and_show(clients: Clients) -> None:
    p = "osc-snapshots"
    make_share(clients.http(p, "2.30"), "data")
    http = clients.http(p, "2.73")
    snapshot = clients.openstack(p, "share", "snapshot", "create", "data", "--name", "nightly", "--wait")
    shown = clients.openstack(p, "share", "snapshot", "show", "nightly")
    assert shown["id"] == snapshot["id"] and shown["status"] == "available"
    assert http.get(f"/snapshots/{snapshot['id']}").json()["snapshot"]["status"] == "available"
    assert http.get(f"/snapshots/{snapshot['id']}/export-locations").status_code == 200


def test_manila_cli_snapshot_show(clients: Clients) -> None:
    p = "cli-snapshots"
    make_share(clients.http(p, "2.30"), "cli-data")
    snapshot = clients.manila(p, "snapshot-create", "cli-data", "--name", "cli-nightly", "--wait")
    assert clients.manila(p, "snapshot-show", "cli-nightly")["id"] == snapshot["id"]


def test_openstack_message_list_says_why_a_share_failed(clients: Clients) -> None:
    p = "osc-messages"
    share = make_share(clients.http(p, "2.30"), "doomed", share_type="faulty", status="error")  # the driver fails it
    messages = clients.openstack(p, "share", "message", "list")
    assert [(m["Resource Type"], m["Resource ID"]) for m in messages] == [("SHARE", share)], messages
    held = clients.http(p, "2.37").get("/messages").json()["messages"]
    assert [(m["resource_id"], m["message_level"]) for m in held] == [(share, "ERROR")]


def test_sdk_user_messages_say_why_a_share_failed(clients: Clients) -> None:
    p = "sdk-messages"
    share = make_share(clients.http(p, "2.30"), "doomed", share_type="faulty", status="error")
    result, call = clients.sdk("user_messages", p)
    # An admin lists every project's messages (as in Manila): this share's are the ones to check.
    mine = [m for m in result["messages"] if m["resource_id"] == share]
    assert [(m["resource_type"], m["message_level"]) for m in mine] == [("SHARE", "ERROR")], call.explain()
    assert mine[0]["user_message"], call.explain()


def test_openstack_limits_and_services(clients: Clients) -> None:
    p = "osc-limits"
    limits = {row["Name"]: row["Value"] for row in clients.openstack(p, "share", "limits", "show", "--absolute")}
    assert "maxTotalShares" in limits and "totalSharesUsed" in limits, limits
    services = clients.openstack(p, "share", "service", "list")
    assert services and {"Binary", "Host", "State"} <= set(services[0]), services
    http = clients.http(p, "2.83")
    assert http.get("/limits").json()["limits"]["absolute"]["maxTotalShares"] == limits["maxTotalShares"]
    assert len(http.get("/services").json()["services"]) == len(services)


def test_sdk_limits(clients: Clients) -> None:
    """openstacksdk 4.22 reads `limits` as a list of flat records, so against Manila's
    `{"limits": {"rate": [], "absolute": {...}}}` it yields one Limit with every field None (a client bug);
    the flow proves the call reaches `/limits` and the server answers it."""
    result, call = clients.sdk("limits", "sdk-limits")
    assert len(result["limits"]) == 1
    reached = [r for r in call.requests if r.startswith("GET /v2/sdk-limits/limits")]
    assert reached and reached[-1].endswith("-> 200"), call.explain()


def test_openstack_share_set_name(clients: Clients) -> None:
    p = "osc-rename"
    http = clients.http(p, "2.30")
    share = make_share(http, "before")
    clients.openstack(p, "share", "set", "before", "--name", "after", output=False)
    assert http.get(f"/shares/{share}").json()["share"]["name"] == "after"


def test_openstack_share_network_show(clients: Clients) -> None:
    p = "osc-networks"
    network = clients.openstack(p, "share", "network", "create", "--name", "tenant-net")
    shown = clients.openstack(p, "share", "network", "show", "tenant-net")
    assert shown["id"] == network["id"] and shown["name"] == "tenant-net"


def test_sdk_discovers_its_microversion(clients: Clients) -> None:
    """No microversion is configured: the sdk reads the version documents (without a token, as keystoneauth
    does) and sends each resource's version up to the server's maximum."""
    result, call = clients.sdk("discovery", "sdk-discovery")
    advertised = httpx.get(f"{clients.server.url}/", timeout=10).json()["versions"]
    current = next(v for v in advertised if v["status"] == "CURRENT")
    assert result["max_microversion"] == str(tuple(int(n) for n in current["version"].split("."))), call.explain()
    assert result["export_locations"] and result["availability_zones"], call.explain()
    assert any(re.match(r"GET /v2/sdk-discovery/availability-zones \[2\.7\] -> 200", r) for r in call.requests)
    assert any(re.match(r"GET /v2/sdk-discovery/shares/\S+/export_locations \[2\.47\] -> 200", r)
               for r in call.requests), call.explain()
