"""Hostile input at the edge: overlong ids and names are 400 (never 500, on SQLite and PostgreSQL), a
trailing slash names no resource, every fault is a JSON fault body, private types stay private."""

from __future__ import annotations

import pytest

from lockstep.api.auth import BadIdentity, context_from_keystone_headers
from lockstep.service.policy import Policy
from tests.api.helpers import GENERIC_404, create_type, expect_fault, unique
from tests.support import Client, Server

LONG = "x" * 256  # one past the 255 characters every id and name column holds
SHARE = {"share": {"size": 1, "share_proto": "NFS"}}


# ids in tokens --------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [f"admin:{LONG}", f"{LONG}:p", LONG])
def test_overlong_token_ids_are_400(server: Server, token: str) -> None:
    project = token.partition(":")[2] or token
    for method, path, body in (("GET", "/shares", None), ("POST", "/shares", SHARE),
                               ("POST", "/share-networks", {"share_network": {}})):
        resp = server.http.request(method, f"{server.url}/v2/{project}{path}", json=body,
                                   headers={"X-Auth-Token": token})
        text = expect_fault(resp, 400)
        assert "longer than 255 characters" in text


def test_ids_of_255_characters_are_served(server: Server) -> None:
    client = server.client(project="p" * 255, user="u" * 255)
    assert client.post("/share-networks", {"share_network": {}}).status_code == 200
    assert len(client.get("/share-networks").json()["share_networks"]) == 1


def test_overlong_keystone_identity_is_refused() -> None:
    policy = Policy()
    ok = context_from_keystone_headers({"x-user-id": "u", "x-project-id": "p" * 255}, policy, "req-1")
    assert ok.project_id == "p" * 255
    for headers in ({"x-user-id": LONG, "x-project-id": "p"}, {"x-user-id": "u", "x-project-id": LONG}):
        with pytest.raises(BadIdentity, match="longer than 255 characters"):
            context_from_keystone_headers(headers, policy, "req-1")


# ids in paths, queries and bodies ------------------------------------------------------------------
def test_overlong_quota_targets_are_400(client: Client) -> None:
    for params in ({}, {"user_id": LONG}):
        target = LONG if not params else client.project
        expect_fault(client.put(f"/quota-sets/{target}", {"quota_set": {"shares": 5}}, params=params), 400)
        expect_fault(client.get(f"/quota-sets/{target}", params=params), 400)
        expect_fault(client.delete(f"/quota-sets/{target}", params=params), 400)


@pytest.mark.parametrize("collection", ["shares", "snapshots", "share-networks", "security-services",
                                        "consistency-groups", "cgsnapshots", "types"])
def test_overlong_ids_in_paths_are_never_500(client: Client, collection: str) -> None:
    for resp in (client.get(f"/{collection}/{LONG}"), client.delete(f"/{collection}/{LONG}"),
                 client.put(f"/{collection}/{LONG}", {"x": {}})):
        assert 400 <= resp.status_code < 500, resp.text
        expect_fault(resp, resp.status_code)


def test_overlong_names_and_references_are_4xx(client: Client) -> None:
    cases = [
        ("/shares", {"share": {**SHARE["share"], "name": LONG}}, 400),
        ("/shares", {"share": {**SHARE["share"], "share_type": LONG}}, 404),
        ("/shares", {"share": {**SHARE["share"], "share_network_id": LONG}}, 404),
        ("/share-networks", {"share_network": {"description": LONG}}, 400),
        ("/consistency-groups", {"consistency_group": {"name": LONG}}, 400),
        ("/security-services", {"security_service": {"type": "ldap", "name": LONG}}, 400),
    ]
    for path, body, status in cases:
        expect_fault(client.post(path, body), status)


# the wire: trailing slashes, HEAD, unknown methods ----------------------------------------------------
@pytest.mark.parametrize("path", ["/shares/", "/shares/detail/", "/share-networks/", "/types/", "/cgsnapshots/"])
def test_trailing_slash_is_404_as_in_manila(client: Client, path: str) -> None:
    expect_fault(client.get(path), 404, GENERIC_404)
    assert client.get(path.rstrip("/")).status_code == 200


def test_trailing_slash_on_an_item_and_a_projectless_collection_is_404(client: Client, server: Server) -> None:
    network = client.post("/share-networks", {"share_network": {}}).json()["share_network"]
    expect_fault(client.get(f"/share-networks/{network['id']}/"), 404, GENERIC_404)
    expect_fault(client.post("/shares/", SHARE), 404, GENERIC_404)
    projectless = server.http.get(f"{server.url}/v2/shares/", headers={
        "X-Auth-Token": f"admin:{client.project}", "X-OpenStack-Manila-API-Version": "2.60"})
    expect_fault(projectless, 404, GENERIC_404)
    # the version documents keep theirs (clients discover the API at `/v2/`)
    assert server.http.get(f"{server.url}/v2/").status_code == 200
    assert server.http.get(f"{server.url}/v2/{client.project}/", headers={
        "X-Auth-Token": f"admin:{client.project}"}).status_code == 200


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "PATCH", "BREW"])
def test_every_method_without_a_route_is_a_json_fault(client: Client, method: str) -> None:
    resp = client.http.request(method, "/shares")
    assert resp.status_code == 404
    if method != "HEAD":  # a HEAD reply has no body, but says what the GET would carry
        expect_fault(resp, 404, GENERIC_404)
    assert resp.headers["content-type"] == "application/json"


# private share types (Lockstep decision: named by id or by name, only with access) -----------------
def test_private_type_is_usable_only_with_access_by_id_or_name(server: Server, client: Client) -> None:
    private = create_type(client, unique("private"), public=False)
    outsider = server.client(user="alice")
    granted = server.client(user="bob")
    assert client.post(f"/types/{private['id']}/action",
                       {"addProjectAccess": {"project": granted.project}}).status_code == 202
    for ref in (private["id"], private["name"]):
        body = {"share": {**SHARE["share"], "share_type": ref}}
        expect_fault(outsider.post("/shares", body), 404, "Share type not found.")
        resp = granted.post("/shares", body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["share"]["share_type"] == private["id"]
        resp = client.post("/shares", body)  # an admin uses any type
        assert resp.status_code == 200, resp.text
    assert outsider.get("/shares").json() == {"shares": []}
