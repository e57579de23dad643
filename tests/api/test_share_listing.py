"""GET /shares[/detail]: filters, sorting, paging and `shares_links` (decision 4)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.helpers import create_type, expect_fault, start_share
from tests.support import Client


@pytest.fixture
def five(client: Client) -> list[dict[str, Any]]:
    """Five settled shares of sizes 1..5 named s1..s5, created in that order."""
    made = [
        start_share(
            client, size=n, name=f"s{n}", metadata={"n": str(n), "parity": "odd" if n % 2 else "even"}
        )
        for n in range(1, 6)
    ]
    return [client.wait(f"/shares/{s['id']}", "share") for s in made]


def ids(client: Client, path: str = "/shares", **params: str) -> list[str]:
    resp = client.get(path, params=params)
    assert resp.status_code == 200, resp.text
    return [s["id"] for s in resp.json()["shares"]]


def test_summary_and_detail(client: Client, five: list[dict[str, Any]]) -> None:
    summary = client.get("/shares").json()
    assert set(summary) == {"shares"}
    for item in summary["shares"]:
        assert set(item) == {"id", "name", "links"}
    detail = client.get("/shares/detail").json()["shares"]
    assert {s["id"] for s in detail} == {s["id"] for s in five}
    assert all(s["status"] == "available" for s in detail)


def test_default_order_is_newest_first(client: Client, five: list[dict[str, Any]]) -> None:
    assert ids(client) == [s["id"] for s in reversed(five)]


@pytest.mark.parametrize("key", ["size", "name", "display_name", "created_at"])
def test_sort_keys_and_directions(client: Client, five: list[dict[str, Any]], key: str) -> None:
    ascending = [s["id"] for s in five]
    assert ids(client, "/shares/detail", sort_key=key, sort_dir="asc") == ascending
    assert ids(client, "/shares/detail", sort_key=key, sort_dir="desc") == ascending[::-1]
    assert ids(client, sort_key=key) == ascending[::-1]  # desc by default


def test_sort_errors(client: Client) -> None:
    expect_fault(
        client.get("/shares", params={"sort_key": "bogus"}),
        400,
        "Invalid input received: Wrong sorting key provided - 'bogus'.",
    )
    expect_fault(
        client.get("/shares/detail", params={"sort_dir": "up"}),
        400,
        "Invalid input received: Wrong sorting data provided: sort key is 'created_at' and sort "
        "direction is 'up'.",
    )
    expect_fault(
        client.get("/shares", params={"sort_key": "size", "sort_dir": "ASC1"}),
        400,
        "Invalid input received: Wrong sorting data provided: sort key is 'size' and sort direction is "
        "'ASC1'.",
    )


def test_filters(client: Client, five: list[dict[str, Any]]) -> None:
    by_name = {s["name"]: s["id"] for s in five}
    assert ids(client, name="s3") == [by_name["s3"]]
    assert ids(client, display_name="s2") == [by_name["s2"]]
    assert ids(client, status="available", sort_key="size", sort_dir="asc") == [s["id"] for s in five]
    assert ids(client, status="error") == []
    assert ids(client, "/shares/detail", metadata="{'parity': 'even'}", sort_dir="asc", sort_key="size") == [
        by_name["s2"],
        by_name["s4"],
    ]
    assert ids(client, metadata='{"n": "5"}') == [by_name["s5"]]
    assert ids(client, metadata="{'n': '5', 'parity': 'even'}") == []
    default_id = client.get("/types/default").json()["share_type"]["id"]
    assert len(ids(client, share_type_id=default_id)) == 5
    assert len(ids(client, extra_specs="{'snapshot_support': 'True'}")) == 5
    assert ids(client, extra_specs="{'snapshot_support': 'False'}") == []
    assert ids(client, host=five[0]["host"]) != []
    assert len(ids(client, share_proto="NFS")) == 5  # admins: exact equality on share attributes
    assert ids(client, size="3") == [by_name["s3"]]
    # admins: unknown keys match nothing
    assert ids(client, bogus="x") == []


def test_bad_metadata_filter(client: Client) -> None:
    for value in ("[1]", "'text'", "5"):
        expect_fault(
            client.get("/shares", params={"metadata": value}),
            400,
            f"Invalid input received: Wrong metadata filter provided: {value}.",
        )
    expect_fault(
        client.get("/shares", params={"extra_specs": "[1]"}),
        400,
        "Invalid input received: Wrong extra_specs filter provided: [1].",
    )


def test_member_unknown_filters_are_dropped(
    client: Client, member: Client, five: list[dict[str, Any]]
) -> None:
    assert len(ids(member, bogus="x", share_proto="CIFS", project_id="other")) == 5
    assert ids(member, name="s1") == [five[0]["id"]]


def test_share_type_filter(client: Client) -> None:
    st = create_type(client)
    mine = client.create_share(share_type=st["id"])
    client.create_share()
    assert ids(client, share_type_id=st["id"]) == [mine["id"]]


def test_paging_errors(client: Client) -> None:
    for path in ("/shares", "/shares/detail"):
        expect_fault(client.get(path, params={"limit": "x"}), 400, "limit param must be an integer")
        expect_fault(client.get(path, params={"offset": "1.5"}), 400, "offset param must be an integer")
        expect_fault(client.get(path, params={"limit": "-1"}), 400, "limit param must be positive")
        expect_fault(client.get(path, params={"offset": "-3"}), 400, "offset param must be positive")


def test_limit_and_offset(client: Client, five: list[dict[str, Any]]) -> None:
    newest_first = [s["id"] for s in reversed(five)]
    assert ids(client, limit="2") == newest_first[:2]
    assert ids(client, limit="2", offset="2") == newest_first[2:4]
    assert ids(client, offset="4") == newest_first[4:]
    assert ids(client, offset="10") == []
    assert ids(client, limit="0") == newest_first  # 0 means the maximum
    assert "shares_links" not in client.get("/shares", params={"limit": "0"}).json()
    assert "shares_links" not in client.get("/shares").json()
    assert "shares_links" not in client.get("/shares", params={"limit": "10"}).json()


def follow(client: Client, path: str, params: dict[str, str]) -> tuple[list[str], int]:
    """Follow `next` links from a first page; returns the ids seen and the number of pages."""
    resp = client.get(path, params=params)
    seen: list[str] = []
    pages = 0
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        seen += [s["id"] for s in body["shares"]]
        pages += 1
        links = body.get("shares_links")
        if not links:
            return seen, pages
        assert len(links) == 1 and links[0]["rel"] == "next"
        href = links[0]["href"]
        prefix = f"{client.base}/v2/{client.project}/shares"
        assert href.startswith(prefix + "?") or href.startswith(prefix + "/detail?"), href
        assert parse_qs(urlsplit(href).query)["marker"] == [seen[-1]]
        resp = client.http.get(href)
        assert pages < 20


@pytest.mark.parametrize("path", ["/shares", "/shares/detail"])
@pytest.mark.parametrize("limit", ["1", "2", "5"])
def test_next_links_page_through_everything(
    client: Client, five: list[dict[str, Any]], path: str, limit: str
) -> None:
    seen, pages = follow(client, path, {"limit": limit})
    assert seen == [s["id"] for s in reversed(five)]
    assert pages == 5 // int(limit) + 1


def test_next_links_keep_filters_and_sort(client: Client, five: list[dict[str, Any]]) -> None:
    seen, _ = follow(
        client,
        "/shares/detail",
        {"limit": "1", "sort_key": "size", "sort_dir": "asc", "metadata": "{'parity': 'odd'}"},
    )
    assert seen == [five[0]["id"], five[2]["id"], five[4]["id"]]


def test_next_links_from_an_offset(client: Client, five: list[dict[str, Any]]) -> None:
    seen, _ = follow(client, "/shares", {"limit": "2", "offset": "1"})
    assert seen == [s["id"] for s in reversed(five)][1:]


def test_next_link_shape(client: Client, five: list[dict[str, Any]]) -> None:
    body = client.get("/shares", params={"limit": "2", "name": "s1"}).json()
    assert "shares_links" not in body  # one item, limit 2: not a full page
    body = client.get("/shares", params={"limit": "2", "sort_key": "size"}).json()
    link = body["shares_links"][0]["href"]
    query = parse_qs(urlsplit(link).query)
    assert query["limit"] == ["2"] and query["sort_key"] == ["size"]
    assert query["marker"] == [body["shares"][-1]["id"]]
