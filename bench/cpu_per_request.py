#!/usr/bin/env python3
"""CPU time per request of `lockstep serve` (PostgreSQL, fake backend), by process: a figure that moves less
with the load of a shared machine than req/s does.

    python bench/cpu_per_request.py [--requests 2000] [--clients 8] [--src OTHER_CHECKOUT/src]

Starts `lockstep serve` as `make run` does (one API process per core and a worker process) on a new
PostgreSQL database, seeds 20 groups, then runs the operations of the peer table with `--clients` closed-loop
clients (bench/loadgen.py's client). For each operation it reads the CPU time (utime + stime, /proc) of the
API processes, the worker, the database's backend processes and this process (the client) before and after,
and prints milliseconds of CPU per request. A create or delete is timed on its request (the "request"
columns), then waited for until its objects settle (the "settle" columns: mostly the worker, plus the GETs
of the wait). `--src` runs the server from another checkout (e.g. a `git worktree` of an older commit) with
the same client: an A/B on the same machine, best run interleaved (A, B, A, B) since CPU time too grows
with contention.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
from lsbench.common import PG_ADMIN_URL, LockstepServer, pg_database, running  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
ROLES = ("api", "worker", "postgres", "client")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def snapshot(server: LockstepServer, database: str) -> dict[str, float]:
    import psycopg

    found = dict.fromkeys(ROLES, 0.0)
    for proc in server.processes_info():
        if proc["role"] in found:
            found[proc["role"]] += cpu_seconds(proc["pid"])
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        pids = [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    found["postgres"] = sum(cpu_seconds(pid) for pid in pids)
    found["client"] = time.process_time()
    return found


def per_request(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {role: (after[role] - before[role]) * 1000.0 / max(n, 1) for role in ROLES}


class Harness:
    def __init__(self, server: LockstepServer, database: str, clients: int) -> None:
        self.server, self.database, self.clients = server, database, clients
        self.project = uuid.uuid4().hex
        self.admin = self.client()

    def client(self) -> loadgen.Client:
        return loadgen.Client("127.0.0.1", self.server.port, f"/v2/{self.project}", {
            "Accept": "application/json", "X-Auth-Token": f"admin:{self.project}",
            "X-OpenStack-Manila-API-Version": "2.30", "X-OpenStack-Manila-API-Experimental": "True"}, 60)

    def parallel(self, requests: list[tuple[str, str, Any]]) -> tuple[list[bytes], float]:
        """The requests by `clients` closed-loop clients; (bodies, wall seconds)."""
        pending = iter(requests)
        lock = threading.Lock()
        bodies: list[bytes] = []
        failures: list[str] = []

        def run() -> None:
            client = self.client()
            while True:
                with lock:
                    request = next(pending, None)
                if request is None:
                    break
                status, data, _ = client.request(*request)
                if status not in (200, 202, 204):
                    failures.append(f"{request[0]} {request[1]} -> {status}: {data[:200]!r}")
                bodies.append(data)
            client.close()
        threads = [threading.Thread(target=run) for _ in range(self.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
        return bodies, time.perf_counter() - started

    def settle(self, path: str, key: str, ids: list[str], *, gone: bool = False) -> None:
        deadline = time.monotonic() + 300
        for object_id in ids:
            while time.monotonic() < deadline:
                status, data, _ = self.admin.request("GET", f"{path}/{object_id}")
                if (gone and status == 404) or (not gone and json.loads(data)[key]["status"] == "available"):
                    break
                time.sleep(0.01)
        time.sleep(0.3)  # the worker's last transaction

    def measure(self, name: str, requests: list[tuple[str, str, Any]],
                settle: Callable[[list[bytes]], None] | None = None) -> tuple[list[bytes], dict[str, Any]]:
        before = snapshot(self.server, self.database)
        bodies, wall = self.parallel(requests)
        after = snapshot(self.server, self.database)
        row: dict[str, Any] = {"op": name, "n": len(requests), "req_s": len(requests) / wall,
                               "request": per_request(before, after, len(requests))}
        if settle is not None:
            settle(bodies)
            row["settle"] = per_request(after, snapshot(self.server, self.database), len(requests))
        return bodies, row


def run(harness: Harness, n: int) -> list[dict[str, Any]]:
    share_type = json.loads(harness.admin.request("GET", "/types")[1])["share_types"][0]["id"]
    group_body = {"consistency_group": {"name": "cpu", "share_types": [share_type]}}
    seeds = [json.loads(harness.admin.request("POST", "/consistency-groups", group_body)[1])["consistency_group"]["id"]
             for _ in range(20)]
    harness.settle("/consistency-groups", "consistency_group", seeds)
    shows = [("GET", f"/consistency-groups/{seeds[i % len(seeds)]}", None) for i in range(n)]
    harness.parallel(shows[:300])  # warm-up: connections, statement caches
    rows = []
    _, row = harness.measure("group-show", shows)
    rows.append(row)

    def group_ids(bodies: list[bytes]) -> list[str]:
        return [json.loads(b)["consistency_group"]["id"] for b in bodies]
    bodies, row = harness.measure("group-create", [("POST", "/consistency-groups", group_body)] * (n // 4),
                                  lambda b: harness.settle("/consistency-groups", "consistency_group", group_ids(b)))
    rows.append(row)
    ids = group_ids(bodies)
    _, row = harness.measure("group-delete", [("DELETE", f"/consistency-groups/{i}", None) for i in ids],
                             lambda _: harness.settle("/consistency-groups", "consistency_group", ids, gone=True))
    rows.append(row)
    share_body = {"share": {"name": "cpu", "share_proto": "NFS", "size": 1, "share_type": share_type,
                            "consistency_group_id": seeds[0]}}

    def share_ids(bodies: list[bytes]) -> list[str]:
        return [json.loads(b)["share"]["id"] for b in bodies]
    bodies, row = harness.measure("share-create", [("POST", "/shares", share_body)] * (n // 8),
                                  lambda b: harness.settle("/shares", "share", share_ids(b)))
    rows.append(row)
    ids = share_ids(bodies)
    _, row = harness.measure("share-delete",
                             [("DELETE", f"/shares/{i}?consistency_group_id={seeds[0]}", None) for i in ids],
                             lambda _: harness.settle("/shares", "share", ids, gone=True))
    rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=2000, help="group shows (creates: a quarter, shares: an eighth)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--src", help="run the server from this checkout's src directory (PYTHONPATH)")
    a = p.parse_args(argv)
    if a.src:
        os.environ["PYTHONPATH"] = str(Path(a.src).resolve())
    load = os.getloadavg()
    with pg_database("cpu") as url:
        database = url.rsplit("/", 1)[1]
        server = LockstepServer(Path(f"/var/tmp/lockstep-cpu-{uuid.uuid4().hex[:8]}"), url, backend="fake",
                                processes=None,
                                config_text='[backend.default]\ndriver = "fake"\ncapacity_gb = "10000000"\n')
        server.upgrade()
        with running(server):
            rows = run(Harness(server, database, a.clients), a.requests)
    print(f"CPU ms per request ({a.clients} clients; load average {load[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; server from {a.src or 'this checkout'})")
    print(f"{'operation':<14}{'n':>6}{'req/s':>8}  " + "".join(f"{r:>9}" for r in ROLES)
          + "  | settle: " + "".join(f"{r:>9}" for r in ("api", "worker", "postgres")))
    for row in rows:
        settle = row.get("settle")
        print(f"{row['op']:<14}{row['n']:>6}{row['req_s']:>8.0f}  "
              + "".join(f"{row['request'][r]:>9.3f}" for r in ROLES)
              + ("  | settle: " + "".join(f"{settle[r]:>9.3f}" for r in ("api", "worker", "postgres"))
                 if settle else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
