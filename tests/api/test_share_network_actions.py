"""/share-networks/{id}/action: security services (add, remove; update and checks from 2.63), reset_status
(2.63), share_network_subnet_create_check (2.70); and the `security_service_id` filter on network lists."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import GENERIC_400, create_network, expect_fault, policy_denied, unknown_id
from tests.api.helpers import create_security_service as create_service
from tests.support import Client, InProcessServer


def act(client: Client, network_id: str, action: str, body: Any) -> httpx.Response:
    return client.post(f"/share-networks/{network_id}/action", {action: body})


def linked(client: Client, network_id: str) -> list[str]:
    resp = client.get("/security-services", params={"share_network_id": network_id})
    return [s["id"] for s in resp.json()["security_services"]]


def test_add_and_remove(client: Client) -> None:
    network = create_network(client, name="n")
    service = create_service(client, "ldap")
    resp = act(client, network["id"], "add_security_service", {"security_service_id": service["id"]})
    assert resp.status_code == 200
    assert resp.json()["share_network"]["id"] == network["id"]
    assert set(resp.json()["share_network"]) >= {"name", "neutron_net_id", "mtu"}  # the 2.30 view
    assert linked(client, network["id"]) == [service["id"]]
    resp = act(client, network["id"], "remove_security_service", {"security_service_id": service["id"]})
    assert resp.status_code == 200 and resp.json()["share_network"]["id"] == network["id"]
    assert linked(client, network["id"]) == []


def test_add_errors(client: Client) -> None:
    network = create_network(client)
    nid = network["id"]
    ldap = create_service(client, "ldap")
    missing = unknown_id()
    expect_fault(act(client, missing, "add_security_service", {"security_service_id": ldap["id"]}), 404,
                 f"ShareNetworkNotFound: Share network {missing} could not be found.")
    expect_fault(act(client, nid, "add_security_service", {}), 400, "Malformed request body")
    expect_fault(act(client, nid, "add_security_service", "x"), 400, GENERIC_400)
    expect_fault(act(client, nid, "add_security_service", {"security_service_id": missing}), 404,
                 f"SecurityServiceNotFound: Security service {missing} could not be found.")
    assert act(client, nid, "add_security_service", {"security_service_id": ldap["id"]}).status_code == 200
    conflict = (f"Invalid security service: Cannot add security service to share network. Security service with "
                f"'ldap' type already added to '{nid}' share network")
    expect_fault(act(client, nid, "add_security_service", {"security_service_id": ldap["id"]}), 409, conflict)
    other_ldap = create_service(client, "ldap")
    expect_fault(act(client, nid, "add_security_service", {"security_service_id": other_ldap["id"]}), 409,
                 conflict)
    # One of each type.
    for kind in ("kerberos", "active_directory"):
        sid = create_service(client, kind)["id"]
        assert act(client, nid, "add_security_service", {"security_service_id": sid}).status_code == 200
    assert len(linked(client, nid)) == 3


def test_remove_errors(client: Client) -> None:
    nid = create_network(client)["id"]
    service = create_service(client)
    missing = unknown_id()
    expect_fault(act(client, missing, "remove_security_service", {"security_service_id": service["id"]}), 404,
                 f"ShareNetworkNotFound: Share network {missing} could not be found.")
    expect_fault(act(client, nid, "remove_security_service", {}), 400, "Malformed request body")
    expect_fault(act(client, nid, "remove_security_service", {"security_service_id": missing}), 404,
                 f"Security service {missing} could not be found.")
    expect_fault(act(client, nid, "remove_security_service", {"security_service_id": service["id"]}), 400,
                 f"Failed to dissociate share network {nid} and security service {service['id']}: No association "
                 "defined.")


def test_scoping(server: InProcessServer, client: Client) -> None:
    network = create_network(client)
    mine = create_service(client)
    other = server.client(user="bob")
    theirs = create_service(other)
    # Another project's network is not found, nor may its service be linked to mine.
    expect_fault(act(other, network["id"], "add_security_service", {"security_service_id": theirs["id"]}), 404,
                 f"ShareNetworkNotFound: Share network {network['id']} could not be found.")
    member = client.with_(user="alice")
    expect_fault(act(member, network["id"], "add_security_service", {"security_service_id": theirs["id"]}), 404,
                 f"SecurityServiceNotFound: Security service {theirs['id']} could not be found.")
    assert act(member, network["id"], "add_security_service", {"security_service_id": mine["id"]}).status_code == 200


def test_update_security_service_from_2_63(client: Client) -> None:
    c = client.with_(version="2.63")
    nid = create_network(c)["id"]
    old, new = create_service(c, "ldap"), create_service(c, "ldap")
    krb = create_service(c, "kerberos")
    body = {"current_service_id": old["id"], "new_service_id": new["id"]}
    expect_fault(act(client.with_(version="2.62"), nid, "update_security_service", body), 404,
                 "The resource could not be found.")
    expect_fault(act(c, nid, "update_security_service", body), 409,
                 f"Invalid security service: The specified current security service {old['id']} is not associated "
                 f"to the share network {nid}.")
    assert act(c, nid, "add_security_service", {"security_service_id": old["id"]}).status_code == 200
    expect_fault(act(c, nid, "update_security_service", {"current_service_id": old["id"]}), 400,
                 "Malformed request body.")
    expect_fault(act(c, nid, "update_security_service", {"current_service_id": old["id"],
                                                          "new_service_id": unknown_id()}), 400,
                 "The current security service or the new security service doesn't exist.")
    expect_fault(act(c, nid, "update_security_service", {"current_service_id": old["id"],
                                                          "new_service_id": krb["id"]}), 409,
                 "Invalid security service: A security service can only be replaced by one of the same type. The "
                 "current security service type is 'ldap' and the new security service type is 'kerberos'")
    resp = act(c, nid, "update_security_service", body)
    assert resp.status_code == 202
    assert resp.json()["share_network"]["id"] == nid
    assert linked(c, nid) == [new["id"]]


def test_checks_from_2_63(client: Client, member: Client) -> None:
    c = client.with_(version="2.63")
    nid = create_network(c)["id"]
    ldap, ldap2 = create_service(c, "ldap"), create_service(c, "ldap")
    resp = act(c, nid, "add_security_service_check", {"security_service_id": ldap["id"]})
    assert resp.status_code == 202
    assert resp.json() == {"compatible": True, "hosts_check_result": {}, "requested_operation": {
        "operation": "add_security_service", "current_security_service": None,
        "new_security_service": ldap["id"]}}
    assert linked(c, nid) == []  # a check changes nothing
    missing = unknown_id()
    expect_fault(act(c, nid, "add_security_service_check", {"security_service_id": missing}), 400,
                 f"Security service {missing} doesn't exist.")
    expect_fault(act(c, nid, "add_security_service_check", {"security_service_id": ldap["id"],
                                                             "reset_operation": "maybe"}), 400,
                 "Invalid value maybe for reset_operation. Expecting a boolean.")
    assert act(c, nid, "add_security_service", {"security_service_id": ldap["id"]}).status_code == 200
    expect_fault(act(c, nid, "add_security_service_check", {"security_service_id": ldap2["id"]}), 409,
                 f"Invalid security service: Cannot add security service to share network. Security service with "
                 f"'ldap' type already added to '{nid}' share network")
    body = {"current_service_id": ldap["id"], "new_service_id": ldap2["id"], "reset_operation": True}
    resp = act(member.with_(version="2.63"), nid, "update_security_service_check", body)
    assert resp.status_code == 202
    assert resp.json() == {"compatible": True, "requested_operation": {  # no hosts_check_result for members
        "operation": "update_security_service", "current_security_service": ldap["id"],
        "new_security_service": ldap2["id"]}}
    assert linked(c, nid) == [ldap["id"]]


def test_reset_status_from_2_63_and_the_active_requirement(client: Client, member: Client) -> None:
    c = client.with_(version="2.63")
    network = create_network(c)
    nid = network["id"]
    assert network["status"] == "active"
    expect_fault(act(c, nid, "reset_status", {}), 400, "Must specify 'status'")
    expect_fault(act(c, nid, "reset_status", {"status": "available"}), 400,
                 "Invalid state. Valid states: active, error, network_change.")
    policy_denied(act(member.with_(version="2.63"), nid, "reset_status", {"status": "error"}),
                  "share_network:reset_status")
    expect_fault(act(client.with_(version="2.62"), nid, "reset_status", {"status": "error"}), 404,
                 "The resource could not be found.")
    resp = act(c, nid, "reset_status", {"status": "error"})
    assert resp.status_code == 202 and resp.content == b""
    assert c.get(f"/share-networks/{nid}").json()["share_network"]["status"] == "error"
    ldap = create_service(c)
    expect_fault(act(c, nid, "add_security_service", {"security_service_id": ldap["id"]}), 400,
                 f"The share network {nid} used isn't in an 'active' state. Current status is error. The action "
                 "may be retried after the share network has changed its state.")
    assert act(c, nid, "reset_status", {"status": "active"}).status_code == 202
    assert act(c, nid, "add_security_service", {"security_service_id": ldap["id"]}).status_code == 200


def test_subnet_create_check_from_2_70(client: Client, member: Client) -> None:
    c = client.with_(version="2.70")
    nid = create_network(c)["id"]
    resp = act(c, nid, "share_network_subnet_create_check", {"availability_zone": "nova"})
    assert resp.status_code == 202 and resp.json() == {"compatible": True, "hosts_check_result": {}}
    resp = act(member.with_(version="2.70"), nid, "share_network_subnet_create_check", {})
    assert resp.json() == {"compatible": True}
    expect_fault(act(c, nid, "share_network_subnet_create_check", {"availability_zone": "mars"}), 400,
                 "The provided availability zone mars does not exist.")
    expect_fault(act(c, nid, "share_network_subnet_create_check", {"neutron_net_id": "n"}), 400,
                 "When creating a new share network subnet you need to specify both neutron_net_id and "
                 "neutron_subnet_id or none of them.")
    expect_fault(act(c, nid, "share_network_subnet_create_check", None), 400,
                 "Share Network Subnet Create Check is missing from the request body.")
    expect_fault(act(client.with_(version="2.69"), nid, "share_network_subnet_create_check", {}), 404,
                 "The resource could not be found.")


@pytest.mark.parametrize("path", ["/share-networks", "/share-networks/detail"])
def test_security_service_id_filter(client: Client, path: str) -> None:
    service = create_service(client)
    a, b = create_network(client, name="a"), create_network(client, name="b")
    create_network(client, name="c")
    for network in (a, b):
        assert act(client, network["id"], "add_security_service",
                   {"security_service_id": service["id"]}).status_code == 200

    def ids(**params: str) -> list[str]:
        return [n["id"] for n in client.get(path, params=params).json()["share_networks"]]

    assert ids(security_service_id=service["id"]) == [a["id"], b["id"]]
    assert ids(security_service_id=service["id"], name="b") == [b["id"]]
    assert ids(security_service_id=unknown_id()) == []
    assert act(client, a["id"], "remove_security_service", {"security_service_id": service["id"]}).status_code == 200
    assert ids(security_service_id=service["id"]) == [b["id"]]


def test_deleting_a_network_drops_its_links(client: Client) -> None:
    service = create_service(client)
    network = create_network(client)
    assert act(client, network["id"], "add_security_service",
               {"security_service_id": service["id"]}).status_code == 200
    assert client.delete(f"/share-networks/{network['id']}").status_code == 202
    assert client.delete(f"/security-services/{service['id']}").status_code == 202
