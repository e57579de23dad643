"""Section 2: list/detail/filter/page latency on a large database vs an almost empty one."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from lsbench.common import Api, LockstepServer, log, pg_database, running, summary_ms
from lsbench.seed import Seeded, seed

# Every project has the same shape in both databases: 100 groups, 10 shares each (1,000 shares),
# 2 cgsnapshots per group (200) with 2 members each. "Large" has many such projects, "small" one.
GROUPS_PER_PROJECT, SHARES_PER_GROUP, CGSNAPS_PER_GROUP = 100, 10, 2


def queries(gid: str, share_marker: str, group_marker: str) -> list[tuple[str, str]]:
    return [
        ("cg list limit=100", "/consistency-groups?limit=100"),
        ("cg detail limit=100", "/consistency-groups/detail?limit=100"),
        ("cg detail limit=100 marker (item 50)", f"/consistency-groups/detail?limit=100&marker={group_marker}"),
        ("cgsnapshot detail limit=100", "/cgsnapshots/detail?limit=100"),
        ("share list limit=100", "/shares?limit=100"),
        ("share detail limit=100", "/shares/detail?limit=100"),
        ("share detail limit=1000", "/shares/detail?limit=1000"),
        ("share detail consistency_group_id=", f"/shares/detail?consistency_group_id={gid}"),
        ("share detail status=available limit=100", "/shares/detail?status=available&limit=100"),
        ("share detail limit=100 marker (item 500)", f"/shares/detail?limit=100&marker={share_marker}"),
        ("share detail limit=100 offset=500", "/shares/detail?limit=100&offset=500"),
    ]


def measure(server: LockstepServer, seeded: Seeded, requests: int) -> list[dict[str, Any]]:
    project = seeded.projects[0]
    gid = seeded.groups[project][len(seeded.groups[project]) // 2]
    out = []
    for scope in ("project", "admin all_tenants=1"):
        api = Api(server.url, project)
        suffix = "&all_tenants=1" if scope != "project" else ""
        shares = api.call("GET", f"/shares?limit=1000{suffix}")["shares"]
        groups = api.call("GET", f"/consistency-groups?limit=1000{suffix}")["consistency_groups"]
        for name, path in queries(gid, shares[499]["id"], groups[49]["id"]):
            path = path + suffix
            status, body, _ = api.timed("GET", path)  # warm-up and sanity check, untimed
            if status != 200:
                raise RuntimeError(f"GET {path} -> {status}: {body[:200]!r}")
            key = next(iter(_json(body)))
            items = len(_json(body)[key])
            lat = []
            deadline = time.monotonic() + 60
            for _ in range(requests):
                status, _body, dt = api.timed("GET", path)
                if status == 200:
                    lat.append(dt)
                if time.monotonic() > deadline:
                    break
            rec = {"query": name, "scope": scope, "items": items, **summary_ms(lat)}
            out.append(rec)
        api.close()
    return out


def _json(body: bytes) -> dict[str, Any]:
    import json

    data = json.loads(body)
    assert isinstance(data, dict)
    return data


def run_db(workdir: Path, db: str, projects: int, requests: int) -> dict[str, Any]:
    result: dict[str, Any] = {"db": db}
    for size, nproj in (("small", 1), ("large", projects)):
        with contextlib.ExitStack() as stack:
            url = (stack.enter_context(pg_database(f"scale{size}")) if db == "postgresql"
                   else f"sqlite:///{workdir / size / 'data' / 'lockstep.sqlite'}")
            server = LockstepServer(workdir / size, url, backend="fake")
            server.upgrade()
            log(f"scale [{db}, {size}]: seeding {nproj} project(s) x {GROUPS_PER_PROJECT} groups, "
                f"{GROUPS_PER_PROJECT * SHARES_PER_GROUP} shares, {GROUPS_PER_PROJECT * CGSNAPS_PER_GROUP} cgsnapshots")
            seeded = seed(url, nproj, GROUPS_PER_PROJECT, SHARES_PER_GROUP, CGSNAPS_PER_GROUP, 2)
            stack.enter_context(running(server))
            rows = measure(server, seeded, requests)
            for r in rows:
                log(f"  {size:<5} {r['scope']:<20} {r['query']:<42} items={r['items']:<5} p50={r['p50_ms']} "
                    f"p95={r['p95_ms']} ms")
            result[size] = {"counts": seeded.counts, "seed_seconds": round(seeded.seconds, 1), "rows": rows,
                            "rss": server.processes_info()}
    return result


def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    projects = 10 if quick else 100
    requests = 25 if quick else 60
    dbs = ["sqlite"] if quick else ["sqlite", "postgresql"]
    return [run_db(workdir / f"scale-{db}", db, projects, requests) for db in dbs]
