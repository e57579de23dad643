"""/share-networks: create, list, detail, show, update, delete."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.api.helpers import DATE, create_network, expect_fault, start_share
from tests.support import Client

UNKNOWN = "7c3c0a7e-2b41-4c1b-a0a8-4bd0f2f9e8d1"
DETAIL_BASE = {
    "id",
    "name",
    "project_id",
    "created_at",
    "updated_at",
    "neutron_net_id",
    "neutron_subnet_id",
    "network_type",
    "segmentation_id",
    "cidr",
    "ip_version",
    "description",
}


@pytest.mark.parametrize(
    "version,extra",
    [
        ("2.0", {"nova_net_id"}),
        ("2.17", {"nova_net_id"}),
        ("2.18", {"nova_net_id", "gateway"}),
        ("2.19", {"nova_net_id", "gateway"}),
        ("2.20", {"nova_net_id", "gateway", "mtu"}),
        ("2.25", {"nova_net_id", "gateway", "mtu"}),
        ("2.26", {"gateway", "mtu"}),
        ("2.30", {"gateway", "mtu"}),
    ],
)
def test_detail_keys_by_version(client: Client, version: str, extra: set[str]) -> None:
    c = client.with_(version=version)
    resp = c.post("/share-networks", {"share_network": {"name": "n"}})
    assert resp.status_code == 200
    net = resp.json()["share_network"]
    assert set(net) == DETAIL_BASE | extra
    if "nova_net_id" in extra:
        assert net["nova_net_id"] is None
    assert set(c.get(f"/share-networks/{net['id']}").json()["share_network"]) == DETAIL_BASE | extra
    listed = c.get("/share-networks/detail").json()
    assert set(listed) == {"share_networks"}
    assert set(listed["share_networks"][0]) == DETAIL_BASE | extra


def test_create_stores_every_field(client: Client) -> None:
    fields = {
        "name": "net",
        "description": "desc",
        "neutron_net_id": str(uuid.uuid4()),
        "neutron_subnet_id": str(uuid.uuid4()),
        "network_type": "vlan",
        "segmentation_id": 1001,
        "cidr": "10.0.0.0/24",
        "ip_version": 4,
        "gateway": "10.0.0.1",
        "mtu": 1500,
    }
    net = create_network(
        client.with_(version="2.0"), **fields, unknown_key="ignored", project_id="forced", user_id="forced"
    )
    assert net["project_id"] == client.project
    shown = client.get(f"/share-networks/{net['id']}").json()["share_network"]
    for key, value in fields.items():
        assert shown[key] == value, key
    assert DATE.match(shown["created_at"])
    assert shown["updated_at"] is None
    assert uuid.UUID(shown["id"])
    # integer-like strings are stored as integers
    net = create_network(client, segmentation_id="7", ip_version="6")
    assert (net["segmentation_id"], net["ip_version"]) == (7, 6)


def test_create_errors(client: Client) -> None:
    value: object
    for version in ("2.0", "2.25", "2.26", "2.30"):
        for value in (None, "abc"):
            expect_fault(
                client.with_(version=version).post(
                    "/share-networks", {"share_network": {"nova_net_id": value}}
                ),
                400,
                "nova networking is not supported starting in Ocata.",
            )
    for key, value in (
        ("segmentation_id", "abc"),
        ("ip_version", "four"),
        ("mtu", [1]),
        ("segmentation_id", {}),
    ):
        expect_fault(
            client.post("/share-networks", {"share_network": {key: value}}),
            400,
            "Could not save supplied data due to database error",
        )
    expect_fault(
        client.post("/share-networks", {"network": {}}), 422, "Unable to process the contained instructions"
    )
    assert client.get("/share-networks").json() == {"share_networks": []}


def test_list_summary_and_detail(client: Client) -> None:
    a = create_network(client, name="a")
    b = create_network(client, name="b")
    summary = client.get("/share-networks").json()
    assert set(summary) == {"share_networks"}
    assert sorted(summary["share_networks"], key=lambda n: n["name"]) == [
        {"id": a["id"], "name": "a"},
        {"id": b["id"], "name": "b"},
    ]
    detail = client.get("/share-networks/detail").json()["share_networks"]
    assert sorted(n["id"] for n in detail) == sorted([a["id"], b["id"]])
    assert "share_networks_links" not in client.get("/share-networks", params={"limit": "1"}).json()
    assert len(client.get("/share-networks", params={"limit": "1"}).json()["share_networks"]) == 1
    assert len(client.get("/share-networks", params={"offset": "1"}).json()["share_networks"]) == 1
    assert client.get("/share-networks", params={"offset": "2"}).json()["share_networks"] == []
    expect_fault(client.get("/share-networks", params={"limit": "x"}), 400, "limit param must be an integer")
    expect_fault(client.get("/share-networks", params={"offset": "-1"}), 400, "offset param must be positive")


def test_list_filters(client: Client) -> None:
    a = create_network(client, name="a", ip_version=4, segmentation_id=5, network_type="vlan")
    b = create_network(client, name="b", ip_version=6)

    def ids(**params: str) -> list[str]:
        return sorted(
            n["id"] for n in client.get("/share-networks/detail", params=params).json()["share_networks"]
        )

    assert ids(name="a") == [a["id"]]
    assert ids(ip_version="6") == [b["id"]]
    assert ids(segmentation_id="5") == [a["id"]]
    assert ids(network_type="vlan", name="a") == [a["id"]]
    assert ids(name="zzz") == []


def test_created_since_and_before(client: Client) -> None:
    net = create_network(client, name="dated")
    day = dt.datetime.strptime(net["created_at"][:10], "%Y-%m-%d").date()

    def ids(**params: str) -> list[str]:
        return [n["id"] for n in client.get("/share-networks", params=params).json()["share_networks"]]

    before, after = (day - dt.timedelta(days=1)).isoformat(), (day + dt.timedelta(days=1)).isoformat()
    assert ids(created_since=day.isoformat()) == [net["id"]]  # inclusive
    assert ids(created_before=day.isoformat()) == [net["id"]]  # inclusive
    assert ids(created_since=before, created_before=after) == [net["id"]]
    assert ids(created_since=after) == []
    assert ids(created_before=before) == []
    for bad in ("2020/01/01", "yesterday", "2020-13-01", "01-01-2020"):
        expect_fault(
            client.get("/share-networks", params={"created_since": bad}),
            400,
            f"{bad} is not in yyyy-mm-dd format.",
        )
        expect_fault(
            client.get("/share-networks/detail", params={"created_before": bad}),
            400,
            f"{bad} is not in yyyy-mm-dd format.",
        )


def test_show_unknown(client: Client) -> None:
    expect_fault(
        client.get(f"/share-networks/{UNKNOWN}"), 404, f"Share network {UNKNOWN} could not be found."
    )


def test_update(client: Client) -> None:
    net = create_network(client, name="before", cidr="10.0.0.0/8")
    resp = client.put(
        f"/share-networks/{net['id']}", {"share_network": {"name": "after", "description": "d", "mtu": 9000}}
    )
    assert resp.status_code == 200
    body = resp.json()["share_network"]
    assert (body["name"], body["description"], body["mtu"], body["cidr"]) == (
        "after",
        "d",
        9000,
        "10.0.0.0/8",
    )
    assert DATE.match(body["updated_at"])
    assert client.get(f"/share-networks/{net['id']}").json()["share_network"]["name"] == "after"
    expect_fault(
        client.put(f"/share-networks/{net['id']}", {"share_network": {"nova_net_id": "x"}}),
        400,
        "nova networking is not supported starting in Ocata.",
    )
    expect_fault(
        client.put(f"/share-networks/{net['id']}", {"share_network": {"segmentation_id": "x"}}),
        400,
        "Could not save supplied data due to database error",
    )
    expect_fault(
        client.put(f"/share-networks/{net['id']}", {"name": "x"}),
        422,
        "Unable to process the contained instructions",
    )
    expect_fault(
        client.put(f"/share-networks/{UNKNOWN}", {"share_network": {"name": "x"}}),
        404,
        f"Share network {UNKNOWN} could not be found.",
    )


def test_delete(client: Client) -> None:
    net = create_network(client)
    resp = client.delete(f"/share-networks/{net['id']}")
    assert resp.status_code == 202 and resp.content == b""
    expect_fault(
        client.get(f"/share-networks/{net['id']}"), 404, f"Share network {net['id']} could not be found."
    )
    expect_fault(
        client.delete(f"/share-networks/{net['id']}"), 404, f"Share network {net['id']} could not be found."
    )
    assert client.get("/share-networks").json() == {"share_networks": []}


def test_delete_refused_while_shares_use_it(client: Client) -> None:
    net = create_network(client)
    share = start_share(client, share_network_id=net["id"])
    assert share["share_network_id"] == net["id"]
    settled = client.wait(f"/shares/{share['id']}", "share")
    expect_fault(
        client.delete(f"/share-networks/{net['id']}"),
        409,
        f"Can not delete share network {net['id']}, it has 1 share(s).",
    )
    assert client.delete(f"/shares/{settled['id']}").status_code == 202
    client.wait(f"/shares/{share['id']}", "share", ("deleted",))
    assert client.delete(f"/share-networks/{net['id']}").status_code == 202


def test_security_service_filter_with_an_unknown_service(client: Client) -> None:
    create_network(client)
    for path in ("/share-networks", "/share-networks/detail"):
        resp = client.get(path, params={"security_service_id": UNKNOWN})
        assert resp.json() == {"share_networks": []}


def test_inexact_name_and_description_filters_from_2_36(client: Client) -> None:
    tag = uuid.uuid4().hex[:8]
    alpha = create_network(client, name=f"Alpha-{tag}", description=f"the FIRST {tag}")
    beta = create_network(client, name=f"beta-{tag}", description=f"second {tag}")
    literal = create_network(client, name=f"100%-{tag}")
    at = client.with_(version="2.36")

    def ids(params: dict[str, str]) -> list[str]:
        resp = at.get("/share-networks", params=params)
        assert resp.status_code == 200, resp.text
        return sorted(n["id"] for n in resp.json()["share_networks"])

    assert ids({"name~": f"alpha-{tag}"}) == [alpha["id"]]  # a substring, whatever its case
    assert ids({"description~": f"first {tag}"}) == [alpha["id"]]
    assert ids({"name~": tag}) == sorted([alpha["id"], beta["id"], literal["id"]])
    assert ids({"name~": "0%-"}) == [literal["id"]]  # `%` is a character, not a wildcard
    # Below 2.36 the key is an unknown filter, as in Manila.
    expect_fault(client.with_(version="2.35").get("/share-networks", params={"name~": "alpha"}), 400)
