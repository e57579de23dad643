"""Section "busy": does the API stay fast while the worker works? One client times shows (a consistency
group and a share, alternately) on btrfs before, while N consistency groups are being created (the
creates POSTed back to back by a second client, then waited for), and after they have settled.

The server is `lockstep serve` as `make run` starts it (default: one API process per core and a worker
process), SQLite, btrfs in a loop-mounted sparse image.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from lsbench.common import Api, LockstepServer, log, running, summary_ms
from lsbench.snapshots import GIB, available, backend


def _shows(api: Api, paths: list[str], count: int | None = None, until: threading.Event | None = None,
           limit: int = 200_000) -> dict[str, list[float]]:
    """Time GETs of `paths` in turn, `count` of them or until `until` is set (bounded by `limit`)."""
    out: dict[str, list[float]] = {p: [] for p in paths}
    n = 0
    while n < limit and (count is None or n < count) and (until is None or not until.is_set()):
        path = paths[n % len(paths)]
        status, data, seconds = api.timed("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} -> {status}: {data[:200]!r}")
        out[path].append(seconds)
        n += 1
    return out


def run(workdir: Path, quick: bool) -> dict[str, Any]:
    groups = 100 if quick else 300
    ok, reason = available("btrfs")
    if not ok:
        log(f"busy: btrfs not available here: {reason}; skipped")
        return {"skipped": reason}
    bdir = workdir / "busy"
    with backend("btrfs", bdir, 1024 * GIB) as info:
        server = LockstepServer(bdir, f"sqlite:///{bdir / 'data' / 'lockstep.sqlite'}", backend="",
                                config_text=info["config"], processes=None)
        server.upgrade()
        with running(server):
            return _measure(server, groups, quick)


def _measure(server: LockstepServer, groups: int, quick: bool) -> dict[str, Any]:
    reader, writer = Api(server.url, "busy"), Api(server.url, "busy")
    body: dict[str, Any] = {"consistency_group": {"name": "shown"}}
    gid = reader.call("POST", "/consistency-groups", body)["consistency_group"]["id"]
    reader.wait_status(f"/consistency-groups/{gid}", "consistency_group", interval=0.02)
    sid = reader.call("POST", "/shares", {"share": {"share_proto": "NFS", "size": 1,
                                                    "consistency_group_id": gid}})["share"]["id"]
    reader.wait_status(f"/shares/{sid}", "share", interval=0.02)
    paths = [f"/consistency-groups/{gid}", f"/shares/{sid}"]
    names = {paths[0]: "cg-show", paths[1]: "share-show"}
    _shows(reader, paths, count=200)  # warm-up
    idle = _shows(reader, paths, count=1000 if not quick else 400)

    done = threading.Event()
    created: list[str] = []
    timing: dict[str, float] = {}
    failure: list[str] = []

    def create() -> None:
        try:
            t0 = time.monotonic()
            for i in range(groups):
                body = {"consistency_group": {"name": f"busy-{i}"}}
                created.append(writer.call("POST", "/consistency-groups", body)["consistency_group"]["id"])
            timing["posted_s"] = time.monotonic() - t0
            # Polled twice a second: the detail list of hundreds of groups is itself load on the API.
            late = writer.wait_many("consistency-groups", "consistency_groups", created, timeout=900, interval=0.5)
            if late:
                failure.append(f"{len(late)} groups not available after 900 s")
            timing["settled_s"] = time.monotonic() - t0
        except Exception as exc:  # noqa: BLE001 - reported in the results
            failure.append(repr(exc)[:300])
        finally:
            done.set()

    thread = threading.Thread(target=create, name="busy-creator")
    log(f"busy: timing shows while {groups} consistency groups are created on btrfs")
    thread.start()
    during = _shows(reader, paths, until=done)
    thread.join()
    settled = _shows(reader, paths, count=1000 if not quick else 400)
    rec: dict[str, Any] = {"groups": groups, "processes": server.processes_info(), **timing}
    if failure:
        rec["error"] = "; ".join(failure)
    for phase, data in (("idle", idle), ("during", during), ("settled", settled)):
        rec[phase] = {names[p]: summary_ms(v) for p, v in data.items()}
        log(f"busy: {phase}: " + ", ".join(f"{names[p]} p50 {summary_ms(v)['p50_ms']} ms (n={len(v)})"
                                            for p, v in data.items()))
    # The worker's delete of what was made here is not timed; the backend is torn down with the section.
    reader.close()
    writer.close()
    return rec
