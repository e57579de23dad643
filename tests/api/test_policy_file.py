"""An operator's policy file overrides Manila's defaults (oslo.policy syntax, Manila's rule names)."""

from __future__ import annotations

from pathlib import Path

from tests.support import fault, in_process_server, live_server


def test_operator_policy_file_overrides_defaults(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text('"consistency_group:create": "rule:admin_api"\n"share:create": "role:storage"\n')
    with in_process_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}",
                           LOCKSTEP_POLICY_FILE=str(policy)) as server:
        admin = server.client()
        member = admin.with_(user="alice")
        resp = member.post("/consistency-groups", {"consistency_group": {}})
        assert resp.status_code == 403
        assert fault(resp) == ("forbidden", 403, "Policy doesn't allow consistency_group:create to be performed.")
        assert admin.post("/consistency-groups", {"consistency_group": {}}).status_code == 202
        # Rules the file does not name keep their defaults: members still list their groups.
        assert member.get("/consistency-groups").status_code == 200
        # Neither the admin nor the member has the role the file now asks for.
        resp = admin.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}})
        assert resp.status_code == 403
        assert fault(resp)[2] == "Policy doesn't allow share:create to be performed."


def test_missing_policy_file_is_a_clear_start_up_error(tmp_path: Path) -> None:
    # live: what is checked is the process refusing to start, and what it says
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", start=False,
                     LOCKSTEP_POLICY_FILE=str(tmp_path / "nope.yaml")) as server:
        try:
            server.start()
        except RuntimeError as exc:
            assert "nope.yaml does not exist" in str(exc)
        else:
            raise AssertionError("the server started without its policy file")
