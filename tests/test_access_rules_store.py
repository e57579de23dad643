"""The access rule tables: rules and their metadata go with their share, and a share's
access_rules_status is computed from its rules' states when it is loaded."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.migrate import upgrade
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.domain.access import AccessRule, AccessState
from lockstep.domain.model import Status, utcnow
from lockstep.domain.queries import AccessRuleField, AccessRuleQuery
from lockstep.service.unit_of_work import Database, UnitOfWork
from tests.api.access_helpers import grant
from tests.support import database, in_process_server, migrated_database


def _share(uow: UnitOfWork, share_id: str) -> None:
    now = utcnow()
    uow.shares.insert_row(
        id=share_id, project_id="p", user_id="u", name=None, description=None, size=1, share_proto="NFS",
        status=Status.AVAILABLE, host="h@b#p", availability_zone=None, share_type_id=None, share_network_id=None,
        snapshot_id=None, is_public=False, consistency_group_id=None, source_cgsnapshot_member_id=None,
        task_state=None, snapshot_support=False, create_share_from_snapshot_support=False,
        revert_to_snapshot_support=False, created_at=now, updated_at=now)


def _rule(rule_id: str, share_id: str, state: AccessState, to: str = "10.0.0.0/24") -> AccessRule:
    now = utcnow()
    access_type = "ip" if "." in to else "user"
    return AccessRule(id=rule_id, share_id=share_id, access_type=access_type, access_to=to, access_level="rw",
                      state=state, access_key=None, created_at=now, updated_at=now, metadata={"k": rule_id})


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_rules_go_with_their_share_and_make_its_status(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            db: Database = SqlAlchemyDatabase(engine)
            with db.write() as uow:
                for share_id in ("s1", "s2", "s3"):
                    _share(uow, share_id)
                uow.access_rules.add(_rule("r1", "s1", AccessState.ACTIVE))
                uow.access_rules.add(_rule("r2", "s1", AccessState.QUEUED_TO_APPLY, "10.1.0.0/16"))
                uow.access_rules.add(_rule("r3", "s2", AccessState.ERROR))
                uow.access_rules.add(_rule("r4", "s2", AccessState.DENYING, "10.1.0.0/16"))
                uow.commit()
            with db.read() as uow:
                statuses = {s: uow.shares.get(s).access_rules_status for s in ("s1", "s2", "s3")}  # type: ignore[union-attr]
                assert statuses == {"s1": "syncing", "s2": "error", "s3": "active"}
                query = AccessRuleQuery("s1", equals=((AccessRuleField.ACCESS_TO, "10.1.0.0/16"),),
                                        metadata=(("k", "r2"),))
                assert [r.id for r in uow.access_rules.for_share("s1", query)] == ["r2"]
                assert uow.access_rules.get("r3") is not None
            with db.write() as uow:
                assert uow.access_rules.cas("r2", [AccessState.QUEUED_TO_DENY], state=AccessState.ACTIVE) is False
                assert uow.access_rules.cas("r2", [AccessState.QUEUED_TO_APPLY], state=AccessState.ACTIVE) is True
                assert uow.shares.delete("s2")
                uow.commit()
            with db.read() as uow:
                assert uow.shares.get("s1").access_rules_status == "active"  # type: ignore[union-attr]
                assert uow.access_rules.get("r3") is None and uow.access_rules.get("r4") is None
                assert uow.access_rules.for_share("s2") == []
                assert [r.metadata for r in uow.access_rules.for_share("s1")] == [{"k": "r1"}, {"k": "r2"}]
            with db.write() as uow:
                # the metadata rows went with their rules: a new rule with an old id has none
                reused = _rule("r3", "s1", AccessState.ACTIVE, "10.2.0.0/16")
                reused.metadata = {}
                uow.access_rules.add(reused)
                uow.commit()
            with db.read() as uow:
                assert uow.access_rules.get("r3").metadata == {}  # type: ignore[union-attr]
        finally:
            engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_grant_waits_for_a_concurrent_grant_of_its_share(kind: str, tmp_path: Path) -> None:
    """Two grants of one target at once: the second sees the first and answers `exists`."""
    with migrated_database(kind, tmp_path) as url, in_process_server(tmp_path / "data", url) as server:
        client = server.client()
        share = client.create_share()
        engine = make_engine(url)
        try:
            db: Database = SqlAlchemyDatabase(engine)
            answers: list[httpx.Response] = []
            with db.write() as uow:
                uow.access_rules.hold(share["id"])  # as a grant in progress does
                other = threading.Thread(target=lambda: answers.append(grant(client, share["id"], "user", "alice")))
                other.start()
                other.join(0.5)  # it is waiting for this transaction (or has not got there yet)
                uow.access_rules.add(_rule("first", share["id"], AccessState.QUEUED_TO_APPLY, "alice"))
                uow.commit()
            other.join()
            [answer] = answers
            assert answer.status_code == 400, answer.text
            assert answer.json()["badRequest"]["message"] == "Share access user:alice exists."
        finally:
            engine.dispose()
