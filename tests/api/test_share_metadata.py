"""/shares/{id}/metadata[/{key}]."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import GENERIC_400, expect_fault
from tests.support import Client

UNKNOWN = "1e6f8a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def share(client: Client) -> dict[str, Any]:
    return client.create_share(metadata={"a": "1", "b": "2"})


def test_metadata_round_trip(client: Client, share: dict[str, Any]) -> None:
    base = f"/shares/{share['id']}/metadata"
    assert client.get(base).json() == {"metadata": {"a": "1", "b": "2"}}
    resp = client.post(base, {"metadata": {"b": "20", "c": "3"}})
    assert resp.status_code == 200
    assert resp.json() == {"metadata": {"a": "1", "b": "20", "c": "3"}}
    resp = client.put(base, {"metadata": {"z": "26"}})
    assert resp.status_code == 200
    assert resp.json() == {"metadata": {"z": "26"}}
    assert client.get(base).json() == {"metadata": {"z": "26"}}
    assert client.get(f"{base}/z").json() == {"meta": {"z": "26"}}
    resp = client.put(f"{base}/y", {"meta": {"y": "25"}})
    assert resp.status_code == 200 and resp.json() == {"meta": {"y": "25"}}
    resp = client.put(f"{base}/y", {"meta": {"y": "twenty-five"}})
    assert resp.json() == {"meta": {"y": "twenty-five"}}
    assert client.get(base).json() == {"metadata": {"y": "twenty-five", "z": "26"}}
    resp = client.delete(f"{base}/z")
    assert resp.status_code == 200 and resp.content == b""
    assert client.get(base).json() == {"metadata": {"y": "twenty-five"}}
    assert client.get(f"/shares/{share['id']}").json()["share"]["metadata"] == {"y": "twenty-five"}
    resp = client.put(base, {"metadata": {}})
    assert resp.json() == {"metadata": {}}


def test_missing_item(client: Client, share: dict[str, Any]) -> None:
    base = f"/shares/{share['id']}/metadata"
    expect_fault(client.get(f"{base}/nope"), 404, "Metadata item was not found")
    expect_fault(client.delete(f"{base}/nope"), 404, "Metadata item was not found")


def test_unknown_share(client: Client) -> None:
    base = f"/shares/{UNKNOWN}/metadata"
    for resp in (
        client.get(base),
        client.post(base, {"metadata": {"a": "b"}}),
        client.put(base, {"metadata": {"a": "b"}}),
        client.get(f"{base}/a"),
        client.put(f"{base}/a", {"meta": {"a": "b"}}),
        client.delete(f"{base}/a"),
    ):
        expect_fault(resp, 404, "share does not exist")


def test_malformed_bodies(client: Client, share: dict[str, Any]) -> None:
    base = f"/shares/{share['id']}/metadata"
    for body in ({}, {"meta": {"a": "b"}}, {"metadata": "x"}, {"metadata": ["a"]}, {"metadata": None}):
        expect_fault(client.post(base, body), 400, "Malformed request body")
        expect_fault(client.put(base, body), 400, "Malformed request body")
    for body in ({}, {"metadata": {"a": "b"}}, {"meta": "a"}, {"meta": None}):
        expect_fault(client.put(f"{base}/a", body), 400, "Malformed request body")
    expect_fault(client.put(f"{base}/a", {"meta": {"b": "x"}}), 400, "Request body and URI mismatch")
    expect_fault(
        client.put(f"{base}/a", {"meta": {"a": "x", "b": "y"}}), 400, "Request body contains too many items"
    )
    assert client.get(base).json() == {"metadata": {"a": "1", "b": "2"}}


def test_validation(client: Client, share: dict[str, Any]) -> None:
    base = f"/shares/{share['id']}/metadata"
    cases = [
        ({"": "v"}, "Metadata property key is blank."),
        ({"k" * 256: "v"}, "Metadata property key is greater than 255 characters."),
        ({"k": ""}, "Metadata property value is blank."),
        ({"k": "v" * 1024}, "Metadata property value is greater than 1023 characters."),
        ({"k": 5}, GENERIC_400),
        ({"k": None}, GENERIC_400),
        ({"k": {"x": "y"}}, GENERIC_400),
    ]
    for metadata, message in cases:
        expect_fault(client.post(base, {"metadata": metadata}), 400, message)
        expect_fault(client.put(base, {"metadata": metadata}), 400, message)
    expect_fault(client.put(f"{base}/k", {"meta": {"k": ""}}), 400, "Metadata property value is blank.")
    expect_fault(
        client.put(f"{base}/k", {"meta": {"k": "v" * 1024}}),
        400,
        "Metadata property value is greater than 1023 characters.",
    )
    assert client.get(base).json() == {"metadata": {"a": "1", "b": "2"}}
    # booleans are stored as strings; limits are inclusive
    resp = client.post(base, {"metadata": {"t": True, "f": False, "k" * 255: "v" * 1023}})
    assert resp.json()["metadata"] == {"a": "1", "b": "2", "t": "True", "f": "False", "k" * 255: "v" * 1023}


def test_member_manages_metadata_of_project_shares(
    client: Client, member: Client, share: dict[str, Any]
) -> None:
    base = f"/shares/{share['id']}/metadata"
    assert member.post(base, {"metadata": {"m": "x"}}).status_code == 200
    assert member.delete(f"{base}/a").status_code == 200
    assert member.get(base).json() == {"metadata": {"b": "2", "m": "x"}}
