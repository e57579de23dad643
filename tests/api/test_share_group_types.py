"""/share-group-types: gating, CRUD, group specs, project access, the default type, filters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.group_helpers import TYPES, at, create_group_type
from tests.api.helpers import (
    GENERIC_400,
    GENERIC_404,
    create_type,
    default_type_id,
    expect_fault,
    policy_denied,
    unique,
    unknown_id,
)
from tests.support import Client

VIEW_KEYS = {"id", "name", "is_public", "group_specs", "share_types"}


def post_type(client: Client, **fields: Any) -> Any:
    return at(client).post(TYPES, {"share_group_type": fields})


def names(client: Client, **params: str) -> set[str]:
    resp = client.get(TYPES, params=params)
    assert resp.status_code == 200, resp.text
    return {t["name"] for t in resp.json()["share_group_types"]}


# -- gating -------------------------------------------------------------------------------------------
def endpoints(type_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", TYPES, None), ("GET", f"{TYPES}/default", None), ("GET", f"{TYPES}/{type_id}", None),
        ("POST", TYPES, {"share_group_type": {"name": unique(), "share_types": ["default"]}}),
        ("DELETE", f"{TYPES}/{type_id}", None), ("GET", f"{TYPES}/{type_id}/access", None),
        ("POST", f"{TYPES}/{type_id}/action", {"addProjectAccess": {"project": unknown_id()}}),
        ("POST", f"{TYPES}/{type_id}/action", {"removeProjectAccess": {"project": unknown_id()}}),
        ("GET", f"{TYPES}/{type_id}/group-specs", None),
        ("POST", f"{TYPES}/{type_id}/group-specs", {"group_specs": {"k": "v"}}),
        ("GET", f"{TYPES}/{type_id}/group-specs/k", None),
        ("PUT", f"{TYPES}/{type_id}/group-specs/k", {"k": "w"}),
        ("DELETE", f"{TYPES}/{type_id}/group-specs/k", None),
    ]


@pytest.mark.parametrize(("version", "experimental"), [
    ("2.30", True), ("2.4", True), ("2.31", False), ("2.54", False), (None, False),
])
def test_every_endpoint_is_404_below_2_31_or_without_experimental_header_before_2_55(
        client: Client, version: str | None, experimental: bool) -> None:
    private = create_group_type(client, is_public=False)
    gated = client.with_(version=version, experimental=experimental)
    for method, path, body in endpoints(private["id"]):
        resp = gated.http.request(method, path, json=body)
        expect_fault(resp, 404, GENERIC_404)
    # nothing happened
    assert at(client).get(f"{TYPES}/{private['id']}/group-specs").json() == {"group_specs": {}}
    assert at(client).get(f"{TYPES}/{private['id']}/access").json() == {"share_group_type_access": []}


@pytest.mark.parametrize(("version", "experimental"), [("2.31", True), ("2.54", True), ("2.55", False),
                                                      ("2.99", False), ("2.99", True)])
def test_served_with_experimental_header_from_2_31_and_without_from_2_55(
        client: Client, version: str, experimental: bool) -> None:
    gated = client.with_(version=version, experimental=experimental)
    resp = gated.get(TYPES)
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-OpenStack-Manila-API-Version"] == version
    created = gated.post(TYPES, {"share_group_type": {"name": unique(), "share_types": ["default"]}})
    assert created.status_code == 200, created.text


# -- create -------------------------------------------------------------------------------------------
def test_create_by_share_type_name_or_id(client: Client) -> None:
    other = create_type(client)
    name = unique("gt")
    resp = post_type(client, name=name, share_types=["default", other["id"]],
                     group_specs={"consistent_snapshot_support": "pool"})
    assert resp.status_code == 200, resp.text
    created = resp.json()["share_group_type"]
    assert set(created) == VIEW_KEYS | {"is_default"}
    assert created["name"] == name and created["is_public"] is True and created["is_default"] is False
    assert created["share_types"] == [default_type_id(client), other["id"]]
    assert created["group_specs"] == {"consistent_snapshot_support": "pool"}
    assert at(client).get(f"{TYPES}/{created['id']}").json() == {"share_group_type": created}


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "x"}, "Supported share types must be provided."),
    ({"name": "x", "share_types": []}, "Supported share types must be provided."),
    ({"share_types": ["default"]}, "Share group type name is not valid."),
    ({"name": "", "share_types": ["default"]}, "Share group type name is not valid."),
    ({"name": "n" * 256, "share_types": ["default"]}, "Share group type name is not valid."),
    ({"name": 5, "share_types": ["default"]}, "Share group type name is not valid."),
    ({"name": "x", "share_types": ["default"], "group_specs": ["a"]},
     "Group specs can be either of 'None' or 'dict' types."),
    ({"name": "x", "share_types": ["default"], "group_specs": {"a": True}},
     "Group specs keys and values should be strings."),
    ({"name": "x", "share_types": ["default"], "is_public": "maybe"},
     "Invalid input received: Invalid value for is_public: maybe."),
    ({"name": "x", "share_types": "default"},
     "Invalid input received: 'share_types' must be a list of share type names or ids."),
])
def test_create_validation(client: Client, fields: dict[str, Any], message: str) -> None:
    expect_fault(post_type(client, **fields), 400, message)


def test_create_without_entity_is_400_after_policy(client: Client, member: Client) -> None:
    expect_fault(at(client).post(TYPES, {"share_type": {}}), 400, GENERIC_400)
    policy_denied(at(member).post(TYPES, {"share_type": {}}), "share_group_type:create")


def test_create_unknown_share_type_is_404_before_a_duplicate_name(client: Client) -> None:
    existing = create_group_type(client)
    expect_fault(post_type(client, name=existing["name"], share_types=["nope"]), 404,
                 "Share Type nope does not exist.")
    expect_fault(post_type(client, name=existing["name"], share_types=["default"]), 409,
                 f"Share group type {existing['name']} already exists.")


def test_members_cannot_create_or_delete(client: Client, member: Client) -> None:
    policy_denied(post_type(member, name=unique(), share_types=["default"]), "share_group_type:create")
    created = create_group_type(client)
    policy_denied(at(member).delete(f"{TYPES}/{created['id']}"), "share_group_type:delete")


# -- show, default, list ------------------------------------------------------------------------------
def test_default_type_stands_in_for_consistency_groups(client: Client, member: Client) -> None:
    resp = at(member).get(f"{TYPES}/default")
    assert resp.status_code == 200, resp.text
    default = resp.json()["share_group_type"]
    assert default["name"] == "default" and default["is_default"] is True and default["is_public"] is True
    assert default["share_types"] == [default_type_id(client)]
    assert default["group_specs"] == {}
    assert at(member).get(f"{TYPES}/{default['id']}").json()["share_group_type"] == default


@pytest.mark.parametrize(("version", "has_is_default"), [("2.31", False), ("2.45", False), ("2.46", True)])
def test_is_default_from_2_46(client: Client, version: str, has_is_default: bool) -> None:
    old = at(client, version, experimental=True)
    for body in (old.get(f"{TYPES}/default").json()["share_group_type"], *old.get(TYPES).json()["share_group_types"]):
        assert set(body) == VIEW_KEYS | ({"is_default"} if has_is_default else set())


def test_show_unknown_and_private(client: Client, member: Client) -> None:
    missing = unknown_id()
    expect_fault(at(client).get(f"{TYPES}/{missing}"), 404, f"Share group type with id {missing} not found.")
    private = create_group_type(client, is_public=False)
    expect_fault(at(member).get(f"{TYPES}/{private['id']}"), 404,
                 f"Share group type with id {private['id']} not found.")
    assert at(client).get(f"{TYPES}/{private['id']}").status_code == 200


def test_list_visibility_and_is_public_filter(client: Client, member: Client) -> None:
    public, private = create_group_type(client), create_group_type(client, is_public=False)
    shared = create_group_type(client, is_public=False)
    grant = at(client).post(f"{TYPES}/{shared['id']}/action", {"addProjectAccess": {"project": member.project}})
    assert grant.status_code == 202, grant.text
    seen = names(at(member))
    assert {public["name"], shared["name"]} <= seen and private["name"] not in seen
    # a member's is_public is ignored
    assert names(at(member), is_public="false") == seen
    admin = at(client)
    assert public["name"] in names(admin) and private["name"] not in names(admin)
    only_private = names(admin, is_public="false")
    assert {private["name"], shared["name"]} <= only_private and public["name"] not in only_private
    assert {public["name"], private["name"], shared["name"]} <= names(admin, is_public="all")
    expect_fault(admin.get(TYPES, params={"is_public": "maybe"}), 400, "Invalid is_public filter [maybe]")


def test_group_specs_filter_from_2_66(client: Client) -> None:
    marker = unique("m")
    pooled = create_group_type(client, group_specs={"consistent_snapshot_support": "pool", "mark": marker})
    hosted = create_group_type(client, group_specs={"consistent_snapshot_support": "host", "mark": marker})
    new = at(client, "2.66")
    assert names(new, group_specs=f"{{'mark': '{marker}'}}") == {pooled["name"], hosted["name"]}
    assert names(new, group_specs=f'{{"mark": "{marker}", "consistent_snapshot_support": "host"}}') == {
        hosted["name"]}
    assert names(new, group_specs="{'mark': 'nothing-has-this'}") == set()
    expect_fault(new.get(TYPES, params={"group_specs": "[1"}), 400,
                 "Invalid input received: Wrong group_specs filter provided: [1.")
    expect_fault(at(client, "2.65").get(TYPES, params={"group_specs": f"{{'mark': '{marker}'}}"}), 400,
                 "Filter by 'group_specs' is not supported by this microversion. Use 2.66 or greater microversion "
                 "to be able to use filter search by 'group_specs.")


# -- delete -------------------------------------------------------------------------------------------
def test_delete(client: Client) -> None:
    created = create_group_type(client)
    resp = at(client).delete(f"{TYPES}/{created['id']}")
    assert resp.status_code == 204 and resp.content == b""
    expect_fault(at(client).get(f"{TYPES}/{created['id']}"), 404)
    expect_fault(at(client).delete(f"{TYPES}/{created['id']}"), 404, GENERIC_404)


def test_delete_refused_while_a_group_has_the_type(client: Client) -> None:
    group_type = create_group_type(client)
    group = at(client).post("/share-groups", {"share_group": {"share_group_type_id": group_type["id"]}})
    assert group.status_code == 202, group.text
    expect_fault(at(client).delete(f"{TYPES}/{group_type['id']}"), 400,
                 f"Target share group type with id {group_type['id']} is still in use.")


def test_share_type_of_a_group_type_cannot_be_deleted(client: Client) -> None:
    share_type = create_type(client)
    group_type = create_group_type(client, share_types=[share_type["id"]])
    expect_fault(client.delete(f"/types/{share_type['id']}"), 400, "Target share type is still in use.")
    assert at(client).delete(f"{TYPES}/{group_type['id']}").status_code == 204
    assert client.delete(f"/types/{share_type['id']}").status_code == 202


# -- group specs --------------------------------------------------------------------------------------
def test_group_specs_lifecycle(client: Client) -> None:
    gt = create_group_type(client, group_specs={"a": "1"})
    specs = f"{TYPES}/{gt['id']}/group-specs"
    admin = at(client)
    assert admin.get(specs).json() == {"group_specs": {"a": "1"}}
    body = {"group_specs": {"b": True, "consistent_snapshot_support": "host"}}
    resp = admin.post(specs, body)
    assert resp.status_code == 200 and resp.json() == body
    assert admin.get(specs).json() == {"group_specs": {"a": "1", "b": "True", "consistent_snapshot_support": "host"}}
    assert admin.get(f"{specs}/b").json() == {"b": "True"}
    resp = admin.put(f"{specs}/a", {"a": "2"})
    assert resp.status_code == 200 and resp.json() == {"a": "2"}
    assert admin.get(f"{TYPES}/{gt['id']}").json()["share_group_type"]["group_specs"]["a"] == "2"
    resp = admin.delete(f"{specs}/a")
    assert resp.status_code == 204 and resp.content == b""
    expect_fault(admin.get(f"{specs}/a"), 404, GENERIC_404)
    expect_fault(admin.delete(f"{specs}/a"), 404, f"Share group type {gt['id']} has no group specs with key a.")


@pytest.mark.parametrize(("body", "message"), [
    ({"group_specs": {"k": ""}}, "Invalid extra_spec: k: "),
    ({"group_specs": {"k": 1}}, "Invalid extra_spec: k: 1"),
    ({"group_specs": {"k": "v" * 256}}, f"Invalid extra_spec: k: {'v' * 256}"),
    ({"group_specs": {"bad key": "v"}},
     "Key names can only contain alphanumeric characters, underscores, periods, colons and hyphens."),
    ({"group_specs": "x"}, GENERIC_400),
    ({"extra_specs": {"k": "v"}}, GENERIC_400),
])
def test_set_group_specs_validation(client: Client, body: dict[str, Any], message: str) -> None:
    gt = create_group_type(client)
    expect_fault(at(client).post(f"{TYPES}/{gt['id']}/group-specs", body), 400, message)
    assert at(client).get(f"{TYPES}/{gt['id']}/group-specs").json() == {"group_specs": {}}


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Request body empty."),
    ({"other": "v"}, "Request body and URI mismatch."),
    ({"k": "v", "other": "w"}, "Request body contains too many items."),
    ({"k": ""}, "Invalid extra_spec: k: "),
])
def test_update_one_group_spec_validation(client: Client, body: dict[str, Any], message: str) -> None:
    gt = create_group_type(client)
    expect_fault(at(client).put(f"{TYPES}/{gt['id']}/group-specs/k", body), 400, message)


def test_unknown_type_is_404_before_a_bad_spec(client: Client) -> None:
    missing = unknown_id()
    specs = f"{TYPES}/{missing}/group-specs"
    message = f"Share group type {missing} could not be found."
    admin = at(client)
    expect_fault(admin.get(specs), 404, message)
    expect_fault(admin.post(specs, {"group_specs": {"k": ""}}), 404, message)
    expect_fault(admin.put(f"{specs}/k", {"other": "v"}), 404, message)
    expect_fault(admin.get(f"{specs}/k"), 404, message)
    expect_fault(admin.delete(f"{specs}/k"), 404, message)


def test_group_specs_are_admin_only_even_to_read(client: Client, member: Client) -> None:
    gt = create_group_type(client, group_specs={"k": "v"})
    specs = f"{TYPES}/{gt['id']}/group-specs"
    reader = at(member)
    policy_denied(reader.get(specs), "share_group_types_spec:index")
    policy_denied(reader.get(f"{specs}/k"), "share_group_types_spec:show")
    policy_denied(reader.post(specs, {"group_specs": {"k": "w"}}), "share_group_types_spec:create")
    policy_denied(reader.put(f"{specs}/k", {"k": "w"}), "share_group_types_spec:update")
    policy_denied(reader.delete(f"{specs}/k"), "share_group_types_spec:delete")
    # the type's own view shows them, as Manila's does
    assert reader.get(f"{TYPES}/{gt['id']}").json()["share_group_type"]["group_specs"] == {"k": "v"}


# -- project access -----------------------------------------------------------------------------------
def test_project_access(client: Client, member: Client) -> None:
    private = create_group_type(client, is_public=False)
    admin = at(client)
    action, access = f"{TYPES}/{private['id']}/action", f"{TYPES}/{private['id']}/access"
    project = member.project
    assert admin.post(action, {"addProjectAccess": {"project": project}}).status_code == 202
    assert admin.get(access).json() == {
        "share_group_type_access": [{"share_group_type_id": private["id"], "project_id": project}]}
    expect_fault(admin.post(action, {"addProjectAccess": {"project": project}}), 409,
                 f"Share group type access for {private['id']} / {project} combination already exists.")
    assert at(member).get(f"{TYPES}/{private['id']}").status_code == 200
    assert admin.post(action, {"removeProjectAccess": {"project": project}}).status_code == 202
    assert admin.get(access).json() == {"share_group_type_access": []}
    expect_fault(admin.post(action, {"removeProjectAccess": {"project": project}}), 404,
                 f"Share group type access not found for {private['id']} / {project} combination.")
    expect_fault(at(member).get(f"{TYPES}/{private['id']}"), 404)


def test_project_access_errors(client: Client, member: Client) -> None:
    public = create_group_type(client)
    admin = at(client)
    expect_fault(admin.get(f"{TYPES}/{public['id']}/access"), 404,
                 "Access list not available for public share group types.")
    expect_fault(admin.post(f"{TYPES}/{public['id']}/action", {"addProjectAccess": {"project": member.project}}),
                 409, "Type access modification is not applicable to public share group type.")
    expect_fault(admin.post(f"{TYPES}/{public['id']}/action", {"addProjectAccess": {"project": "p1"}}), 400,
                 "Project value (p1) must be in uuid format.")
    expect_fault(admin.post(f"{TYPES}/{public['id']}/action", {"addProjectAccess": "x"}), 400, GENERIC_400)
    missing = unknown_id()
    expect_fault(admin.get(f"{TYPES}/{missing}/access"), 404, f"Share group type {missing} not found.")
    expect_fault(admin.post(f"{TYPES}/{missing}/action", {"removeProjectAccess": {"project": member.project}}),
                 404, f"Share group type {missing} could not be found.")
    policy_denied(at(member).get(f"{TYPES}/{public['id']}/access"), "share_group_type:list_project_access")
    policy_denied(at(member).post(f"{TYPES}/{public['id']}/action",
                                  {"addProjectAccess": {"project": member.project}}),
                  "share_group_type:add_project_access")
    policy_denied(at(member).post(f"{TYPES}/{public['id']}/action",
                                  {"removeProjectAccess": {"project": member.project}}),
                  "share_group_type:remove_project_access")
