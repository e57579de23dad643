"""One store: a consistency group made at 2.30 is a share group at 2.55 and back, with its shares, its
group snapshots and the groups restored from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from lockstep import config
from lockstep.adapters.db import tables
from lockstep.adapters.db.engine import make_engine
from lockstep.bootstrap import create_default_share_group_type
from tests.api.group_helpers import (
    SGS,
    SNAPS,
    TYPES,
    at,
    create_group_snapshot,
    create_share_group,
    group_shares,
)
from tests.api.helpers import create_type, default_type_id
from tests.conftest import DATABASES
from tests.support import Client, in_process_server, migrated_database, settings_env


def cg_shares(client: Client, group_id: str) -> list[dict[str, Any]]:
    return list(client.get("/shares/detail", params={"consistency_group_id": group_id}).json()["shares"])


def default_group_type_id(client: Client) -> str:
    return str(at(client).get(f"{TYPES}/default").json()["share_group_type"]["id"])


def test_a_consistency_group_is_a_share_group(client: Client) -> None:
    cg_api, sg = client, at(client)
    extra = create_type(client)
    cg = cg_api.create_group(name="cg", share_types=[default_type_id(client), extra["id"]])
    shares = [cg_api.create_share(consistency_group_id=cg["id"]),
              cg_api.create_share(size=2, consistency_group_id=cg["id"], share_type=extra["id"])]
    cgsnapshot = cg_api.create_cgsnapshot(cg["id"], name="cut")

    # seen as a share group
    group = sg.get(f"{SGS}/{cg['id']}").json()["share_group"]
    assert (group["name"], group["status"], group["host"], group["share_types"]) == (
        "cg", "available", cg["host"], cg["share_types"])
    assert group["share_group_type_id"] == default_group_type_id(client)
    assert (group["availability_zone"], group["consistent_snapshot_support"]) == ("nova", "pool")
    assert cg["id"] in {g["id"] for g in sg.get(SGS).json()["share_groups"]}
    assert {s["id"] for s in group_shares(sg, cg["id"])} == {s["id"] for s in shares}
    assert {s["share_group_id"] for s in group_shares(sg, cg["id"])} == {cg["id"]}
    snapshot = sg.get(f"{SNAPS}/{cgsnapshot['id']}").json()["share_group_snapshot"]
    assert (snapshot["share_group_id"], snapshot["name"], snapshot["status"]) == (cg["id"], "cut", "available")
    assert snapshot["lockstep:consistency"] == cgsnapshot["lockstep:consistency"] == {"method": "atomic",
                                                                                     "spread_ms": 0.0}
    cg_members = cg_api.get(f"/cgsnapshots/{cgsnapshot['id']}/members").json()["cgsnapshot_members"]
    sg_members = sg.get(f"{SNAPS}/{cgsnapshot['id']}/members").json()["share_group_snapshot_members"]
    assert {(m["id"], m["share_id"], m["size"]) for m in cg_members} == {
        (m["id"], m["share_id"], m["size"]) for m in sg_members} == {
        (m["id"], m["share_id"], m["size"]) for m in snapshot["members"]}

    # usable as a share group: a new share, a group snapshot, a restore of the CG-era cut
    added = sg.create_share(share_group_id=cg["id"])
    assert added["host"] == cg["host"]
    later = create_group_snapshot(sg, cg["id"])
    assert len(later["members"]) == 3 and later["lockstep:consistency"]["method"] == "atomic"
    restored = create_share_group(sg, source_share_group_snapshot_id=cgsnapshot["id"])
    assert restored["status"] == "available" and restored["share_types"] == cg["share_types"]
    assert restored["share_group_type_id"] == group["share_group_type_id"]
    clones = group_shares(sg, restored["id"])
    assert {c["source_share_group_snapshot_member_id"] for c in clones} == {m["id"] for m in sg_members}
    assert {c["status"] for c in clones} == {"available"}

    # the restored group, and the later snapshot, are consistency group records at 2.30 again
    as_cg = cg_api.get(f"/consistency-groups/{restored['id']}").json()["consistency_group"]
    assert as_cg["source_cgsnapshot_id"] == cgsnapshot["id"] and as_cg["status"] == "available"
    assert {c["source_cgsnapshot_member_id"] for c in cg_shares(cg_api, restored["id"])} == {
        m["id"] for m in cg_members}
    assert cg_api.get(f"/cgsnapshots/{later['id']}").json()["cgsnapshot"]["consistency_group_id"] == cg["id"]

    # and torn down through the share-group API
    for snap in (cgsnapshot, later):
        assert sg.delete(f"{SNAPS}/{snap['id']}").status_code == 202
        sg.wait_gone(f"{SNAPS}/{snap['id']}")
    for share in [*shares, added]:
        assert sg.delete(f"/shares/{share['id']}", params={"share_group_id": cg["id"]}).status_code == 202
        sg.wait_gone(f"/shares/{share['id']}")
    assert sg.delete(f"{SGS}/{cg['id']}").status_code == 202
    sg.wait_gone(f"{SGS}/{cg['id']}")
    assert cg_api.get(f"/consistency-groups/{cg['id']}").status_code == 404


def test_a_share_group_is_a_consistency_group(client: Client) -> None:
    cg_api, sg = client, at(client)
    group = create_share_group(sg, name="sg", description="made at 2.55")
    shares = [sg.create_share(share_group_id=group["id"]) for _ in range(2)]
    snapshot = create_group_snapshot(sg, group["id"], name="cut")

    as_cg = cg_api.get(f"/consistency-groups/{group['id']}").json()["consistency_group"]
    assert (as_cg["name"], as_cg["description"], as_cg["host"], as_cg["share_types"], as_cg["status"]) == (
        "sg", "made at 2.55", group["host"], group["share_types"], "available")
    assert group["id"] in {g["id"] for g in cg_api.get("/consistency-groups").json()["consistency_groups"]}
    assert {s["consistency_group_id"] for s in cg_shares(cg_api, group["id"])} == {group["id"]}
    cgsnapshot = cg_api.get(f"/cgsnapshots/{snapshot['id']}").json()["cgsnapshot"]
    assert (cgsnapshot["consistency_group_id"], cgsnapshot["lockstep:consistency"]) == (
        group["id"], snapshot["lockstep:consistency"])
    members = cg_api.get(f"/cgsnapshots/{snapshot['id']}/members").json()["cgsnapshot_members"]
    assert {m["share_id"] for m in members} == {s["id"] for s in shares}
    assert {m["share_type_id"] for m in members} == {default_type_id(client)}

    # usable as a consistency group: a share, a cgsnapshot, a restore of the share-group cut
    cg_api.create_share(consistency_group_id=group["id"])
    cut = cg_api.create_cgsnapshot(group["id"])
    assert len(at(client).get(f"{SNAPS}/{cut['id']}").json()["share_group_snapshot"]["members"]) == 3
    restored = cg_api.create_group(source_cgsnapshot_id=snapshot["id"])
    assert restored["status"] == "available" and restored["source_cgsnapshot_id"] == snapshot["id"]
    assert {c["source_cgsnapshot_member_id"] for c in cg_shares(cg_api, restored["id"])} == {m["id"] for m in members}
    # a group restored through the CG API is a share group of its source's type
    seen = sg.get(f"{SGS}/{restored['id']}").json()["share_group"]
    assert (seen["share_group_type_id"], seen["source_share_group_snapshot_id"]) == (
        group["share_group_type_id"], snapshot["id"])

    # torn down through the CG API
    for snap in (snapshot, cut):
        assert cg_api.delete(f"/cgsnapshots/{snap['id']}").status_code == 202
        cg_api.wait_gone(f"/cgsnapshots/{snap['id']}")
    for share in cg_shares(cg_api, group["id"]):
        assert cg_api.delete(f"/shares/{share['id']}", params={"consistency_group_id": group["id"]}).status_code == 202
        cg_api.wait_gone(f"/shares/{share['id']}")
    assert cg_api.delete(f"/consistency-groups/{group['id']}").status_code == 202
    cg_api.wait_gone(f"/consistency-groups/{group['id']}")
    assert sg.get(f"{SGS}/{group['id']}").status_code == 404


@pytest.mark.parametrize("kind", DATABASES)
def test_upgrade_gives_groups_made_before_share_groups_the_default_type(kind: str, tmp_path: Path) -> None:
    """`lockstep db upgrade` on a database whose groups predate share groups (no type, zone or guarantee)."""
    with migrated_database(kind, tmp_path) as url, in_process_server(tmp_path / "data", url) as server:
        client = server.client()
        unplaced = client.create_group()
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(update(tables.consistency_groups).values(
                    share_group_type_id=None, availability_zone=None, consistent_snapshot_support=None))
            before = at(client).get(f"{SGS}/{unplaced['id']}").json()["share_group"]
            assert (before["share_group_type_id"], before["availability_zone"]) == (None, None)
            settings = config.load(env=settings_env(tmp_path / "data", url))
            assert create_default_share_group_type(settings, engine) is False  # the type exists already
        finally:
            engine.dispose()
        after = at(client).get(f"{SGS}/{unplaced['id']}").json()["share_group"]
        assert after["share_group_type_id"] == default_group_type_id(client)
        assert (after["availability_zone"], after["consistent_snapshot_support"]) == ("nova", "pool")
