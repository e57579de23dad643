"""Versions documents, microversion negotiation and the headers of every response."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import DATE, REQUEST_ID, expect_fault
from tests.support import Client, Server

VERSION = "X-OpenStack-Manila-API-Version"
EXPERIMENTAL = "X-OpenStack-Manila-API-Experimental"
MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.share+json;version=1"}]


def _version_doc(base: str, vid: str) -> dict[str, object]:
    current = vid == "v2.0"
    return {
        "id": vid,
        "status": "CURRENT" if current else "SUPPORTED",
        "version": "2.99" if current else "",
        "min_version": "2.0" if current else "",
        "updated": "2015-08-27T11:33:21Z",
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
            {"rel": "self", "href": f"{base}/{vid.split('.')[0]}/"},
        ],
        "media-types": MEDIA,
    }


@pytest.mark.parametrize("header", [None, "2.0", "2.30", "latest", "9.9", "bogus"])
def test_root_lists_both_versions_with_300_whatever_the_version_header(
    server: Server, header: str | None
) -> None:
    headers = {VERSION: header} if header is not None else {}
    resp = server.http.get(server.url + "/", headers=headers)
    assert resp.status_code == 300
    assert resp.json() == {"versions": [_version_doc(server.url, "v1.0"), _version_doc(server.url, "v2.0")]}


def test_root_needs_no_token(server: Server) -> None:
    resp = server.http.get(server.url + "/", headers={"X-Auth-Token": "nobody:nowhere"})
    assert resp.status_code == 300


@pytest.mark.parametrize("path", ["/v2/", "/v2"])
def test_v2_root_lists_only_v2(server: Server, path: str) -> None:
    resp = server.http.get(server.url + path, headers={"X-Auth-Token": "admin:p"})
    assert resp.status_code == 200
    assert resp.json() == {"versions": [_version_doc(server.url, "v2.0")]}
    assert resp.headers[VERSION] == "2.0"


def test_missing_version_header_means_2_0(client: Client) -> None:
    resp = client.with_(version=None, experimental=False).get("/shares")
    assert resp.status_code == 200
    assert resp.headers[VERSION] == "2.0"
    assert resp.headers["Vary"] == VERSION


def test_latest_means_2_99(client: Client) -> None:
    for value in ("latest", "LATEST"):
        resp = client.with_(version=value).get("/shares")
        assert resp.status_code == 200
        assert resp.headers[VERSION] == "2.99"


@pytest.mark.parametrize("version", ["2.0", "2.6", "2.7", "2.29", "2.30"])
def test_requested_version_is_echoed(client: Client, version: str) -> None:
    resp = client.with_(version=version).get("/types")
    assert resp.status_code == 200
    assert resp.headers[VERSION] == version


@pytest.mark.parametrize("name", ["x-openstack-manila-api-version", "X-OPENSTACK-MANILA-API-VERSION"])
def test_version_header_name_is_case_insensitive(server: Server, name: str) -> None:
    resp = server.http.get(f"{server.url}/v2/p1/shares", headers={"X-Auth-Token": "admin:p1", name: "2.16"})
    assert resp.status_code == 200
    assert resp.headers[VERSION] == "2.16"


@pytest.mark.parametrize("value", ["2.04", "2", "2.", ".5", "02.1", "v2.1", "2.1.1", "two", "2.a", "2,1"])
def test_bad_version_format_is_400(client: Client, value: str) -> None:
    resp = client.with_(version=value).get("/shares")
    expect_fault(
        resp, 400, f"API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum."
    )


@pytest.mark.parametrize("value", ["1.0", "1.9", "3.0", "2.100"])
def test_version_out_of_range_is_406_without_version_headers(client: Client, value: str) -> None:
    resp = client.with_(version=value).get("/shares")
    expect_fault(
        resp, 406, f"Version {value} is not supported by the API. Minimum is 2.0 and maximum is 2.99."
    )
    assert VERSION not in resp.headers
    assert "Vary" not in resp.headers
    assert REQUEST_ID.match(resp.headers["x-compute-request-id"])


def test_experimental_header_only_when_requested(client: Client) -> None:
    plain = client.with_(experimental=False).get("/shares")
    assert plain.status_code == 200
    assert EXPERIMENTAL not in plain.headers
    asked = client.with_(experimental=True).get("/shares")
    assert asked.headers[EXPERIMENTAL] == "True"
    for value, present in (
        ("yes", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("nonsense", False),
    ):
        resp = client.get("/shares", headers={EXPERIMENTAL: value})
        assert resp.status_code == 200
        assert (EXPERIMENTAL in resp.headers) is present, value
    # also on faults
    missing = client.with_(experimental=True).get("/shares/does-not-exist")
    assert missing.status_code == 404
    assert missing.headers[EXPERIMENTAL] == "True"
    assert EXPERIMENTAL not in client.with_(experimental=False).get("/shares/does-not-exist").headers


def _request_ids(resp: httpx.Response) -> None:
    assert REQUEST_ID.match(resp.headers["x-compute-request-id"]), resp.headers
    assert REQUEST_ID.match(resp.headers["x-openstack-request-id"]), resp.headers


def test_headers_on_success_fault_and_empty_responses(client: Client) -> None:
    ok = client.with_(version="2.9").get("/shares")
    assert ok.headers[VERSION] == "2.9" and ok.headers["Vary"] == VERSION
    _request_ids(ok)
    first = ok.headers["x-compute-request-id"]
    again = client.get("/shares")
    assert again.headers["x-compute-request-id"] != first  # one id per request

    bad = client.with_(version="2.9").get("/shares/nope")
    expect_fault(bad, 404)
    assert bad.headers[VERSION] == "2.9" and bad.headers["Vary"] == VERSION
    _request_ids(bad)

    invalid = client.get("/shares", params={"limit": "x"})
    expect_fault(invalid, 400)
    assert invalid.headers[VERSION] == "2.30"
    _request_ids(invalid)

    # bare 202 (delete) still carries the version headers
    net = client.post("/share-networks", {"share_network": {"name": "n"}}).json()["share_network"]
    gone = client.with_(version="2.20").delete(f"/share-networks/{net['id']}")
    assert gone.status_code == 202 and gone.content == b""
    assert gone.headers[VERSION] == "2.20" and gone.headers["Vary"] == VERSION

    created = client.post("/share-networks", {"share_network": {"name": "m"}})
    _request_ids(created)
    assert created.headers["content-type"] == "application/json"


def test_json_dates_have_six_fraction_digits(client: Client) -> None:
    net = client.post("/share-networks", {"share_network": {"name": "d"}}).json()["share_network"]
    assert DATE.match(net["created_at"]), net
    assert net["updated_at"] is None
