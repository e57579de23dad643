"""Share network subnets: the network view across versions (2.51, 2.63, 2.70, 2.78), /subnets (2.51),
several subnets per zone (2.70), subnet metadata (2.78), and updates of a network's subnet fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import DATE, create_network, expect_fault, unknown_id
from tests.support import Client, InProcessServer

FIELDS = {"neutron_net_id": "8e6d1d70-c5b5-4a4c-9d5d-6e9b2f6c1a01",
          "neutron_subnet_id": "8e6d1d70-c5b5-4a4c-9d5d-6e9b2f6c1a02", "network_type": "vlan", "segmentation_id": 1001,
          "cidr": "10.0.0.0/24", "ip_version": 4, "gateway": "10.0.0.1", "mtu": 1500}
NETWORK_51 = {"id", "name", "project_id", "created_at", "updated_at", "description", "share_network_subnets"}
SUBNET_IN_NETWORK = {"id", "availability_zone", "created_at", "updated_at", *FIELDS}
SUBNET = SUBNET_IN_NETWORK | {"share_network_id", "share_network_name"}
BOTH_IDS = ("When creating a new share network subnet you need to specify both neutron_net_id and neutron_subnet_id "
            "or none of them.")


def subnets_of(client: Client, network_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/share-networks/{network_id}").json()["share_network"]["share_network_subnets"])


def post_subnet(client: Client, network_id: str, **fields: Any) -> httpx.Response:
    return client.post(f"/share-networks/{network_id}/subnets", {"share-network-subnet": fields})


def test_view_below_2_51_is_unchanged(client: Client) -> None:
    """The fields sit at the top level, read from the default subnet, in Manila's order."""
    for version in ("2.30", "2.50"):
        c = client.with_(version=version)
        net = create_network(c, name="n", description="d", **FIELDS)
        expected = {"id": net["id"], "name": "n", "project_id": client.project, "created_at": net["created_at"],
                    "updated_at": None, **{k: FIELDS[k] for k in list(FIELDS)[:6]}, "description": "d",
                    "gateway": FIELDS["gateway"], "mtu": FIELDS["mtu"]}
        shown = c.get(f"/share-networks/{net['id']}")
        assert shown.json() == {"share_network": expected}
        assert list(shown.json()["share_network"]) == list(expected)  # byte for byte: the same key order
        assert net == expected


def test_view_from_2_51(client: Client) -> None:
    net = create_network(client.with_(version="2.50"), name="n", **FIELDS)
    status = {"status", "security_service_update_support"}
    allocation = status | {"network_allocation_update_support"}
    for version, extra in (("2.51", set()), ("2.62", set()), ("2.63", status), ("2.69", status),
                           ("2.70", allocation), ("2.99", allocation)):
        body = client.with_(version=version).get(f"/share-networks/{net['id']}").json()["share_network"]
        assert set(body) == NETWORK_51 | extra, version
        (subnet,) = body["share_network_subnets"]
        assert set(subnet) == SUBNET_IN_NETWORK | ({"metadata"} if version >= "2.78" else set()), version
        assert {k: subnet[k] for k in FIELDS} == FIELDS
        assert subnet["availability_zone"] is None  # the default subnet
        assert DATE.match(subnet["created_at"])
        if "status" in extra:
            assert body["status"] == "active" and body["security_service_update_support"] is True
        if "network_allocation_update_support" in extra:
            assert body["network_allocation_update_support"] is True
    detail = client.with_(version="2.51").get("/share-networks/detail").json()["share_networks"]
    assert set(detail[0]) == NETWORK_51
    assert client.with_(version="2.78").get(f"/share-networks/{net['id']}").json()[
        "share_network"]["share_network_subnets"][0]["metadata"] == {}


def test_create_at_2_51_takes_a_zone(server: InProcessServer, client: Client) -> None:
    c = client.with_(version="2.51")
    net = create_network(c, availability_zone="nova")
    assert [s["availability_zone"] for s in net["share_network_subnets"]] == ["nova"]
    expect_fault(c.post("/share-networks", {"share_network": {"availability_zone": "mars"}}), 400,
                 "The provided availability zone mars does not exist.")
    expect_fault(c.post("/share-networks", {"share_network": {"neutron_net_id": "x"}}), 400, BOTH_IDS)
    # Before 2.51 neither is looked at.
    old = create_network(client.with_(version="2.50"), availability_zone="mars", neutron_net_id="x")
    assert old["neutron_net_id"] == "x"
    assert subnets_of(c, old["id"])[0]["availability_zone"] is None
    # The zone's id works too (as /availability-zones lists it).
    zone_id = server.client().get("/availability-zones").json()["availability_zones"][0]["id"]
    assert [s["availability_zone"] for s in create_network(c, availability_zone=zone_id)["share_network_subnets"]] \
        == ["nova"]


def test_subnets_crud(client: Client) -> None:
    c = client.with_(version="2.51")
    net = create_network(c, name="net")
    (default,) = subnets_of(c, net["id"])
    path = f"/share-networks/{net['id']}/subnets"
    resp = post_subnet(c, net["id"], availability_zone="nova", neutron_net_id="a", neutron_subnet_id="b", mtu="9000",
                       metadata={"ignored": "before 2.78"})
    assert resp.status_code == 200, resp.text
    created = resp.json()["share_network_subnet"]
    assert set(created) == SUBNET
    assert (created["share_network_id"], created["share_network_name"], created["availability_zone"]) == \
        (net["id"], "net", "nova")
    assert (created["neutron_net_id"], created["neutron_subnet_id"], created["mtu"]) == ("a", "b", 9000)
    listed = c.get(path).json()
    assert [s["id"] for s in listed["share_network_subnets"]] == [default["id"], created["id"]]
    assert c.get(f"{path}/{created['id']}").json() == {"share_network_subnet": created}
    assert [s["id"] for s in subnets_of(c, net["id"])] == [default["id"], created["id"]]
    resp = c.delete(f"{path}/{created['id']}")
    assert resp.status_code == 202 and resp.content == b""
    expect_fault(c.get(f"{path}/{created['id']}"), 404, f"Share network subnet {created['id']} could not be found.")
    expect_fault(c.delete(f"{path}/{created['id']}"), 404,
                 f"Share network subnet {created['id']} could not be found.")


def test_subnet_errors(server: InProcessServer, client: Client) -> None:
    c = client.with_(version="2.51")
    net = create_network(c)
    other_net = create_network(c)
    path = f"/share-networks/{net['id']}/subnets"
    missing = unknown_id()
    for resp in (c.get(f"/share-networks/{missing}/subnets"), post_subnet(c, missing, availability_zone="nova"),
                 c.get(f"/share-networks/{missing}/subnets/{missing}")):
        expect_fault(resp, 404, f"Share network {missing} could not be found.")
    expect_fault(c.post(path, {"subnet": {}}), 400, "Share Network Subnet is missing from the request body.")
    expect_fault(post_subnet(c, net["id"], neutron_subnet_id="x"), 400, BOTH_IDS)
    expect_fault(post_subnet(c, net["id"], availability_zone="mars"), 400,
                 "The provided availability zone mars does not exist.")
    expect_fault(post_subnet(c, net["id"], mtu="big"), 400, "Could not save supplied data due to database error")
    # A subnet is found only under its own network.
    other_default = subnets_of(c, other_net["id"])[0]["id"]
    expect_fault(c.get(f"{path}/{other_default}"), 404, f"Share network subnet {other_default} could not be found.")
    # Below 2.51 there are no subnet routes.
    expect_fault(client.with_(version="2.50").get(path), 404, "The resource could not be found.")
    # Another project's network is not found.
    stranger = server.client(user="bob", version="2.51")
    expect_fault(stranger.get(path), 404, f"Share network {net['id']} could not be found.")
    expect_fault(post_subnet(stranger, net["id"]), 404, f"Share network {net['id']} could not be found.")


def test_one_subnet_per_zone_before_2_70(client: Client) -> None:
    c = client.with_(version="2.69")
    net = create_network(c)
    conflict = ("Another share network subnet was found in the specified availability zone. Only one share network "
                f"subnet is allowed per availability zone for share network {net['id']}.")
    expect_fault(post_subnet(c, net["id"]), 409, conflict)  # a second default subnet
    assert post_subnet(c, net["id"], availability_zone="nova").status_code == 200
    expect_fault(post_subnet(c, net["id"], availability_zone="nova"), 409, conflict)
    c70 = client.with_(version="2.70")
    assert post_subnet(c70, net["id"], availability_zone="nova").status_code == 200
    assert post_subnet(c70, net["id"]).status_code == 200
    assert [s["availability_zone"] for s in subnets_of(c70, net["id"])] == [None, "nova", "nova", None]


def test_network_delete_needs_at_most_one_subnet(client: Client) -> None:
    c = client.with_(version="2.51")
    net = create_network(c)
    sub = post_subnet(c, net["id"], availability_zone="nova").json()["share_network_subnet"]
    expect_fault(c.delete(f"/share-networks/{net['id']}"), 409,
                 f"The share network {net['id']} has more than one subnet attached. Please remove the subnets untill "
                 "you have one or no subnets remaining.")
    assert c.delete(f"/share-networks/{net['id']}/subnets/{sub['id']}").status_code == 202
    assert c.delete(f"/share-networks/{net['id']}").status_code == 202


def test_network_update_changes_its_default_subnet(client: Client) -> None:
    c = client.with_(version="2.51")
    net = create_network(c)
    nid = net["id"]
    expect_fault(c.put(f"/share-networks/{nid}", {"share_network": {"neutron_net_id": "n"}}), 400,
                 f"To update the share network {nid} you need to specify both 'neutron_net_id' and "
                 "'neutron_subnet_id'.")
    resp = c.put(f"/share-networks/{nid}", {"share_network": {"neutron_net_id": "n", "neutron_subnet_id": "s",
                                                              "cidr": "10.1.0.0/16", "name": "renamed"}})
    assert resp.status_code == 200
    body = resp.json()["share_network"]
    assert body["name"] == "renamed"
    (subnet,) = body["share_network_subnets"]
    assert (subnet["neutron_net_id"], subnet["neutron_subnet_id"], subnet["cidr"]) == ("n", "s", "10.1.0.0/16")
    assert DATE.match(subnet["updated_at"])
    # Once set, one of the two may change alone.
    assert c.put(f"/share-networks/{nid}", {"share_network": {"neutron_net_id": "n2"}}).status_code == 200
    assert client.with_(version="2.50").get(f"/share-networks/{nid}").json()["share_network"]["neutron_net_id"] == "n2"
    # No default subnet: nothing to update.
    (default,) = subnets_of(c, nid)
    assert post_subnet(c, nid, availability_zone="nova").status_code == 200
    assert c.delete(f"/share-networks/{nid}/subnets/{default['id']}").status_code == 202
    expect_fault(c.put(f"/share-networks/{nid}", {"share_network": {"neutron_net_id": "a", "neutron_subnet_id": "b"}}),
                 400, f"The share network {nid} does not have a 'default' subnet that serves all availability zones, "
                 "so subnet details ('neutron_net_id', 'neutron_subnet_id') cannot be updated.")
    expect_fault(c.put(f"/share-networks/{nid}", {"share_network": {"mtu": 9000}}), 400,
                 f"The share network {nid} does not have a 'default' subnet that serves all availability zones, "
                 "so subnet details ('mtu') cannot be updated.")
    assert c.put(f"/share-networks/{nid}", {"share_network": {"name": "only-the-name"}}).status_code == 200
    old_view = client.with_(version="2.50").get(f"/share-networks/{nid}").json()["share_network"]
    assert old_view["neutron_net_id"] is None and old_view["mtu"] is None  # no default subnet to show
    # Two default subnets (2.70): none is "the" default.
    c70 = client.with_(version="2.70")
    assert post_subnet(c70, nid).status_code == 200 and post_subnet(c70, nid).status_code == 200
    expect_fault(c.put(f"/share-networks/{nid}", {"share_network": {"neutron_net_id": "a", "neutron_subnet_id": "b"}}),
                 400, f"The share network {nid} does not have an unique 'default' subnet that serves all availability "
                 "zones, so subnet details ('neutron_net_id', 'neutron_subnet_id') cannot be updated.")


def test_filters_on_subnet_fields(client: Client) -> None:
    c = client.with_(version="2.51")
    a = create_network(c, name="a", neutron_net_id="net-a", neutron_subnet_id="sub-a", ip_version=4)
    b = create_network(c, name="b")
    assert post_subnet(c, b["id"], availability_zone="nova", neutron_net_id="net-b", neutron_subnet_id="sub-b",
                       ip_version=6, segmentation_id=7).status_code == 200

    def ids(**params: str) -> list[str]:
        return [n["id"] for n in c.get("/share-networks", params=params).json()["share_networks"]]

    assert ids(neutron_net_id="net-a") == [a["id"]]
    assert ids(neutron_net_id="net-b") == [b["id"]]  # any subnet of the network, not only the default one
    assert ids(ip_version="6") == [b["id"]]
    assert ids(segmentation_id="7", name="b") == [b["id"]]
    assert ids(neutron_net_id="net-a", name="b") == []
    assert ids(status="active") == [a["id"], b["id"]]


@pytest.fixture
def subnet_path(client: Client) -> str:
    c = client.with_(version="2.78")
    net = create_network(c)
    resp = post_subnet(c, net["id"], availability_zone="nova", metadata={"a": "1"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["share_network_subnet"]["metadata"] == {"a": "1"}
    return f"/share-networks/{net['id']}/subnets/{resp.json()['share_network_subnet']['id']}"


def test_subnet_metadata_from_2_78(client: Client, subnet_path: str) -> None:
    c = client.with_(version="2.78")
    base = f"{subnet_path}/metadata"
    assert c.get(base).json() == {"metadata": {"a": "1"}}
    assert c.post(base, {"metadata": {"b": "2"}}).json() == {"metadata": {"a": "1", "b": "2"}}
    assert c.put(base, {"metadata": {"z": "26"}}).json() == {"metadata": {"z": "26"}}
    resp = c.post(f"{base}/y", {"metadata": {"y": "25"}})
    assert resp.status_code == 200 and resp.json() == {"metadata": {"y": "25"}}
    assert c.get(f"{base}/y").json() == {"meta": {"y": "25"}}
    assert c.get(subnet_path).json()["share_network_subnet"]["metadata"] == {"y": "25", "z": "26"}
    resp = c.delete(f"{base}/z")
    assert resp.status_code == 200 and resp.content == b""
    expect_fault(c.get(f"{base}/z"), 404, "MetadataItemNotFound: Metadata item is not found.")
    expect_fault(c.delete(f"{base}/z"), 404, "MetadataItemNotFound: Metadata item is not found.")
    expect_fault(c.post(f"{base}/y", {"metadata": {"x": "1"}}), 400, "Request body and URI mismatch")
    expect_fault(c.post(f"{base}/y", {"metadata": {"y": "1", "x": "1"}}), 400, "Request body contains too many items")
    expect_fault(c.post(base, {"meta": {}}), 400, "Malformed request body")
    expect_fault(c.post(base, {"metadata": {"k": ""}}), 400, "Metadata property value is blank.")
    expect_fault(c.put(base, {"metadata": {"k" * 256: "v"}}), 400,
                 "Metadata property key is greater than 255 characters.")
    expect_fault(client.with_(version="2.77").get(base), 404, "The resource could not be found.")
    expect_fault(c.get(f"{subnet_path.rsplit('/', 1)[0]}/{unknown_id()}/metadata"), 404,
                 "Share_network_subnet not found.")
    expect_fault(c.post(base, {"metadata": {"k": "v" * 1024}}), 400,
                 "Metadata property value is greater than 1023 characters.")


def test_subnet_metadata_of_another_project(server: InProcessServer, subnet_path: str) -> None:
    stranger = server.client(user="bob", version="2.78")
    for resp in (stranger.get(f"{subnet_path}/metadata"), stranger.put(f"{subnet_path}/metadata", {"metadata": {}}),
                 stranger.delete(f"{subnet_path}/metadata/a")):
        expect_fault(resp, 404, "Share_network_subnet not found.")


def test_share_create_needs_a_subnet_for_its_zone_and_an_active_network(client: Client) -> None:
    c = client.with_(version="2.63")
    net = create_network(c)
    (default,) = subnets_of(c, net["id"])
    assert c.delete(f"/share-networks/{net['id']}/subnets/{default['id']}").status_code == 202
    body = {"size": 1, "share_proto": "NFS", "share_network_id": net["id"]}
    expect_fault(c.post("/shares", {"share": {**body, "availability_zone": "nova"}}), 400,
                 "A share network subnet was not found for the requested availability zone.")
    assert post_subnet(c, net["id"], availability_zone="nova").status_code == 200
    assert c.post("/shares", {"share": {**body, "availability_zone": "nova"}}).status_code == 200
    assert c.post(f"/share-networks/{net['id']}/action", {"reset_status": {"status": "network_change"}}).status_code \
        == 202
    expect_fault(c.post("/shares", {"share": body}), 400,
                 f"The share network {net['id']} used isn't in an 'active' state. Current status is network_change. "
                 "The action may be retried after the share network has changed its state.")
