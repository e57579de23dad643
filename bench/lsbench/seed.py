"""Bulk-insert realistic rows straight into Lockstep's tables (SQLAlchemy Core, after `db upgrade`).

Rows look like what the API and the worker write for `available` objects on the `fake` backend:
groups with their share type, shares with an export location, cgsnapshots with their members.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from lsbench.common import log
from sqlalchemy import create_engine, select

HOST = "lockstep@default#fake"


@dataclass
class Seeded:
    projects: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)  # project -> group ids (creation order)
    shares_of_group: dict[str, list[str]] = field(default_factory=dict)
    shares: dict[str, list[str]] = field(default_factory=dict)  # project -> share ids
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _uuid() -> str:
    return str(uuid.uuid4())


def seed(database_url: str, projects: int, groups_per_project: int, shares_per_group: int,
         cgsnapshots_per_group: int, members_per_cgsnapshot: int = 2, project_prefix: str = "proj",
         loose_shares_per_project: int = 0) -> Seeded:
    """Insert the rows; returns the ids. Chunked executemany, one transaction per table chunk."""
    from lockstep.adapters.db import tables as t

    started = time.monotonic()
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1)
                           if database_url.startswith("postgresql://") else database_url)
    with engine.connect() as conn:
        type_id = conn.execute(select(t.share_types.c.id).where(t.share_types.c.name == "default")).scalar_one()
    base = dt.datetime(2026, 1, 1)
    tick = [0]

    def stamp() -> dt.datetime:
        tick[0] += 1
        return base + dt.timedelta(microseconds=tick[0] * 37)

    result = Seeded(projects=[f"{project_prefix}-{i:03d}" for i in range(projects)])
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "consistency_groups", "consistency_group_share_types", "shares", "export_locations", "cgsnapshots",
        "cgsnapshot_members")}
    for project in result.projects:
        gids: list[str] = []
        sids: list[str] = []
        for g in range(groups_per_project):
            gid = _uuid()
            created = stamp()
            gids.append(gid)
            rows["consistency_groups"].append({
                "id": gid, "project_id": project, "user_id": "admin", "name": f"cg-{g}", "description": None,
                "status": "available", "host": HOST, "source_cgsnapshot_id": None, "share_network_id": None,
                "share_server_id": None, "created_at": created, "updated_at": created,
            })
            rows["consistency_group_share_types"].append({"consistency_group_id": gid, "share_type_id": type_id})
            members: list[str] = []
            for s in range(shares_per_group):
                sid = _uuid()
                members.append(sid)
                _share(rows, sid, project, f"share-{g}-{s}", gid, type_id, stamp())
            result.shares_of_group[gid] = members
            sids.extend(members)
            for c in range(cgsnapshots_per_group):
                cid = _uuid()
                created = stamp()
                rows["cgsnapshots"].append({
                    "id": cid, "consistency_group_id": gid, "project_id": project, "user_id": "admin",
                    "name": f"cut-{g}-{c}", "description": None, "status": "available", "cut_method": "atomic",
                    "cut_spread_ms": 0.0, "created_at": created, "updated_at": created,
                })
                for sid in members[:members_per_cgsnapshot]:
                    rows["cgsnapshot_members"].append({
                        "id": _uuid(), "cgsnapshot_id": cid, "share_id": sid, "share_type_id": type_id, "size": 1,
                        "share_proto": "NFS", "status": "available", "project_id": project, "user_id": "admin",
                        "created_at": created, "updated_at": created,
                    })
        for s in range(loose_shares_per_project):
            sid = _uuid()
            sids.append(sid)
            _share(rows, sid, project, f"loose-{s}", None, type_id, stamp())
        result.groups[project] = gids
        result.shares[project] = sids
    order = ["consistency_groups", "consistency_group_share_types", "shares", "export_locations", "cgsnapshots",
             "cgsnapshot_members"]
    for name in order:
        table = t.metadata.tables[name]
        data = rows[name]
        result.counts[name] = len(data)
        for start in range(0, len(data), 5000):
            with engine.begin() as conn:
                conn.execute(table.insert(), data[start:start + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in order:
                conn.exec_driver_sql(f"ANALYZE {name}")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    result.seconds = time.monotonic() - started
    log(f"  seeded {', '.join(f'{v} {k}' for k, v in result.counts.items())} in {result.seconds:.1f} s")
    return result


def _share(rows: dict[str, list[dict[str, Any]]], sid: str, project: str, name: str, gid: str | None,
           type_id: str, created: dt.datetime) -> None:
    rows["shares"].append({
        "id": sid, "project_id": project, "user_id": "admin", "name": name, "description": None, "size": 1,
        "share_proto": "NFS", "status": "available", "host": HOST, "availability_zone": "nova",
        "share_type_id": type_id, "share_network_id": None, "snapshot_id": None, "is_public": False,
        "consistency_group_id": gid, "source_cgsnapshot_member_id": None, "task_state": None,
        "snapshot_support": True, "create_share_from_snapshot_support": True, "revert_to_snapshot_support": False,
        "created_at": created, "updated_at": created,
    })
    rows["export_locations"].append({
        "id": _uuid(), "share_id": sid, "path": f"fake:/shares/{sid}", "is_admin_only": False, "preferred": True,
        "created_at": created, "updated_at": created,
    })
