"""Share types: list/show/default/create/delete, extra specs, project access."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.api.helpers import GENERIC_400, create_type, expect_fault, unique
from tests.support import Client, Server

UNKNOWN = "0d4e1b8c-8b4e-4f3a-9d6b-c6d1a8c5e0aa"
PUBLIC_27 = "share_type_access:is_public"
PUBLIC_26 = "os-share-type-access:is_public"


def _names(resp_json: dict[str, Any]) -> list[str]:
    return [t["name"] for t in resp_json["share_types"]]


# list / show / default ----------------------------------------------------------------------------
def test_list_has_both_wrappers_sorted_by_name(client: Client) -> None:
    create_type(client, name=unique("zz"))
    create_type(client, name=unique("aa"))
    body = client.get("/types").json()
    assert set(body) == {"share_types", "volume_types"}
    assert body["share_types"] == body["volume_types"]
    names = _names(body)
    assert names == sorted(names)
    assert "default" in names


def test_type_view_keys_by_version(client: Client, member: Client) -> None:
    st = create_type(client, snapshot_support=True, custom_key="x")
    for version, key in (("2.6", PUBLIC_26), ("2.7", PUBLIC_27), ("2.30", PUBLIC_27)):
        view = client.with_(version=version).get(f"/types/{st['id']}").json()
        assert view["share_type"] == view["volume_type"]
        assert set(view["share_type"]) == {"id", "name", "extra_specs", "required_extra_specs", key}
        assert view["share_type"][key] is True
    assert st["extra_specs"] == {
        "driver_handles_share_servers": "False",
        "snapshot_support": "True",
        "custom_key": "x",
    }
    # members see tenant-visible keys only; >= 2.24 fills the *_support keys with false
    seen = member.with_(version="2.23").get(f"/types/{st['id']}").json()["share_type"]
    assert seen["extra_specs"] == {"driver_handles_share_servers": "False", "snapshot_support": "True"}
    seen = member.with_(version="2.24").get(f"/types/{st['id']}").json()["share_type"]
    assert seen["extra_specs"] == {
        "driver_handles_share_servers": "False",
        "snapshot_support": "True",
        "create_share_from_snapshot_support": False,
        "revert_to_snapshot_support": False,
    }
    assert seen["required_extra_specs"] == {"driver_handles_share_servers": "False"}


def test_private_types_visibility(client: Client, member: Client, server: Server) -> None:
    private = create_type(client, public=False)
    granted = create_type(client, public=False)
    assert (
        client.post(
            f"/types/{granted['id']}/action", {"addProjectAccess": {"project": member.project}}
        ).status_code
        == 202
    )
    member_names = _names(member.get("/types").json())
    assert granted["name"] in member_names and private["name"] not in member_names
    expect_fault(member.get(f"/types/{private['id']}"), 404, "Share type not found.")
    assert member.get(f"/types/{granted['id']}").json()["share_type"]["name"] == granted["name"]
    # admin list: same rule by default, all with is_public=all, private only with false
    admin = server.client()
    assert private["name"] not in _names(admin.get("/types").json())
    every = _names(admin.get("/types", params={"is_public": "all"}).json())
    assert {private["name"], granted["name"], "default"} <= set(every)
    only_private = _names(client.get("/types", params={"is_public": "false"}).json())
    assert "default" not in only_private
    assert granted["name"] in only_private
    # admins show any type by id
    assert admin.get(f"/types/{private['id']}").status_code == 200


@pytest.mark.parametrize("value", ["maybe", "2", ""])
def test_bad_is_public_filter(client: Client, value: str) -> None:
    expect_fault(
        client.get("/types", params={"is_public": value}), 400, f"Invalid is_public filter [{value}]"
    )


def test_show_unknown_type(client: Client) -> None:
    expect_fault(client.get(f"/types/{UNKNOWN}"), 404, "Share type not found.")
    expect_fault(client.get("/types/not-a-uuid"), 404, "Share type not found.")


def test_default_type(client: Client, member: Client) -> None:
    for who in (client, member):
        body = who.get("/types/default").json()
        assert body["share_type"] == body["volume_type"]
        assert body["share_type"]["name"] == "default"
        assert body["share_type"]["extra_specs"]["driver_handles_share_servers"] == "False"
        assert body["share_type"]["extra_specs"]["snapshot_support"] == "True"


# create ------------------------------------------------------------------------------------------------
def test_create_returns_200_with_view(client: Client) -> None:
    name = unique("new")
    resp = client.post(
        "/types",
        {
            "share_type": {
                "name": name,
                "extra_specs": {
                    "driver_handles_share_servers": True,
                    "snapshot_support": False,
                    "replication_type": "dr",
                },
            }
        },
    )
    assert resp.status_code == 200
    st = resp.json()["share_type"]
    assert resp.json()["volume_type"]["id"] == st["id"]
    assert uuid.UUID(st["id"])
    assert st["name"] == name
    assert st["extra_specs"] == {
        "driver_handles_share_servers": "True",
        "snapshot_support": "False",
        "replication_type": "dr",
    }
    assert st["required_extra_specs"] == {"driver_handles_share_servers": True}
    assert st[PUBLIC_27] is True
    assert client.get(f"/types/{st['id']}").json()["share_type"]["required_extra_specs"] == {
        "driver_handles_share_servers": "True"
    }


def test_create_with_volume_type_wrapper(client: Client) -> None:
    resp = client.post(
        "/types",
        {"volume_type": {"name": unique("vt"), "extra_specs": {"driver_handles_share_servers": "false"}}},
    )
    assert resp.status_code == 200
    assert resp.json()["share_type"]["extra_specs"]["driver_handles_share_servers"] == "false"


def test_snapshot_support_added_below_2_24(client: Client) -> None:
    body = {"name": unique("old"), "extra_specs": {"driver_handles_share_servers": False}}
    old = client.with_(version="2.23").post("/types", {"share_type": body}).json()["share_type"]
    assert old["extra_specs"] == {"driver_handles_share_servers": "False", "snapshot_support": "True"}
    body = {"name": unique("new"), "extra_specs": {"driver_handles_share_servers": False}}
    new = client.with_(version="2.24").post("/types", {"share_type": body}).json()["share_type"]
    assert new["extra_specs"] == {"driver_handles_share_servers": "False"}


def test_is_public_spellings(client: Client) -> None:
    for version in ("2.0", "2.30"):
        for key in (PUBLIC_26, PUBLIC_27):
            body = {"name": unique("p"), key: False, "extra_specs": {"driver_handles_share_servers": False}}
            st = client.with_(version=version).post("/types", {"share_type": body}).json()["share_type"]
            shown = PUBLIC_27 if version == "2.30" else PUBLIC_26
            assert st[shown] is False
    body = {
        "name": unique("p"),
        PUBLIC_26: False,
        PUBLIC_27: True,
        "extra_specs": {"driver_handles_share_servers": False},
    }
    assert client.post("/types", {"share_type": body}).json()["share_type"][PUBLIC_27] is False


@pytest.mark.parametrize(
    "body", [{}, {"share_types": {"name": "x"}}, {"share_type": "x"}, {"share_type": None}]
)
def test_create_without_entity_is_generic_400(client: Client, body: dict[str, Any]) -> None:
    expect_fault(client.post("/types", body), 400, GENERIC_400)


@pytest.mark.parametrize("name", [None, "", "   ", "n" * 256, 5, ["x"]])
def test_create_bad_name(client: Client, name: Any) -> None:
    body: dict[str, Any] = {"extra_specs": {"driver_handles_share_servers": False}}
    if name is not None:
        body["name"] = name
    expect_fault(client.post("/types", {"share_type": body}), 400, "Type name is not valid.")


def test_create_name_of_255_chars_is_fine(client: Client) -> None:
    name = unique("l")
    name = name + "n" * (255 - len(name))
    assert create_type(client, name=name)["name"] == name


def test_create_spec_validation(client: Client) -> None:
    def create(specs: Any) -> Any:
        return client.post("/types", {"share_type": {"name": unique("v"), "extra_specs": specs}})

    dhss = "driver_handles_share_servers"
    expect_fault(create({}), 400, f"Invalid extra_spec: Required extra specs '{dhss}' not specified..")
    expect_fault(
        create({"snapshot_support": True}),
        400,
        f"Invalid extra_spec: Required extra specs '{dhss}' not specified..",
    )
    bad: object
    for bad in ("<is> True", "maybe", 1, None, [], "2"):
        expect_fault(
            create({dhss: bad}), 400, f"Invalid extra_spec: Value of required extra_spec {dhss} is not valid."
        )
    for good in ("true", "False", "1", "0", "yes", "off", "t", "n", True):
        assert create({dhss: good}).status_code == 200, good
    for key in ("snapshot_support", "create_share_from_snapshot_support", "revert_to_snapshot_support"):
        text = expect_fault(create({dhss: False, key: "maybe"}), 400)
        assert text.startswith("Invalid share type: Invalid extra_spec: "), text
        assert key in text
        assert create({dhss: False, key: "<is> True"}).status_code == 200
    text = expect_fault(create({dhss: False, "replication_type": "sideways"}), 400)
    assert text.startswith("Invalid share type: Invalid extra_spec: "), text
    for mode in ("writable", "readable", "dr"):
        assert create({dhss: False, "replication_type": mode}).status_code == 200
    text = expect_fault(create({dhss: False, "bad key!": "x"}), 400)
    assert text.startswith("Invalid share type: "), text
    text = expect_fault(create("not a dict"), 400)
    assert "extra_specs" in text


def test_create_duplicate_name_is_409(client: Client) -> None:
    st = create_type(client)
    resp = client.post(
        "/types", {"share_type": {"name": st["name"], "extra_specs": {"driver_handles_share_servers": True}}}
    )
    expect_fault(resp, 409, f"Share Type {st['name']} already exists.")
    expect_fault(
        client.post(
            "/types",
            {"share_type": {"name": "default", "extra_specs": {"driver_handles_share_servers": False}}},
        ),
        409,
        "Share Type default already exists.",
    )


# delete --------------------------------------------------------------------------------------------------
def test_delete_type(client: Client) -> None:
    st = create_type(client)
    resp = client.delete(f"/types/{st['id']}")
    assert resp.status_code == 202 and resp.content == b""
    expect_fault(client.get(f"/types/{st['id']}"), 404, "Share type not found.")
    assert st["name"] not in _names(client.get("/types", params={"is_public": "all"}).json())
    expect_fault(client.delete(f"/types/{st['id']}"), 404)
    expect_fault(client.delete(f"/types/{UNKNOWN}"), 404)
    # the name is free again
    assert create_type(client, name=st["name"])["name"] == st["name"]


def test_delete_type_in_use_is_refused(client: Client) -> None:
    st = create_type(client)
    share = client.create_share(share_type=st["id"])
    expect_fault(client.delete(f"/types/{st['id']}"), 400, "Target share type is still in use.")
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    client.wait(f"/shares/{share['id']}", "share", ("deleted",))
    assert client.delete(f"/types/{st['id']}").status_code == 202


# extra specs ------------------------------------------------------------------------------------------------
def test_extra_specs_crud(client: Client) -> None:
    st = create_type(client, snapshot_support=True)
    base = f"/types/{st['id']}/extra_specs"
    assert client.get(base).json() == {
        "extra_specs": {"driver_handles_share_servers": "False", "snapshot_support": "True"}
    }
    resp = client.post(base, {"extra_specs": {"foo": "bar", "flag": True, "snapshot_support": "False"}})
    assert resp.status_code == 200
    assert resp.json() == {"extra_specs": {"foo": "bar", "flag": "True", "snapshot_support": "False"}}
    assert client.get(base).json()["extra_specs"] == {
        "driver_handles_share_servers": "False",
        "snapshot_support": "False",
        "foo": "bar",
        "flag": "True",
    }
    assert client.get(f"{base}/foo").json() == {"foo": "bar"}
    resp = client.put(f"{base}/foo", {"foo": "baz"})
    assert resp.status_code == 200 and resp.json() == {"foo": "baz"}
    assert client.get(f"{base}/foo").json() == {"foo": "baz"}
    resp = client.delete(f"{base}/foo")
    assert resp.status_code == 202 and resp.content == b""
    expect_fault(client.get(f"{base}/foo"), 404, f"Share Type {st['id']} has no extra specs with key foo.")
    expect_fault(client.delete(f"{base}/foo"), 404, f"Share Type {st['id']} has no extra specs with key foo.")
    # the type view follows
    assert client.get(f"/types/{st['id']}").json()["share_type"]["extra_specs"] == {
        "driver_handles_share_servers": "False",
        "snapshot_support": "False",
        "flag": "True",
    }


def test_extra_specs_of_unknown_type(client: Client) -> None:
    message = f"Share type {UNKNOWN} could not be found."
    base = f"/types/{UNKNOWN}/extra_specs"
    expect_fault(client.get(base), 404, message)
    expect_fault(client.post(base, {"extra_specs": {"a": "b"}}), 404, message)
    expect_fault(client.get(f"{base}/a"), 404, message)
    expect_fault(client.put(f"{base}/a", {"a": "b"}), 404, message)
    expect_fault(client.delete(f"{base}/a"), 404, message)


def test_extra_specs_validation(client: Client) -> None:
    st = create_type(client)
    base = f"/types/{st['id']}/extra_specs"
    keys = "Key names can only contain alphanumeric characters, underscores, periods, colons and hyphens."
    for key in ("a b", "a/b", "x!", "é?"):
        expect_fault(client.post(base, {"extra_specs": {key: "v"}}), 400, keys)
    for key in ("a.b", "a-b", "a:b", "capabilities:x_y"):
        assert client.post(base, {"extra_specs": {key: "v"}}).status_code == 200
    expect_fault(client.post(base, {"extra_specs": {"k": ""}}), 400, "Invalid extra_spec: k: ")
    expect_fault(
        client.post(base, {"extra_specs": {"k": "v" * 256}}), 400, f"Invalid extra_spec: k: {'v' * 256}"
    )
    expect_fault(
        client.post(base, {"extra_specs": {"k" * 256: "v"}}), 400, f"Invalid extra_spec: {'k' * 256}: v"
    )
    expect_fault(client.post(base, {"extra_specs": {"k": 5}}), 400, "Invalid extra_spec: k: 5")
    expect_fault(
        client.post(base, {"extra_specs": {"snapshot_support": "maybe"}}),
        400,
        "Invalid extra_spec: snapshot_support: maybe",
    )
    expect_fault(
        client.post(base, {"extra_specs": {"driver_handles_share_servers": "<is> True"}}),
        400,
        "Invalid extra_spec: driver_handles_share_servers: <is> True",
    )
    expect_fault(
        client.post(base, {"extra_specs": {"replication_type": "x"}}),
        400,
        "Invalid extra_spec: replication_type: x",
    )
    assert client.post(base, {"extra_specs": {"k" * 255: "v" * 255}}).status_code == 200
    assert expect_fault(client.post(base, {"specs": {}}), 400)
    assert expect_fault(client.post(base, {"extra_specs": "x"}), 400)


def test_extra_spec_put_messages(client: Client) -> None:
    st = create_type(client)
    path = f"/types/{st['id']}/extra_specs/foo"
    expect_fault(client.put(path, {}), 400, "Request body empty")
    expect_fault(client.put(path, {"bar": "x"}), 400, "Request body and URI mismatch")
    expect_fault(client.put(path, {"foo": "x", "bar": "y"}), 400, "Request body contains too many items")
    expect_fault(client.put(path, {"foo": ""}), 400, "Invalid extra_spec: foo: ")
    assert client.put(path, {"foo": True}).json() == {"foo": "True"}


def test_required_specs_cannot_be_deleted(client: Client) -> None:
    st = create_type(client, snapshot_support=True)
    base = f"/types/{st['id']}/extra_specs"
    for version in ("2.0", "2.30"):
        expect_fault(
            client.with_(version=version).delete(f"{base}/driver_handles_share_servers"),
            403,
            "Extra spec 'driver_handles_share_servers' can't be deleted.",
        )
    expect_fault(
        client.with_(version="2.23").delete(f"{base}/snapshot_support"),
        403,
        "Extra spec 'snapshot_support' can't be deleted.",
    )
    assert client.with_(version="2.24").delete(f"{base}/snapshot_support").status_code == 202
    assert client.get(base).json()["extra_specs"] == {"driver_handles_share_servers": "False"}


# project access ------------------------------------------------------------------------------------------
def test_project_access_round_trip(client: Client) -> None:
    st = create_type(client, public=False)
    project = uuid.uuid4().hex
    dashed = str(uuid.uuid4())
    for path in ("share_type_access", "os-share-type-access"):
        assert client.get(f"/types/{st['id']}/{path}").json() == {"share_type_access": []}
    for p in (project, dashed):
        resp = client.post(f"/types/{st['id']}/action", {"addProjectAccess": {"project": p}})
        assert resp.status_code == 202 and resp.content == b""
    expect_fault(
        client.post(f"/types/{st['id']}/action", {"addProjectAccess": {"project": project}}),
        409,
        f"Share type access for {st['id']} / {project} combination already exists.",
    )
    for path in ("share_type_access", "os-share-type-access"):
        listed = client.get(f"/types/{st['id']}/{path}").json()["share_type_access"]
        assert sorted(listed, key=lambda x: x["project_id"]) == sorted(
            [
                {"share_type_id": st["id"], "project_id": project},
                {"share_type_id": st["id"], "project_id": dashed},
            ],
            key=lambda x: x["project_id"],
        )
    resp = client.post(f"/types/{st['id']}/action", {"removeProjectAccess": {"project": project}})
    assert resp.status_code == 202
    expect_fault(
        client.post(f"/types/{st['id']}/action", {"removeProjectAccess": {"project": project}}),
        404,
        f"Share type access not found for {st['id']} / {project} combination.",
    )
    assert client.get(f"/types/{st['id']}/share_type_access").json() == {
        "share_type_access": [{"share_type_id": st["id"], "project_id": dashed}]
    }


def test_project_access_errors(client: Client) -> None:
    public = create_type(client)
    private = create_type(client, public=False)
    project = uuid.uuid4().hex
    expect_fault(
        client.get(f"/types/{public['id']}/share_type_access"),
        404,
        "Access list not available for public share types.",
    )
    expect_fault(client.get(f"/types/{UNKNOWN}/share_type_access"), 404, f"Share type {UNKNOWN} not found.")
    for key in ("addProjectAccess", "removeProjectAccess"):
        expect_fault(
            client.post(f"/types/{public['id']}/action", {key: {"project": project}}),
            409,
            "Type access modification is not applicable to public share type.",
        )
        expect_fault(client.post(f"/types/{UNKNOWN}/action", {key: {"project": project}}), 404)
        for bad in ("not-a-uuid", "1234", project + "0"):
            expect_fault(
                client.post(f"/types/{private['id']}/action", {key: {"project": bad}}),
                400,
                f"Bad project format: project is not in proper format ({bad})",
            )
    expect_fault(
        client.post(f"/types/{private['id']}/action", {"grantAccess": {"project": project}}),
        400,
        "There is no such action: grantAccess",
    )
