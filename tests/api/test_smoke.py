from tests.support import Client


def test_group_share_cgsnapshot_restore_round_trip(client: Client) -> None:
    group = client.create_group(name="db")
    assert group["status"] == "available"
    share = client.create_share(consistency_group_id=group["id"])
    assert share["status"] == "available"
    cgsnapshot = client.create_cgsnapshot(group["id"])
    assert cgsnapshot["status"] == "available"
    assert cgsnapshot["lockstep:consistency"]["method"] == "atomic"
    restored = client.create_group(source_cgsnapshot_id=cgsnapshot["id"])
    assert restored["status"] == "available"
    shares = client.get("/shares/detail", params={"consistency_group_id": restored["id"]}).json()["shares"]
    assert len(shares) == 1 and shares[0]["status"] == "available"
