#!/usr/bin/env python3
"""Profile the Lockstep API process under one benchmark operation with py-spy (pip install py-spy).

    python bench/profile_api.py --op cg-show --seconds 10 [--clients 1] [--db sqlite] [--out DIR]

Starts `lockstep serve` (fake backend, 1,100 seeded groups / 11,000 shares like section 1 of
bench/run.py), runs the operation in a closed loop while `py-spy record` samples the server
(collapsed stacks + a flame graph SVG in --out), then prints the hottest functions by own time
and by inclusive time (only Lockstep/SQLAlchemy/starlette/uvicorn frames are named).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lsbench.common import Api, LockstepServer, closed_loop, log, pg_database, running  # noqa: E402
from lsbench.seed import seed  # noqa: E402

IDLE_LEAVES = ("Runner.run (asyncio/runners.py", "Condition.wait (threading.py", "WorkerThread.run (anyio/",
               "Event.wait (threading.py", "select (selectors.py", "_worker (concurrent/futures/thread.py")


def _func(frame: str) -> str:
    """'f (path/file.py:123)' -> 'f (path/file.py)': aggregate a function over its lines."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else frame


def summarize(collapsed: Path, top: int) -> str:
    """Hottest functions among busy samples (threads waiting for work are left out)."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        if frames[-1].startswith(IDLE_LEAVES):
            idle += n
            continue
        total += n
        own[_func(frames[-1])] += n
        for f in {_func(f) for f in frames}:
            incl[f] += n
    total = max(total, 1)
    lines = [f"{total} busy samples ({idle} idle samples left out)", "", "own time:"]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(top)]
    lines += ["", "inclusive time (lockstep frames):"]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(400) if "lockstep" in f][:top]
    lines += ["", "inclusive time (library frames):"]
    libs = ("sqlalchemy", "starlette", "uvicorn", "json", "sqlite3", "psycopg", "h11", "httptools", "asyncio", "anyio")
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(600)
              if any(k in f for k in libs) and "lockstep" not in f][:top]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--op", default="cg-show",
                   choices=["cg-show", "share-show", "cg-detail-1000", "share-detail-1000", "cg-create",
                            "share-create"])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    p.add_argument("--out", default=None)
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args()
    if shutil.which("py-spy") is None:
        sys.exit("py-spy not found: pip install py-spy")
    out = Path(a.out or tempfile.mkdtemp(prefix="lockstep-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lockstep-profile-work-", dir="/var/tmp"))
    with contextlib.ExitStack() as stack:
        url = (stack.enter_context(pg_database("prof")) if a.db == "postgresql"
               else f"sqlite:///{work / 'data' / 'lockstep.sqlite'}")
        server = LockstepServer(work, url)
        server.upgrade()
        seeded = seed(url, 1, 1100, 10, 0, project_prefix="prof")
        project = seeded.projects[0]
        gids, sids = seeded.groups[project][:200], seeded.shares[project][:200]
        stack.enter_context(running(server))
        assert server.proc is not None
        api = Api(server.url, project)
        body = {"consistency_group": {"name": "home"}}
        home = api.call("POST", "/consistency-groups", body)["consistency_group"]["id"]
        api.wait_status(f"/consistency-groups/{home}", "consistency_group", interval=0.05)
        requests = {
            "cg-show": lambda i: ("GET", f"/consistency-groups/{gids[i % len(gids)]}", None),
            "share-show": lambda i: ("GET", f"/shares/{sids[i % len(sids)]}", None),
            "cg-detail-1000": lambda i: ("GET", "/consistency-groups/detail?limit=1000", None),
            "share-detail-1000": lambda i: ("GET", "/shares/detail?limit=1000", None),
            "cg-create": lambda i: ("POST", "/consistency-groups", {"consistency_group": {"name": f"p{i}"}}),
            "share-create": lambda i: ("POST", "/shares", {"share": {"share_proto": "NFS", "size": 1,
                                                                      "consistency_group_id": home}}),
        }
        collapsed, svg = out / f"{a.op}.collapsed.txt", out / f"{a.op}.svg"
        spy = ["py-spy", "record", "--pid", str(server.proc.pid), "--rate", "500", "--duration",
               str(int(a.seconds) + 1), "--nonblocking"]
        procs = [subprocess.Popen(spy + ["--format", "raw", "-o", str(collapsed)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)]
        result: dict[str, object] = {}

        def load() -> None:
            result.update(closed_loop(server.url, project, a.clients, a.seconds, 1_000_000, requests[a.op]))

        t = threading.Thread(target=load)
        t.start()
        t.join()
        for proc in procs:
            proc.wait(60)
        log(f"{a.op}: {json.dumps(result)}")
        text = summarize(collapsed, a.top)
        (out / f"{a.op}.summary.txt").write_text(text)
        subprocess.run(["py-spy", "--version"], capture_output=True)
        print(text)
        print(f"\ncollapsed stacks: {collapsed} (render with flamegraph.pl or speedscope); summary: "
              f"{out / (a.op + '.summary.txt')}; svg: {svg if svg.exists() else 'not made'}")
        api.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
