"""Section 1: API latency and throughput on the `fake` backend."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

from lsbench.common import NEVER_FULL_BACKEND, Api, LockstepServer, closed_loop, log, pg_database, running
from lsbench.seed import seed

READ_OPS = ["cg-show", "share-show", "cg-detail-100", "cg-detail-1000", "share-detail-100", "share-detail-1000"]
WRITE_OPS = ["cg-create", "cg-delete", "share-create", "share-delete"]


def run_config(workdir: Path, db: str, processes: int, clients_list: list[int], duration: float,
               max_reads: int, max_writes: int) -> dict[str, Any]:
    """One server configuration: seed, then every operation at every client count."""
    records: list[dict[str, Any]] = []
    label = f"{db}, {processes} API process{'es' if processes > 1 else ''}"
    with contextlib.ExitStack() as stack:
        if db == "postgresql":
            url = stack.enter_context(pg_database("api"))
        else:
            url = f"sqlite:///{workdir / 'data' / 'lockstep.sqlite'}"
        # A pool that never fills (as the peer section's): the seed alone places 11,000 1 GiB shares, more
        # than the fake backend's default 1,000 GiB, and every share-create was refused with a 400.
        server = LockstepServer(workdir, url, backend="fake", processes=processes, config_text=NEVER_FULL_BACKEND)
        server.upgrade()
        project = "apibench"
        seeded = seed(url, projects=1, groups_per_project=1100, shares_per_group=10, cgsnapshots_per_group=0,
                      project_prefix=project)
        project = seeded.projects[0]
        gids = seeded.groups[project][:200]
        sids = seeded.shares[project][:200]
        stack.enter_context(running(server))
        log(f"API [{label}]: server on {server.url} (pid {server.proc.pid if server.proc else '?'})")
        reads = {
            "cg-show": lambda i: ("GET", f"/consistency-groups/{gids[i % len(gids)]}", None),
            "share-show": lambda i: ("GET", f"/shares/{sids[i % len(sids)]}", None),
            "cg-detail-100": lambda i: ("GET", "/consistency-groups/detail?limit=100", None),
            "cg-detail-1000": lambda i: ("GET", "/consistency-groups/detail?limit=1000", None),
            "share-detail-100": lambda i: ("GET", "/shares/detail?limit=100", None),
            "share-detail-1000": lambda i: ("GET", "/shares/detail?limit=1000", None),
        }
        warm = Api(server.url, project)
        for op in READ_OPS:  # warm caches and check correctness once, untimed
            method, path, _ = reads[op](0)
            warm.call(method, path)
        warm.close()
        for op in READ_OPS:
            for clients in clients_list:
                rec = closed_loop(server.url, project, clients, duration, max_reads, reads[op])
                rec.update({"op": op, "config": label, "db": db, "processes": processes})
                records.append(rec)
                _say(rec)
        for clients in clients_list:
            records.extend(_writes(server, db, processes, label, clients, duration, max_writes))
        procs = server.processes_info()
    return {"config": label, "db": db, "processes": processes, "records": records, "rss": procs}


def _say(rec: dict[str, Any]) -> None:
    err = f" errors={rec['errors']} ({rec.get('error_sample', '')[:120]})" if rec["errors"] else ""
    log(f"  {rec['op']:<18} c={rec['clients']:<3} {rec['throughput_rps']} req/s  p50={rec['p50_ms']} "
        f"p95={rec['p95_ms']} p99={rec['p99_ms']} ms{err}")


def _writes(server: LockstepServer, db: str, processes: int, label: str, clients: int, duration: float,
            max_writes: int) -> list[dict[str, Any]]:
    project = f"w{clients}-{uuid.uuid4().hex[:8]}"
    api = Api(server.url, project)
    out = []
    made: dict[int, str] = {}
    lock = threading.Lock()

    def remember(key: str) -> Any:
        def on_ok(seq: int, data: bytes) -> None:
            with lock:
                made[seq] = json.loads(data)[key]["id"]
        return on_ok

    def record(rec: dict[str, Any], op: str) -> None:
        rec.update({"op": op, "config": label, "db": db, "processes": processes})
        out.append(rec)
        _say(rec)

    # groups: create (timed) -> available (untimed) -> delete (timed) -> gone (untimed)
    rec = closed_loop(server.url, project, clients, duration, max_writes,
                      lambda i: ("POST", "/consistency-groups", {"consistency_group": {"name": f"g{i}"}}),
                      on_ok=remember("consistency_group"))
    record(rec, "cg-create")
    ids = [made[k] for k in sorted(made)]
    late = api.wait_many("consistency-groups", "consistency_groups", ids)
    ids = [i for i in ids if i not in set(late)]
    rec = closed_loop(server.url, project, clients, duration, len(ids),
                      lambda i: ("DELETE", f"/consistency-groups/{ids[i]}", None))
    record(rec, "cg-delete")
    api.wait_many("consistency-groups", "consistency_groups", ids[: rec["ok"]], want="gone")
    # shares into one group
    made.clear()
    home = api.call("POST", "/consistency-groups", {"consistency_group": {"name": "home"}})["consistency_group"]["id"]
    api.wait_status(f"/consistency-groups/{home}", "consistency_group", interval=0.05)
    body = {"share": {"share_proto": "NFS", "size": 1, "consistency_group_id": home}}
    rec = closed_loop(server.url, project, clients, duration, max_writes, lambda i: ("POST", "/shares", body),
                      on_ok=remember("share"))
    record(rec, "share-create")
    ids = [made[k] for k in sorted(made)]
    late = api.wait_many("shares", "shares", ids)
    ids = [i for i in ids if i not in set(late)]
    rec = closed_loop(server.url, project, clients, duration, len(ids),
                      lambda i: ("DELETE", f"/shares/{ids[i]}?consistency_group_id={home}", None))
    record(rec, "share-delete")
    api.wait_many("shares", "shares", ids[: rec["ok"]], want="gone")
    api.close()
    return out


def run(workdir: Path, quick: bool) -> list[dict[str, Any]]:
    if quick:
        configs = [("sqlite", 1)]
        clients, duration, max_reads, max_writes = [1, 8], 1.5, 3000, 150
    else:
        # PostgreSQL with 4 API processes too: how far more processes than cores carry (issue 12).
        configs = [("sqlite", 1), ("postgresql", 1), ("sqlite", 2), ("postgresql", 2), ("postgresql", 4)]
        clients, duration, max_reads, max_writes = [1, 8, 32], 2.0, 20000, 400
    results = []
    for n, (db, processes) in enumerate(configs):
        log(f"API: configuration {n + 1}/{len(configs)}: {db}, --processes {processes}, clients {clients}, "
            f"{duration:g} s per phase")
        results.append(run_config(workdir / f"api-{db}-{processes}", db, processes, clients, duration,
                                  max_reads, max_writes))
    return results
