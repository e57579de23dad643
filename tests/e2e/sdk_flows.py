"""openstacksdk flows against a Lockstep server, run by the client venv's Python (not by pytest).

    python sdk_flows.py <flow> <server-url> <project> [argument]

The connection is made the way a new user with a noauth Manila would make it: the `admin_token` auth
plugin (a fixed token and one endpoint for every service) and nothing else. In particular no
microversion is given: the sdk discovers it from the server's version documents, as it does against
a real cloud. The HTTP exchanges are logged (keystoneauth's `REQ: curl ...` lines) on stderr; the
flow's result is one JSON object on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import openstack
from openstack.connection import Connection

Flow = Callable[[Any, str], dict[str, Any]]
WAIT = 60  # seconds for any one resource to settle; the fake backend settles in well under one


def connect(url: str, project: str) -> Connection:
    return openstack.connect(
        auth_type="admin_token", auth={"token": f"admin:{project}", "endpoint": f"{url}/v2/{project}"},
        region_name="", load_yaml_config=False, load_envvars=False,
    )


def settle(sfs: Any, res: Any, attribute: str = "status") -> Any:
    return sfs.wait_for_status(res, "available" if attribute == "status" else "active", failures=["error"],
                               interval=0.2, wait=WAIT, attribute=attribute)


def shares(sfs: Any, argument: str) -> dict[str, Any]:
    """What works before issue 9: a share, its listing and its deletion."""
    share = settle(sfs, sfs.create_share(name="sdk-plain", size=1, share_proto="NFS"))
    listed = [s.id for s in sfs.shares()]
    sfs.delete_share(share)
    sfs.wait_for_delete(share, interval=0.2, wait=WAIT)
    return {"share": share.id, "listed": listed}


def share_group_create(sfs: Any, group_type_id: str) -> dict[str, Any]:
    group = settle(sfs, sfs.create_share_group(name="sdk-group", share_group_type_id=group_type_id))
    return {"group": group.id}


def share_group_snapshot(sfs: Any, group_id: str) -> dict[str, Any]:
    """A snapshot of the group (whose member shares the caller made), the lists, the snapshot's members."""
    snapshot = settle(sfs, sfs.create_share_group_snapshot(group_id, name="sdk-group-snapshot"))
    return {"snapshot": snapshot.id, "listed": [g.id for g in sfs.share_groups()],
            "listed_snapshots": [s.id for s in sfs.share_group_snapshots()],
            "snapshot_members": sfs.share_group_snapshot_members(snapshot)}


def access_rules(sfs: Any, argument: str) -> dict[str, Any]:
    share = settle(sfs, sfs.create_share(name="sdk-access", size=1, share_proto="NFS"))
    rule = sfs.create_access_rule(share, access_type="ip", access_to="10.0.0.0/24", access_level="rw")
    rule = settle(sfs, sfs.get_access_rule(rule), attribute="state")
    listed = [(r.id, r.access_to, r.access_level, r.state) for r in sfs.access_rules(share)]
    sfs.delete_access_rule(rule, share, ignore_missing=False)
    for _ in range(int(WAIT / 0.2)):
        if not list(sfs.access_rules(share)):
            break
        time.sleep(0.2)
    after = [r.id for r in sfs.access_rules(share)]
    return {"share": share.id, "rule": rule.id, "listed": listed, "after_delete": after}


def discovery(sfs: Any, argument: str) -> dict[str, Any]:
    """The microversion the sdk negotiated, and the calls that depend on it."""
    data = sfs.get_endpoint_data()
    share = settle(sfs, sfs.create_share(name="sdk-discovery", size=1, share_proto="NFS"))
    return {
        "min_microversion": str(data.min_microversion) if data.min_microversion else None,
        "max_microversion": str(data.max_microversion) if data.max_microversion else None,
        "share": share.id,
        "export_locations": [e.path for e in sfs.export_locations(share)],
        "availability_zones": [z.name for z in sfs.availability_zones()],
    }


def user_messages(sfs: Any, argument: str) -> dict[str, Any]:
    return {"messages": [{"resource_id": m.resource_id, "resource_type": m.resource_type,
                          "message_level": m.message_level, "user_message": m.user_message}
                         for m in sfs.user_messages()]}


def limits(sfs: Any, argument: str) -> dict[str, Any]:
    return {"limits": [lim.to_dict(computed=False) for lim in sfs.limits()]}


FLOWS: dict[str, Flow] = {"shares": shares, "share_group_create": share_group_create,
                          "share_group_snapshot": share_group_snapshot, "access_rules": access_rules,
                          "discovery": discovery, "limits": limits,
                          "user_messages": user_messages}


def main() -> None:
    flow, url, project = sys.argv[1:4]
    argument = sys.argv[4] if len(sys.argv) > 4 else ""
    openstack.enable_logging(debug=True, http_debug=True, stream=sys.stderr)
    conn = connect(url, project)
    print(json.dumps(FLOWS[flow](conn.shared_file_system, argument), default=str))


if __name__ == "__main__":
    main()
