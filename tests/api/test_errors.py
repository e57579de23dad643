"""Auth entry (noauth), URL checks, unmatched routes, fault bodies, body parsing and input types."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    GENERIC_400,
    create_network,
    create_snapshot,
    create_type,
    expect_fault,
    unique,
)
from tests.support import Client, Server

UNPROCESSABLE = "Unable to process the contained instructions"


# noauth -----------------------------------------------------------------------------------------
def test_noauth_without_token_answers_204(server: Server) -> None:
    resp = server.http.get(f"{server.url}/v2/someproject/shares")
    assert resp.status_code == 204
    assert resp.content == b""
    assert resp.headers["X-Auth-Token"] == "admin:admin"
    assert resp.headers["X-Server-Management-Url"] == f"{server.url}/v2/someproject/shares/admin"
    assert "x-compute-request-id" not in resp.headers


def test_noauth_204_names_the_given_user_and_project(server: Server) -> None:
    resp = server.http.post(f"{server.url}/v2/", headers={"X-Auth-User": "bob", "X-Auth-Project-Id": "proj"})
    assert resp.status_code == 204
    assert resp.headers["X-Auth-Token"] == "bob:proj"
    assert resp.headers["X-Server-Management-Url"].endswith("/proj")


def test_token_without_colon_uses_the_user_as_project(server: Server) -> None:
    resp = server.http.get(f"{server.url}/v2/solo/shares", headers={"X-Auth-Token": "solo"})
    assert resp.status_code == 200
    resp = server.http.get(f"{server.url}/v2/solo/shares", headers={"X-Auth-Token": "solo:"})
    assert resp.status_code == 200
    resp = server.http.get(f"{server.url}/v2/b:c/shares", headers={"X-Auth-Token": "a:b:c"})
    assert resp.status_code == 200


def test_url_project_must_match_token_project(client: Client, server: Server) -> None:
    for user in ("admin", "alice"):
        resp = server.http.get(f"{server.url}/v2/other-project/shares", headers={"X-Auth-Token": f"{user}:mine"})
        expect_fault(resp, 400, "Malformed request url")
    resp = server.http.post(
        f"{server.url}/v2/other-project/shares",
        headers={"X-Auth-Token": "admin:mine"},
        json={"share": {"size": 1, "share_proto": "NFS"}},
    )
    expect_fault(resp, 400, "Malformed request url")
    assert client.get("/shares").json() == {"shares": []}


# routes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/nothing-here"),
        ("PATCH", "/shares/x"),
        ("POST", "/shares/x"),
        ("DELETE", "/shares"),
        ("GET", "/shares/x/y/z/w"),
        ("PUT", "/types/x"),
        ("PATCH", "/share-networks/x"),
        ("GET", "/snapshots/x/action"),
    ],
)
def test_unmatched_route_is_a_json_404(client: Client, method: str, path: str) -> None:
    resp = client.http.request(method, path)
    expect_fault(resp, 404, "The resource could not be found.")
    assert resp.headers["X-OpenStack-Manila-API-Version"] == "2.30"


def test_unversioned_unknown_paths_are_json_404(server: Server) -> None:
    # /healthcheck is served since issue 13 (tests/ops/test_health.py); its neighbours are still unknown.
    for path in ("/v3/p/shares", "/v1/p/shares", "/healthz", "/healthcheck/other", "/metricsx", "/v2x"):
        resp = server.http.get(f"{server.url}{path}", headers={"X-Auth-Token": "admin:p"})
        expect_fault(resp, 404, "The resource could not be found.")
        assert "X-OpenStack-Manila-API-Version" not in resp.headers


def test_fault_body_shape(client: Client) -> None:
    resp = client.get("/shares/0b5a1f06-0d5e-4c76-8c8a-f6c7ad0b2a3c")
    assert resp.status_code == 404
    assert resp.json() == {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}


# bodies ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/shares", "/snapshots", "/share-networks", "/types"])
def test_malformed_json_is_400(client: Client, path: str) -> None:
    resp = client.http.post(path, content=b'{"share": {', headers={"Content-Type": "application/json"})
    expect_fault(resp, 400, "Malformed request body")


def test_malformed_json_on_update_and_action(client: Client) -> None:
    share = client.create_share()
    resp = client.http.put(f"/shares/{share['id']}", content=b"{nope")
    expect_fault(resp, 400, "Malformed request body")
    resp = client.http.post(f"/shares/{share['id']}/action", content=b"{nope")
    expect_fault(resp, 400, "Malformed request body")
    resp = client.post(
        f"/shares/{share['id']}/action", {"extend": {"new_size": 2}, "shrink": {"new_size": 1}}
    )
    expect_fault(resp, 400, "Malformed request body")
    resp = client.post(f"/shares/{share['id']}/action", {})
    expect_fault(resp, 400, "Malformed request body")
    resp = client.post(f"/shares/{share['id']}/action", ["extend"])
    expect_fault(resp, 400, "Malformed request body")


def test_body_without_json_content_type_is_absent(client: Client) -> None:
    resp = client.http.post(
        "/shares",
        content=b'{"share": {"size": 1, "share_proto": "NFS"}}',
        headers={"Content-Type": "text/plain"},
    )
    expect_fault(resp, 400, GENERIC_400)
    resp = client.http.post("/share-networks", content=b"", headers={"Content-Type": "application/json"})
    expect_fault(resp, 400, GENERIC_400)


@pytest.mark.parametrize(
    "path,body",
    [
        ("/shares", {"shares": {"size": 1}}),
        ("/shares", {"share": "x"}),
        ("/shares", {"share": None}),
        ("/shares", []),
        ("/shares", "share"),
        ("/shares", 7),
        ("/snapshots", {"snap": {}}),
        ("/snapshots", {"snapshot": [1]}),
        ("/share-networks", {"network": {}}),
        ("/share-networks", {"share_network": "n"}),
    ],
)
def test_missing_entity_is_422(client: Client, path: str, body: Any) -> None:
    expect_fault(client.post(path, body), 422, UNPROCESSABLE)


def test_missing_entity_on_update_is_422(client: Client) -> None:
    share = client.create_share()
    snap = create_snapshot(client, share["id"])
    net = create_network(client)
    for path, body in (
        (f"/shares/{share['id']}", {"x": {}}),
        (f"/snapshots/{snap['id']}", {"snapshot": 1}),
        (f"/share-networks/{net['id']}", {"share_network": []}),
    ):
        expect_fault(client.put(path, body), 422, UNPROCESSABLE)


def test_request_too_large_is_413(client: Client) -> None:
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS", "description": "x" * 200_000}})
    expect_fault(resp, 413)


# decision 3: wrong types and long names answer 400 naming the field ---------------------------
@pytest.mark.parametrize(
    "field,value",
    [
        ("name", 5),
        ("name", ["a"]),
        ("name", {"a": 1}),
        ("name", True),
        ("name", "n" * 256),
        ("display_name", 5),
        ("description", 1.5),
        ("description", "d" * 256),
        ("display_description", []),
        ("share_network_id", 3),
        ("snapshot_id", ["x"]),
        ("availability_zone", 1),
        ("share_type", 4),
        ("volume_type", {"a": "b"}),
        ("consistency_group_id", 9),
        ("metadata", "k=v"),
        ("metadata", ["k"]),
    ],
)
def test_share_create_wrong_type_is_400_naming_field(client: Client, field: str, value: Any) -> None:
    resp = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS", field: value}})
    text = expect_fault(resp, 400)
    named = {"display_name": "name", "display_description": "description", "volume_type": "share_type"}
    assert named.get(field, field) in text or field in text, text


@pytest.mark.parametrize(
    "body",
    [{"size": 1}, {"share_proto": "NFS"}, {"size": 1, "share_proto": 5}, {"size": 1, "share_proto": None}],
)
def test_share_create_without_size_or_proto_is_400(client: Client, body: dict[str, Any]) -> None:
    text = expect_fault(client.post("/shares", {"share": body}), 400)
    assert ("size" in text) or ("share_proto" in text), text


def test_share_update_wrong_types_are_400(client: Client) -> None:
    share = client.create_share()
    for field, value in (
        ("display_name", 1),
        ("display_name", "n" * 256),
        ("display_description", ["x"]),
        ("display_description", "d" * 256),
    ):
        text = expect_fault(client.put(f"/shares/{share['id']}", {"share": {field: value}}), 400)
        assert field in text, text


def test_snapshot_wrong_types_are_400(client: Client) -> None:
    share = client.create_share()
    value: object
    for field, value in (
        ("name", 1),
        ("name", "n" * 256),
        ("description", False),
        ("share_id", 5),
        ("share_id", None),
    ):
        text = expect_fault(
            client.post("/snapshots", {"snapshot": {"share_id": share["id"], field: value}}), 400
        )
        assert field in text, text
    snap = create_snapshot(client, share["id"])
    for field, value in (("display_name", 1), ("display_name", "n" * 256), ("display_description", {})):
        text = expect_fault(client.put(f"/snapshots/{snap['id']}", {"snapshot": {field: value}}), 400)
        assert field in text, text


def test_share_network_wrong_types_are_400(client: Client) -> None:
    for field, value in (
        ("name", 1),
        ("name", "n" * 256),
        ("description", ["d"]),
        ("description", "d" * 256),
        ("neutron_net_id", 5),
        ("cidr", {}),
    ):
        text = expect_fault(client.post("/share-networks", {"share_network": {field: value}}), 400)
        assert field in text, text


# no crafted request answers 500 ----------------------------------------------------------------
ODD: list[Any] = [
    None,
    0,
    -1,
    1.5,
    2**62,
    -(2**62),
    1e300,
    True,
    "",
    "x",
    "x" * 300,
    [],
    [1],
    {},
    {"a": "b"},
    {"a": {"b": 1}},
]


def _fields(resp: httpx.Response) -> None:
    assert resp.status_code < 500, (
        f"{resp.request.method} {resp.request.url} {resp.request.content!r}: {resp.text}"
    )


def test_no_odd_body_answers_500(client: Client) -> None:
    share = client.create_share(size=2)
    snap = create_snapshot(client, share["id"])
    net = create_network(client)
    stype = create_type(client, public=False)
    member_of = f"/shares/{share['id']}"
    creates: dict[str, tuple[str, list[str]]] = {
        "/shares": (
            "share",
            [
                "size",
                "share_proto",
                "name",
                "description",
                "display_name",
                "share_type",
                "volume_type",
                "share_network_id",
                "snapshot_id",
                "availability_zone",
                "metadata",
                "is_public",
                "consistency_group_id",
            ],
        ),
        "/snapshots": ("snapshot", ["share_id", "name", "description", "display_name", "force"]),
        "/share-networks": (
            "share_network",
            [
                "name",
                "description",
                "neutron_net_id",
                "neutron_subnet_id",
                "segmentation_id",
                "ip_version",
                "mtu",
                "cidr",
                "gateway",
                "network_type",
            ],
        ),
        "/types": (
            "share_type",
            ["name", "extra_specs", "share_type_access:is_public", "os-share-type-access:is_public"],
        ),
    }
    value: object
    for path, (entity, fields) in creates.items():
        for value in ("x", 1, [], None, {}):
            _fields(client.post(path, {entity: value}))
        for field, value in itertools.product(fields, ODD):
            body: dict[str, Any] = {field: value}
            if path == "/shares":
                body = {"size": 1, "share_proto": "NFS", **body}
            elif path == "/snapshots" and field != "share_id":
                body["share_id"] = share["id"]
            elif path == "/types" and field == "name":
                body = {
                    "name": value if not isinstance(value, str) or not value else unique("fz"),
                    "extra_specs": {"driver_handles_share_servers": False},
                }
            elif path == "/types":
                body = {"name": unique("fz"), "extra_specs": {"driver_handles_share_servers": False}, **body}
            _fields(client.post(path, {entity: body}))
    updates = {
        member_of: ("share", ["display_name", "display_description", "is_public", "name"]),
        f"/snapshots/{snap['id']}": ("snapshot", ["display_name", "display_description"]),
        f"/share-networks/{net['id']}": (
            "share_network",
            ["name", "segmentation_id", "ip_version", "mtu", "cidr", "nova_net_id"],
        ),
    }
    for path, (entity, fields) in updates.items():
        for field, value in itertools.product(fields, ODD):
            _fields(client.put(path, {entity: {field: value}}))
    for value in ODD:
        _fields(client.post(f"{member_of}/metadata", {"metadata": value}))
        _fields(client.post(f"{member_of}/metadata", {"metadata": {"k": value}}))
        _fields(client.put(f"{member_of}/metadata", {"metadata": value}))
        _fields(client.put(f"{member_of}/metadata/k", {"meta": value}))
        _fields(client.put(f"{member_of}/metadata/k", {"meta": {"k": value}}))
        _fields(client.post(f"/types/{stype['id']}/extra_specs", {"extra_specs": value}))
        _fields(client.post(f"/types/{stype['id']}/extra_specs", {"extra_specs": {"k": value}}))
        _fields(client.put(f"/types/{stype['id']}/extra_specs/k", {"k": value}))
        _fields(client.put(f"/types/{stype['id']}/extra_specs/k", value))
        for key in ("addProjectAccess", "removeProjectAccess"):
            _fields(client.post(f"/types/{stype['id']}/action", {key: value}))
            _fields(client.post(f"/types/{stype['id']}/action", {key: {"project": value}}))
        for key in ("extend", "shrink", "reset_status"):
            _fields(client.post(f"{member_of}/action", {key: value}))
            inner = "status" if key == "reset_status" else "new_size"
            _fields(client.post(f"{member_of}/action", {key: {inner: value}}))
            _fields(client.post(f"/snapshots/{snap['id']}/action", {"reset_status": {"status": value}}))
        _fields(client.post(f"/snapshots/{snap['id']}/action", {"reset_status": value}))
    for value in ("abc", "-1", "1.5", "", "999999999999999999999999"):
        for path in (
            "/shares",
            "/shares/detail",
            "/snapshots",
            "/snapshots/detail",
            "/share-networks",
            "/share-networks/detail",
        ):
            for key in (
                "limit",
                "offset",
                "marker",
                "sort_key",
                "sort_dir",
                "all_tenants",
                "is_public",
                "metadata",
                "extra_specs",
                "size",
                "created_since",
                "created_before",
                "ip_version",
                "segmentation_id",
                "usage",
                "name",
                "status",
                "project_id",
            ):
                _fields(client.get(path, params={key: value}))
        _fields(client.get("/types", params={"is_public": value}))
        _fields(client.get("/scheduler-stats/pools", params={"host": value, "share_type": value}))
    _fields(client.get("/scheduler-stats/pools", params={"host": "(["}))
    _fields(client.get("/shares", params={"metadata": "{'a': "}))


ODD_IDS = ["%00", "a%00b", "x" * 1000, "%E2%98%83", "'%20OR%201=1--", "%FF", "..", "-1", "0" * 36]


def test_no_odd_id_answers_500(client: Client) -> None:
    for raw in ODD_IDS:
        for path in (
            f"/shares/{raw}",
            f"/snapshots/{raw}",
            f"/share-networks/{raw}",
            f"/types/{raw}",
            f"/shares/{raw}/metadata",
            f"/shares/{raw}/metadata/{raw}",
            f"/shares/{raw}/export_locations",
            f"/types/{raw}/extra_specs",
            f"/types/{raw}/extra_specs/{raw}",
            f"/types/{raw}/share_type_access",
        ):
            _fields(client.get(path))
            _fields(client.delete(path))
        _fields(client.put(f"/shares/{raw}", {"share": {"display_name": "x"}}))
        _fields(client.put(f"/share-networks/{raw}", {"share_network": {"name": "x"}}))
        _fields(client.post(f"/shares/{raw}/action", {"extend": {"new_size": 2}}))
        _fields(client.post(f"/snapshots/{raw}/action", {"force_delete": None}))
        _fields(client.post(f"/types/{raw}/action", {"addProjectAccess": {"project": raw}}))
        for key in ("marker", "name", "share_type_id", "project_id", "metadata", "status"):
            _fields(client.get("/shares/detail", params={key: raw.replace("%00", "\x00")}))
            _fields(client.get("/snapshots/detail", params={key: raw.replace("%00", "\x00")}))
        _fields(
            client.post(
                "/shares",
                {"share": {"size": 1, "share_proto": "NFS", "name": "a\x00b", "share_type": "a\x00b"}},
            )
        )
        _fields(
            client.post(
                "/shares", {"share": {"size": 1, "share_proto": "NFS", "metadata": {"k\x00": "v\x00"}}}
            )
        )
        _fields(client.post("/share-networks", {"share_network": {"name": "a\x00b"}}))
        _fields(client.post("/snapshots", {"snapshot": {"share_id": "a\x00b"}}))


def test_nul_characters_are_refused(client: Client) -> None:
    message = "Invalid input received: the request contains a NUL character."
    expect_fault(client.get("/shares/a%00b"), 400, message)
    expect_fault(client.get("/shares", params={"name": "a\x00"}), 400, message)
    expect_fault(client.post("/share-networks", {"share_network": {"name": "a\x00"}}), 400, message)
    expect_fault(
        client.post("/shares", {"share": {"size": 1, "share_proto": "NFS", "metadata": {"k": "\x00"}}}),
        400,
        message,
    )
    assert client.get("/shares").json() == {"shares": []}
