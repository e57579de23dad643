"""/security-services: create, list, detail, show, update, delete; views by version; scoping."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api.helpers import DATE, GENERIC_404, create_network, expect_fault, policy_denied, unknown_id
from tests.api.helpers import create_security_service as create_service
from tests.support import Client, InProcessServer, in_process_server

SUMMARY = {"id", "name", "type", "status"}
DETAIL = SUMMARY | {"created_at", "updated_at", "description", "dns_ip", "server", "domain", "user", "password",
                    "project_id"}


def link(client: Client, network_id: str, service_id: str) -> None:
    resp = client.post(f"/share-networks/{network_id}/action",
                       {"add_security_service": {"security_service_id": service_id}})
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("version,extra", [
    ("2.0", set()), ("2.43", set()), ("2.44", {"ou"}), ("2.75", {"ou"}), ("2.76", {"ou", "default_ad_site"}),
    ("2.99", {"ou", "default_ad_site"}),
])
def test_views_by_version(client: Client, version: str, extra: set[str]) -> None:
    c = client.with_(version=version)
    created = create_service(c, "kerberos", name="krb", ou="OU=x")
    assert set(created) == DETAIL | extra
    assert created["status"] == "new"
    shown = c.get(f"/security-services/{created['id']}").json()["security_service"]
    assert set(shown) == DETAIL | extra
    assert c.get("/security-services").json() == {"security_services": [
        {"id": created["id"], "name": "krb", "type": "kerberos", "status": "new"}]}
    detail = c.get("/security-services/detail").json()["security_services"]
    assert [set(d) for d in detail] == [DETAIL | extra | {"share_networks"}]
    if "ou" in extra:
        assert shown["ou"] == "OU=x"  # stored at any version, shown from 2.44


def test_create_stores_every_field(client: Client) -> None:
    fields = {"name": "ad", "description": "d", "dns_ip": "10.0.0.2", "ou": "OU=a", "server": "",
              "domain": "example.org", "user": "admin", "password": "secret", "default_ad_site": "Site-1"}
    c = client.with_(version="2.76")
    created = create_service(c, "active_directory", **fields, project_id="forced", unknown="ignored")
    for key, value in fields.items():
        assert created[key] == value, key
    assert created["project_id"] == client.project
    assert created["type"] == "active_directory"
    assert DATE.match(created["created_at"]) and created["updated_at"] is None
    assert uuid.UUID(created["id"])


def test_create_errors(client: Client) -> None:
    for bad in (None, "nis", 5):
        body: dict[str, Any] = {"name": "x"} if bad is None else {"type": bad}
        expect_fault(client.post("/security-services", {"security_service": body}), 400,
                     f"Invalid input received: Invalid type {bad} specified for security service. Valid types are "
                     "active_directory,ldap,kerberos")
    expect_fault(client.with_(version="2.75").post(
        "/security-services", {"security_service": {"type": "ldap", "default_ad_site": "s"}}), 400,
        '"default_ad_site" is only supported from API version 2.76.')
    expect_fault(client.with_(version="2.76").post(
        "/security-services", {"security_service": {"type": "active_directory", "server": "dc1",
                                                    "default_ad_site": "s"}}), 400,
        "Invalid input received: Cannot create security service because both server and 'default_ad_site' were "
        "provided, Specify either server or 'default_ad_site'.")
    # Both are fine on another type.
    create_service(client.with_(version="2.76"), "ldap", server="dc1", default_ad_site="s")
    expect_fault(client.post("/security-services", {"security_service": {"type": "ldap", "dns_ip": 5}}), 400,
                 "Invalid input received: 'dns_ip' must be a string.")
    expect_fault(client.post("/security-services", {"security_service": {"type": "ldap", "name": "n" * 256}}), 400,
                 "Invalid input received: 'name' is longer than 255 characters.")
    expect_fault(client.post("/security-services", {"service": {}}), 422,
                 "Unable to process the contained instructions")


def test_update(client: Client) -> None:
    created = create_service(client, "active_directory", name="before", server="dc1")
    path = f"/security-services/{created['id']}"
    resp = client.put(path, {"security_service": {"name": "after", "password": "p", "type": "ldap"}})
    assert resp.status_code == 200
    body = resp.json()["security_service"]
    assert (body["name"], body["password"], body["server"], body["type"]) == ("after", "p", "dc1",
                                                                             "active_directory")
    assert DATE.match(body["updated_at"])
    expect_fault(client.with_(version="2.75").put(path, {"security_service": {"default_ad_site": "s"}}), 400,
                 '"default_ad_site" is only supported from API version 2.76.')
    expect_fault(client.with_(version="2.76").put(
        path, {"security_service": {"server": "dc2", "default_ad_site": "s"}}), 400,
        "Invalid input received: Cannot create security service because both server and 'default_ad_site' were "
        "provided. Specify either server or 'default_ad_site'.")
    resp = client.with_(version="2.76").put(path, {"security_service": {"server": None, "default_ad_site": "s"}})
    assert resp.json()["security_service"]["default_ad_site"] == "s"
    expect_fault(client.put(path, {"name": "x"}), 422, "Unable to process the contained instructions")
    # A missing service answers 404 before a bad body's 400.
    expect_fault(client.with_(version="2.75").put(
        f"/security-services/{unknown_id()}", {"security_service": {"default_ad_site": "s"}}), 404, GENERIC_404)


def test_delete(client: Client) -> None:
    created = create_service(client)
    path = f"/security-services/{created['id']}"
    network = create_network(client)
    link(client, network["id"], created["id"])
    expect_fault(client.delete(path), 403, "Cannot delete security service. It is assigned to share network(s)")
    resp = client.post(f"/share-networks/{network['id']}/action",
                       {"remove_security_service": {"security_service_id": created["id"]}})
    assert resp.status_code == 200
    resp = client.delete(path)
    assert resp.status_code == 202 and resp.content == b""
    expect_fault(client.get(path), 404, GENERIC_404)
    expect_fault(client.delete(path), 404, GENERIC_404)


def test_another_projects_service_is_not_found(server: InProcessServer, client: Client) -> None:
    created = create_service(client, name="mine")
    other = server.client(user="bob")
    path = f"/security-services/{created['id']}"
    expect_fault(other.get(path), 404, GENERIC_404)
    expect_fault(other.put(path, {"security_service": {"name": "theirs"}}), 404, GENERIC_404)
    expect_fault(other.delete(path), 404, GENERIC_404)
    assert other.get("/security-services").json() == {"security_services": []}
    assert client.get(path).json()["security_service"]["name"] == "mine"
    # An admin of another project sees it by id, and lists it only with all_tenants.
    admin = server.client()
    assert admin.get(path).status_code == 200
    assert admin.get("/security-services").json() == {"security_services": []}
    listed = admin.get("/security-services", params={"all_tenants": "1"}).json()["security_services"]
    assert created["id"] in [s["id"] for s in listed]
    assert other.get("/security-services", params={"all_tenants": "1"}).json() == {"security_services": []}


def test_list_filters_and_paging(client: Client, member: Client) -> None:
    a = create_service(client, "ldap", name="a", server="s1", ou="o1")
    b = create_service(client, "kerberos", name="b", server="s2", ou="o2")

    def ids(c: Client, **params: str) -> list[str]:
        return [s["id"] for s in c.get("/security-services/detail", params=params).json()["security_services"]]

    assert ids(client) == [a["id"], b["id"]]
    assert ids(client, type="kerberos") == [b["id"]]
    assert ids(client, name="a", server="s1") == [a["id"]]
    assert ids(client, status="whatever") == [a["id"], b["id"]]  # no longer an attribute: dropped
    assert ids(client, ou="o2") == [b["id"]]  # admins may filter on any attribute
    assert ids(client, bogus="1") == []  # ... and an unknown one matches nothing
    assert ids(member, ou="o2") == [a["id"], b["id"]]  # members' unknown filters are dropped
    assert ids(member, server="s2") == [b["id"]]
    assert ids(client, limit="1") == [a["id"]]
    assert ids(client, offset="1") == [b["id"]]
    assert "security_services_links" not in client.get("/security-services", params={"limit": "1"}).json()
    expect_fault(client.get("/security-services", params={"limit": "x"}), 400, "limit param must be an integer")


def test_detail_lists_the_networks_a_service_is_linked_to(client: Client) -> None:
    service = create_service(client)
    n1, n2 = create_network(client, name="n1"), create_network(client, name="n2")
    link(client, n1["id"], service["id"])
    link(client, n2["id"], service["id"])
    detail = client.get("/security-services/detail").json()["security_services"]
    assert detail[0]["share_networks"] == [n1["id"], n2["id"]]
    assert "share_networks" not in client.get(f"/security-services/{service['id']}").json()["security_service"]


def test_openstack_share_network_show_call_sequence(client: Client) -> None:
    """OSC 10.5 `share network show`: GET the network, then its services' summary list by network id."""
    c = client.with_(version="2.98")
    ldap, krb = create_service(c, "ldap", name="l"), create_service(c, "kerberos", name="k")
    unrelated = create_service(c, "active_directory")
    network = create_network(c, name="net")
    link(c, network["id"], ldap["id"])
    link(c, network["id"], krb["id"])
    shown = c.get(f"/share-networks/{network['id']}")
    assert shown.status_code == 200
    assert [s["id"] for s in shown.json()["share_network"]["share_network_subnets"]]
    resp = c.get("/security-services", params={"share_network_id": network["id"]})
    assert resp.status_code == 200
    assert resp.json() == {"security_services": [
        {"id": ldap["id"], "name": "l", "type": "ldap", "status": "new"},
        {"id": krb["id"], "name": "k", "type": "kerberos", "status": "new"},
    ]}
    assert unrelated["id"] not in resp.text
    bare = create_network(c)
    assert c.get("/security-services", params={"share_network_id": bare["id"]}).json() == {"security_services": []}
    # Combined with another filter, and with an unknown network.
    listed = c.get("/security-services", params={"share_network_id": network["id"], "type": "kerberos"}).json()
    assert [s["id"] for s in listed["security_services"]] == [krb["id"]]
    missing = unknown_id()
    expect_fault(c.get("/security-services", params={"share_network_id": missing}), 404,
                 f"ShareNetworkNotFound: Share network {missing} could not be found.")


def test_share_network_filter_of_another_project(server: InProcessServer, client: Client) -> None:
    network = create_network(client)
    link(client, network["id"], create_service(client)["id"])
    other = server.client(user="bob")
    expect_fault(other.get("/security-services", params={"share_network_id": network["id"]}), 404,
                 f"ShareNetworkNotFound: Share network {network['id']} could not be found.")


def test_member_may_manage_own_services(member: Client) -> None:
    created = create_service(member, name="m")
    assert member.put(f"/security-services/{created['id']}", {"security_service": {"name": "n"}}).status_code == 200
    assert member.delete(f"/security-services/{created['id']}").status_code == 202


def test_policy_file_can_forbid_creation(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"security_service:create": "rule:admin_api"\n')
    with in_process_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}",
                           LOCKSTEP_POLICY_FILE=str(policy)) as srv:
        member = srv.client(user="alice")
        policy_denied(member.post("/security-services", {"security_service": {"type": "ldap"}}),
                      "security_service:create")
        assert srv.client().post("/security-services", {"security_service": {"type": "ldap"}}).status_code == 200
